"""Faraday's law: the thickness of a dense lithium layer plated by a given charge.

h = j * t * M_Li / (F * rho_Li)
"""

from __future__ import annotations

__all__ = [
    "FARADAY_C_PER_MOL",
    "LI_MOLAR_MASS_G_PER_MOL",
    "LI_DENSITY_G_CM3",
    "faraday_thickness_um",
    "charge_time_for_thickness_min",
]

FARADAY_C_PER_MOL = 96485.332
LI_MOLAR_MASS_G_PER_MOL = 6.94
LI_DENSITY_G_CM3 = 0.534


def faraday_thickness_um(current_density_ma_cm2: float, charge_minutes: float) -> float:
    """Thickness of a dense Li layer plated at constant current.

    Parameters
    ----------
    current_density_ma_cm2 : float
        Plating current density in mA/cm2.
    charge_minutes : float
        Charge time in minutes.

    Returns
    -------
    float
        Layer thickness in micrometres.

    Examples
    --------
    >>> round(faraday_thickness_um(0.2, 4000), 1)
    64.7
    """
    if current_density_ma_cm2 < 0 or charge_minutes < 0:
        raise ValueError("current density and charge time must be non-negative")
    charge_c_per_cm2 = current_density_ma_cm2 * 1e-3 * charge_minutes * 60.0
    mass_g_per_cm2 = charge_c_per_cm2 / FARADAY_C_PER_MOL * LI_MOLAR_MASS_G_PER_MOL
    return mass_g_per_cm2 / LI_DENSITY_G_CM3 * 1e4


def charge_time_for_thickness_min(current_density_ma_cm2: float, thickness_um: float) -> float:
    """Charge time in minutes that plates ``thickness_um`` micrometres of dense Li."""
    if current_density_ma_cm2 <= 0:
        raise ValueError("current density must be positive")
    return thickness_um / faraday_thickness_um(current_density_ma_cm2, 1.0)
