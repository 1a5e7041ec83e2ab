"""Exact grey-value histograms of 8/16-bit volumes, streamed slab by slab.

For unsigned 16-bit data (the usual CT export) counting runs in a numba
kernel with one private histogram per thread; 8-bit data use ``np.bincount``;
signed integers are counted through their unsigned view and re-ordered.
Floating-point volumes are binned into 65536 equal bins between their
minimum and maximum (two passes), which is exact up to that bin width;
float values on a regular grid (a float export of integer grey values) get
bins of a whole number of grid steps, so no bin is left empty between
occupied ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numba
import numpy as np

from .chunks import (
    CancelLike,
    ProgressCallback,
    default_slab_depth,
    iter_slabs_with_halo,
    raise_if_cancelled,
    read_slab,
    slab_ranges,
)

__all__ = ["Histogram", "volume_histogram", "histogram_of_array", "interior_histogram", "value_grid"]

_FLOAT_BINS = 65536
#: Values sampled (over the whole stack) to tell whether float data sit on a regular grid.
_GRID_SAMPLE = 2_000_000


def value_grid(values: np.ndarray, lo: float, hi: float, tolerance: float = 0.05) -> float | None:
    """Spacing of the regular grid float values sit on (a converted integer export), or None.

    The grid step is the smallest gap between distinct sampled values; the
    values are on the grid when (nearly) all of them are a whole number of
    steps from the smallest, within ``tolerance`` of a step (float32 rounding).
    Grids finer than 2**24 steps over the range count as continuous.
    """
    u = np.unique(np.asarray(values, dtype=np.float64))
    if u.size < 16 or not hi > lo:
        return None
    gaps = np.diff(u)
    gaps = gaps[gaps > 1e-9 * (hi - lo)]
    if gaps.size == 0:
        return None
    smallest = gaps[gaps < 1.5 * gaps.min()]
    step = float(np.median(smallest))  # float32 rounding scatters single gaps around the step
    if (hi - lo) / step > 2**24:
        return None
    gaps = np.diff(u)
    # refine the step on ever longer gaps (each one a whole number of steps), so that rounding
    # errors of single small gaps do not add up over the thousands of steps of a sparse sample
    for reach in (64.0, 4096.0, np.inf):
        near = gaps[gaps <= reach * step]
        n_steps = np.rint(near / step)
        if near.size == 0 or np.mean(np.abs(near / step - n_steps) < tolerance) < 0.999:
            return None
        step = float(near.sum() / n_steps.sum())
    whole = np.rint(gaps / step)
    # each value's grid index, counted gap by gap; the step is the slope of value against index
    k = np.concatenate([[0.0], np.cumsum(whole)])
    if k[-1] <= 0:
        return None
    step = float(np.polyfit(k, u, 1)[0])
    off = np.abs((u - u[0]) / step - k)
    if np.mean(off < tolerance) < 0.999:
        return None
    return step


@dataclass(frozen=True)
class Histogram:
    """Voxel counts per grey value.

    Attributes
    ----------
    counts : ndarray of int64
        Count per bin.
    origin : float
        Grey value of bin 0 (integer data: the value itself; float data: the
        lower edge of bin 0).
    bin_width : float
        Grey values per bin (1 for integer data).
    dtype : str
        dtype of the volume the histogram was counted on.
    """

    counts: np.ndarray
    origin: float = 0.0
    bin_width: float = 1.0
    dtype: str = "uint16"

    @property
    def n_voxels(self) -> int:
        """Total number of voxels counted."""
        return int(self.counts.sum())

    @property
    def n_bins(self) -> int:
        return int(self.counts.size)

    @property
    def is_integer(self) -> bool:
        """True when every bin is one integer grey value."""
        return np.issubdtype(np.dtype(self.dtype), np.integer) and self.bin_width == 1.0

    def grey(self, index) -> np.ndarray | float:
        """Grey value of bin ``index`` (lower edge; integer data: the value)."""
        out = self.origin + self.bin_width * np.asarray(index, dtype=np.float64)
        return float(out) if np.ndim(out) == 0 else out

    def index(self, grey) -> np.ndarray | float:
        """Fractional bin index of grey value(s) ``grey``."""
        out = (np.asarray(grey, dtype=np.float64) - self.origin) / self.bin_width
        return float(out) if np.ndim(out) == 0 else out

    @property
    def greys(self) -> np.ndarray:
        """Grey value of every bin (float64)."""
        return self.origin + self.bin_width * np.arange(self.n_bins, dtype=np.float64)

    def occupied_range(self) -> tuple[int, int]:
        """First and last bin index with a non-zero count (``(0, -1)`` when empty)."""
        nz = np.flatnonzero(self.counts)
        if nz.size == 0:
            return 0, -1
        return int(nz[0]), int(nz[-1])

    def count_below(self, grey: float) -> int:
        """Voxels with grey value strictly below ``grey`` (the ``v < t`` rule of the thresholds)."""
        i = int(np.ceil(self.index(grey)))
        i = min(max(i, 0), self.n_bins)
        return int(self.counts[:i].sum())

    def __add__(self, other: "Histogram") -> "Histogram":
        if (self.origin, self.bin_width, self.n_bins) != (other.origin, other.bin_width, other.n_bins):
            raise ValueError("histograms with different binning cannot be added")
        return Histogram(self.counts + other.counts, self.origin, self.bin_width, self.dtype)


@numba.njit(parallel=True, cache=True, nogil=True)
def _count_u16(flat: np.ndarray, n_parts: int) -> np.ndarray:  # pragma: no cover - compiled
    # One private histogram per thread, split in four interleaved copies so that
    # runs of equal grey values (CT data are concentrated in a few peaks) do not
    # serialise on one counter.
    n = flat.size
    local = np.zeros((n_parts, 4, 65536), dtype=np.uint32)
    step = (n + n_parts - 1) // n_parts
    step += (-step) % 4
    for p in numba.prange(n_parts):
        lo = min(n, p * step)
        hi = n if p == n_parts - 1 else min(n, lo + step)
        h0 = local[p, 0]
        h1 = local[p, 1]
        h2 = local[p, 2]
        h3 = local[p, 3]
        i = lo
        while i + 4 <= hi:
            h0[flat[i]] += 1
            h1[flat[i + 1]] += 1
            h2[flat[i + 2]] += 1
            h3[flat[i + 3]] += 1
            i += 4
        while i < hi:
            h0[flat[i]] += 1
            i += 1
    out = np.zeros(65536, dtype=np.int64)
    for p in range(n_parts):
        for k in range(4):
            for b in range(65536):
                out[b] += local[p, k, b]
    return out


@numba.njit(parallel=True, cache=True, nogil=True)
def _count_float(flat: np.ndarray, lo: float, width: float, nbins: int, n_parts: int) -> np.ndarray:  # pragma: no cover
    n = flat.size
    local = np.zeros((n_parts, nbins), dtype=np.int64)
    step = (n + n_parts - 1) // n_parts
    for p in numba.prange(n_parts):
        a = p * step
        b = min(n, a + step)
        for i in range(a, b):
            v = flat[i]
            if v != v:  # NaN is not counted
                continue
            k = int((v - lo) / width)
            if k < 0:
                k = 0
            elif k >= nbins:
                k = nbins - 1
            local[p, k] += 1
    return local.sum(axis=0)


def _n_parts(n: int) -> int:
    # one private histogram per thread; cap so tiny slabs do not pay for zeroing
    return int(max(1, min(numba.get_num_threads(), n // 65536 or 1)))


def _count_integer(block: np.ndarray) -> np.ndarray:
    """Counts of one integer block, in bins ``value - dtype.min``."""
    dt = block.dtype
    flat = np.ascontiguousarray(block).reshape(-1)
    if dt.itemsize == 1:
        u = flat.view(np.uint8)
        counts = np.bincount(u, minlength=256).astype(np.int64)
        size = 256
    elif dt.itemsize == 2:
        u = flat.view(np.uint16)
        counts = _count_u16(u, _n_parts(u.size))
        size = 65536
    else:  # pragma: no cover - guarded by volume_histogram
        raise TypeError(dt)
    if np.issubdtype(dt, np.signedinteger):
        # the unsigned view puts negative values in the upper half: rotate them down
        counts = np.roll(counts, size // 2)
    return counts


def histogram_of_array(block: np.ndarray) -> Histogram:
    """Exact histogram of one in-memory 8/16-bit array (any shape)."""
    return volume_histogram(block, slab_depth=max(1, block.shape[0]) if block.ndim else 1)


def volume_histogram(
    data: Any,
    *,
    mask: Any | None = None,
    slab_depth: int | None = None,
    value_range: tuple[float, float] | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelLike = None,
) -> Histogram:
    """Exact histogram of a volume, streamed over slabs along axis 0.

    Parameters
    ----------
    data : array-like
        (z, y, x) volume (numpy, memmap, dask, zarr, h5py); 8- or 16-bit
        integers are counted exactly, one bin per grey value. Float volumes
        get 65536 equal bins over ``value_range`` (default: their min..max).
    mask : array-like of bool, optional
        Same shape as ``data``; only voxels where it is True are counted
        (e.g. ``labels != CARBON.code`` to leave the carbon band out).
    slab_depth : int, optional
        Planes read at a time (default: about 128 MB per slab).
    value_range : (float, float), optional
        Binning range for float data.
    progress : callable(done, total), optional
        Called after each slab.
    cancel : threading.Event or callable, optional
        Stops the count (raises :class:`~napari_licell.segmentation.chunks.Cancelled`).

    Returns
    -------
    Histogram
        Counts with their grey-value origin and bin width.
    """
    dtype = np.dtype(data.dtype)
    shape = tuple(int(s) for s in data.shape)
    if len(shape) == 0:
        raise ValueError("cannot take the histogram of a scalar")
    if mask is not None and tuple(mask.shape) != shape:
        raise ValueError(f"mask shape {tuple(mask.shape)} differs from data shape {shape}")
    depth = slab_depth or default_slab_depth(shape, dtype.itemsize)
    ranges = slab_ranges(shape[0], depth)
    total = len(ranges)

    if np.issubdtype(dtype, np.integer):
        if dtype.itemsize > 2:
            raise TypeError(f"{dtype} volumes are not supported for exact histograms; convert to 16-bit first")
        size = 256 if dtype.itemsize == 1 else 65536
        counts = np.zeros(size, dtype=np.int64)
        for i, (a, b) in enumerate(ranges):
            raise_if_cancelled(cancel)
            block = read_slab(data, a, b)
            if mask is not None:
                block = block[read_slab(mask, a, b).astype(bool)]
            counts += _count_integer(block)
            if progress is not None:
                progress(i + 1, total)
        origin = float(np.iinfo(dtype).min)
        return Histogram(counts, origin, 1.0, dtype.name)

    if not np.issubdtype(dtype, np.floating):
        raise TypeError(f"unsupported volume dtype {dtype}")
    grid = None
    if value_range is None:
        lo, hi = np.inf, -np.inf
        samples: list[np.ndarray] = []
        per_slab = max(1, _GRID_SAMPLE // max(1, len(ranges)))
        for a, b in ranges:
            raise_if_cancelled(cancel)
            block = read_slab(data, a, b)
            if mask is not None:
                block = block[read_slab(mask, a, b).astype(bool)]
            finite = block[np.isfinite(block)] if block.size else block.reshape(-1)
            if finite.size:
                lo = min(lo, float(finite.min()))
                hi = max(hi, float(finite.max()))
                samples.append(finite.reshape(-1)[:: max(1, finite.size // per_slab)])
        if not np.isfinite(lo):
            lo, hi = 0.0, 1.0
        grid = value_grid(np.concatenate(samples) if samples else np.zeros(0), lo, hi)
    else:
        lo, hi = map(float, value_range)
    width = (hi - lo) / _FLOAT_BINS if hi > lo else 1.0
    if grid is not None:
        # values on a regular grid (a float export of integer grey values): every bin holds the same
        # whole number of grid values, centred on them, so the histogram has no comb of empty bins
        per_bin = max(1, int(np.ceil((hi - lo + grid) / (grid * _FLOAT_BINS))))
        width = grid * per_bin
        lo = lo - 0.5 * grid
    counts = np.zeros(_FLOAT_BINS, dtype=np.int64)
    for i, (a, b) in enumerate(ranges):
        raise_if_cancelled(cancel)
        block = read_slab(data, a, b)
        if mask is not None:
            block = block[read_slab(mask, a, b).astype(bool)]
        flat = np.ascontiguousarray(block, dtype=np.float64).reshape(-1)
        counts += _count_float(flat, lo, width, _FLOAT_BINS, _n_parts(flat.size))
        if progress is not None:
            progress(i + 1, total)
    return Histogram(counts, lo, width, dtype.name)


@numba.njit(parallel=True, cache=True, nogil=True)
def _flat_voxels(v, max_range, k0, k1, out):  # pragma: no cover - compiled
    """out[z - k0] = 1 where the 3x3x3 neighbourhood of v[z] spans less than max_range (edges clamped).

    Separable running max and min along x, then y, then z; inner loops run over
    contiguous rows without index clamping so they vectorise.
    """
    nz, ny, nx = v.shape
    hi1 = np.empty_like(v)
    lo1 = np.empty_like(v)
    for z in numba.prange(nz):
        for y in range(ny):
            row = v[z, y]
            h = hi1[z, y]
            lo = lo1[z, y]
            if nx == 1:
                h[0] = row[0]
                lo[0] = row[0]
                continue
            h[0] = max(row[0], row[1])
            lo[0] = min(row[0], row[1])
            for x in range(1, nx - 1):
                h[x] = max(row[x - 1], max(row[x], row[x + 1]))
                lo[x] = min(row[x - 1], min(row[x], row[x + 1]))
            h[nx - 1] = max(row[nx - 2], row[nx - 1])
            lo[nx - 1] = min(row[nx - 2], row[nx - 1])
    hi2 = np.empty_like(v)
    lo2 = np.empty_like(v)
    for z in numba.prange(nz):
        for y in range(ny):
            ha = hi1[z, max(y - 1, 0)]
            hb = hi1[z, y]
            hc = hi1[z, min(y + 1, ny - 1)]
            la = lo1[z, max(y - 1, 0)]
            lb = lo1[z, y]
            lc = lo1[z, min(y + 1, ny - 1)]
            h = hi2[z, y]
            lo = lo2[z, y]
            for x in range(nx):
                h[x] = max(ha[x], max(hb[x], hc[x]))
                lo[x] = min(la[x], min(lb[x], lc[x]))
    for z in numba.prange(k0, k1):
        z0 = max(z - 1, 0)
        z2 = min(z + 1, nz - 1)
        for y in range(ny):
            ha = hi2[z0, y]
            hb = hi2[z, y]
            hc = hi2[z2, y]
            la = lo2[z0, y]
            lb = lo2[z, y]
            lc = lo2[z2, y]
            o = out[z - k0, y]
            for x in range(nx):
                span = float(max(ha[x], max(hb[x], hc[x]))) - float(min(la[x], min(lb[x], lc[x])))
                o[x] = 1 if span < max_range else 0


@numba.njit(parallel=True, cache=True, nogil=True)
def _count_u16_masked(flat: np.ndarray, keep: np.ndarray, n_parts: int) -> np.ndarray:  # pragma: no cover
    n = flat.size
    local = np.zeros((n_parts, 65536), dtype=np.uint32)
    step = (n + n_parts - 1) // n_parts
    for p in numba.prange(n_parts):
        lo = min(n, p * step)
        hi = min(n, lo + step)
        h = local[p]
        for i in range(lo, hi):
            if keep[i]:
                h[flat[i]] += 1
    out = np.zeros(65536, dtype=np.int64)
    for p in range(n_parts):
        for b in range(65536):
            out[b] += local[p, b]
    return out


def interior_histogram(
    data: Any,
    noise_sigma: float,
    *,
    mask: Any | None = None,
    max_range_sigmas: float = 5.0,
    max_voxels: int | None = 200_000_000,
    slab_depth: int | None = None,
    value_range: tuple[float, float] | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelLike = None,
) -> Histogram:
    """Histogram of the voxels inside uniform regions: the pure phases without partial volume.

    A voxel counts when the grey values of its 3x3x3 neighbourhood span less
    than ``max_range_sigmas`` noise sigmas (27 samples of pure noise span
    about 4 sigma). Interfaces, partial-volume shells and thin features drop
    out, so small phases (gas-filled pores in SE) show as clear peaks.

    Parameters
    ----------
    data : array-like (z, y, x)
        8/16-bit or float volume (as :func:`volume_histogram`).
    noise_sigma : float
        Noise in grey values (e.g. :func:`~.peaks.estimate_noise_sigma` of the full histogram).
    mask : array-like of bool, optional
        Only voxels where it is True are counted (as in :func:`volume_histogram`).
    max_range_sigmas : float
        Largest neighbourhood span, in noise sigmas, of a counted voxel.
    max_voxels : int or None
        Bigger volumes are sampled: about this many voxels in evenly spaced
        slabs, at least ~32 of them (thin ones for big planes) so that every
        part of the stack is seen (the peaks need no more). None reads everything.
    slab_depth, value_range, progress, cancel
        As :func:`volume_histogram`.

    Returns
    -------
    Histogram
        Same binning as :func:`volume_histogram` of ``data`` (float data need
        the same ``value_range`` to match).
    """
    shape = tuple(int(s) for s in data.shape)
    if len(shape) != 3:
        raise ValueError("the interior histogram needs a 3D volume")
    dtype = np.dtype(data.dtype)
    if value_range is None and np.issubdtype(dtype, np.floating):
        full = volume_histogram(data, slab_depth=slab_depth, cancel=cancel)
        value_range = (full.origin, full.origin + full.bin_width * full.n_bins)
    depth = slab_depth or default_slab_depth(shape, dtype.itemsize)
    n_vox = int(np.prod(shape, dtype=np.int64))
    if slab_depth is None and max_voxels is not None and n_vox > max_voxels:
        # sample in at least ~32 thin slabs spread over the whole stack, so a phase that fills
        # only some planes (a gas gap, a void layer) is not missed between a few thick slabs
        planes = max(1, int(max_voxels) // max(1, int(np.prod(shape[1:], dtype=np.int64))))
        depth = max(1, min(depth, planes // 32))
    slabs = list(iter_slabs_with_halo(shape[0], depth, 1))
    if max_voxels is not None and n_vox > max_voxels and len(slabs) > 1:
        keep = max(1, int(len(slabs) * max_voxels / n_vox))
        picks = np.unique(np.linspace(0, len(slabs) - 1, keep).round().astype(int))
        slabs = [slabs[i] for i in picks]
    total: Histogram | None = None
    limit = float(max_range_sigmas) * float(noise_sigma)
    for i, (r0, r1, k0, k1) in enumerate(slabs):
        raise_if_cancelled(cancel)
        block = np.ascontiguousarray(read_slab(data, r0, r1))
        flat = np.empty((k1 - k0, *shape[1:]), dtype=np.uint8)
        _flat_voxels(block, limit, k0, k1, flat)
        if mask is not None:
            flat &= read_slab(mask, r0 + k0, r0 + k1).astype(np.uint8)
        if dtype == np.uint16:
            core = np.ascontiguousarray(block[k0:k1]).reshape(-1)
            counts = _count_u16_masked(core, flat.reshape(-1), _n_parts(core.size))
            part = Histogram(counts, 0.0, 1.0, dtype.name)
        else:
            part = volume_histogram(block[k0:k1], mask=flat.astype(bool), value_range=value_range)
        total = part if total is None else total + part
        if progress is not None:
            progress(i + 1, len(slabs))
    return total
