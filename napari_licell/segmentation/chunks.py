"""Reading big volumes slab by slab: chunk ranges, halos, progress and cancel.

Every streamed operation of the segmentation core (histogram, classification,
carbon band) walks the volume in slabs along axis 0 through these helpers, so
numpy arrays, numpy memmaps, dask arrays, zarr arrays and h5py datasets are
all read the same way and never loaded whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from ..cancellation import CancelLike, Cancelled, ProgressCallback, is_cancelled, raise_if_cancelled

__all__ = [
    "Cancelled",
    "CancelLike",
    "ProgressCallback",
    "is_cancelled",
    "raise_if_cancelled",
    "slab_ranges",
    "default_slab_depth",
    "read_slab",
    "read_block",
    "iter_slabs_with_halo",
]


def default_slab_depth(shape: tuple[int, ...], itemsize: int, target_bytes: int = 128 * 2**20) -> int:
    """Slab depth (planes along axis 0) so that one slab holds about ``target_bytes``."""
    plane = int(np.prod(shape[1:], dtype=np.int64)) * int(itemsize)
    return int(max(1, min(shape[0], target_bytes // max(plane, 1))))


def slab_ranges(n: int, depth: int) -> list[tuple[int, int]]:
    """Half-open ranges ``(start, stop)`` covering ``0..n`` in steps of ``depth``."""
    depth = max(1, int(depth))
    return [(z, min(z + depth, n)) for z in range(0, n, depth)]


def read_slab(data: Any, start: int, stop: int) -> np.ndarray:
    """Planes ``start:stop`` along axis 0 of any array-like, as a numpy array."""
    return np.asarray(data[start:stop])


def read_block(data: Any, index: tuple) -> np.ndarray:
    """``data[index]`` of any array-like (numpy, dask, zarr, h5py) as a numpy array."""
    block = data[index]
    compute = getattr(block, "compute", None)
    if compute is not None and not isinstance(block, np.ndarray):
        block = compute()
    return np.asarray(block)


def iter_slabs_with_halo(n: int, depth: int, halo: int) -> Iterator[tuple[int, int, int, int]]:
    """For each slab: (read_start, read_stop, keep_start, keep_stop) along axis 0.

    ``read`` is the slab widened by ``halo`` planes on each side (clipped to the
    volume); ``keep`` is the part of the result that belongs to this slab,
    relative to the read block.
    """
    for start, stop in slab_ranges(n, depth):
        r0 = max(0, start - halo)
        r1 = min(n, stop + halo)
        yield r0, r1, start - r0, stop - r0
