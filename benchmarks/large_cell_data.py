"""Benchmark data: a demo cell tiled in y and x up to a requested size, written to disk plane by plane.

The demo cell ``process3_after_Xe6`` (300 x 128 x 128 uint16, 0.54 um voxels)
is repeated ``k x k`` times across the two axes perpendicular to the stack
axis, so the layers (collector, Li, carbon, SE, counter electrode) stay in
place along z and every column is a real column of the demo cell. The tiled
volume is a lazy dask array; the writers of :mod:`napari_licell.io.writers`
compute and write it one chunk at a time, so the volume is never in memory.
"""

from __future__ import annotations

import math
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["LargeCell", "tiling_for", "large_cell_arrays", "write_large_cell"]

#: Demo cell that is tiled (the uniform process-3 cell, so the measurement has a real Li layer).
SOURCE_CELL = "process3_after_Xe6"


@dataclass(frozen=True)
class LargeCell:
    """Files of one generated benchmark volume.

    Attributes
    ----------
    tiff : Path or None
        Uncompressed ImageJ TIFF (uint16).
    zarr : Path or None
        OME-Zarr store (uint16, blosc-compressed chunks).
    truth : Path
        Ground-truth labels of the source cell (uint8 ``.npy``, untiled).
    shape : (z, y, x)
        Shape of the tiled volume in voxels.
    voxel_size_um : float
        Cubic voxel size in micrometres.
    tile : int
        Repeats along y and along x.
    """

    tiff: Path | None
    zarr: Path | None
    truth: Path
    shape: tuple[int, int, int]
    voxel_size_um: float
    tile: int

    @property
    def nbytes(self) -> int:
        """Size of the uint16 volume in bytes."""
        return 2 * math.prod(self.shape)


def tiling_for(gigabytes: float, cell_shape: tuple[int, int, int]) -> int:
    """Repeats ``k`` along y and x so that ``k * k`` cells hold at least ``gigabytes`` GB (10**9 bytes) of uint16."""
    per_cell = 2 * math.prod(cell_shape)
    return max(1, math.ceil(math.sqrt(gigabytes * 1e9 / per_cell)))


#: Chunk shape (z, y, x) of the generated arrays: single planes, so slab readers never decode unused planes.
CHUNKS = (1, 2048, 2048)


def _tile_block(image: np.ndarray, block_info=None) -> np.ndarray:
    """One chunk of the tiled volume, cut from the source cell by index arithmetic (no whole-volume array)."""
    (z0, z1), (y0, y1), (x0, x1) = block_info[None]["array-location"]
    _, ny, nx = image.shape
    return image[z0:z1][:, np.arange(y0, y1) % ny][:, :, np.arange(x0, x1) % nx]


def large_cell_arrays(gigabytes: float):
    """The tiled image (lazy dask, chunks :data:`CHUNKS`), the source truth labels and the voxel size in um."""
    import dask.array as da

    from napari_licell.phantoms.demo_study import load_demo_cell

    cell = load_demo_cell(SOURCE_CELL)
    image = np.ascontiguousarray(cell.image, dtype=np.uint16)
    k = tiling_for(gigabytes, image.shape)
    shape = (image.shape[0], k * image.shape[1], k * image.shape[2])
    chunks = da.core.normalize_chunks(tuple(min(c, s) for c, s in zip(CHUNKS, shape)), shape)
    tiled = da.map_blocks(_tile_block, image=image, chunks=chunks, dtype=np.uint16, meta=np.empty((0, 0, 0), np.uint16))
    return tiled, np.asarray(cell.labels, dtype=np.uint8), float(cell.voxel_size_um), k


def write_large_cell(folder: Path, gigabytes: float, *, tiff: bool = True, zarr: bool = True) -> LargeCell:
    """Write (or reuse) the tiled volume as TIFF and/or zarr under ``folder``.

    Parameters
    ----------
    folder : Path
        Data folder; files are named by size so several sizes can coexist.
    gigabytes : float
        Target size of the uint16 volume in GB (10**9 bytes); rounded up to whole tiles.
    tiff, zarr : bool
        Which formats to write.

    Returns
    -------
    LargeCell
    """
    from napari_licell.io.writers import write_volume_tiff, write_volume_zarr

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    image, truth, voxel, k = large_cell_arrays(gigabytes)
    stem = f"cell_{image.shape[0]}x{image.shape[1]}x{image.shape[2]}"
    truth_path = folder / f"{SOURCE_CELL}_truth.npy"
    if not truth_path.exists():
        np.save(truth_path, truth)
    tiff_path = folder / f"{stem}.tif" if tiff else None
    zarr_path = folder / f"{stem}.ome.zarr" if zarr else None
    if tiff_path is not None and not tiff_path.exists():
        write_volume_tiff(tiff_path, image, voxel, metadata={"benchmark": f"{SOURCE_CELL} tiled {k}x{k}"})
    if zarr_path is not None and not (zarr_path / ".complete").exists():
        shutil.rmtree(zarr_path, ignore_errors=True)
        write_volume_zarr(zarr_path, image, voxel, chunks=tuple(min(c, s) for c, s in zip(CHUNKS, image.shape)))
        (zarr_path / ".complete").write_text("ok\n")
    return LargeCell(tiff_path, zarr_path, truth_path, tuple(int(s) for s in image.shape), voxel, k)
