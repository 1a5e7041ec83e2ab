"""Faraday check: the Li thickness the passed charge should plate, against what was measured.

A measured layer much thinner than the Faraday thickness means the lithium
went elsewhere (into the SE). Comparing the Li found anywhere in the cell
(as an equivalent dense layer over the cell area) tells whether the volume
holds the charge at all.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ..physics.faraday import faraday_thickness_um

__all__ = ["FaradayCheck", "faraday_check"]


@dataclass(frozen=True)
class FaradayCheck:
    """Expected and measured Li thickness.

    Attributes
    ----------
    current_density_ma_cm2 : float
        Plating current density, mA/cm2.
    charge_minutes : float
        Charge time, minutes.
    expected_thickness_um : float
        Dense Li layer thickness the charge plates, um.
    layer_thickness_um : float
        Measured mean thickness of the Li layer on the collector side, um.
    layer_over_expected : float or None
        ``layer_thickness_um / expected_thickness_um`` (None when nothing is expected).
    li_equivalent_thickness_um : float or None
        All Li found in the volume (plus the Li inside SE + Li voxels when known)
        spread as a dense layer over the cell area, um.
    li_over_expected : float or None
        ``li_equivalent_thickness_um / expected_thickness_um``.
    """

    current_density_ma_cm2: float
    charge_minutes: float
    expected_thickness_um: float
    layer_thickness_um: float
    layer_over_expected: float | None
    li_equivalent_thickness_um: float | None
    li_over_expected: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def faraday_check(
    current_density_ma_cm2: float,
    charge_minutes: float,
    layer_thickness_um: float,
    li_volume_um3: float | None = None,
    cell_area_um2: float | None = None,
) -> FaradayCheck:
    """Compare measured thicknesses with the Faraday thickness.

    Parameters
    ----------
    current_density_ma_cm2 : float
        Plating current density, mA/cm2.
    charge_minutes : float
        Charge time, minutes.
    layer_thickness_um : float
        Measured mean Li layer thickness, um.
    li_volume_um3 : float, optional
        All Li found in the volume, um3.
    cell_area_um2 : float, optional
        Cell area the volume covers, um2.

    Returns
    -------
    FaradayCheck

    Examples
    --------
    >>> round(faraday_check(0.2, 4000, 64.5).layer_over_expected, 3)
    0.998
    """
    expected = faraday_thickness_um(current_density_ma_cm2, charge_minutes)
    ratio = layer_thickness_um / expected if expected > 0 else None
    equivalent = li_ratio = None
    if li_volume_um3 is not None and cell_area_um2:
        equivalent = li_volume_um3 / cell_area_um2
        li_ratio = equivalent / expected if expected > 0 else None
    return FaradayCheck(
        float(current_density_ma_cm2),
        float(charge_minutes),
        float(expected),
        float(layer_thickness_um),
        ratio,
        equivalent,
        li_ratio,
    )
