"""Contrast limits that show a cell readably: the dark phases (Li, gas) and the SE, not the steel.

A whole-cell histogram is dominated by the SE and the metals; napari's own
default (the data range) lets the steel collector set the top, so Li, gas
and SE all come out near black. Here the limits are robust percentiles of a
few sampled planes, with the metal, the no-data fill outside the
reconstruction circle (zeros, NaN or another constant) and non-finite values
left out. Qt-free.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


__all__ = ["display_contrast", "sample_planes"]

#: A single grey value holding more than this share of the sample is taken for no-data fill.
_FILL_SHARE = 0.05
#: The top limit sits this factor above the 99.5 percentile (over the low limit), so SE texture and
#: SE + Li partial volume stay visible and the brighter metal is not confused with the SE.
_HEADROOM = 1.2


def sample_planes(data: Any, axis: int = 0, max_planes: int = 8) -> list[np.ndarray]:
    """Up to ``max_planes`` whole planes of a 3D array, evenly spaced along ``axis``, read one at a time.

    Evenly spaced planes across the stack meet every layer of a cell (collector,
    Li, carbon, SE, counter electrode); first, middle and last alone can miss
    the Li layer.
    """
    if getattr(data, "ndim", 0) == 2:
        return [np.asarray(data)]
    n = int(data.shape[axis])
    picks = sorted({int(round(i)) for i in np.linspace(0, n - 1, min(max_planes, n))}) if n else []
    planes = []
    for i in picks:
        index = [slice(None)] * data.ndim
        index[axis] = int(i)
        plane = data[tuple(index)]
        planes.append(np.asarray(plane.compute() if hasattr(plane, "compute") else plane))
    return planes


def display_contrast(planes: Sequence[np.ndarray] | np.ndarray) -> tuple[tuple[float, float], float]:
    """Contrast limits (in the data's grey values) and a gamma for showing a CT scan.

    Parameters
    ----------
    planes : array or list of arrays
        Sampled grey values (e.g. :func:`sample_planes`).

    Returns
    -------
    limits : (low, high)
        0.5 percentile and 1.2 x the 99.5 percentile (above the low one) of the sample without
        metal, no-data fill and NaN.
    gamma : float
        0.45 when the range spans the dark phases up to the SE (spreads the
        dark corner where Li and gas live), else 1.
    """
    parts = [
        np.asarray(p, dtype=np.float64).ravel() for p in (planes if isinstance(planes, (list, tuple)) else [planes])
    ]
    sample = np.concatenate(parts) if parts else np.empty(0)
    sample = sample[np.isfinite(sample)]
    if sample.size == 0:
        return (0.0, 1.0), 1.0
    values, counts = np.unique(sample[:: max(1, sample.size // 2_000_000)], return_counts=True)
    if values.size > 2 and counts.max() > _FILL_SHARE * counts.sum():
        fill = values[np.argmax(counts)]
        if fill in (values[0], values[-1]) or fill == 0:  # a constant outside the reconstruction circle
            sample = sample[sample != fill]
    if sample.size == 0:
        return (0.0, 1.0), 1.0
    top, floor = float(sample.max()), float(sample.min())
    below_metal = sample[sample <= floor + 0.5 * (top - floor)]
    lo, hi = np.percentile(below_metal if below_metal.size > 100 else sample, [0.5, 99.5])
    lo, hi = float(lo), float(lo + _HEADROOM * (hi - lo))  # the SE a light grey, not white: metal stands out
    if hi <= lo:
        hi = lo + max(abs(lo) * 1e-3, 1e-6)
    gamma = 0.45 if (hi - lo) > 0.5 * abs(hi) else 1.0
    return (lo, hi), gamma
