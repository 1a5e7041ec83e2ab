"""Attenuation (1/cm) of the reference phases the segmentation core talks about.

Thin wrapper over :mod:`napari_licell.physics.attenuation` so calibration,
contrast and peak identification use one vocabulary of phase keys:
``li``, ``gas``, ``carbon`` (porous, pores filled with the gas), ``se``,
``steel``, ``inli`` and ``peek``.
"""

from __future__ import annotations

from functools import lru_cache

from ..physics.attenuation import MO_K_ALPHA_EV, gas_mu, material_mu, porous_mu

__all__ = ["PHASE_KEYS", "METAL_KEYS", "phase_mu"]

#: Phases a grey value can be referred to.
PHASE_KEYS: tuple[str, ...] = ("li", "gas", "carbon", "se", "steel", "inli", "peek")

#: Phases the class table calls "metal".
METAL_KEYS: tuple[str, ...] = ("steel", "inli")


@lru_cache(maxsize=256)
def phase_mu(
    key: str,
    gas: str | None = None,
    pressure_atm: float | None = None,
    energy_ev: float = MO_K_ALPHA_EV,
    carbon_porosity: float = 0.5,
) -> float:
    """Linear attenuation in 1/cm of a reference phase.

    Parameters
    ----------
    key : str
        One of :data:`PHASE_KEYS`.
    gas, pressure_atm : str, float, optional
        Fill gas ('Xe', 'Ar', ...) and its pressure in atm; needed for ``gas``
        and used to fill the pores of ``carbon`` (empty pores otherwise).
    energy_ev : float
        Photon energy in eV (default Mo K-alpha).
    carbon_porosity : float
        Pore share of the carbon interlayer.
    """
    if key == "gas":
        if gas is None or pressure_atm is None:
            raise ValueError("the gas phase needs the fill gas and its pressure")
        return gas_mu(gas, float(pressure_atm), energy_ev)
    if key == "carbon":
        fill = gas_mu(gas, float(pressure_atm), energy_ev) if gas and pressure_atm else 0.0
        return porous_mu(material_mu("carbon", energy_ev), fill, carbon_porosity)
    if key in ("li", "se", "steel", "inli", "peek"):
        return material_mu(key, energy_ev)
    raise KeyError(f"unknown reference phase {key!r}; known: {PHASE_KEYS}")
