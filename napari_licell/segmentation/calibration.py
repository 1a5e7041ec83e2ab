"""Grey value <-> attenuation (1/cm): a straight line through reference phases.

A reconstruction stores ``grey = offset + per_inv_cm * mu``; exposure, filters
and the export scaling change both numbers from scan to scan. Fitting the
line through phases whose attenuation the physics table knows (Li, the fill
gas, bulk SE, steel, InLi) lets thresholds chosen in 1/cm on one scan be
carried to another.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .histogram import Histogram
from .materials import PHASE_KEYS, phase_mu
from .peaks import PhasePeaks, identify_phases

__all__ = ["ReferencePhase", "GreyCalibration", "calibrate", "auto_calibrate", "calibration_from_metadata"]


@dataclass(frozen=True)
class ReferencePhase:
    """One point of the calibration line.

    Attributes
    ----------
    key : str
        Phase key (see :data:`~napari_licell.segmentation.materials.PHASE_KEYS`).
    grey : float
        Its grey value in the scan (peak position).
    mu : float
        Its attenuation in 1/cm.
    """

    key: str
    grey: float
    mu: float


@dataclass(frozen=True)
class GreyCalibration:
    """Linear map ``grey = offset + per_inv_cm * mu`` (mu in 1/cm).

    Attributes
    ----------
    offset : float
        Grey value of zero attenuation.
    per_inv_cm : float
        Grey values per 1/cm.
    references : tuple of ReferencePhase
        Points the line was fitted through (empty when typed in).
    method : str
        How it was obtained ("references", "auto", "metadata", ...).
    gas, pressure_atm : str or None, float or None
        Fill gas used for the ``gas``/``carbon`` references.
    """

    offset: float
    per_inv_cm: float
    references: tuple[ReferencePhase, ...] = field(default_factory=tuple)
    method: str = "references"
    gas: str | None = None
    pressure_atm: float | None = None

    def __post_init__(self) -> None:
        if not (math.isfinite(self.offset) and math.isfinite(self.per_inv_cm)) or self.per_inv_cm == 0:
            raise ValueError("a calibration needs a finite offset and a non-zero slope")

    def to_mu(self, grey):
        """Grey value(s) -> attenuation in 1/cm."""
        out = (np.asarray(grey, dtype=np.float64) - self.offset) / self.per_inv_cm
        return float(out) if np.ndim(out) == 0 else out

    def to_grey(self, mu):
        """Attenuation in 1/cm -> grey value(s) (float)."""
        out = self.offset + self.per_inv_cm * np.asarray(mu, dtype=np.float64)
        return float(out) if np.ndim(out) == 0 else out

    def grey_step(self, mu_step: float) -> float:
        """Grey-value difference of an attenuation difference ``mu_step`` (1/cm)."""
        return float(abs(self.per_inv_cm) * mu_step)

    def residuals_per_cm(self) -> dict[str, float]:
        """Misfit of each reference, in 1/cm."""
        return {r.key: float(self.to_mu(r.grey) - r.mu) for r in self.references}

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary (for layer metadata)."""
        return {
            "offset": float(self.offset),
            "per_inv_cm": float(self.per_inv_cm),
            "references": [[r.key, float(r.grey), float(r.mu)] for r in self.references],
            "method": self.method,
            "gas": self.gas,
            "pressure_atm": None if self.pressure_atm is None else float(self.pressure_atm),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "GreyCalibration":
        """Inverse of :meth:`to_dict`."""
        refs = tuple(ReferencePhase(str(k), float(g), float(m)) for k, g, m in d.get("references", ()))
        return cls(
            offset=float(d["offset"]),
            per_inv_cm=float(d["per_inv_cm"]),
            references=refs,
            method=str(d.get("method", "references")),
            gas=d.get("gas"),
            pressure_atm=d.get("pressure_atm"),
        )


def calibrate(
    references: dict[str, float],
    gas: str | None = None,
    pressure_atm: float | None = None,
    mu: dict[str, float] | None = None,
    method: str = "references",
) -> GreyCalibration:
    """Least-squares line through reference phases.

    Parameters
    ----------
    references : dict of str -> float
        Phase key -> its grey value in the scan, e.g. ``{"se": 7099, "steel": 30336}``.
    gas, pressure_atm : str, float, optional
        Fill gas and pressure (atm), needed for ``gas`` and used for ``carbon``.
    mu : dict of str -> float, optional
        Attenuation (1/cm) to use instead of the physics table for some keys.
    method : str
        Label stored with the calibration.

    Returns
    -------
    GreyCalibration
    """
    if len(references) < 2:
        raise ValueError("a calibration needs at least two reference phases")
    mu = mu or {}
    refs = []
    for key, grey in references.items():
        if key not in PHASE_KEYS and key not in mu:
            raise KeyError(f"unknown reference phase {key!r}; known: {PHASE_KEYS}")
        m = float(mu[key]) if key in mu else phase_mu(key, gas, pressure_atm)
        refs.append(ReferencePhase(key, float(grey), m))
    x = np.array([r.mu for r in refs])
    y = np.array([r.grey for r in refs])
    if np.ptp(x) <= 0:
        raise ValueError("reference phases must differ in attenuation")
    slope, offset = np.polyfit(x, y, 1)
    return GreyCalibration(float(offset), float(slope), tuple(refs), method, gas, pressure_atm)


def auto_calibrate(
    hist: Histogram,
    gas: str | None = None,
    pressure_atm: float | None = None,
    metal: str = "steel",
    phases: PhasePeaks | None = None,
) -> GreyCalibration:
    """Calibration from the phase peaks of a histogram.

    Uses every phase :func:`~napari_licell.segmentation.peaks.identify_phases`
    finds: the darkest peak as Li, the gas peak (only when the gas is given),
    the bulk SE peak and the metal peak (``metal``: "steel" for the collector
    or "inli" for the counter electrode).

    Raises
    ------
    ValueError
        When fewer than two reference phases are found.
    """
    ph = phases or identify_phases(hist, gas=gas, pressure_atm=pressure_atm)
    refs: dict[str, float] = {}
    if ph.li is not None and (ph.se is not None or ph.metal is not None):
        refs["li"] = ph.li.grey
    if ph.gas is not None and gas is not None and pressure_atm:
        refs["gas"] = ph.gas.grey
    if ph.se is not None:
        refs["se"] = ph.se.grey
    if ph.metal is not None:
        refs[metal] = ph.metal.grey
    if len(refs) < 2:
        found = ", ".join(refs) or "none"
        raise ValueError(f"not enough reference phases in the histogram for a calibration (found: {found})")
    return calibrate(refs, gas=gas, pressure_atm=pressure_atm, method="auto")


def calibration_from_metadata(metadata: dict[str, Any]) -> GreyCalibration | None:
    """Calibration stored with a scan (``grey_offset`` and ``grey_per_inv_cm`` keys), if any."""
    if not metadata:
        return None
    if isinstance(metadata.get("grey_scale"), dict):
        try:
            return GreyCalibration.from_dict(metadata["grey_scale"])
        except (KeyError, TypeError, ValueError):
            return None
    try:
        offset = float(metadata["grey_offset"])
        per = float(metadata["grey_per_inv_cm"])
    except (KeyError, TypeError, ValueError):
        return None
    gas = metadata.get("gas")
    pressure = metadata.get("gas_pressure_atm")
    return GreyCalibration(offset, per, (), "metadata", gas, None if pressure is None else float(pressure))
