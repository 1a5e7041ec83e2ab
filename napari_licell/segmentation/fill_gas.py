"""Which gas fills the cell, when neither the file nor the user says: read from the calibrated grey values.

The solid electrolyte (61/cm) and the steel collector (~290/cm) are solids
whose attenuation does not depend on the fill gas. Their histogram peaks
put the grey axis in 1/cm; the dark phases then say which gas fills the
pores: 6 atm Xe attenuates about 1.2/cm (porous carbon holding it about
1.1/cm), 1 atm Ar or air about 0.02/cm, as dark as lithium (0.1/cm). So

* a dark peak well above Li at Xe-like attenuation (0.6-3/cm): xenon, its
  pressure from the ideal-gas law;
* only dark peaks at Li-like attenuation (and porous carbon holding a light
  gas, ~0.5/cm): a light gas (Ar, air) or no gas-filled space at all - in
  either case Li and gas-filled voids cannot be told apart;
* no SE and metal peaks (or a stored calibration): it cannot tell.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from .calibration import GreyCalibration, calibrate
from .materials import phase_mu
from .peaks import PhasePeaks

__all__ = ["GasInference", "infer_fill_gas", "XE_LIKE_MU_RANGE", "LIGHT_GAS_MAX_MU"]

#: Calibrated attenuation (1/cm) of a dark phase that only xenon (pure, or in the carbon's pores) gives.
XE_LIKE_MU_RANGE = (0.7, 3.0)
#: A dark phase at most this attenuating (1/cm) is Li, or a light gas (Ar, air), or both.
LIGHT_GAS_MAX_MU = 0.4


@dataclass(frozen=True)
class GasInference:
    """What the calibrated grey values say about the fill gas.

    Attributes
    ----------
    gas : {"Xe"} or None
        Xenon when its attenuation is seen; None otherwise (light gas or cannot tell).
    pressure_atm : float or None
        Xenon pressure from the ideal-gas law (atm), rounded to 0.5 atm.
    light_gas : bool
        True when the dark phases attenuate like Li only: a light gas (Ar, air) or no gas-filled space.
    dark_mu : tuple of float
        Calibrated attenuation (1/cm) of the dark peaks, darkest first.
    reason : str
        One sentence for the report.
    """

    gas: str | None
    pressure_atm: float | None
    light_gas: bool
    dark_mu: tuple[float, ...]
    reason: str

    @property
    def determined(self) -> bool:
        return self.gas is not None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["dark_mu"] = list(self.dark_mu)
        return d


def _solid_calibration(phases: PhasePeaks) -> GreyCalibration | None:
    if phases.se is None or phases.metal is None or phases.metal.grey == phases.se.grey:
        return None
    try:
        return calibrate({"se": phases.se.grey, "steel": phases.metal.grey}, method="solids")
    except ValueError:
        return None


def infer_fill_gas(phases: PhasePeaks, calibration: GreyCalibration | None = None) -> GasInference:
    """Infer the fill gas from the phase peaks (see the module docstring).

    Parameters
    ----------
    phases : PhasePeaks
        Peaks of the scan's histogram, identified without a gas.
    calibration : GreyCalibration, optional
        A grey -> 1/cm map stored with the scan (else fitted to the SE and metal peaks).

    Returns
    -------
    GasInference
    """
    cal = calibration or _solid_calibration(phases)
    if cal is None:
        return GasInference(
            None,
            None,
            False,
            (),
            "fill gas not given and not inferable: no SE and metal peaks to put the grey values in 1/cm",
        )
    se_mu = phase_mu("se")
    dark = tuple(p for p in phases.peaks if cal.to_mu(p.grey) < 0.1 * se_mu)
    dark_mu = tuple(float(cal.to_mu(p.grey)) for p in dark)
    if not dark_mu:
        return GasInference(None, None, False, (), "fill gas not given and not inferable: no dark phase (Li, gas)")
    xe_like = [m for m in dark_mu if XE_LIKE_MU_RANGE[0] <= m <= XE_LIKE_MU_RANGE[1]]
    shown = ", ".join(f"{m:.2f}" for m in dark_mu)
    if xe_like and min(dark_mu) <= LIGHT_GAS_MAX_MU:
        mu = max(xe_like)  # pure gas (1.22/cm at 6 atm) sits above carbon holding it (~1.1/cm)
        per_atm = phase_mu("gas", "Xe", 1.0)
        pressure = max(0.5, round(2.0 * mu / per_atm) / 2.0)
        return GasInference(
            "Xe",
            pressure,
            False,
            dark_mu,
            f"fill gas inferred: xenon, about {pressure:g} atm (gas-filled phase at {mu:.2f}/cm "
            f"against {per_atm:.3f}/cm per atm; dark peaks at {shown}/cm)",
        )
    if all(m <= 0.8 for m in dark_mu):
        return GasInference(
            None,
            None,
            True,
            dark_mu,
            f"fill gas not given: the dark phases attenuate like Li ({shown}/cm), so the gas is "
            f"light (Ar, air) or absent; Li and gas-filled voids cannot be told apart",
        )
    return GasInference(
        None, None, False, dark_mu, f"fill gas not given and not inferable from the dark peaks at {shown}/cm"
    )
