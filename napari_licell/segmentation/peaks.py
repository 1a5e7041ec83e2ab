"""Phase peaks of a CT histogram: where Li, gas, SE and metal sit, and how wide noise makes them.

A pure phase shows up as a narrow peak whose width is the reconstruction
noise; partial-volume voxels and the SE + Li mixture form broad plateaus
between the peaks and are never taken for a phase. The grey values of a
xenon-filled cell cluster in two groups: a *dark cluster* (Li, gas-filled
voids, porous carbon, all within ~1.3/cm) far below the *bright* phases
(SE ~61/cm, metals 180-290/cm). The dark cluster is found by that gap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage, signal

from .histogram import Histogram
from .materials import phase_mu

__all__ = ["HistogramPeak", "PhasePeaks", "estimate_noise_sigma", "find_phase_peaks", "identify_phases"]

_FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))


@dataclass(frozen=True)
class HistogramPeak:
    """One peak of a histogram.

    Attributes
    ----------
    grey : float
        Grey value of the peak.
    height : float
        Smoothed count per grey value at the peak.
    sigma : float
        Gaussian width (grey values) from the half maximum on its cleaner side;
        NaN when neither side reaches half maximum before a neighbour.
    share : float
        Share of all voxels within +-2 sigma (noise sigma) of the peak.
    narrow : bool
        True when the width matches the noise: a pure phase.
    """

    grey: float
    height: float
    sigma: float
    share: float
    narrow: bool


@dataclass(frozen=True)
class PhasePeaks:
    """Peaks of a histogram and which phase each one is.

    Attributes
    ----------
    noise_sigma : float
        Reconstruction noise, grey values (width of the most populated peak).
    peaks : tuple of HistogramPeak
        All narrow peaks, darkest first.
    dark : tuple of HistogramPeak
        The dark cluster (Li, gas, carbon), darkest first.
    li, gas, se, metal : HistogramPeak or None
        Identified phases. ``gas`` is None when the dark cluster has one peak
        (Li and gas not separated).
    notes : tuple of str
        How the identification was made.
    """

    noise_sigma: float
    peaks: tuple[HistogramPeak, ...]
    dark: tuple[HistogramPeak, ...]
    li: HistogramPeak | None
    gas: HistogramPeak | None
    se: HistogramPeak | None
    metal: HistogramPeak | None
    notes: tuple[str, ...] = field(default_factory=tuple)


def _comb_spacing(counts: np.ndarray) -> float:
    """Typical spacing of occupied bins (1 for a full histogram, k for a comb after rescaling)."""
    nz = np.flatnonzero(counts)
    if nz.size < 3:
        return 1.0
    return float(max(1.0, np.median(np.diff(nz))))


def _half_max_distance(y: np.ndarray, i: int, direction: int) -> float:
    """Distance (bins) from peak ``i`` to half maximum; NaN if a valley comes first."""
    half = y[i] / 2.0
    j = i
    lowest = y[i]
    n = y.size
    while 0 <= j + direction < n:
        j += direction
        if y[j] < half:
            # linear interpolation between j - direction and j
            prev = y[j - direction]
            frac = (prev - half) / (prev - y[j]) if prev != y[j] else 0.0
            return abs(j - direction - i) + frac
        if y[j] > lowest * 1.05 and y[j] > y[j - direction]:
            return float("nan")  # rising again: a neighbouring peak, not this one's flank
        lowest = min(lowest, y[j])
    return float("nan")


def _peak_sigma_bins(y: np.ndarray, i: int, smooth_bins: float) -> float:
    """Gaussian sigma (bins) of the peak at ``i`` on the smoothed curve ``y``, smoothing removed."""
    left = _half_max_distance(y, i, -1)
    right = _half_max_distance(y, i, +1)
    sides = [d for d in (left, right) if np.isfinite(d)]
    if not sides:
        return float("nan")
    s_obs = min(sides) / (_FWHM_PER_SIGMA / 2.0)
    return float(math.sqrt(max(s_obs**2 - smooth_bins**2, 0.25)))


def estimate_noise_sigma(hist: Histogram) -> float:
    """Noise of the reconstruction in grey values: the width of the most populated peak.

    The half maximum is read on the peak's cleaner (narrower) side, so the
    partial-volume tail on the other side does not widen it.
    """
    counts = hist.counts.astype(np.float64)
    if counts.sum() == 0:
        raise ValueError("empty histogram")
    pre = _comb_spacing(hist.counts)
    y = ndimage.gaussian_filter1d(counts, pre)
    i = int(np.argmax(y))
    s = _peak_sigma_bins(y, i, pre)
    if not np.isfinite(s):
        s = pre
    return float(s * hist.bin_width)


def find_phase_peaks(
    hist: Histogram,
    noise_sigma: float | None = None,
    min_share: float = 1e-4,
    min_prominence_ratio: float = 1.2,
    max_width_in_sigma: float = 2.5,
) -> tuple[list[HistogramPeak], float]:
    """Peaks of the histogram and the noise sigma.

    Parameters
    ----------
    hist : Histogram
        Histogram of the volume.
    noise_sigma : float, optional
        Noise in grey values (estimated from the most populated peak if None).
    min_share : float
        Peaks holding less than this share of voxels (within +-2 sigma) are dropped.
    min_prominence_ratio : float
        A peak must stand this many times above the valley that separates it
        from a higher neighbour (log-count prominence).
    max_width_in_sigma : float
        Peaks wider than this many noise sigmas are plateaus (partial volume,
        SE + Li), not phases; they are returned with ``narrow=False``.

    Returns
    -------
    peaks : list of HistogramPeak
        All peaks, darkest first.
    noise_sigma : float
        Noise in grey values.
    """
    sigma = float(noise_sigma) if noise_sigma else estimate_noise_sigma(hist)
    sigma_bins = max(sigma / hist.bin_width, 0.5)
    counts = hist.counts.astype(np.float64)
    total = counts.sum()
    pre = _comb_spacing(hist.counts)
    smooth = max(pre, sigma_bins / 2.0)
    y = ndimage.gaussian_filter1d(counts, smooth)
    logy = np.log1p(y)
    idx, _ = signal.find_peaks(logy, prominence=math.log(min_prominence_ratio))
    cum = np.concatenate([[0.0], np.cumsum(counts)])
    out: list[HistogramPeak] = []
    for i in idx:
        lo = int(max(0, math.floor(i - 2 * sigma_bins)))
        hi = int(min(counts.size, math.ceil(i + 2 * sigma_bins) + 1))
        share = (cum[hi] - cum[lo]) / total
        if share < min_share:
            continue
        s = _peak_sigma_bins(y, int(i), smooth)
        narrow = (not np.isfinite(s)) or s <= max_width_in_sigma * sigma_bins
        out.append(
            HistogramPeak(
                grey=float(hist.grey(int(i))),
                height=float(y[i] / hist.bin_width),
                sigma=float(s * hist.bin_width) if np.isfinite(s) else float("nan"),
                share=float(share),
                narrow=bool(narrow),
            )
        )
    return out, sigma


def _drop_mixture_peaks(
    peaks: list[HistogramPeak], min_fraction: float, max_relative_share: float
) -> list[HistogramPeak]:
    """Keep the peaks of pure phases; drop small peaks that sit on the mixing line of two bigger ones.

    Flat interfaces give their partial-volume voxels nearly one grey value,
    which can form a narrow peak (e.g. the Li voxel on a steel face). Such a
    peak lies between two phases at a mixing fraction well inside (0, 1) and
    holds far fewer voxels than either phase. Peaks are taken in order of
    decreasing share.
    """
    kept: list[HistogramPeak] = []
    for p in sorted(peaks, key=lambda q: q.share, reverse=True):
        mixture = False
        for a in kept:
            for b in kept:
                if not a.grey < p.grey < b.grey:
                    continue
                f = (p.grey - a.grey) / (b.grey - a.grey)
                if min_fraction <= f <= 1.0 - min_fraction and p.share < max_relative_share * min(a.share, b.share):
                    mixture = True
                    break
            if mixture:
                break
        if not mixture:
            kept.append(p)
    return sorted(kept, key=lambda q: q.grey)


def _split_dark_cluster(peaks: list[HistogramPeak], sigma: float) -> tuple[list, list]:
    """Dark cluster = darkest peaks up to the first gap much wider than the cluster itself."""
    if not peaks:
        return [], []
    dark = [peaks[0]]
    for k in range(1, len(peaks)):
        gap = peaks[k].grey - peaks[k - 1].grey
        span = peaks[k - 1].grey - peaks[0].grey
        if gap > max(10.0 * sigma, 5.0 * (span + 5.0 * sigma)):
            return dark, peaks[k:]
        dark.append(peaks[k])
    return dark, []


def identify_phases(
    hist: Histogram,
    *,
    noise_sigma: float | None = None,
    calibration=None,
    gas: str | None = None,
    pressure_atm: float | None = None,
    peaks: list[HistogramPeak] | None = None,
    min_phase_share: float = 1e-3,
) -> PhasePeaks:
    """Find the phase peaks of a cell histogram and say which is which.

    Parameters
    ----------
    hist : Histogram
        Histogram of the volume (or of its region of interest).
    noise_sigma : float, optional
        Noise in grey values; estimated when None.
    calibration : GreyCalibration, optional
        Grey -> 1/cm map; used to tell SE from metal when only one bright
        peak is present.
    gas, pressure_atm : str, float, optional
        Fill gas and pressure; with two dark peaks they fix the grey scale
        (Li and gas attenuation are known) and so also tell SE from metal.
    peaks : list of HistogramPeak, optional
        Pre-computed peaks (from :func:`find_phase_peaks`).
    min_phase_share : float
        A phase must hold at least this share of the voxels (default 0.1 %).

    Returns
    -------
    PhasePeaks
        Noise, dark cluster and the identified Li, gas, SE and metal peaks.

    Notes
    -----
    Rules: only narrow peaks holding at least ``min_phase_share`` of the
    voxels count, and a small peak on the mixing line of two bigger ones is a
    partial-volume artefact, not a phase. The darkest remaining peak is Li (the darkest material of a xenon
    cell), the next one in the dark cluster is the gas (porous carbon in
    xenon shares its peak). Of the bright peaks, the brightest is metal and
    the most populated other one is SE. A single bright peak is SE unless a
    calibration or the fill gas says it is metal.
    """
    if peaks is None:
        peaks, sigma = find_phase_peaks(hist, noise_sigma)
    else:
        sigma = float(noise_sigma) if noise_sigma else estimate_noise_sigma(hist)
    narrow = [p for p in peaks if p.narrow and p.share >= min_phase_share]
    narrow = _drop_mixture_peaks(narrow, min_fraction=0.05, max_relative_share=0.2)
    notes: list[str] = []
    dark, bright = _split_dark_cluster(narrow, sigma)
    li = dark[0] if dark else None
    gas_peak = dark[1] if len(dark) >= 2 else None
    if len(dark) > 2:
        notes.append(f"{len(dark)} dark peaks; the two darkest are taken as Li and gas")
    se = metal = None
    if len(bright) >= 2:
        metal = bright[-1]
        se = max(bright[:-1], key=lambda p: p.share)
    elif len(bright) == 1:
        only = bright[0]
        mu = None
        if calibration is not None:
            mu = float(calibration.to_mu(only.grey))
            notes.append("single bright peak identified through the calibration")
        elif li is not None and gas_peak is not None and gas is not None and pressure_atm:
            d_mu = phase_mu("gas", gas, pressure_atm) - phase_mu("li")
            if d_mu > 0:
                per_inv_cm = (gas_peak.grey - li.grey) / d_mu
                mu = phase_mu("li") + (only.grey - li.grey) / per_inv_cm
                notes.append(f"single bright peak identified from the Li/{gas} spacing")
        if mu is not None and mu > 0:
            candidates = {"se": phase_mu("se"), "steel": phase_mu("steel"), "inli": phase_mu("inli")}
            best = min(candidates, key=lambda k: abs(math.log(mu / candidates[k])))
            if best == "se":
                se = only
            else:
                metal = only
        else:
            se = only
            notes.append("single bright peak taken as SE (give a calibration or the gas to tell SE from metal)")
    return PhasePeaks(
        noise_sigma=float(sigma),
        peaks=tuple(narrow),
        dark=tuple(dark),
        li=li,
        gas=gas_peak,
        se=se,
        metal=metal,
        notes=tuple(notes),
    )
