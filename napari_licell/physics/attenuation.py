"""Linear X-ray attenuation (1/cm) of the cell's materials, computed with xraydb.

Nothing here is a typed-in attenuation value: every number comes from
``xraydb.material_mu(formula, energy_eV, density_g_cm3)``. Densities and
formulas are the inputs, gases follow the ideal-gas law.
"""

from __future__ import annotations

from dataclasses import dataclass

import xraydb

__all__ = [
    "MO_K_ALPHA_EV",
    "GAS_CONSTANT_J_PER_MOL_K",
    "STANDARD_ATM_PA",
    "Material",
    "MATERIALS",
    "material_mu",
    "gas_density_g_cm3",
    "gas_mu",
    "porous_mu",
    "attenuation_table",
    "AttenuationRow",
]

#: Mo K-alpha1 energy in eV, the paper's source (rotating Mo anode).
MO_K_ALPHA_EV = 17479.3
GAS_CONSTANT_J_PER_MOL_K = 8.314462618
STANDARD_ATM_PA = 101325.0

_MOLAR_MASS_G_PER_MOL = {"Ar": 39.948, "Xe": 131.293, "Kr": 83.798, "N2": 28.014, "He": 4.0026}


@dataclass(frozen=True)
class Material:
    """A solid of the cell: chemical formula and density.

    Attributes
    ----------
    key : str
        Short name used in tables.
    name : str
        Human name.
    formula : str
        Chemical formula xraydb understands (fractional subscripts allowed).
    density_g_cm3 : float
        Density in g/cm3.
    """

    key: str
    name: str
    formula: str
    density_g_cm3: float


#: Solids of an anode-less half-cell and its jig.
MATERIALS: dict[str, Material] = {
    m.key: m
    for m in (
        Material("li", "Li metal", "Li", 0.534),
        Material("se", "Li5.5PS4.5Br1.5 solid electrolyte", "Li5.5PS4.5Br1.5", 1.9),
        Material("carbon", "Carbon (carbon black)", "C", 1.8),
        Material("graphite", "Graphite", "C", 2.26),
        # AISI 304 stainless steel, molar formula from its mass fractions.
        Material("steel", "Stainless steel (304)", "Fe0.69Cr0.19Ni0.09Mn0.02Si0.01", 8.0),
        Material("inli", "InLi counter electrode", "InLi", 6.5),
        Material("peek", "PEEK cell wall", "C19H12O3", 1.32),
    )
}


def material_mu(material: Material | str, energy_ev: float = MO_K_ALPHA_EV) -> float:
    """Linear attenuation coefficient of a solid in 1/cm.

    Parameters
    ----------
    material : Material or str
        A :class:`Material` or the key of one in :data:`MATERIALS`.
    energy_ev : float
        Photon energy in eV (default Mo K-alpha, 17.48 keV).
    """
    m = MATERIALS[material] if isinstance(material, str) else material
    return float(xraydb.material_mu(m.formula, energy_ev, density=m.density_g_cm3))


def gas_density_g_cm3(gas: str, pressure_atm: float, temperature_c: float = 25.0) -> float:
    """Ideal-gas density in g/cm3 of ``gas`` ('Ar', 'Xe', ...) at a pressure in atm."""
    if gas not in _MOLAR_MASS_G_PER_MOL:
        raise ValueError(f"unknown gas {gas!r}; known: {sorted(_MOLAR_MASS_G_PER_MOL)}")
    if pressure_atm < 0:
        raise ValueError("gas pressure must be non-negative")
    moles_per_m3 = pressure_atm * STANDARD_ATM_PA / (GAS_CONSTANT_J_PER_MOL_K * (temperature_c + 273.15))
    return moles_per_m3 * _MOLAR_MASS_G_PER_MOL[gas] / 1e6


def gas_mu(gas: str, pressure_atm: float, energy_ev: float = MO_K_ALPHA_EV, temperature_c: float = 25.0) -> float:
    """Linear attenuation of a fill gas in 1/cm (ideal gas at ``temperature_c``)."""
    density = gas_density_g_cm3(gas, pressure_atm, temperature_c)
    if density == 0:
        return 0.0
    formula = "N2" if gas == "N2" else gas
    return float(xraydb.material_mu(formula, energy_ev, density=density))


def porous_mu(solid_mu: float, fill_mu: float, porosity: float) -> float:
    """Attenuation of a porous solid whose pores hold a fill (gas), by volume mixing."""
    if not 0.0 <= porosity <= 1.0:
        raise ValueError("porosity must be in [0, 1]")
    return (1.0 - porosity) * solid_mu + porosity * fill_mu


@dataclass(frozen=True)
class AttenuationRow:
    """One bar of the attenuation chart (the paper's Fig. 2a)."""

    label: str
    mu_per_cm: float
    density_g_cm3: float


def attenuation_table(
    energy_ev: float = MO_K_ALPHA_EV,
    gases: tuple[tuple[str, float], ...] = (("Ar", 1.0), ("Xe", 6.0)),
    carbon_porosity: float = 0.5,
) -> list[AttenuationRow]:
    """Attenuation of every material of the cell at one energy.

    Parameters
    ----------
    energy_ev : float
        Photon energy in eV.
    gases : tuple of (gas, pressure_atm)
        Fill gases to list.
    carbon_porosity : float
        Pore fraction of the carbon interlayer; it is listed filled with each gas.

    Returns
    -------
    list of AttenuationRow
        Label, mu (1/cm) and density (g/cm3), in a stable order for a bar chart.
    """
    rows = [AttenuationRow(m.name, material_mu(m, energy_ev), m.density_g_cm3) for m in MATERIALS.values()]
    carbon = material_mu("carbon", energy_ev)
    for gas, pressure in gases:
        g_mu = gas_mu(gas, pressure, energy_ev)
        rows.append(AttenuationRow(f"{gas} {pressure:g} atm", g_mu, gas_density_g_cm3(gas, pressure)))
        rows.append(
            AttenuationRow(
                f"Porous carbon ({carbon_porosity:.0%} pores, {gas} {pressure:g} atm)",
                porous_mu(carbon, g_mu, carbon_porosity),
                (1 - carbon_porosity) * MATERIALS["carbon"].density_g_cm3,
            )
        )
    return rows
