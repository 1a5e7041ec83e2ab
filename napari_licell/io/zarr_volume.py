"""Zarr and OME-Zarr volumes (zarr format 2 or 3, multiscale or single array), read lazily.

For OME-Zarr (``multiscales`` in the group attributes, NGFF 0.4, or under
``ome`` for NGFF 0.5) the full-resolution level is the volume and every level
is kept, as a dask array, in ``metadata["multiscale_levels"]``. The voxel
size is the product of the level's ``scale`` transformation and the
multiscale-wide one, converted to micrometres with each axis' ``unit``.
A scale without units is not trusted (noted in the metadata).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import LiCellInputError
from .found_volume import FoundVolume
from .lazy_arrays import ZarrSource, source_to_dask, z_chunk_depth
from .tiff_volume import strip_image_suffix
from .voxel_size import unit_to_um

__all__ = ["read_zarr_volume", "is_zarr_path", "ZARR_MARKERS"]

#: Files that mark a folder as a zarr store (v2 group/array, v3 node).
ZARR_MARKERS = (".zgroup", ".zarray", "zarr.json")


def is_zarr_path(path: str | os.PathLike) -> bool:
    """True when ``path`` is a zarr store folder (by name ``.zarr`` or by its marker files)."""
    p = Path(path)
    if not p.is_dir():
        return False
    return p.name.lower().endswith(".zarr") or any((p / m).is_file() for m in ZARR_MARKERS)


def _transform_scale(transforms: Any) -> list[float] | None:
    if not isinstance(transforms, list):
        return None
    for t in transforms:
        if isinstance(t, dict) and t.get("type") == "scale" and isinstance(t.get("scale"), list):
            try:
                return [float(v) for v in t["scale"]]
            except (TypeError, ValueError):
                return None
    return None


def _axes_info(axes: Any, ndim: int) -> tuple[list[str], list[str | None]]:
    """Axis names and units; without axes metadata the last three are z, y, x."""
    names: list[str] = []
    units: list[str | None] = []
    if isinstance(axes, list) and len(axes) == ndim:
        for a in axes:
            if isinstance(a, dict):
                names.append(str(a.get("name", "")).lower())
                units.append(a.get("unit"))
            else:
                names.append(str(a).lower())
                units.append(None)
        return names, units
    default = ["t", "c", "z", "y", "x"]
    return default[-ndim:] if ndim <= 5 else ["?"] * (ndim - 3) + ["z", "y", "x"], [None] * ndim


def _squeeze_index(path: Path, names: list[str], shape: tuple[int, ...]) -> tuple[Any, ...]:
    index: list[Any] = []
    extra = []
    for name, n in zip(names, shape):
        if name in ("z", "y", "x"):
            index.append(slice(None))
        elif n == 1:
            index.append(0)
        else:
            extra.append(f"{name}={n}")
            index.append(slice(None))
    if extra:
        raise LiCellInputError(
            path,
            f"has non-spatial axes with more than one entry ({', '.join(extra)}); a volume is (z, y, x)",
            "save one channel and one time point",
        )
    return tuple(index)


def _open_array_meta(path: Path, array_path: str) -> tuple[tuple[int, ...], np.dtype, tuple[int, ...]]:
    import zarr

    arr = (
        zarr.open_array(store=str(path), path=array_path, mode="r")
        if array_path
        else zarr.open_array(store=str(path), mode="r")
    )
    chunks = tuple(int(c) for c in arr.chunks)
    return tuple(int(s) for s in arr.shape), np.dtype(arr.dtype), chunks


def _level_dask(path: Path, array_path: str, shape: tuple[int, ...], dtype: np.dtype, chunks_file: tuple[int, ...]):
    source = ZarrSource(path, array_path, shape, dtype)
    if len(shape) >= 3:
        lead = len(shape) - 3
        depth = z_chunk_depth(shape[lead:], dtype.itemsize, multiple_of=chunks_file[lead])
        chunks = (1,) * lead + (depth, shape[-2], shape[-1])
    else:
        chunks = shape
    return source_to_dask(source, chunks=chunks, name_prefix="licell-zarr")


def read_zarr_volume(path: str | os.PathLike, dataset: str | None = None) -> FoundVolume:
    """Read a zarr array, or the full-resolution level of an OME-Zarr image, lazily.

    Parameters
    ----------
    path : path-like
        The zarr store folder (``.zarr``), or ``store.zarr/0`` for one array of it.
    dataset : str, optional
        Path of the array inside the store when it is not OME-Zarr and holds
        several arrays.

    Returns
    -------
    FoundVolume
        Dask array, voxel size in micrometres (or None), metadata with
        ``multiscale_levels`` (list of dask arrays, full resolution first),
        ``multiscale_voxel_sizes_um`` and ``zarr_format``.

    Raises
    ------
    LiCellInputError
        Not a zarr store, ambiguous arrays, non-spatial axes with more than one entry.
    """
    import zarr

    p = Path(path)
    try:
        node = zarr.open(str(p), mode="r")
    except Exception as exc:  # noqa: BLE001 - zarr raises many types for bad stores
        raise LiCellInputError(
            p, f"is not a readable zarr store ({type(exc).__name__}: {exc})", "check the folder"
        ) from None
    metadata: dict[str, Any] = {}
    notes: list[str] = []
    voxel: tuple[float, float, float] | None = None
    voxel_source = ""
    fmt = "zarr"
    axes: Any = None
    try:
        if isinstance(node, zarr.Array):
            level_paths = [""]
            names, units = _axes_info(None, node.ndim)
            scales: list[list[float] | None] = [None]
        else:
            attrs = dict(node.attrs)
            if isinstance(attrs.get("napari_licell"), dict):
                metadata["licell"] = attrs["napari_licell"]
            ome = attrs.get("ome") if isinstance(attrs.get("ome"), dict) else {}
            multiscales = ome.get("multiscales") or attrs.get("multiscales")
            if dataset is not None:
                level_paths = [dataset.strip("/")]
                names, units, scales = None, None, [None]
            elif isinstance(multiscales, list) and multiscales and isinstance(multiscales[0], dict):
                ms = multiscales[0]
                fmt = "ome-zarr"
                metadata["ome_zarr_version"] = ome.get("version") or ms.get("version")
                datasets = [d for d in ms.get("datasets", []) if isinstance(d, dict) and "path" in d]
                if not datasets:
                    raise LiCellInputError(p, "has OME-Zarr multiscales metadata without datasets", "")
                level_paths = [str(d["path"]) for d in datasets]
                global_scale = _transform_scale(ms.get("coordinateTransformations"))
                scales = []
                for d in datasets:
                    s = _transform_scale(d.get("coordinateTransformations"))
                    if s is not None and global_scale is not None and len(global_scale) == len(s):
                        s = [a * b for a, b in zip(s, global_scale)]
                    scales.append(s)
                names, units = None, None
                axes = ms.get("axes")
            else:
                arrays = [(name, arr) for name, arr in node.arrays() if arr.ndim >= 2]
                if len(arrays) == 1:
                    level_paths = [arrays[0][0]]
                elif not arrays:
                    raise LiCellInputError(p, "holds no image array (2D or 3D)", "check this is the right store")
                else:
                    listing = ", ".join(f"{n} {tuple(a.shape)}" for n, a in arrays[:10])
                    raise LiCellInputError(
                        p, f"holds several arrays ({listing})", "name the array to read, e.g. dataset='volume'"
                    )
                names, units, scales = None, None, [None]
        level_meta = [_open_array_meta(p, lp) for lp in level_paths]
        shape0 = level_meta[0][0]
        if names is None:
            names, units = _axes_info(axes, len(shape0))
        index = _squeeze_index(p, names, shape0)
        spatial = [i for i, n in enumerate(names) if n in ("z", "y", "x")]
        voxel_sizes: list[list[float] | None] = []
        for s in scales:
            if s is None or len(s) != len(names):
                voxel_sizes.append(None)
                continue
            sizes: dict[str, float] = {}
            for i in spatial:
                factor = unit_to_um(units[i]) if units[i] else None
                if factor is None:
                    break
                sizes[names[i]] = s[i] * factor
            if set(sizes) >= {"y", "x"}:
                z = sizes.get("z", sizes["x"])
                voxel_sizes.append([z, sizes["y"], sizes["x"]])
            else:
                voxel_sizes.append(None)
                if any(s[i] != 1 for i in spatial):
                    notes.append(f"scale {s} has no length units on every axis; not used as voxel size")
        if voxel_sizes and voxel_sizes[0] is not None:
            voxel = (float(voxel_sizes[0][0]), float(voxel_sizes[0][1]), float(voxel_sizes[0][2]))
            voxel_source = "ome-zarr scale"
        levels = []
        for lp, (shape, dtype, chunks_file) in zip(level_paths, level_meta):
            if len(shape) != len(shape0):
                raise LiCellInputError(p, f"level {lp!r} has {len(shape)} dimensions, level 0 has {len(shape0)}", "")
            levels.append(_level_dask(p, lp, shape, dtype, chunks_file)[index])
    except LiCellInputError:
        raise
    except Exception as exc:  # noqa: BLE001 - damaged metadata is bad input
        raise LiCellInputError(p, f"is a damaged zarr store ({type(exc).__name__}: {exc})", "") from None

    metadata.update(
        {
            "zarr_format": int(getattr(getattr(node, "metadata", None), "zarr_format", 0) or 0),
            "zarr_arrays": level_paths,
            "zarr_axes": names,
            "multiscale_levels": levels,
            "multiscale_voxel_sizes_um": voxel_sizes,
        }
    )
    if notes:
        metadata["voxel_size_note"] = "; ".join(notes)
    return FoundVolume(
        data=levels[0],
        voxel_size_um=voxel,
        voxel_source=voxel_source,
        name=strip_image_suffix(p.name),
        format=fmt,
        metadata=metadata,
    )
