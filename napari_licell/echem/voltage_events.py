"""Events on a plating voltage curve: the plateau and the onset of a steep rise or fluctuation.

In the cells of Kodama et al. (2024) the InLi-vs-Li voltage sits on a plateau
near 0.622 V while lithium plates. Without a carbon interlayer it rises
steeply and fluctuates after ~2600 min (lithium growing into the solid
electrolyte); with one it only creeps up a few mV over 4000 min.

Method (all on a uniform time grid of bin medians, so sampling density and
single-point spikes do not matter):

1. *Flat* bins: the median-smoothed voltage changes by less than
   ``flat_tolerance`` across a window of 2 % of the record, and the spread of
   the points inside the bin is small.
2. The *plateau* is the first run of flat bins lasting at least
   ``min_plateau_fraction`` of the record; its voltage is the median of the raw
   points in it.
3. A straight line fitted to the plateau (so a slow creep is not an event)
   is extended to the end. The *rise onset* is found where the curve leaves
   that line by more than ``rise_threshold_v`` (or its point-to-point spread
   exceeds half of that) for a sustained stretch, traced back to the last bin
   that was still on the line.

Also :func:`decimate_for_display`, which shrinks a 250k-point curve to a few
thousand points for plotting while keeping every spike (min and max per bin).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .voltage_curve import VoltageCurve

__all__ = [
    "VoltageEvents",
    "find_voltage_events",
    "plateau_voltage_v",
    "rise_onset_min",
    "decimate_for_display",
    "DEFAULT_RISE_THRESHOLD_V",
]

#: A departure from the plateau smaller than this (V) is not a rise.
DEFAULT_RISE_THRESHOLD_V = 0.02

# Robust scale of a normal variable from its 25th percentile of |x|.
_Q25_ABS_NORMAL = 0.31863936
_MAD_TO_SIGMA = 1.4826


@dataclass(frozen=True)
class VoltageEvents:
    """What :func:`find_voltage_events` found.

    Attributes
    ----------
    plateau_v : float or None
        Median voltage of the plateau, V; None when the curve has no plateau.
    rise_onset_min : float or None
        Time of the onset of a steep rise or strong fluctuation after the
        plateau, minutes; None when there is none.
    plateau_start_min, plateau_end_min : float or None
        Where the flat stretch starts and ends, minutes.
    plateau_slope_mv_per_h : float or None
        Slope of the line fitted to the plateau, mV/h (the slow creep).
    noise_v : float
        Point-to-point voltage noise, V (robust estimate).
    departure_v : float or None
        Largest departure from the plateau line after the onset, V (signed:
        positive for a rise).
    """

    plateau_v: float | None
    rise_onset_min: float | None
    plateau_start_min: float | None = None
    plateau_end_min: float | None = None
    plateau_slope_mv_per_h: float | None = None
    noise_v: float = 0.0
    departure_v: float | None = None


def _noise_sigma(values: np.ndarray) -> float:
    """Noise of one sample from successive differences, robust to jumps and quantisation."""
    if values.size < 3:
        return 0.0
    diffs = np.abs(np.diff(values))
    return float(np.percentile(diffs, 25) / _Q25_ABS_NORMAL / np.sqrt(2.0))


def _bin_stats(t: np.ndarray, v: np.ndarray, n_bins: int) -> tuple[np.ndarray, ...]:
    """Per-bin centre time, median, robust spread, and first/last point index (non-empty bins)."""
    edges = np.linspace(t[0], t[-1], n_bins + 1)
    starts = np.searchsorted(t, edges[:-1], side="left")
    stops = np.searchsorted(t, edges[1:], side="left")
    stops[-1] = t.size
    keep = stops > starts
    starts, stops = starts[keep], stops[keep]
    centres = 0.5 * (edges[:-1] + edges[1:])[keep]
    medians = np.empty(starts.size)
    spreads = np.empty(starts.size)
    for k, (a, b) in enumerate(zip(starts, stops)):
        chunk = v[a:b]
        medians[k] = np.median(chunk)
        spreads[k] = _MAD_TO_SIGMA * np.median(np.abs(chunk - medians[k])) if chunk.size > 2 else 0.0
    return centres, medians, spreads, starts, stops


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) index pairs of the True runs in ``mask``."""
    padded = np.concatenate(([False], mask, [False]))
    changes = np.flatnonzero(np.diff(padded.astype(np.int8)))
    return list(zip(changes[::2], changes[1::2]))


def _close_gaps(mask: np.ndarray, max_gap: int) -> np.ndarray:
    """Fill False gaps of at most ``max_gap`` bins between True bins."""
    out = mask.copy()
    for start, stop in _runs(~mask):
        if start > 0 and stop < mask.size and stop - start <= max_gap:
            out[start:stop] = True
    return out


def _line_fit(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Least-squares line y = slope * x + intercept (slope 0 when x does not vary)."""
    x_mean, y_mean = float(np.mean(x)), float(np.mean(y))
    dx = x - x_mean
    denominator = float(np.dot(dx, dx))
    if not denominator > 0 or not np.isfinite(denominator):
        return 0.0, y_mean
    slope = float(np.dot(dx, y - y_mean) / denominator)
    if not np.isfinite(slope):
        return 0.0, y_mean
    return slope, y_mean - slope * x_mean


def find_voltage_events(
    curve: VoltageCurve,
    *,
    rise_threshold_v: float = DEFAULT_RISE_THRESHOLD_V,
    min_plateau_fraction: float = 0.1,
    flat_tolerance_v: float = 0.003,
    n_bins: int = 2000,
) -> VoltageEvents:
    """Find the plateau and the onset of a steep rise or fluctuation.

    Parameters
    ----------
    curve : VoltageCurve
        Time in minutes (non-decreasing), voltage in V.
    rise_threshold_v : float
        Smallest departure from the plateau line that counts as a rise, V.
    min_plateau_fraction : float
        Shortest plateau, as a fraction of the record's duration.
    flat_tolerance_v : float
        Largest voltage change across a 2 %-of-record window that still counts
        as flat, V (raised automatically for noisy curves).
    n_bins : int
        Size of the time grid the curve is reduced to.

    Returns
    -------
    VoltageEvents
    """
    t = np.asarray(curve.time_min, dtype=float)
    v = np.asarray(curve.voltage_v, dtype=float)
    good = np.isfinite(t) & np.isfinite(v)
    t, v = t[good], v[good]
    if np.any(np.diff(t) < 0):
        order = np.argsort(t, kind="stable")
        t, v = t[order], v[order]
    noise = _noise_sigma(v)
    if t.size < 10 or not t[-1] > t[0]:
        return VoltageEvents(None, None, noise_v=noise)

    from scipy.ndimage import median_filter

    n_grid = int(min(n_bins, max(10, t.size // 3)))
    centres, medians, spreads, starts, stops = _bin_stats(t, v, n_grid)
    nb = medians.size
    if nb < 10:
        return VoltageEvents(None, None, noise_v=noise)
    window = max(3, int(round(0.02 * n_grid)))
    half = window // 2

    sigma_bin = _noise_sigma(medians)
    smooth = median_filter(medians, size=window, mode="nearest")
    ahead = smooth[np.minimum(np.arange(nb) + half, nb - 1)]
    behind = smooth[np.maximum(np.arange(nb) - half, 0)]
    flat_tol = max(flat_tolerance_v, 5.0 * sigma_bin)
    typical_spread = float(np.percentile(spreads, 25))
    spread_tol = max(rise_threshold_v / 2.0, 5.0 * typical_spread)
    flat = (np.abs(ahead - behind) <= flat_tol) & (spreads <= spread_tol)
    flat = _close_gaps(flat, half)

    duration = t[-1] - t[0]
    plateau = next(
        ((a, b) for a, b in _runs(flat) if t[stops[b - 1] - 1] - t[starts[a]] >= min_plateau_fraction * duration), None
    )
    if plateau is None:
        return VoltageEvents(None, None, noise_v=noise)
    a, b = plateau
    raw = v[starts[a] : stops[b - 1]]
    plateau_v = float(np.median(raw))
    slope, intercept = _line_fit(centres[a:b], medians[a:b])
    events = dict(
        plateau_v=plateau_v,
        plateau_start_min=float(t[starts[a]]),
        plateau_end_min=float(t[stops[b - 1] - 1]),
        plateau_slope_mv_per_h=float(slope * 60.0 * 1e3),
        noise_v=noise,
    )

    # Departures from the plateau line, sustained for a while.
    resid = medians - (slope * centres + intercept)
    level_tol = max(rise_threshold_v, 6.0 * sigma_bin)
    plateau_spread = float(np.median(spreads[a:b]))
    wild_tol = max(rise_threshold_v / 2.0, 5.0 * plateau_spread)
    departed = (np.abs(resid) > level_tol) | (spreads > wild_tol)
    departed[:a] = False
    sustain = max(3, window // 4)
    run = np.convolve(departed.astype(int), np.ones(sustain, dtype=int), mode="valid")
    hits = np.flatnonzero(run == sustain)
    if hits.size == 0:
        return VoltageEvents(rise_onset_min=None, **events)
    cross = int(hits[0])

    # Trace back to the last bin still on the plateau line.
    onset_band = max(3.0 * sigma_bin, level_tol / 4.0)
    calm_spread = max(3.0 * plateau_spread, 0.002)
    on_line = (np.abs(resid) <= onset_band) & (spreads <= calm_spread)
    before = np.flatnonzero(on_line[a:cross])
    last_calm = a + int(before[-1]) if before.size else a
    onset_min = float(t[stops[last_calm] - 1])
    after = resid[last_calm + 1 :]
    departure = float(after[np.argmax(np.abs(after))]) if after.size else None
    return VoltageEvents(rise_onset_min=onset_min, departure_v=departure, **events)


def plateau_voltage_v(curve: VoltageCurve, **kwargs: float) -> float | None:
    """Median voltage of the plateau, V; None when the curve has none.

    Keyword arguments are passed to :func:`find_voltage_events`.
    """
    return find_voltage_events(curve, **kwargs).plateau_v


def rise_onset_min(curve: VoltageCurve, **kwargs: float) -> float | None:
    """Time (minutes) of the onset of a steep rise or strong fluctuation after the plateau; None if none.

    Keyword arguments are passed to :func:`find_voltage_events`.
    """
    return find_voltage_events(curve, **kwargs).rise_onset_min


def decimate_for_display(time: np.ndarray, voltage: np.ndarray, n_pixels: int) -> tuple[np.ndarray, np.ndarray]:
    """Shrink a curve for plotting, keeping the minimum and maximum of every pixel column.

    Parameters
    ----------
    time : ndarray
        Time (any unit), one value per point.
    voltage : ndarray
        Voltage (any unit).
    n_pixels : int
        Width of the plot in pixels: the time range is cut into this many bins.

    Returns
    -------
    time, voltage : ndarray, ndarray
        At most ``2 * n_pixels`` points in time order: per bin the lowest and
        the highest point (their own times), so a one-sample spike survives.
        Curves already that short, and non-finite points removed, come back
        as copies.
    """
    if n_pixels < 1:
        raise ValueError("n_pixels must be at least 1")
    t = np.asarray(time, dtype=float).ravel()
    y = np.asarray(voltage, dtype=float).ravel()
    if t.shape != y.shape:
        raise ValueError("time and voltage must have the same length")
    good = np.isfinite(t) & np.isfinite(y)
    t, y = t[good], y[good]
    if t.size <= 2 * n_pixels:
        order = np.argsort(t, kind="stable")
        return t[order], y[order]
    span = t.max() - t.min()
    if span <= 0:
        bins = np.zeros(t.size, dtype=np.int64)
    else:
        bins = np.minimum(((t - t.min()) / span * n_pixels).astype(np.int64), n_pixels - 1)
    order = np.lexsort((y, bins))  # by bin, then by voltage
    sorted_bins = bins[order]
    first = np.flatnonzero(np.r_[True, sorted_bins[1:] != sorted_bins[:-1]])
    last = np.r_[first[1:] - 1, sorted_bins.size - 1]
    picks = np.unique(np.concatenate((order[first], order[last])))
    picks = picks[np.argsort(t[picks], kind="stable")]
    return t[picks], y[picks]
