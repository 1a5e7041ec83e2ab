"""Benchmark data: a demo cell scaled up to a requested size, written to disk plane by plane.

The demo cell ``process3_after_Xe6`` (300 x 128 x 128 uint16, 0.54 um voxels)
is stretched ``m`` times along the stack axis (each plane repeated ``m``
times, z voxel size 0.54 / m um) and repeated ``k x k`` times across the two
other axes, with ``m`` and ``k`` chosen so the volume is about as deep as it
is wide, like a real scan (a 39 GB volume is 2700 x 2688 x 2688). The
layers (collector, Li, carbon, SE, counter electrode) keep their thickness
in micrometres, and every column is a real column of the demo cell. The
volume is a lazy dask array; the writers of :mod:`napari_licell.io.writers`
compute and write it one chunk at a time, so it is never in memory.
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
        Shape of the volume in voxels.
    voxel_size_um : (z, y, x)
        Voxel size in micrometres.
    tile : int
        Repeats along y and along x.
    stretch : int
        Repeats of each plane along z.
    """

    tiff: Path | None
    zarr: Path | None
    truth: Path
    shape: tuple[int, int, int]
    voxel_size_um: tuple[float, float, float]
    tile: int
    stretch: int = 1

    @property
    def nbytes(self) -> int:
        """Size of the uint16 volume in bytes."""
        return 2 * math.prod(self.shape)


def tiling_for(gigabytes: float, cell_shape: tuple[int, int, int]) -> tuple[int, int]:
    """(m, k): z stretch and y/x repeats so the volume holds at least ``gigabytes`` GB (10**9 bytes) of uint16.

    ``m`` makes the depth about the cube root of the voxel count (at least 1);
    ``k`` then fills the rest across y and x.
    """
    voxels = gigabytes * 1e9 / 2
    nz, ny, nx = cell_shape
    m = max(1, round(voxels ** (1 / 3) / nz))
    k = max(1, math.ceil(math.sqrt(voxels / (m * nz * ny * nx))))
    return m, k


#: Chunk shape (z, y, x) of the generated arrays: single planes, so slab readers never decode unused planes.
CHUNKS = (1, 2048, 2048)


def _scaled_block(image: np.ndarray, stretch: int, block_info=None) -> np.ndarray:
    """One chunk of the scaled volume, cut from the source cell by index arithmetic (no whole-volume array)."""
    (z0, z1), (y0, y1), (x0, x1) = block_info[None]["array-location"]
    _, ny, nx = image.shape
    return image[np.arange(z0, z1) // stretch][:, np.arange(y0, y1) % ny][:, :, np.arange(x0, x1) % nx]


def large_cell_arrays(gigabytes: float):
    """The scaled image (lazy dask, chunks :data:`CHUNKS`), the source truth labels, the (z, y, x) voxel size in um, k and m."""
    import dask.array as da

    from napari_licell.phantoms.demo_study import load_demo_cell

    cell = load_demo_cell(SOURCE_CELL)
    image = np.ascontiguousarray(cell.image, dtype=np.uint16)
    m, k = tiling_for(gigabytes, image.shape)
    shape = (m * image.shape[0], k * image.shape[1], k * image.shape[2])
    chunks = da.core.normalize_chunks(tuple(min(c, s) for c, s in zip(CHUNKS, shape)), shape)
    scaled = da.map_blocks(
        _scaled_block, image=image, stretch=m, chunks=chunks, dtype=np.uint16, meta=np.empty((0, 0, 0), np.uint16)
    )
    v = float(cell.voxel_size_um)
    return scaled, np.asarray(cell.labels, dtype=np.uint8), (v / m, v, v), k, m


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
    image, truth, voxel, k, m = large_cell_arrays(gigabytes)
    stem = f"cell_{image.shape[0]}x{image.shape[1]}x{image.shape[2]}"
    truth_path = folder / f"{SOURCE_CELL}_truth.npy"
    if not truth_path.exists():
        np.save(truth_path, truth)
    tiff_path = folder / f"{stem}.tif" if tiff else None
    zarr_path = folder / f"{stem}.ome.zarr" if zarr else None
    if tiff_path is not None and not tiff_path.exists():
        write_volume_tiff(
            tiff_path, image, voxel, metadata={"benchmark": f"{SOURCE_CELL} stretched {m}x in z, tiled {k}x{k}"}
        )
    if zarr_path is not None and not (zarr_path / ".complete").exists():
        shutil.rmtree(zarr_path, ignore_errors=True)
        write_volume_zarr(zarr_path, image, voxel, chunks=tuple(min(c, s) for c, s in zip(CHUNKS, image.shape)))
        (zarr_path / ".complete").write_text("ok\n")
    return LargeCell(tiff_path, zarr_path, truth_path, tuple(int(s) for s in image.shape), voxel, k, m)
