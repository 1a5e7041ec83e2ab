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


#: A lazy slab is read in pieces of at most this many bytes into one array (see :func:`read_slab`).
READ_PIECE_BYTES = 32 * 2**20


def read_slab(data: Any, start: int, stop: int) -> np.ndarray:
    """Planes ``start:stop`` along axis 0 of any array-like, as a numpy array.

    A numpy array gives a view. Anything else (dask, zarr, h5py, a scan
    corrected on the fly) is read in pieces of whole planes of at most
    :data:`READ_PIECE_BYTES` into one preallocated array: ``np.asarray`` of a
    dask slab holds every chunk and their concatenation at once, twice the
    slab, which took a whole-slab of memory above the budget.
    """
    if isinstance(data, np.ndarray):
        return data[start:stop]
    return read_block(data, (slice(int(start), int(stop)),))


def _read_once(data: Any, index: tuple) -> np.ndarray:
    block = data[index]
    compute = getattr(block, "compute", None)
    if compute is not None and not isinstance(block, np.ndarray):
        block = compute()
    return np.asarray(block)


def _planes_of(data: Any, index: tuple) -> tuple[int, int] | None:
    """(start, stop) along axis 0 when ``index`` is a plain slice there and slices/ints elsewhere, else None."""
    if not index or not isinstance(index[0], slice):
        return None
    if not all(isinstance(ix, (slice, int, np.integer)) for ix in index[1:]):
        return None
    start, stop, step = index[0].indices(int(data.shape[0]))
    return (start, stop) if step == 1 and stop > start else None


def read_block(data: Any, index: tuple) -> np.ndarray:
    """``data[index]`` of any array-like (numpy, dask, zarr, h5py) as a numpy array.

    A lazy array is read in pieces of whole planes along axis 0 of at most
    :data:`READ_PIECE_BYTES` each, copied into one array: a section across the
    stack (``data[:, y, :]``) or a tall block of a scan stored in whole planes
    would otherwise decode every plane it touches at once (a dask array
    computes all its chunks before slicing them: the whole scan for one
    section).
    """
    if not isinstance(index, tuple):
        index = (index,)
    if isinstance(data, np.ndarray) or getattr(data, "dtype", None) is None or getattr(data, "shape", None) is None:
        return _read_once(data, index)
    planes = _planes_of(data, index)
    if planes is None:
        return _read_once(data, index)
    start, stop = planes
    plane_bytes = int(np.prod([int(s) for s in data.shape[1:]], dtype=np.int64)) * np.dtype(data.dtype).itemsize
    step = max(1, READ_PIECE_BYTES // max(plane_bytes, 1))
    if stop - start <= step:
        return _read_once(data, index)
    rest = index[1:]
    out = None
    for a in range(start, stop, step):
        b = min(stop, a + step)
        piece = _read_once(data, (slice(a, b), *rest))
        if out is None:
            out = np.empty((stop - start, *piece.shape[1:]), dtype=piece.dtype)
        out[a - start : b - start] = piece
    return out


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
