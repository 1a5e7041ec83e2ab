"""Class codes from grey values: live slice preview and whole-volume classification.

* :func:`classify_slice`: the plain threshold step through a 65536-entry
  lookup table (``lut[data]``), a few milliseconds per 2048 x 2048 slice;
  used for the live preview.
* :func:`classify_volume`: block by block (slabs along z, tiles in y/x, sized
  to a memory budget by :mod:`.blocks`) with a halo of overlap, optional
  denoising (median or non-local means, scikit-image / scipy), the
  partial-volume rules of :mod:`.partial_volume` and the carbon band of
  :mod:`.carbon_band`; writes uint8 codes into a numpy array or into a
  given zarr array (e.g. a :mod:`~napari_licell.io.label_store`). The result
  does not depend on the block sizes. Cancel leaves a given output
  untouched: blocks go to a scratch buffer (memory, or a temporary label
  store on disk) that is copied over only at the end, unless the caller
  asks for direct output into a scratch store of its own.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from dataclasses import dataclass, replace
from typing import Any

import numba
import numpy as np

from ..classes import BACKGROUND, LABEL_DTYPE, LI, SE_LI, VOID
from .carbon_band import CarbonBand, label_carbon_band
from .blocks import plan_blocks
from .chunks import CancelLike, ProgressCallback, raise_if_cancelled, read_block, read_slab, slab_ranges
from .histogram import Histogram, volume_histogram
from .partial_volume import partial_volume_classify, pv_halo
from .partial_volume_fast import PvScratch, partial_volume_classify_fast
from .peaks import estimate_noise_sigma
from .thresholds import ThresholdSet, class_levels, threshold_lut

__all__ = [
    "DENOISE_METHODS",
    "ClassificationResult",
    "classify_slice",
    "classify_block",
    "classify_volume",
    "denoise_block",
    "denoise_radius",
    "with_levels",
    "work_bytes_per_voxel",
    "DEFAULT_MEMORY_LIMIT_BYTES",
]

#: Denoising choices offered before classification.
DENOISE_METHODS: tuple[str, ...] = ("none", "median", "nlm")

_LUT_CACHE: dict[tuple, np.ndarray] = {}

#: Default memory budget of a classification pass (bytes); ``--memory-limit`` / the GUI setting change it.
DEFAULT_MEMORY_LIMIT_BYTES = 2 * 2**30


@dataclass
class ClassificationResult:
    """Labels of a volume and how they were made.

    Attributes
    ----------
    labels : array-like of uint8
        Class codes (numpy array, or the ``out`` array that was passed in).
    thresholds : ThresholdSet
        Thresholds used (with levels filled in).
    carbon_band : CarbonBand or None
        The carbon-band search result (None when not asked for).
    denoise : str
        Denoising applied first.
    partial_volume : bool
        Whether the partial-volume rules ran.
    """

    labels: Any
    thresholds: ThresholdSet
    carbon_band: CarbonBand | None
    denoise: str
    partial_volume: bool


def _lut_for(thresholds: ThresholdSet, dtype: np.dtype) -> np.ndarray:
    key = (thresholds.values, thresholds.classes, dtype.str)
    lut = _LUT_CACHE.get(key)
    if lut is None:
        if len(_LUT_CACHE) > 16:
            _LUT_CACHE.clear()
        lut = _LUT_CACHE[key] = threshold_lut(thresholds, dtype)
    return lut


@numba.njit(parallel=True, cache=True, nogil=True)
def _apply_lut(flat: np.ndarray, lut: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover - compiled
    for i in numba.prange(flat.size):
        out[i] = lut[flat[i]]


def classify_slice(slice2d: np.ndarray, thresholds: ThresholdSet) -> np.ndarray:
    """Plain threshold classes of a slice (or any array) for the live preview.

    Parameters
    ----------
    slice2d : ndarray
        Grey values; 8/16-bit integers go through a lookup table, other
        dtypes through ``np.searchsorted``.
    thresholds : ThresholdSet

    Returns
    -------
    ndarray of uint8
        Class codes, same shape.
    """
    a = np.asarray(slice2d)
    dt = a.dtype
    if np.issubdtype(dt, np.integer) and dt.itemsize <= 2:
        lut = _lut_for(thresholds, dt)
        flat = np.ascontiguousarray(a).reshape(-1)
        if np.issubdtype(dt, np.signedinteger):
            flat = flat.view(np.dtype(f"u{dt.itemsize}"))
        out = np.empty(flat.size, dtype=LABEL_DTYPE)
        _apply_lut(flat, lut, out)
        return out.reshape(a.shape)
    codes = np.asarray(thresholds.classes, dtype=LABEL_DTYPE)
    return codes[np.searchsorted(np.asarray(thresholds.values), a, side="right")]


def denoise_radius(method: str, options: dict | None = None) -> int:
    """Planes of halo a denoising method needs."""
    options = options or {}
    if method in (None, "none"):
        return 0
    if method == "median":
        return int(options.get("size", 3)) // 2
    if method == "nlm":
        return int(options.get("patch_distance", 3)) + int(options.get("patch_size", 3)) // 2
    raise ValueError(f"unknown denoising {method!r}; choose from {DENOISE_METHODS}")


def denoise_block(
    block: np.ndarray, method: str, noise_sigma: float | None = None, options: dict | None = None
) -> np.ndarray:
    """Denoise a block; integer data come back in their own dtype (rounded, clipped).

    Parameters
    ----------
    block : ndarray
    method : {"none", "median", "nlm"}
        ``median``: ``scipy.ndimage.median_filter`` (``size``, default 3);
        ``nlm``: ``skimage.restoration.denoise_nl_means`` (``patch_size`` 3,
        ``patch_distance`` 3, ``h`` = 0.8 noise sigma), fast mode.
    noise_sigma : float, optional
        Noise in grey values (needed for ``nlm``; give the global value so
        every chunk is filtered alike).
    options : dict, optional
        Overrides of the parameters above.
    """
    options = dict(options or {})
    if method in (None, "none"):
        return block
    if method == "median":
        from scipy import ndimage

        return ndimage.median_filter(block, size=int(options.get("size", 3)), mode="nearest")
    if method == "nlm":
        from skimage.restoration import denoise_nl_means

        if noise_sigma is None:
            raise ValueError("non-local means needs the noise sigma (grey values)")
        h = float(options.get("h", 0.8 * noise_sigma))
        out = denoise_nl_means(
            block.astype(np.float32),
            patch_size=int(options.get("patch_size", 3)),
            patch_distance=int(options.get("patch_distance", 3)),
            h=h,
            sigma=float(noise_sigma),
            fast_mode=True,
            preserve_range=True,
            channel_axis=None,
        )
        if np.issubdtype(block.dtype, np.integer):
            info = np.iinfo(block.dtype)
            return np.clip(np.rint(out), info.min, info.max).astype(block.dtype)
        return out.astype(block.dtype, copy=False)
    raise ValueError(f"unknown denoising {method!r}; choose from {DENOISE_METHODS}")


def _dark_setup(thresholds: ThresholdSet) -> tuple[int | None, int | None, int | None]:
    li = LI.code if LI.code in thresholds.classes else None
    void = VOID.code if VOID.code in thresholds.classes else None
    inter = SE_LI.code if SE_LI.code in thresholds.classes else None
    return li, void, inter


def _needs_levels(thresholds: ThresholdSet) -> bool:
    li, void, _ = _dark_setup(thresholds)
    for code in (li, void):
        if code is not None and not math.isfinite(thresholds.level_of(code)):
            return True
    return False


def with_levels(thresholds: ThresholdSet, hist: Histogram) -> ThresholdSet:
    """Fill missing pure-phase levels of the dark classes from a histogram."""
    if not _needs_levels(thresholds):
        return thresholds
    found = class_levels(hist, thresholds.classes, thresholds.values)
    old = thresholds.levels or (float("nan"),) * len(thresholds.classes)
    levels = tuple(o if math.isfinite(o) else f for o, f in zip(old, found))
    return replace(thresholds, levels=levels)


def classify_block(
    block: np.ndarray,
    thresholds: ThresholdSet,
    partial_volume: bool = True,
    n_iter: int = 3,
    reference: bool = False,
    scratch: Any = None,
) -> np.ndarray:
    """Class codes of an in-memory 3D block (no denoising, no carbon band).

    Parameters
    ----------
    block : ndarray (z, y, x)
    thresholds : ThresholdSet
        Needs the Li / void levels for the partial-volume step (see
        :func:`with_levels`).
    partial_volume : bool
        Apply the partial-volume rules; else plain thresholds.
    n_iter : int
        Growth passes of the partial-volume step.
    reference : bool
        Run the partial-volume rules on every voxel
        (:func:`.partial_volume.partial_volume_classify`, the reference)
        instead of only where a voxel's class is in doubt
        (:func:`.partial_volume_fast.partial_volume_classify_fast`); both
        give the same codes.
    scratch : PvScratch, optional
        Work arrays reused between the blocks of one volume (fast path).
    """
    li, void, inter = _dark_setup(thresholds)
    if not partial_volume or (li is None and void is None) or block.ndim != 3:
        return classify_slice(block, thresholds)
    if _needs_levels(thresholds):
        raise ValueError("the partial-volume step needs the Li and gas levels: call with_levels(thresholds, hist)")
    args = _pv_args(block, thresholds)
    if reference:
        return partial_volume_classify(*args, n_iter=n_iter)
    return partial_volume_classify_fast(*args, n_iter=n_iter, scratch=scratch)


def _pv_args(block: np.ndarray, thresholds: ThresholdSet) -> tuple:
    """Positional arguments of the partial-volume functions for ``block``."""
    li, void, inter = _dark_setup(thresholds)
    return (
        block,
        thresholds.values,
        thresholds.classes,
        li,
        void,
        thresholds.level_of(li) if li is not None else float("nan"),
        thresholds.level_of(void) if void is not None else float("nan"),
        inter,
    )


def _mask_outside(codes: np.ndarray, block: np.ndarray, region: Any | None, index: tuple[slice, slice, slice]) -> None:
    """Label background what lies outside the cell region and what holds no number (NaN)."""
    if region is not None:
        block_of = getattr(region, "block", None)
        if block_of is not None:
            inside = block_of(*((s.start, s.stop) for s in index))
        else:
            inside = np.asarray(read_block(region, index)).astype(bool)
        codes[~inside] = BACKGROUND.code
    if block.dtype.kind == "f":
        codes[~np.isfinite(block)] = BACKGROUND.code


def _scratch(shape, out, memory_limit_bytes: int, scratch_dir: str | None, direct: bool):
    """Buffer the blocks go to before they are copied into ``out`` (``out`` itself when direct)."""
    if out is not None and direct:
        return out, None
    nbytes = int(np.prod(shape, dtype=np.int64))
    if out is None or nbytes <= memory_limit_bytes // 4:
        return np.empty(shape, dtype=LABEL_DTYPE), None
    from ..io.label_store import create_label_store

    folder = tempfile.mkdtemp(prefix="licell-classify-", dir=scratch_dir)
    return create_label_store(os.path.join(folder, "labels.zarr"), shape, 1.0), folder


def _classify_sub_slabs(
    slab, rk, sub, halo, buffer, thresholds, n_iter, scratch, region, tick, cancel
) -> None:  # fmt: skip
    """Fast partial-volume codes of planes ``k0:k1`` of a slab read from plane ``r0`` (``rk``), into ``buffer``.

    Equal sub-slabs of at most ``sub`` whole planes, each a view of the slab
    with ``halo`` planes either side; the kept planes' codes go straight into
    a numpy ``buffer`` (no tile copies, no copy out of a work array), or
    into one slab-sized array written to any other buffer at the end.
    """
    r0, k0, k1 = rk
    shape = slab.shape
    direct = isinstance(buffer, np.ndarray) and buffer.flags.c_contiguous
    dest = buffer[r0 + k0 : r0 + k1] if direct else np.empty((k1 - k0, *shape[1:]), dtype=LABEL_DTYPE)
    step = -(-(k1 - k0) // -(-(k1 - k0) // sub))  # equal parts of at most sub planes
    for z0 in range(k0, k1, step):
        raise_if_cancelled(cancel)
        z1 = min(z0 + step, k1)
        b0, b1 = max(0, z0 - halo), min(shape[0], z1 + halo)
        block = np.ascontiguousarray(slab[b0:b1])
        part = dest[z0 - k0 : z1 - k0]
        part.fill(0)  # fault fresh pages in one plain pass: faults taken inside the parallel merge cost ~5x more
        partial_volume_classify_fast(
            *_pv_args(block, thresholds), n_iter=n_iter, scratch=scratch, dest=part, keep=(z0 - b0, z1 - b0)
        )
        planes = (slice(r0 + z0, r0 + z1), slice(0, shape[1]), slice(0, shape[2]))
        _mask_outside(part, block[z0 - b0 : z1 - b0], region, planes)
        tick()
    if not direct:
        buffer[r0 + k0 : r0 + k1] = dest


def _sub_depth(plan: Any, memory_limit_bytes: int, fast: bool = True) -> int:
    """Planes per sub-slab when whole planes of a slab fit the block budget (0: tile in y and x instead).

    Only for the fast partial-volume path (``fast``) on slabs read whole.

    The fast partial-volume path works on a view of the slab (no input copy)
    with three uint8 work arrays (:data:`_FAST_WORK_BYTES` per voxel with
    their tables); a sub-slab of whole planes and its halo get a quarter of
    the budget, as a tile does. Worth it when the halo planes add at most a
    quarter to the work.
    """
    if not fast or not plan.read_whole_slab:
        return 0
    nz, ny, nx = plan.shape
    fit = int(memory_limit_bytes / 4 // (ny * nx * _FAST_WORK_BYTES)) - 2 * plan.halo
    depth = min(fit, plan.depth)
    return depth if depth >= max(8 * plan.halo, 1) or depth >= plan.depth else 0


def _band_steps(shape: tuple[int, ...], stack_axis: int | None) -> int:
    """Progress steps of the carbon band: its column tiles of 256, found then marked."""
    other = [s for i, s in enumerate(shape) if i != (stack_axis or 0)]
    return 2 * math.ceil(other[0] / 256) * math.ceil(other[1] / 256)


def _n_blocks(slabs: list, n_tiles: int, sub: int) -> int:
    """Blocks of a pass: sub-slabs of at most ``sub`` planes per slab, else ``n_tiles`` tiles per slab."""
    if sub:
        return sum(-(-(k1 - k0) // sub) for _, _, k0, k1 in slabs)
    return len(slabs) * n_tiles


#: Bytes per voxel of the fast partial-volume path on whole planes (flag bytes, assigned classes, grown rows, tables).
_FAST_WORK_BYTES = 4.0


def work_bytes_per_voxel(partial_volume: bool, denoise: str, reference: bool = False) -> float:
    """Bytes of work arrays per voxel of a classification block (for :func:`.blocks.plan_blocks`).

    Partial-volume rules: the reference holds about a dozen uint8 arrays of
    the block's size plus a contiguous copy of the input; the fast path three
    uint8 arrays (flags and codes, assigned classes, the rows of a growth
    pass) plus the copy (up to 8 bytes, float64) and its per-row tables.
    Denoising adds its float copies.
    """
    work = (16.0 if reference else 12.0) if partial_volume else 2.0
    if denoise == "median":
        work += 8.0
    elif denoise == "nlm":
        work += 40.0
    return work


def classify_volume(
    data: Any,
    thresholds: ThresholdSet,
    *,
    out: Any | None = None,
    denoise: str = "none",
    denoise_options: dict | None = None,
    partial_volume: bool = True,
    n_iter: int = 3,
    carbon_band: bool = True,
    stack_axis: int | None = None,
    collector_at_start: bool | None = None,
    histogram: Histogram | None = None,
    voxel_size_um: float | tuple[float, float, float] | None = None,
    slab_depth: int | None = None,
    memory_limit_bytes: int = DEFAULT_MEMORY_LIMIT_BYTES,
    scratch_dir: str | None = None,
    direct_output: bool = False,
    progress: ProgressCallback | None = None,
    cancel: CancelLike = None,
    region: Any | None = None,
    reference: bool = False,
) -> ClassificationResult:
    """Classify a whole volume into class codes, slab by slab.

    Parameters
    ----------
    data : array-like (z, y, x)
        Grey values: numpy, memmap, dask, zarr or h5py.
    thresholds : ThresholdSet
        Ordered thresholds; missing Li / gas levels are taken from the
        histogram (``histogram`` or one streamed pass).
    out : writable array-like, optional
        Where to write the uint8 codes (zarr array, memmap, numpy); a new
        numpy array when None.
    denoise : {"none", "median", "nlm"}
        Denoising applied first (see :func:`denoise_block`).
    denoise_options : dict, optional
        Parameters of the denoising.
    partial_volume : bool
        Apply the partial-volume rules (default); False gives plain thresholds.
    n_iter : int
        Growth passes of the partial-volume step.
    carbon_band : bool
        Look for the carbon interlayer by position and label it CARBON.
    stack_axis, collector_at_start : int, bool, optional
        Stack axis and collector end (found from the metal slab when None).
    histogram : Histogram, optional
        Histogram of ``data`` if already computed.
    voxel_size_um : float or (z, y, x), optional
        Voxel size in micrometres; lets the carbon-band search judge the SE's
        lower face in micrometres (see :func:`.carbon_band.find_carbon_band`).
    slab_depth : int, optional
        Planes per slab (default: from the memory budget, see :mod:`.blocks`).
    memory_limit_bytes : int
        Memory budget of the pass in bytes (default 2 GiB): blocks are tiled in
        (y, x) to fit it, and a given ``out`` larger than a quarter of it is
        buffered in a temporary label store on disk instead of memory.
    scratch_dir : str, optional
        Folder for that store.
    direct_output : bool
        Write straight into ``out`` (no buffer, no copy). For an ``out`` that is
        itself scratch: a cancel then leaves it partly written.
    progress : callable(done, total), optional
        Called after each block, band tile and copied slab.
    cancel : threading.Event or callable, optional
        Stops with :class:`~.chunks.Cancelled`; ``out`` is then untouched
        (unless ``direct_output``).
    region : array-like of bool, optional
        The cell region (a :class:`~.cell_region.CellRegion` or any boolean
        array of the data's shape, read block by block): voxels outside it,
        and NaN voxels anywhere, are labelled background (0).
    reference : bool
        Run the partial-volume rules on every voxel and the carbon-band
        search column tile by column tile (the reference implementation)
        instead of only where a voxel's class is in doubt and plane by plane;
        both give the same labels (``tests/core/test_classify_fast.py``).

    Returns
    -------
    ClassificationResult
    """
    shape = tuple(int(s) for s in data.shape)
    if len(shape) != 3:
        raise ValueError(f"classify_volume needs a 3D volume, got shape {shape}")
    if denoise not in DENOISE_METHODS:
        raise ValueError(f"unknown denoising {denoise!r}; choose from {DENOISE_METHODS}")
    if out is not None and tuple(out.shape) != shape:
        raise ValueError(f"output shape {tuple(out.shape)} differs from data shape {shape}")
    if region is not None and tuple(region.shape) != shape:
        raise ValueError(f"cell region shape {tuple(region.shape)} differs from data shape {shape}")
    li, void, _ = _dark_setup(thresholds)
    use_pv = partial_volume and (li is not None or void is not None)
    if use_pv and _needs_levels(thresholds):
        hist = histogram or volume_histogram(data, cancel=cancel)
        thresholds = with_levels(thresholds, hist)
    if denoise == "nlm" and thresholds.noise_sigma is None:
        hist = histogram or volume_histogram(data, cancel=cancel)
        thresholds = replace(thresholds, noise_sigma=estimate_noise_sigma(hist))
    halo = denoise_radius(denoise, denoise_options) + (pv_halo(n_iter) if use_pv else 0)
    itemsize = np.dtype(data.dtype).itemsize
    plan = plan_blocks(shape, itemsize, halo, memory_limit_bytes, work_bytes_per_voxel(use_pv, denoise, reference))
    if slab_depth:
        plan = replace(plan, depth=max(1, int(slab_depth)))
    slabs = list(plan.slabs())
    tiles = plan.tiles()
    band_steps = _band_steps(shape, stack_axis) if carbon_band else 0
    copy_ranges = slab_ranges(shape[0], plan.depth) if out is not None and not direct_output else []
    sub = _sub_depth(plan, memory_limit_bytes, fast=use_pv and not reference and denoise == "none")
    n_blocks = _n_blocks(slabs, len(tiles), sub)
    total = n_blocks + band_steps + len(copy_ranges)
    done = 0

    def tick(_d=None, _t=None):
        nonlocal done
        done += 1
        if progress is not None:
            progress(min(done, total), total)

    def codes_of(block: np.ndarray) -> np.ndarray:
        if denoise != "none":
            block = denoise_block(block, denoise, thresholds.noise_sigma, denoise_options)
        if use_pv and not reference and block.ndim == 3:
            # codes into a scratch array too: they are copied out before the next block
            return partial_volume_classify_fast(
                *_pv_args(block, thresholds), n_iter=n_iter, scratch=scratch, out=scratch.get(2, block.shape)
            )
        if use_pv:
            return classify_block(block, thresholds, True, n_iter, reference=reference, scratch=scratch)
        return classify_slice(block, thresholds)

    scratch = PvScratch()

    buffer, folder = _scratch(shape, out, memory_limit_bytes, scratch_dir, direct_output)
    try:
        for r0, r1, k0, k1 in slabs:
            raise_if_cancelled(cancel)
            slab = read_slab(data, r0, r1) if plan.read_whole_slab else None
            if sub:  # whole planes, sub-slab by sub-slab: no tile copies, codes straight into their place
                _classify_sub_slabs(
                    slab, (r0, k0, k1), sub, plan.halo, buffer, thresholds, n_iter, scratch, region, tick, cancel
                )
                del slab
                continue
            kept = np.empty((k1 - k0, *shape[1:]), dtype=LABEL_DTYPE) if slab is not None else None
            for (y0, y1, ky0, ky1), (x0, x1, kx0, kx1) in tiles:
                raise_if_cancelled(cancel)
                if slab is not None:
                    block = slab[:, y0:y1, x0:x1]
                else:
                    block = read_block(data, (slice(r0, r1), slice(y0, y1), slice(x0, x1)))
                block = np.ascontiguousarray(block)
                codes = codes_of(block)[k0:k1, ky0:ky1, kx0:kx1]
                ys, xs = slice(y0 + ky0, y0 + ky1), slice(x0 + kx0, x0 + kx1)
                _mask_outside(codes, block[k0:k1, ky0:ky1, kx0:kx1], region, (slice(r0 + k0, r0 + k1), ys, xs))
                if kept is not None:
                    kept[:, ys, xs] = codes
                else:
                    buffer[r0 + k0 : r0 + k1, ys, xs] = codes
                tick()
            if kept is not None:
                buffer[r0 + k0 : r0 + k1] = kept
            del slab, kept
        scratch.clear()
        band = None
        if carbon_band:
            band = label_carbon_band(
                buffer,
                axis=stack_axis,
                collector_at_start=collector_at_start,
                progress=tick,
                cancel=cancel,
                memory_limit_bytes=memory_limit_bytes,
                voxel_size_um=voxel_size_um,
                reference=reference,
            )
            done = n_blocks + band_steps  # band tiles may be fewer than the estimate
        raise_if_cancelled(cancel)
        if out is None:
            result = buffer
        else:
            for a, b in copy_ranges:  # not cancellable: out is either untouched or complete
                out[a:b] = buffer[a:b]
                tick()
            result = out
    finally:
        if folder is not None:
            del buffer
            shutil.rmtree(folder, ignore_errors=True)
    if progress is not None:
        progress(total, total)
    return ClassificationResult(result, thresholds, band, denoise, use_pv)
