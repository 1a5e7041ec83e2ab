"""Label volumes on disk in chunks: the out-of-core home of classification results.

A label store is a one-level OME-Zarr group (zarr format 2, NGFF 0.4) with
uint8 class codes in chunks of :data:`LABEL_CHUNKS` and the voxel size in
micrometres, so :func:`napari_licell.io.read_volume.read_volume` and the
napari reader open it like any other scan (lazily, with its scale).
Classification writes it slab by slab; measurement and the carbon band read
it back in slabs and column tiles. Chunks of 8 x 256 x 256 voxels (512 KiB)
line up with both, so every chunk is decoded about once per pass.
Nothing of the volume is memory-mapped, so resident memory does not grow
with the volume.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..classes import CLASS_TABLE, LABEL_DTYPE
from .atomic import move_into_place
from .writers import _voxel, ngff_attrs

__all__ = ["LABEL_CHUNKS", "MIN_PYRAMID_SIDE", "create_label_store", "publish_label_store", "add_label_pyramid"]

#: Chunk shape (z, y, x) of label stores.
LABEL_CHUNKS = (8, 256, 256)


def create_label_store(
    path: str | os.PathLike,
    shape: Sequence[int],
    voxel_size_um: float | Sequence[float],
    *,
    metadata: Mapping[str, Any] | None = None,
) -> Any:
    """Create an empty label store (all background) and return its writable zarr array.

    Parameters
    ----------
    path : path-like
        Store folder (``.zarr``); must not exist yet.
    shape : (z, y, x)
        Volume shape in voxels.
    voxel_size_um : float or (z, y, x)
        Voxel size in micrometres.
    metadata : mapping, optional
        JSON-able extra information (thresholds, source scan, ...).

    Returns
    -------
    zarr.Array
        uint8, chunks :data:`LABEL_CHUNKS` (clipped to the shape), fill value 0.
    """
    import zarr

    p = Path(path)
    if p.exists():
        raise FileExistsError(f"{p} exists already")
    voxel = _voxel(voxel_size_um, p)
    shape = tuple(int(s) for s in shape)
    if len(shape) != 3:
        raise ValueError(f"a label store holds a 3D volume, not shape {shape}")
    chunks = tuple(max(1, min(c, s)) for c, s in zip(LABEL_CHUNKS, shape))
    root = zarr.open_group(store=str(p), mode="w", zarr_format=2)
    arr = root.create_array(
        name="0",
        shape=shape,
        chunks=chunks,
        dtype=LABEL_DTYPE,
        fill_value=0,
        chunk_key_encoding={"name": "v2", "separator": "/"},
    )
    meta = dict(metadata or {})
    meta.setdefault("classes", {str(c.code): c.key for c in CLASS_TABLE})
    root.attrs.update(ngff_attrs(p.name.removesuffix(".zarr"), voxel, 1, "labels", meta, 2))
    return arr


def publish_label_store(
    store: str | os.PathLike, path: str | os.PathLike, metadata: Mapping[str, Any] | None = None
) -> Path:
    """Move a finished store to ``path`` (same file system), replacing an older one atomically.

    Parameters
    ----------
    store : path-like
        The finished store (e.g. in a scratch folder beside ``path``).
    path : path-like
        Final ``.zarr`` folder.
    metadata : mapping, optional
        Entries added to the store's ``napari_licell.metadata`` before the move.
    """
    import zarr

    from .writers import LICELL_METADATA_KEY, to_jsonable

    if metadata:
        root = zarr.open_group(store=str(store), mode="r+")
        info = dict(root.attrs.get(LICELL_METADATA_KEY, {}))
        info["metadata"] = {**dict(info.get("metadata", {})), **to_jsonable(dict(metadata))}
        root.attrs[LICELL_METADATA_KEY] = info
    return move_into_place(store, path)


#: Pyramid levels stop before the smaller in-plane side drops below this (voxels).
MIN_PYRAMID_SIDE = 64


def add_label_pyramid(
    store: str | os.PathLike, *, min_side: int = MIN_PYRAMID_SIDE, slab_bytes: int = 256 * 2**20
) -> int:
    """Add downsampled levels "1", "2", ... to a label store, for zoomed-out views.

    Each level halves every axis of the one before by taking every second
    voxel (class codes are never averaged), is written slab by slab (about
    ``slab_bytes`` of the finer level in memory at a time) and doubles the
    scale in the NGFF metadata. Levels stop before the smaller of the y/x
    sides drops below ``min_side``.

    Returns
    -------
    int
        Number of levels now in the store (1 when none was added).
    """
    import zarr

    from .writers import LICELL_METADATA_KEY

    root = zarr.open_group(store=str(store), mode="r+")
    level = root["0"]
    n = 1
    while min(level.shape[1:]) // 2 >= min_side:
        shape = tuple((s + 1) // 2 for s in level.shape)
        chunks = tuple(max(1, min(c, s)) for c, s in zip(LABEL_CHUNKS, shape))
        coarse = root.create_array(
            name=str(n),
            shape=shape,
            chunks=chunks,
            dtype=LABEL_DTYPE,
            fill_value=0,
            chunk_key_encoding={"name": "v2", "separator": "/"},
            overwrite=True,
        )
        plane = max(1, int(level.shape[1]) * int(level.shape[2]))
        depth = max(2, (slab_bytes // plane) // (2 * chunks[0]) * 2 * chunks[0])  # even, whole coarse chunks
        for z0 in range(0, level.shape[0], depth):
            fine = level[z0 : z0 + depth]
            coarse[z0 // 2 : z0 // 2 + (fine.shape[0] + 1) // 2] = fine[::2, ::2, ::2]
        level, n = coarse, n + 1
    info = dict(root.attrs.get(LICELL_METADATA_KEY, {}))
    voxel = tuple(float(v) for v in info.get("voxel_size_um", (1.0, 1.0, 1.0)))
    name = (
        root.attrs["multiscales"][0].get("name", Path(store).name) if "multiscales" in root.attrs else Path(store).name
    )
    attrs = ngff_attrs(name, voxel, n, "labels", info.get("metadata"), 2)
    root.attrs.update(attrs)
    return n
