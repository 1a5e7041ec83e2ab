"""How much the Li volume and the Li / void split move when a threshold moves.

For each threshold the classes are recounted with that threshold shifted by
``-step`` and ``+step`` (grey values, or 1/cm through the calibration). The
fast path counts on the histogram (plain thresholds, milliseconds); given a
volume, the full classification (partial volume, carbon band) is rerun for
every shift instead, which is exact but costs ``2 * n_thresholds + 1`` runs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ..classes import LI, VOID
from .histogram import Histogram
from .thresholds import ThresholdSet

__all__ = ["SensitivityRow", "threshold_sensitivity", "DEFAULT_STEP_MU"]

#: Default shift in attenuation units, 1/cm.
DEFAULT_STEP_MU = 0.05
#: Default shift in grey values when no calibration is known.
DEFAULT_STEP_GREY = 5.0


@dataclass(frozen=True)
class SensitivityRow:
    """Effect of moving one threshold by -step and +step.

    Attributes
    ----------
    boundary : str
        ``"li|void"``-style name.
    index : int
        Threshold index.
    value, step : float
        Threshold and shift, grey values.
    li_voxels, void_voxels : int
        Counts at the current thresholds.
    li_change_minus, li_change_plus : float
        Relative change of the Li volume (0.01 = +1 %) for -step / +step.
    void_change_minus, void_change_plus : float
        Same for the gas-filled voids.
    li_share : float
        Li / (Li + void) at the current thresholds.
    li_share_minus, li_share_plus : float
        That share after the shift.
    """

    boundary: str
    index: int
    value: float
    step: float
    li_voxels: int
    void_voxels: int
    li_change_minus: float
    li_change_plus: float
    void_change_minus: float
    void_change_plus: float
    li_share: float
    li_share_minus: float
    li_share_plus: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _counts_from_hist(hist: Histogram, ts: ThresholdSet) -> dict[int, int]:
    edges = [-np.inf, *ts.values, np.inf]
    cum = [0] + [hist.count_below(e) for e in edges[1:-1]] + [hist.n_voxels]
    return {code: int(cum[k + 1] - cum[k]) for k, code in enumerate(ts.classes)}


def _counts_from_volume(volume: Any, ts: ThresholdSet, kwargs: dict) -> dict[int, int]:
    from .classify import classify_volume

    labels = classify_volume(volume, ts, **kwargs).labels
    counts = np.bincount(np.asarray(labels).ravel(), minlength=256)
    return {code: int(counts[code]) for code in (LI.code, VOID.code)}


def _rel(new: int, old: int) -> float:
    return float((new - old) / old) if old else (0.0 if new == old else float("inf"))


def _share(c: dict[int, int]) -> float:
    li, void = c.get(LI.code, 0), c.get(VOID.code, 0)
    return float(li / (li + void)) if li + void else float("nan")


def threshold_sensitivity(
    thresholds: ThresholdSet,
    hist: Histogram | None = None,
    *,
    step: float | None = None,
    step_mu: float | None = None,
    volume: Any | None = None,
    classify_kwargs: dict | None = None,
) -> list[SensitivityRow]:
    """Li and void volume changes for a small shift of each threshold.

    Parameters
    ----------
    thresholds : ThresholdSet
    hist : Histogram, optional
        Histogram of the scan (fast, plain-threshold counts).
    step : float, optional
        Shift in grey values.
    step_mu : float, optional
        Shift in 1/cm (needs the calibration stored in ``thresholds``);
        default 0.05/cm when a calibration is known, else 5 grey values.
    volume : array-like, optional
        The scan itself: counts come from the full classification instead.
    classify_kwargs : dict, optional
        Passed to :func:`~.classify.classify_volume` (with ``volume``).

    Returns
    -------
    list of SensitivityRow
        One row per threshold.
    """
    if hist is None and volume is None:
        raise ValueError("give the histogram or the volume")
    if step is None:
        cal = thresholds.calibration
        if step_mu is not None and cal is None:
            raise ValueError("a step in 1/cm needs thresholds with a grey-scale calibration")
        step = (
            cal.grey_step(step_mu if step_mu is not None else DEFAULT_STEP_MU) if cal is not None else DEFAULT_STEP_GREY
        )
    step = float(abs(step))
    kwargs = dict(classify_kwargs or {})

    def count(ts: ThresholdSet) -> dict[int, int]:
        if volume is not None:
            return _counts_from_volume(volume, ts, kwargs)
        return _counts_from_hist(hist, ts)

    base = count(thresholds)
    li0, void0 = base.get(LI.code, 0), base.get(VOID.code, 0)
    rows = []
    for i, name in enumerate(thresholds.boundary_names):
        minus = count(thresholds.with_value(i, thresholds.values[i] - step))
        plus = count(thresholds.with_value(i, thresholds.values[i] + step))
        rows.append(
            SensitivityRow(
                boundary=name,
                index=i,
                value=thresholds.values[i],
                step=step,
                li_voxels=li0,
                void_voxels=void0,
                li_change_minus=_rel(minus.get(LI.code, 0), li0),
                li_change_plus=_rel(plus.get(LI.code, 0), li0),
                void_change_minus=_rel(minus.get(VOID.code, 0), void0),
                void_change_plus=_rel(plus.get(VOID.code, 0), void0),
                li_share=_share(base),
                li_share_minus=_share(minus),
                li_share_plus=_share(plus),
            )
        )
    return rows
