"""Ring artifacts: a grey offset per radius from the rotation axis, measured and taken off.

A detector pixel that answers a little too strongly or weakly adds the same
offset to every voxel at its distance from the rotation axis, in every
slice: thin concentric rings. Rings of a few tenths of 1/cm are as large as
the Li/gas contrast (1.1/cm in 6 atm Xe) and smear the dark peaks of the
histogram together.

:func:`estimate_rings` measures the offset of every whole-voxel radius from
a few dozen evenly spaced slabs: in each plane the mean grey value of each
radius over the voxels of the plane's main phase (within a few robust
deviations of its median, inside the cell region), minus a smooth
polynomial in the radius (which keeps the slow radial trend of cupping
out of it); the median over planes is the ring profile. Drift along the
stack is fitted on the grey value of each sampled plane's bright phase (the
mode of its SE or metal, also where Li masses riddle the SE).
:class:`RingCorrectedScan` subtracts it on the fly, block by block, so the
scan is never copied (integer scans stay integer, rounded).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .chunks import CancelLike, ProgressCallback, raise_if_cancelled, read_block, read_slab

__all__ = ["RingProfile", "RingCorrectedScan", "estimate_rings", "RING_SIGNIFICANCE"]

#: Rings are taken off when their rms offset exceeds this share of the noise of a pure phase.
RING_SIGNIFICANCE = 0.35
#: Drift is taken off when the SE's grey value changes by more than this share along the stack. It must
#: sit well below the drift the analysis cannot stand uncorrected: on the 160 x 256 x 256 process-3 full
#: view a drift of 4 % still gave every class, one of 5 % (measured as 4.85 %) smeared the SE peak over
#: 14 noise widths, the threshold suggestion lost the SE and the verdict was "undetermined" (issue 17).
#: The false drift fitted on drift-free full views of the four cells stays under 0.5 %.
DRIFT_SIGNIFICANCE = 0.015


@dataclass(frozen=True)
class RingProfile:
    """Grey offset per whole-voxel radius from the rotation axis.

    Attributes
    ----------
    centre_yx : (float, float)
        Rotation axis (voxel coordinates).
    offsets : ndarray of float64
        Offset (grey values) of radius ``k`` (voxels ``k - 0.5 <= r < k + 0.5``).
    noise : float
        Spread of the offsets (grey values, robust standard deviation).
    planes : int
        Planes the profile was measured on.
    notes : tuple of str
    phase_noise : float
        Noise of a pure phase in the measured planes (grey values, robust).
    gain : ndarray of float64 or None
        Cupping: relative rise of the attenuation per radius (1 on the axis),
        measured on the bright planes (SE, metal); None when not measured.
    zero_level : float
        Grey value the gain scales from (the darkest phase, ~zero attenuation).
    cupping_grey : float
        Largest rise of the bright phase over the measured radii (grey values).
    grid : (float, float) or None
        (origin, step) of the regular grid float values sit on (a float export
        of integer grey values); corrected values are put back on it, so the
        histogram keeps its grid-aligned bins.
    drift_per_plane, drift_ref_plane : float
        Slow drift along the stack: the grey scale about ``zero_level`` is
        ``1 + drift_per_plane * (z - drift_ref_plane)`` times the true one,
        measured on the SE planes (one material all along the stack).
    drift_grey : float
        Change of the SE's grey value from the first to the last plane.
    stack_planes : int
        Planes of the scan.
    """

    centre_yx: tuple[float, float]
    offsets: np.ndarray
    noise: float
    planes: int
    notes: tuple[str, ...] = field(default_factory=tuple)
    phase_noise: float = 0.0
    gain: np.ndarray | None = None
    zero_level: float = 0.0
    cupping_grey: float = 0.0
    grid: tuple[float, float] | None = None
    drift_per_plane: float = 0.0
    drift_ref_plane: float = 0.0
    drift_grey: float = 0.0
    stack_planes: int = 0

    @property
    def rms(self) -> float:
        """Root-mean-square ring offset (grey values)."""
        return float(np.sqrt(np.mean(self.offsets**2))) if self.offsets.size else 0.0

    @property
    def significant(self) -> bool:
        """Rings worth taking off: their rms is more than a third of the noise of a pure phase."""
        return self.planes > 0 and self.rms > RING_SIGNIFICANCE * self.phase_noise

    @property
    def cupping_significant(self) -> bool:
        """Cupping worth taking off: the bright phase rises by more than the noise towards the rim."""
        return self.gain is not None and self.cupping_grey > self.phase_noise

    @property
    def drift_significant(self) -> bool:
        """Drift worth taking off: the SE's grey value moves by more than twice the noise and more than
        :data:`DRIFT_SIGNIFICANCE` (1.5 %) along the stack (less is within what the SE's make-up changes
        from plane to plane). The drift itself is only measured when it stands 4 standard errors clear."""
        n = self.drift_grey / self.drift_per_plane if self.drift_per_plane else 0.0  # SE level x planes
        return (
            self.drift_per_plane != 0.0
            and abs(self.drift_grey) > 2.0 * self.phase_noise
            and abs(self.drift_grey) > DRIFT_SIGNIFICANCE * abs(n) / max(self.stack_planes - 1, 1)
        )

    @property
    def any_significant(self) -> bool:
        return self.significant or self.cupping_significant or self.drift_significant

    def correct(self, block: np.ndarray, ys: slice, xs: slice, planes: np.ndarray | None = None) -> np.ndarray:
        """``block`` (``planes`` of the (y, x) window ``[ys, xs]``) without rings, cupping and drift (float64)."""
        y = np.arange(ys.start, ys.stop, dtype=np.float64)[:, None] - self.centre_yx[0]
        x = np.arange(xs.start, xs.stop, dtype=np.float64)[None, :] - self.centre_yx[1]
        k = np.minimum(np.rint(np.hypot(y, x)).astype(np.int64), self.offsets.size - 1)
        out = np.asarray(block, dtype=np.float64)
        if self.significant:
            out = out - self.offsets[k]
        if self.cupping_significant:
            out = self.zero_level + (out - self.zero_level) / self.gain[k]
        if self.drift_significant and planes is not None:
            g = 1.0 + self.drift_per_plane * (np.asarray(planes, dtype=np.float64) - self.drift_ref_plane)
            g = g.reshape((-1,) + (1,) * (out.ndim - 1)) if out.ndim == 3 else float(g.ravel()[0])
            out = self.zero_level + (out - self.zero_level) / g
        if self.grid is not None:
            origin, step = self.grid
            out = origin + np.rint((out - origin) / step) * step
        return out

    def image(self, ys: slice, xs: slice) -> np.ndarray:
        """Offsets of the (y, x) block ``[ys, xs]`` (float64)."""
        y = np.arange(ys.start, ys.stop, dtype=np.float64)[:, None] - self.centre_yx[0]
        x = np.arange(xs.start, xs.stop, dtype=np.float64)[None, :] - self.centre_yx[1]
        k = np.rint(np.hypot(y, x)).astype(np.int64)
        return self.offsets[np.minimum(k, self.offsets.size - 1)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "centre_yx": list(self.centre_yx),
            "rms_offset": self.rms,
            "phase_noise": self.phase_noise,
            "drift_grey": self.drift_grey,
            "drift_significant": self.drift_significant,
            "significant": self.significant,
            "cupping_grey": self.cupping_grey,
            "cupping_significant": self.cupping_significant,
            "max_offset": float(np.max(np.abs(self.offsets))) if self.offsets.size else 0.0,
            "planes": int(self.planes),
            "notes": list(self.notes),
        }


class RingCorrectedScan:
    """A scan with the ring offsets taken off, read block by block like the scan itself.

    Parameters
    ----------
    data : array-like (z, y, x)
    rings : RingProfile
    """

    def __init__(self, data: Any, rings: RingProfile) -> None:
        self.data = data
        self.rings = rings
        self.shape = tuple(int(s) for s in data.shape)
        self.dtype = np.dtype(data.dtype)
        self.ndim = 3

    def __getitem__(self, index: Any) -> np.ndarray:
        if not isinstance(index, tuple):
            index = (index,)
        index = index + (slice(None),) * (3 - len(index))
        ys = _as_range(index[1], self.shape[1])
        xs = _as_range(index[2], self.shape[2])
        if ys is None or xs is None:  # fancy or strided (y, x): correct the full planes, then pick
            block = self[index[0], :, :]
            z_dropped = isinstance(index[0], (int, np.integer))
            return np.asarray(block[(slice(None),) * (0 if z_dropped else 1) + tuple(index[1:])])
        block = np.asarray(read_block(self.data, (index[0], ys, xs)))
        z = index[0]
        planes = (
            np.array([int(z) + (self.shape[0] if z < 0 else 0)])
            if isinstance(z, (int, np.integer))
            else np.arange(*z.indices(self.shape[0]))
            if isinstance(z, slice)
            else np.asarray(z)
        )
        corrected = self.rings.correct(block, ys, xs, planes)
        if self.dtype.kind in "iu":
            info = np.iinfo(self.dtype)
            return np.clip(np.rint(corrected), info.min, info.max).astype(self.dtype)
        out = corrected.astype(self.dtype, copy=False)
        return out

    def __array__(self, dtype=None, copy=None):
        out = self[:, :, :]
        return out if dtype is None else out.astype(dtype)


def _as_range(ix: Any, n: int) -> slice | None:
    if isinstance(ix, slice):
        a, b, step = ix.indices(n)
        return slice(a, b) if step == 1 else None
    return None


def estimate_rings(
    data: Any,
    *,
    centre_yx: tuple[float, float] | None = None,
    region: Any = None,
    n_samples: int = 32,
    planes_per_sample: int = 1,
    trend_degree: int = 2,
    progress: ProgressCallback | None = None,
    cancel: CancelLike = None,
) -> RingProfile:
    """Measure the ring offsets of a scan (see the module docstring).

    Parameters
    ----------
    data : array-like (z, y, x)
        The scan, z the rotation axis.
    centre_yx : (float, float), optional
        Rotation axis in voxel coordinates (default: the slice centre; take
        the reconstruction circle's centre when one was found).
    region : array-like of bool, optional
        The cell region; only its voxels are used.
    n_samples, planes_per_sample : int
        Evenly spaced slabs read, and planes per slab.
    trend_degree : int
        Degree of the polynomial in the radius that takes the slow trend (cupping) out.

    Returns
    -------
    RingProfile
    """
    nz, ny, nx = (int(s) for s in data.shape)
    cy, cx = centre_yx if centre_yx is not None else ((ny - 1) / 2.0, (nx - 1) / 2.0)
    # big planes: every second row is enough (every radius keeps thousands of voxels)
    rows_step = 2 if ny * nx > 1_000_000 else 1
    yy = np.arange(ny, dtype=np.float32)[::rows_step, None] - np.float32(cy)
    xx = np.arange(nx, dtype=np.float32)[None, :] - np.float32(cx)
    k = np.rint(np.hypot(yy, xx)).astype(np.int32)  # whole-voxel radius of every (kept) voxel
    n_r = int(k.max()) + 1
    ring_len = np.bincount(k.ravel(), minlength=n_r).astype(np.float64)
    starts = np.unique(np.linspace(0, max(nz - planes_per_sample, 0), min(n_samples, nz)).round().astype(int))
    profiles: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    mads: list[float] = []
    levels: list[float] = []
    planes_z: list[int] = []
    sample: list[np.ndarray] = []
    every: list[tuple[int, np.ndarray]] = []  # (plane, sample) of every plane, for the drift
    for i, z0 in enumerate(starts):
        raise_if_cancelled(cancel)
        z1 = int(min(nz, z0 + planes_per_sample))
        slab = np.asarray(read_slab(data, int(z0), z1)[:, ::rows_step], dtype=np.float32)
        inside = (
            np.ones(slab.shape, dtype=bool)
            if region is None
            else np.asarray(read_slab(region, int(z0), z1), bool)[:, ::rows_step]
        )
        for j, (plane, keep) in enumerate(zip(slab, inside)):
            keep = keep & np.isfinite(plane)
            if keep.sum() < 1000 // rows_step:
                continue
            v = plane[keep]
            few = v[:: max(1, v.size // 200_000)]  # robust level and spread from a sample are enough
            every.append((int(z0) + j, few[:: max(1, few.size // 20000)]))
            med = float(np.median(few))
            mad = float(np.median(np.abs(few - med))) * 1.4826
            if mad <= 0:
                continue
            main = keep & (np.abs(plane - med) < 4.0 * mad)
            if main.sum() < 0.5 * keep.sum():  # no main phase: an interface plane
                continue
            kk = k[main]
            cnt = np.bincount(kk, minlength=n_r).astype(np.float64)
            tot = np.bincount(kk, weights=plane[main], minlength=n_r)
            full = cnt >= np.maximum(16, 0.1 * ring_len)  # radii the phase covers well enough
            if full.sum() < 4 * (trend_degree + 1):
                continue
            prof = tot / np.maximum(cnt, 1)
            idx = np.flatnonzero(full)
            profiles.append((idx, prof[idx], np.sqrt(cnt[idx])))
            levels.append(med)
            planes_z.append(int(z0) + j)
            sample.append(few[:: max(1, few.size // 20000)])
            within = (plane[main] - prof[kk])[:: max(1, kk.size // 200_000)]  # noise inside one radius: no rings
            mads.append(1.4826 * float(np.median(np.abs(within - np.median(within)))))
        if progress is not None:
            progress(i + 1, len(starts))
    if not profiles:
        return RingProfile(
            (float(cy), float(cx)), np.zeros(n_r), 0.0, 0, ("no plane with a main phase: rings not measured",)
        )
    phase_noise = float(np.median(mads))
    # The rings are the same in every plane, the trend (cupping, the phase's level) is not: fit each
    # plane's trend as a polynomial in the radius to its profile without the current ring estimate,
    # take the median over planes of what is left, and repeat (a trend fitted to the raw profile
    # would take up part of the rings, the same part in every plane).
    offsets = np.zeros(n_r)
    for _ in range(4):
        rows = np.full((len(profiles), n_r), np.nan)
        for j, (idx, prof, w) in enumerate(profiles):
            x = idx / max(float(idx.max()), 1.0)
            coef = np.polyfit(x, prof - offsets[idx], trend_degree, w=w)
            rows[j, idx] = prof - np.polyval(coef, x)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            new = np.nan_to_num(np.nanmedian(rows, axis=0))
        seen = np.any(np.isfinite(rows), axis=0)
        new[seen] -= np.median(new[seen])
        offsets = new
    arr = rows
    gain, zero, cup = _cupping(profiles, levels, offsets, np.concatenate(sample), phase_noise, trend_degree, n_r)
    # with cupping, each plane's level on the rotation axis (its radial trend at r = 0): free of the
    # cupping, which moves a plane's median with how much of its rim the main phase fills
    axis_levels = []
    for idx, prof, w in profiles:
        coef = np.polyfit(idx / float(n_r), prof - offsets[idx], trend_degree, w=w)
        axis_levels.append(float(np.polyval(coef, 0.0)))
    cupped = gain is not None and cup > phase_noise
    if cupped:
        drift, ref, drift_grey = _drift(axis_levels, planes_z, zero, phase_noise, nz)
    else:  # each plane's bright phase (SE, metal) where it is: also the SE riddled with Li
        width = 4.0 * phase_noise + 3.0 * float(np.sqrt(np.mean(offsets**2)))
        modes = [(z, _bright_mode(few, zero + 30.0 * phase_noise, width)) for z, few in every]
        modes = [(z, m) for z, m in modes if m is not None]
        drift, ref, drift_grey = _drift([m for _, m in modes], [z for z, _ in modes], zero, phase_noise, nz)
    spread = float(np.median(np.abs(offsets[seen])) * 1.4826) if seen.any() else 0.0
    note = (
        f"ring offsets measured on {arr.shape[0]} planes: rms {math.sqrt(float(np.mean(offsets**2))):.3g} grey "
        f"values against a noise of {phase_noise:.3g}"
    )
    if gain is not None:
        note += f"; cupping: the bright phase rises by {cup:.3g} grey values towards the rim"
    from .histogram import value_grid

    values = np.concatenate(sample)
    grid = None
    if np.dtype(data.dtype).kind == "f":
        step = value_grid(values, float(values.min()), float(values.max()))
        if step is not None:
            grid = (float(values.min()), float(step))
    if drift:
        note += f"; drift: the SE's grey value moves by {drift_grey:.3g} along the stack"
    return RingProfile(
        (float(cy), float(cx)),
        offsets,
        spread,
        int(arr.shape[0]),
        (note,),
        phase_noise,
        gain,
        zero,
        cup,
        grid,
        drift,
        ref,
        drift_grey,
        nz,
    )


def _material_groups(lv: np.ndarray, spread: float = 1.25) -> list[np.ndarray]:
    """Indices of the planes grouped by material: sorted levels, a new group when one exceeds ``spread``
    times its group's lowest (a drift of up to 25 % keeps one material in one group)."""
    order = np.argsort(lv)
    groups: list[list[int]] = []
    for i in order:
        if groups and lv[i] <= spread * lv[groups[-1][0]]:
            groups[-1].append(int(i))
        else:
            groups.append([int(i)])
    return [np.asarray(g) for g in groups]


def _fit_shared_drift(zz: np.ndarray, lv: np.ndarray, groups: list[np.ndarray], nz: int):
    """Relative drift ``d`` of ``lv = A_g (1 + d z)`` (one level per material group, one drift for all):
    (d, its standard error, the group levels A_g)."""
    from scipy.optimize import minimize_scalar

    def levels_for(d: float) -> list[float]:
        out = []
        for g in groups:
            f = 1.0 + d * zz[g]
            out.append(float(np.sum(lv[g] * f) / np.sum(f * f)))
        return out

    def cost(d: float) -> float:
        total = 0.0
        for g, a in zip(groups, levels_for(d)):
            total += float(np.sum(((lv[g] - a * (1.0 + d * zz[g])) / a) ** 2))
        return total

    bound = 0.9 / max(nz - 1, 1)
    d = float(minimize_scalar(cost, bounds=(-bound, bound), method="bounded").x)
    dof = sum(g.size for g in groups) - len(groups) - 1
    lever = sum(float(np.sum((zz[g] - zz[g].mean()) ** 2)) for g in groups)
    se = float(np.sqrt(cost(d) / max(dof, 1) / lever)) if lever > 0 else np.inf
    return d, se, levels_for(d)


def _drift(levels, planes_z, zero, noise, nz):
    """Relative drift per plane of the bright planes' grey value about ``zero``: (per plane, reference plane, change).

    ``levels`` are each plane's bright-phase mode (:func:`_bright_mode`; with cupping, the
    main phase's level on the rotation axis). Drift scales every material's attenuation
    alike, so it is fitted on all bright planes at once, one level per material (the SE, the collector's metal, ...) and
    one drift for all: a cell whose SE fills only the last quarter of the stack
    still gets it from the SE and the collector at the other end. The change is
    reported on the SE (the bright material of most planes). Not measured (0) when
    the planes leave it uncertain (less than 4 standard errors).
    """
    lv = np.asarray(levels, dtype=np.float64) - zero
    zz = np.asarray(planes_z, dtype=np.float64)
    bright = np.flatnonzero(lv > 30.0 * noise)
    if bright.size < 3:
        return 0.0, 0.0, 0.0
    groups = [bright[g] for g in _material_groups(lv[bright])]
    groups = [g for g in groups if g.size >= 2]
    if not groups:
        return 0.0, 0.0, 0.0
    used = np.concatenate(groups)
    if used.size - len(groups) - 1 < 2 or sum(float(np.ptp(zz[g])) for g in groups) < 0.15 * nz:
        return 0.0, 0.0, 0.0
    d, se, amps = _fit_shared_drift(zz, lv, groups, nz)
    # stray planes (an interface, a partial-volume mix) in a group: drop what the fit leaves far out, fit again
    resid = np.concatenate([(lv[g] - a * (1.0 + d * zz[g])) / a for g, a in zip(groups, amps)])
    mad = 1.4826 * float(np.median(np.abs(resid))) or float(np.std(resid))
    if mad > 0 and np.any(np.abs(resid) > 4.0 * mad):
        keep = set(used[np.abs(resid) <= 4.0 * mad].tolist())
        groups = [np.asarray([i for i in g if i in keep]) for g in groups]
        groups = [g for g in groups if g.size >= 2]
        if not groups or sum(g.size for g in groups) - len(groups) - 1 < 2:
            return 0.0, 0.0, 0.0
        d, se, amps = _fit_shared_drift(zz, lv, groups, nz)
    if not abs(d) >= 4.0 * se:
        return 0.0, 0.0, 0.0
    main = int(np.argmax([g.size for g in groups]))  # the SE: the bright material of most planes
    ref = float(np.mean(zz[np.concatenate(groups)]))
    per_plane = float(d / (1.0 + d * ref))
    return per_plane, ref, float(amps[main] * d * (nz - 1))


def _bright_mode(values: np.ndarray, floor: float, width: float) -> float | None:
    """Grey value of the most common bright phase of a plane's sample (above ``floor``), or None.

    A plane's median is its level only when one phase fills most of it; in an SE riddled
    with Li masses and SE + Li voxels it lies between them and moves with how much Li the
    plane holds, which a drift fit takes for drift. The mode of the bright values (the
    fullest bin ``width`` wide, then the median of the values within ``width`` of it,
    twice) is the SE's (or the metal's) grey value whatever else the plane holds.
    """
    bright = values[values > floor]
    if bright.size < 200 or not width > 0:
        return None
    lo, hi = float(bright.min()), float(bright.max())
    n_bins = int(min(4096, max(1, math.ceil((hi - lo) / width))))
    counts, edges = np.histogram(bright, bins=n_bins, range=(lo, hi if hi > lo else lo + width))
    i = int(np.argmax(counts))
    centre = 0.5 * (edges[i] + edges[i + 1])
    for _ in range(2):
        near = bright[np.abs(bright - centre) < width]
        if near.size < 100:
            return None
        centre = float(np.median(near))
    return centre


def _lowest_mode(values: np.ndarray, noise: float) -> float:
    """Grey value of the darkest phase peak in a sample (about zero attenuation: Li or gas)."""
    lo, hi = np.percentile(values, [0.01, 99.99])
    width = max(noise / 2.0, (hi - lo) / 1e5, 1e-12)
    counts, edges = np.histogram(values, bins=int(min(1e5, max(8, (hi - lo) / width))), range=(lo, hi))
    from scipy.ndimage import gaussian_filter1d

    smooth = gaussian_filter1d(counts.astype(np.float64), 1.5)
    floor = 1e-3 * values.size * (edges[1] - edges[0]) / max(noise, edges[1] - edges[0])
    for i in range(1, smooth.size - 1):
        if smooth[i] >= smooth[i - 1] and smooth[i] >= smooth[i + 1] and smooth[i] > floor:
            return float(0.5 * (edges[i] + edges[i + 1]))
    return float(lo)


def _cupping(profiles, levels, offsets, sample, noise, degree, n_r):
    """Relative radial gain of the bright planes (SE, metal) about the darkest phase, or (None, 0, 0)."""
    if sample.size < 1000 or noise <= 0:
        return None, 0.0, 0.0
    zero = _lowest_mode(sample, noise)
    rel = np.full((len(profiles), n_r), np.nan)
    rises = []
    for j, ((idx, prof, w), level) in enumerate(zip(profiles, levels)):
        if level - zero < 30.0 * noise:  # a dark plane: cupping is lost in its noise
            continue
        x = idx / float(n_r)
        coef = np.polyfit(x, prof - offsets[idx], degree, w=w)
        centre = float(np.polyval(coef, 0.0))
        if centre - zero <= 0:
            continue
        rel[j, idx] = (np.polyval(coef, x) - zero) / (centre - zero)
        rises.append((centre - zero) * (np.nanmax(rel[j, idx]) - 1.0))
    if not rises:
        return None, zero, 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        med = np.nanmedian(rel, axis=0)
    seen = np.isfinite(med)
    if seen.sum() < degree + 2:
        return None, zero, 0.0
    r = np.arange(n_r) / float(n_r)
    basis = np.vstack([r[seen] ** p for p in range(1, degree + 1)]).T
    a, *_ = np.linalg.lstsq(basis, med[seen] - 1.0, rcond=None)
    gain = 1.0 + np.vstack([r**p for p in range(1, degree + 1)]).T @ a
    gain = np.clip(gain, 0.5, 2.0)
    return gain, zero, float(np.median(rises))
