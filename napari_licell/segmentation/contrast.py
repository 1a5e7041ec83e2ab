"""Can Li and gas-filled voids be told apart in this scan? Contrast-to-noise from the data (and physics).

From the data alone: the two darkest phase peaks (see :mod:`.peaks`) and
the noise (width of the most populated peak) give
``CNR = (gas - Li) / sigma``. Plain thresholding at the midpoint then
mislabels ``Phi(-CNR/2)`` of the voxels of each phase (7 % at CNR 3, 0.6 % at
CNR 5). Partial-volume plateaus and SE + Li are broad and never count as a
phase; porous carbon shares the gas peak in xenon, and a carbon band can be
left out of the histogram by passing the labels.

Given the fill gas and its pressure, the physics table predicts the Li and
gas attenuation; through the grey-scale calibration this gives the
expected CNR and which observed peak is gas and which is porous carbon.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from ..classes import CARBON
from .calibration import GreyCalibration, auto_calibrate
from .histogram import Histogram, interior_histogram, volume_histogram
from .materials import phase_mu
from .peaks import estimate_noise_sigma, identify_phases

__all__ = ["ContrastVerdict", "li_void_contrast", "DEFAULT_MIN_CNR"]

#: Contrast-to-noise ratio from which Li and gas-filled voids count as separable.
DEFAULT_MIN_CNR = 3.0


@dataclass(frozen=True)
class ContrastVerdict:
    """Whether Li and gas-filled voids can be separated by grey value.

    Attributes
    ----------
    li_void_cnr : float
        Contrast-to-noise ratio between the Li and gas peaks (0 when only one
        dark peak is seen; the expected value when physics overrides the data).
    separable : bool
        The verdict.
    reason : str
        One plain sentence saying why.
    li_grey, void_grey : float or None
        Observed peak grey values.
    noise_sigma : float or None
        Noise in grey values.
    expected_cnr : float or None
        CNR predicted from the gas, pressure and calibration.
    min_cnr : float
        CNR needed for "separable".
    """

    li_void_cnr: float
    separable: bool
    reason: str
    li_grey: float | None = None
    void_grey: float | None = None
    noise_sigma: float | None = None
    expected_cnr: float | None = None
    min_cnr: float = DEFAULT_MIN_CNR

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary."""
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in asdict(self).items()}


def _misclassified(cnr: float) -> float:
    return 0.5 * math.erfc(cnr / 2.0 / math.sqrt(2.0))


def li_void_contrast(
    source: Histogram | Any,
    *,
    gas: str | None = None,
    pressure_atm: float | None = None,
    calibration: GreyCalibration | None = None,
    labels: Any | None = None,
    interior: Histogram | None = None,
    min_cnr: float = DEFAULT_MIN_CNR,
) -> ContrastVerdict:
    """Contrast-to-noise between Li and gas-filled voids, and the verdict.

    Parameters
    ----------
    source : Histogram or array-like
        Histogram of the scan, or the scan itself (streamed).
    gas, pressure_atm : str, float, optional
        Fill gas and pressure (atm); enable the physics prediction.
    calibration : GreyCalibration, optional
        Grey -> 1/cm map (fitted to the histogram peaks when None and needed).
    labels : array-like, optional
        Labels of ``source`` (a volume); voxels labelled carbon are left out
        of the histogram so the carbon band cannot pose as a dark phase.
    interior : Histogram, optional
        Histogram of the uniform voxels (see :func:`~.histogram.interior_histogram`);
        peaks are found on it. Computed here when ``source`` is a volume.
    min_cnr : float
        CNR needed for "separable".

    Returns
    -------
    ContrastVerdict
    """
    if isinstance(source, Histogram):
        hist = source
    else:
        mask = None if labels is None else (labels != CARBON.code)
        hist = volume_histogram(source, mask=mask)
        if interior is None and len(source.shape) == 3:
            interior = interior_histogram(source, estimate_noise_sigma(hist), mask=mask)
    if interior is not None and interior.n_voxels:
        ph = identify_phases(
            interior,
            noise_sigma=estimate_noise_sigma(hist),
            calibration=calibration,
            gas=gas,
            pressure_atm=pressure_atm,
        )
    else:
        ph = identify_phases(hist, calibration=calibration, gas=gas, pressure_atm=pressure_atm)
    sigma = ph.noise_sigma
    li = ph.li.grey if ph.li is not None else None
    second = ph.gas.grey if ph.gas is not None else None
    if li is None:
        return ContrastVerdict(
            0.0, False, "no dark phase (Li or gas) found in the histogram", None, None, sigma, None, min_cnr
        )
    observed = (second - li) / sigma if second is not None else 0.0

    expected = None
    physics = ""
    carbon_note = ""
    if gas is not None and pressure_atm:
        cal = calibration
        if cal is None:
            try:
                cal = auto_calibrate(hist, gas=gas, pressure_atm=pressure_atm, phases=ph)
            except ValueError:
                cal = None
        if cal is not None:
            mu_li, mu_gas = phase_mu("li"), phase_mu("gas", gas, pressure_atm)
            mu_c = phase_mu("carbon", gas, pressure_atm)
            sigma_mu = sigma / abs(cal.per_inv_cm)
            expected = abs(mu_gas - mu_li) / sigma_mu
            physics = (
                f"expected CNR {expected:.1f} in {pressure_atm:g} atm {gas} "
                f"(Li {mu_li:.3f}/cm, gas {mu_gas:.3f}/cm, noise {sigma_mu:.2f}/cm)"
            )
            if second is not None:
                g_gas, g_c = cal.to_grey(mu_gas), cal.to_grey(mu_c)
                if abs(g_c - g_gas) > 2 * sigma and abs(second - g_c) < abs(second - g_gas):
                    carbon_note = (
                        f"the second dark peak at {second:.0f} matches porous carbon "
                        f"(expected {g_c:.0f}), not the gas (expected {g_gas:.0f})"
                    )

    if expected is not None:
        separable = expected >= min_cnr and not carbon_note
        cnr = observed if (second is not None and not carbon_note) else expected
    else:
        separable = second is not None and observed >= min_cnr
        cnr = observed

    if second is not None and not carbon_note:
        seen = (
            f"dark peaks at {li:.0f} (Li) and {second:.0f} (gas), noise {sigma:.1f}: CNR {observed:.1f}, "
            f"~{_misclassified(observed):.1%} of each mislabelled at the midpoint"
        )
    elif second is not None:
        seen = carbon_note
    else:
        seen = f"one dark peak at {li:.0f}: Li and gas-filled voids share it (CNR below ~2)"
    verdict = "Li and gas-filled voids are separable" if separable else "Li and gas-filled voids are NOT separable"
    need = f"need CNR >= {min_cnr:g}"
    parts = [seen] + ([physics] if physics else [])
    if expected is not None and separable and second is None:
        parts.append("no gas peak in this scan (no voids, or too few)")
    reason = f"{verdict}: " + "; ".join(parts) + f" ({need})"
    return ContrastVerdict(float(cnr), bool(separable), reason, li, second, sigma, expected, min_cnr)
