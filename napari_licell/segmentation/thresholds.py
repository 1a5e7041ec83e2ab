"""Ordered grey-value thresholds: the ThresholdSet record and how to suggest one.

A :class:`ThresholdSet` cuts the grey axis into classes of the class table in
grey order (Li < void < SE + Li < SE < metal); class ``k`` holds grey values
``values[k-1] <= v < values[k]``. It is a plain record that travels in
layer metadata and JSON.

Two suggestions work on the 65536-bin histogram in milliseconds:

* ``"peaks"`` (default): from the phase peaks (Li, gas, SE, metal; see
  :mod:`.peaks`): Li | void at the 50 % mixing point of the Li and gas
  peaks, void | SE + Li six noise sigmas above the gas peak, SE + Li | SE
  at a set Li volume share of an SE/Li mixture, SE | metal at the 50 %
  mixing point. Focused on the dark corner of the histogram where Li and
  gas live.
* ``"multiotsu"``: multi-Otsu (scikit-image) on a histogram rebinned to 256
  bins over the occupied range, refined at full resolution, then a second
  two-class Otsu inside the dark class for Li | void.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..classes import GREY_ORDER, LI, METAL, SE, SE_LI, VOID, class_by_code
from .calibration import GreyCalibration, auto_calibrate
from .histogram import Histogram
from .peaks import HistogramPeak, PhasePeaks, estimate_noise_sigma, find_phase_peaks, identify_phases

__all__ = [
    "THRESHOLD_METHODS",
    "ThresholdSet",
    "suggest_thresholds",
    "multi_otsu",
    "class_levels",
    "threshold_lut",
    "find_phases",
]

#: How thresholds can be suggested (the ``method`` of :func:`suggest_thresholds`).
THRESHOLD_METHODS: tuple[str, ...] = ("peaks", "multiotsu")

_GREY_RANK = {c.code: i for i, c in enumerate(GREY_ORDER)}
#: Least distance (noise sigmas) between the Li peak and the fill gas's level from physics for the gas to
#: get its own class when its voids are too few for a histogram peak.
GAS_FROM_PHYSICS_MIN_SIGMAS = 4.0


@dataclass(frozen=True)
class ThresholdSet:
    """Ordered thresholds and the classes between them.

    Attributes
    ----------
    values : tuple of float
        Grey values, ascending; ``len(values) == len(classes) - 1``.
    classes : tuple of int
        Class codes in grey order (a subsequence of ``GREY_ORDER``), darkest first.
    method : str
        How the values were chosen ("peaks", "multiotsu", "manual", "carried over", ...).
    grey_scale : dict or None
        The grey -> 1/cm calibration (``GreyCalibration.to_dict()``) of the scan
        the values belong to, when known.
    levels : tuple of float or None
        Grey value of the pure phase of each class (its histogram peak); NaN
        where a class has no peak (SE + Li). Used by the partial-volume step.
    noise_sigma : float or None
        Reconstruction noise in grey values.
    notes : tuple of str
        Remarks for the user (e.g. "Li and gas not separable").
    """

    values: tuple[float, ...]
    classes: tuple[int, ...]
    method: str = "manual"
    grey_scale: dict[str, Any] | None = None
    levels: tuple[float, ...] | None = None
    noise_sigma: float | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", tuple(float(v) for v in self.values))
        object.__setattr__(self, "classes", tuple(int(c) for c in self.classes))
        if self.levels is not None:
            object.__setattr__(self, "levels", tuple(float(v) for v in self.levels))
            if len(self.levels) != len(self.classes):
                raise ValueError("one level per class is needed")
        object.__setattr__(self, "notes", tuple(str(n) for n in self.notes))
        if len(self.classes) < 1 or len(self.values) != len(self.classes) - 1:
            raise ValueError("a ThresholdSet needs len(values) == len(classes) - 1 and at least one class")
        ranks = []
        for c in self.classes:
            if c not in _GREY_RANK:
                raise ValueError(f"class {class_by_code(c).key!r} is not separated by grey value")
            ranks.append(_GREY_RANK[c])
        if ranks != sorted(set(ranks)):
            raise ValueError("classes must follow the grey order li < void < se_li < se < metal, each once")
        if any(b < a for a, b in zip(self.values, self.values[1:])):
            raise ValueError(f"threshold values must be ascending, got {self.values}")

    # -- names -------------------------------------------------------------------------
    @property
    def boundary_names(self) -> tuple[str, ...]:
        """``"li|void"``-style name of each threshold."""
        keys = [class_by_code(c).key for c in self.classes]
        return tuple(f"{a}|{b}" for a, b in zip(keys, keys[1:]))

    def index_of(self, lower_code: int, upper_code: int) -> int | None:
        """Index of the threshold between two adjacent classes, or None."""
        for i, (a, b) in enumerate(zip(self.classes, self.classes[1:])):
            if (a, b) == (lower_code, upper_code):
                return i
        return None

    def level_of(self, code: int) -> float:
        """Pure-phase grey value of a class (NaN when unknown)."""
        if self.levels is None or code not in self.classes:
            return float("nan")
        return self.levels[self.classes.index(code)]

    # -- edits ---------------------------------------------------------------------------
    def with_value(self, index: int, value: float) -> "ThresholdSet":
        """A copy with threshold ``index`` moved to ``value`` (clamped between its neighbours)."""
        vals = list(self.values)
        lo = vals[index - 1] if index > 0 else -math.inf
        hi = vals[index + 1] if index + 1 < len(vals) else math.inf
        vals[index] = float(min(max(value, lo), hi))
        method = (
            self.method if self.method.endswith("(edited)") or self.method == "manual" else f"{self.method} (edited)"
        )
        return replace(self, values=tuple(vals), method=method)

    # -- calibration -------------------------------------------------------------------
    @property
    def calibration(self) -> GreyCalibration | None:
        """The grey -> 1/cm calibration, if stored."""
        return None if self.grey_scale is None else GreyCalibration.from_dict(self.grey_scale)

    def values_mu(self) -> tuple[float, ...]:
        """Threshold values in 1/cm (needs ``grey_scale``)."""
        cal = self.calibration
        if cal is None:
            raise ValueError("these thresholds carry no grey-scale calibration")
        return tuple(float(cal.to_mu(v)) for v in self.values)

    def carried_to(self, target: GreyCalibration) -> "ThresholdSet":
        """The same thresholds in 1/cm, expressed in the grey values of another scan.

        Levels and noise are mapped too, so the partial-volume step behaves the
        same on the other scan.
        """
        src = self.calibration
        if src is None:
            raise ValueError("these thresholds carry no grey-scale calibration to carry them over with")

        def move(g: float) -> float:
            return float(target.to_grey(src.to_mu(g))) if math.isfinite(g) else g

        values = tuple(move(v) for v in self.values)
        levels = None if self.levels is None else tuple(move(v) for v in self.levels)
        sigma = None
        if self.noise_sigma is not None:
            sigma = float(self.noise_sigma * abs(target.per_inv_cm / src.per_inv_cm))
        return ThresholdSet(
            values=values,
            classes=self.classes,
            method="carried over",
            grey_scale=target.to_dict(),
            levels=levels,
            noise_sigma=sigma,
            notes=self.notes
            + (f"carried over from a scan with {src.per_inv_cm:.4g} grey/(1/cm), offset {src.offset:.6g}",),
        )

    # -- storage -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary (for ``layer.metadata['thresholds']``)."""
        return {
            "values": [float(v) for v in self.values],
            "classes": [int(c) for c in self.classes],
            "class_keys": [class_by_code(c).key for c in self.classes],
            "method": self.method,
            "grey_scale": self.grey_scale,
            "levels": None
            if self.levels is None
            else [None if not math.isfinite(v) else float(v) for v in self.levels],
            "noise_sigma": self.noise_sigma,
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ThresholdSet":
        """Inverse of :meth:`to_dict`."""
        levels = d.get("levels")
        if levels is not None:
            levels = tuple(float("nan") if v is None else float(v) for v in levels)
        return cls(
            values=tuple(d["values"]),
            classes=tuple(d["classes"]),
            method=str(d.get("method", "manual")),
            grey_scale=d.get("grey_scale"),
            levels=levels,
            noise_sigma=d.get("noise_sigma"),
            notes=tuple(d.get("notes", ())),
        )


def threshold_lut(thresholds: ThresholdSet, dtype: np.dtype | str = np.uint16) -> np.ndarray:
    """Lookup table ``lut[grey] -> class code`` for 8/16-bit data (uint8 array).

    Signed dtypes are indexed through their unsigned view: use
    ``lut[data.view(unsigned)]``.
    """
    dt = np.dtype(dtype)
    if not np.issubdtype(dt, np.integer) or dt.itemsize > 2:
        raise TypeError(f"lookup tables exist for 8/16-bit integers, not {dt}")
    info = np.iinfo(dt)
    n = 1 << (8 * dt.itemsize)
    greys = np.arange(n, dtype=np.int64)
    if info.min < 0:  # position u of the unsigned view holds the signed value u - n for u >= n/2
        greys = np.where(greys >= n // 2, greys - n, greys)
    codes = np.asarray(thresholds.classes, dtype=np.uint8)
    idx = np.searchsorted(np.asarray(thresholds.values, dtype=np.float64), greys, side="right")
    return codes[idx]


def class_levels(hist: Histogram, classes: tuple[int, ...], values: tuple[float, ...]) -> tuple[float, ...]:
    """Grey value of the most frequent bin inside each class range (NaN for SE + Li and empty ranges)."""
    edges = [-math.inf, *values, math.inf]
    greys = hist.greys
    out = []
    for k, code in enumerate(classes):
        inside = (greys >= edges[k]) & (greys < edges[k + 1])
        if code == SE_LI.code or not inside.any() or hist.counts[inside].sum() == 0:
            out.append(float("nan"))
            continue
        sub = np.where(inside, hist.counts, -1)
        out.append(float(greys[int(np.argmax(sub))]))
    return tuple(out)


# -- multi-Otsu ----------------------------------------------------------------------------


def _between_class_variance(cum_w: np.ndarray, cum_m: np.ndarray, cuts: list[int]) -> float:
    bounds = [0, *cuts, cum_w.size - 1]
    var = 0.0
    for a, b in zip(bounds, bounds[1:]):
        w = cum_w[b] - cum_w[a]
        if w > 0:
            m = cum_m[b] - cum_m[a]
            var += m * m / w
    return var


def _refine_cut(cum_w, cum_m, cuts: list[int], j: int, lo: int, hi: int) -> int:
    """Best position of cut ``j`` in [lo, hi] with the others fixed (vectorised over positions)."""
    left = cuts[j - 1] if j > 0 else 0
    right = cuts[j + 1] if j + 1 < len(cuts) else cum_w.size - 1
    lo = max(lo, left + 1)
    hi = min(hi, right - 1)
    if hi < lo:
        return cuts[j]
    c = np.arange(lo, hi + 1)
    w1 = cum_w[c] - cum_w[left]
    m1 = cum_m[c] - cum_m[left]
    w2 = cum_w[right] - cum_w[c]
    m2 = cum_m[right] - cum_m[c]
    with np.errstate(divide="ignore", invalid="ignore"):
        score = np.where(w1 > 0, m1 * m1 / w1, 0.0) + np.where(w2 > 0, m2 * m2 / w2, 0.0)
    return int(c[int(np.argmax(score))])


def multi_otsu(
    hist: Histogram, n_classes: int, value_range: tuple[float, float] | None = None, coarse_bins: int | None = None
) -> tuple[float, ...]:
    """Multi-Otsu thresholds of a (16-bit) histogram in milliseconds.

    scikit-image's ``threshold_multiotsu`` runs on the histogram rebinned to
    ``coarse_bins`` bins over ``value_range`` (default: the occupied range);
    each threshold is then refined at full resolution within one coarse bin
    either side by maximising the between-class variance with the others
    fixed (cumulative sums, two sweeps).

    Parameters
    ----------
    hist : Histogram
        Full-resolution histogram.
    n_classes : int
        Number of classes (>= 2).
    value_range : (float, float), optional
        Grey-value range to threshold (e.g. the dark corner).
    coarse_bins : int, optional
        Bins of the coarse histogram; default 256 up to 3 classes, 128 for 4
        and 64 beyond (scikit-image's search grows as ``bins ** (classes - 1)``).

    Returns
    -------
    tuple of float
        ``n_classes - 1`` grey values: class ``k`` is ``t[k-1] <= v < t[k]``.
    """
    from skimage.filters import threshold_multiotsu

    if n_classes < 2:
        raise ValueError("multi-Otsu needs at least two classes")
    if value_range is None:
        a, b = hist.occupied_range()
    else:
        a = int(max(0, math.floor(hist.index(value_range[0]))))
        b = int(min(hist.n_bins - 1, math.ceil(hist.index(value_range[1]))))
    if b <= a:
        raise ValueError("empty histogram range")
    if coarse_bins is None:
        coarse_bins = 256 if n_classes <= 3 else 128 if n_classes == 4 else 64
    counts = hist.counts[a : b + 1].astype(np.float64)
    n = counts.size
    step = max(1, int(math.ceil(n / coarse_bins)))
    pad = (-n) % step
    coarse = np.concatenate([counts, np.zeros(pad)]).reshape(-1, step).sum(axis=1)
    centres = np.arange(coarse.size, dtype=np.float64)
    if np.count_nonzero(coarse) < n_classes:
        raise ValueError("too few occupied grey values for this many classes")
    coarse_t = threshold_multiotsu(hist=(coarse, centres), classes=n_classes)
    # skimage returns the last coarse bin of each lower class: the cut (first bin of the
    # upper class) sits at the start of the following coarse bin
    cuts = [int(min(n - 1, (int(t) + 1) * step)) for t in coarse_t]
    x = np.arange(n, dtype=np.float64)
    cum_w = np.concatenate([[0.0], np.cumsum(counts)])
    cum_m = np.concatenate([[0.0], np.cumsum(counts * x)])
    for _sweep in range(2):
        for j in range(len(cuts)):
            cuts[j] = _refine_cut(cum_w, cum_m, cuts, j, cuts[j] - step, cuts[j] + step)
    return tuple(float(hist.grey(a + c)) for c in cuts)


# -- suggestion ----------------------------------------------------------------------------


def find_phases(
    hist: Histogram,
    interior: Histogram | None = None,
    *,
    calibration: GreyCalibration | None = None,
    gas: str | None = None,
    pressure_atm: float | None = None,
) -> PhasePeaks:
    """Phase peaks from the interior histogram when given (noise from the full one), else from ``hist``."""
    if interior is None or interior.n_voxels == 0:
        return identify_phases(hist, calibration=calibration, gas=gas, pressure_atm=pressure_atm)
    sigma = estimate_noise_sigma(hist)
    ph = identify_phases(interior, noise_sigma=sigma, calibration=calibration, gas=gas, pressure_atm=pressure_atm)
    if ph.metal is None and ph.se is not None:
        # Slices through the metal are noisier (photon starvation), so few metal voxels pass the
        # uniformity test. Take the metal from the full histogram: the brightest populated peak
        # well above the SE, allowed to be wider than the noise of the light phases.
        peaks, _ = find_phase_peaks(hist, sigma, max_width_in_sigma=10.0)
        bright = [p for p in peaks if p.narrow and p.share >= 1e-3 and p.grey > ph.se.grey + 20.0 * sigma]
        if bright:
            metal = max(bright, key=lambda p: p.grey)
            notes = tuple(n for n in ph.notes if not n.startswith("single bright peak"))
            notes += ("metal peak taken from the full histogram (too few uniform metal voxels)",)
            ph = replace(ph, metal=metal, peaks=tuple(sorted((*ph.peaks, metal), key=lambda p: p.grey)), notes=notes)
    return ph


def gas_level_from_physics(
    ph: PhasePeaks, calibration: GreyCalibration | None, gas: str | None, pressure_atm: float | None
) -> PhasePeaks:
    """The gas level from the fill gas's attenuation when the histogram shows Li but no gas peak.

    A cell whose gas-filled voids are a small share of the volume (in a full
    view most voids lie at the cell's rim, outside the bore: 0.3 % of the
    region in the no-interlayer demo cell) gives no gas peak, and every void
    became Li or SE + Li. With the fill gas known and the grey scale
    calibrated (from the Li, SE and metal peaks), the gas's grey level is
    ``calibration.to_grey(mu_gas)``; it is used when it lies at least
    :data:`GAS_FROM_PHYSICS_MIN_SIGMAS` noise sigmas above Li and below the
    SE (6 atm Xe: ~5.6 sigma here; 1 atm Ar is not separable and gets none).

    Returns
    -------
    PhasePeaks
        ``ph`` unchanged, or with ``gas`` set (``share`` 0: not a histogram peak) and a note.
    """
    if ph.li is None or ph.gas is not None or calibration is None or gas is None or pressure_atm is None:
        return ph
    from .materials import phase_mu

    try:
        mu = phase_mu("gas", gas, float(pressure_atm))
        grey = float(calibration.to_grey(mu))
    except (KeyError, ValueError, TypeError):
        return ph
    sigma = float(ph.noise_sigma)
    if not (math.isfinite(grey) and sigma > 0 and grey - ph.li.grey >= GAS_FROM_PHYSICS_MIN_SIGMAS * sigma):
        return ph
    if ph.se is not None and not grey < ph.se.grey - GAS_FROM_PHYSICS_MIN_SIGMAS * sigma:
        return ph
    peak = HistogramPeak(grey=grey, height=0.0, sigma=sigma, share=0.0, narrow=False)
    note = (
        f"no gas peak in the histogram (too few gas-filled voxels): the gas level {grey:.4g} is the "
        f"{gas} fill's attenuation ({mu:.3g}/cm at {float(pressure_atm):g} atm) through the grey calibration"
    )
    notes = tuple(n for n in ph.notes if not n.startswith("one dark peak"))
    return replace(ph, gas=peak, notes=(*notes, note))


def _calibration_or_none(hist, gas, pressure_atm, phases) -> GreyCalibration | None:
    try:
        return auto_calibrate(hist, gas=gas, pressure_atm=pressure_atm, phases=phases)
    except ValueError:
        return None


def _suggest_from_peaks(
    ph: PhasePeaks, se_li_min_li_share: float, dark_top_sigmas: float
) -> tuple[list[int], list[float], list[float], list[str]]:
    sigma = ph.noise_sigma
    classes: list[int] = []
    values: list[float] = []
    levels: list[float] = []
    notes: list[str] = list(ph.notes)
    if ph.li is not None and ph.gas is not None:
        classes += [LI.code, VOID.code]
        values.append(0.5 * (ph.li.grey + ph.gas.grey))
        levels += [ph.li.grey, ph.gas.grey]
        dark_top = ph.gas.grey
    elif ph.li is not None:
        classes.append(LI.code)
        levels.append(ph.li.grey)
        dark_top = ph.li.grey
        notes.append("one dark peak only: Li and gas-filled voids are not separated; the dark phase is labelled Li")
    else:
        dark_top = None
        notes.append("no dark phase (Li or gas) found")
    if ph.se is not None:
        li_grey = ph.li.grey if ph.li is not None else None
        if dark_top is not None:
            t_dark = dark_top + dark_top_sigmas * sigma
            t_se = ph.se.grey - se_li_min_li_share * (ph.se.grey - (li_grey if li_grey is not None else dark_top))
            if t_se > t_dark + 2.0 * sigma:
                classes += [SE_LI.code, SE.code]
                values += [t_dark, t_se]
                levels += [float("nan"), ph.se.grey]
            else:
                classes.append(SE.code)
                values.append(0.5 * (dark_top + ph.se.grey))
                levels.append(ph.se.grey)
        else:
            classes.append(SE.code)
            levels.append(ph.se.grey)
        if ph.metal is not None:
            classes.append(METAL.code)
            values.append(0.5 * (ph.se.grey + ph.metal.grey))
            levels.append(ph.metal.grey)
    elif ph.metal is not None:
        classes.append(METAL.code)
        levels.append(ph.metal.grey)
        if dark_top is not None:
            values.append(0.5 * (dark_top + ph.metal.grey))
    return classes, values, levels, notes


def suggest_thresholds(
    hist: Histogram,
    *,
    method: str = "peaks",
    gas: str | None = None,
    pressure_atm: float | None = None,
    calibration: GreyCalibration | None = None,
    se_li_min_li_share: float = 0.15,
    dark_top_sigmas: float = 6.0,
    phases: PhasePeaks | None = None,
    interior: Histogram | None = None,
) -> ThresholdSet:
    """Suggest ordered thresholds for a cell from its histogram.

    Parameters
    ----------
    hist : Histogram
        Exact histogram of the volume (see :func:`~.histogram.volume_histogram`).
    method : {"peaks", "multiotsu"}
        ``"peaks"``: from the identified phase peaks (see module docstring);
        ``"multiotsu"``: three-class multi-Otsu over the whole range (dark |
        SE | metal), then two-class Otsu inside the dark class (Li | void).
    gas, pressure_atm : str, float, optional
        Fill gas and pressure (atm); help to identify phases and calibrate.
    calibration : GreyCalibration, optional
        Known grey -> 1/cm map; stored with the result (else fitted to the
        phase peaks when possible).
    se_li_min_li_share : float
        SE + Li | SE threshold: the grey value of an SE/Li mixture holding this
        Li volume share (0.15 = voxels with at least 15 % Li are "SE + Li").
    dark_top_sigmas : float
        Void | SE + Li threshold: this many noise sigmas above the gas peak.
    phases : PhasePeaks, optional
        Pre-computed phase identification.
    interior : Histogram, optional
        Histogram of the uniform voxels (:func:`~.histogram.interior_histogram`);
        when given, the phase peaks are found on it (partial volume removed,
        small phases such as pores stand out), the noise on ``hist``.

    Returns
    -------
    ThresholdSet
    """
    ph = phases or find_phases(hist, interior, calibration=calibration, gas=gas, pressure_atm=pressure_atm)
    cal = calibration or _calibration_or_none(hist, gas, pressure_atm, ph)
    ph = gas_level_from_physics(ph, cal, gas, pressure_atm)  # no-op unless Li shows and the gas does not
    grey_scale = None if cal is None else cal.to_dict()
    if method == "peaks":
        classes, values, levels, notes = _suggest_from_peaks(ph, se_li_min_li_share, dark_top_sigmas)
        if len(classes) >= 2:
            return ThresholdSet(
                tuple(values), tuple(classes), "peaks", grey_scale, tuple(levels), ph.noise_sigma, tuple(notes)
            )
        notes.append("too few phase peaks: fell back to multi-Otsu")
    elif method != "multiotsu":
        raise ValueError(f"unknown method {method!r}; use 'peaks' or 'multiotsu'")
    else:
        notes = []
    t_dark, t_metal = multi_otsu(hist, 3)
    (t_li,) = multi_otsu(hist, 2, value_range=(hist.grey(hist.occupied_range()[0]), t_dark))
    classes = (LI.code, VOID.code, SE.code, METAL.code)
    values = (t_li, t_dark, t_metal)
    levels = class_levels(hist, classes, values)
    return ThresholdSet(values, classes, "multiotsu", grey_scale, levels, ph.noise_sigma, tuple(notes))
