"""Physics of the cell: X-ray attenuation of its materials and Faraday's law (Qt-free)."""

from .attenuation import MO_K_ALPHA_EV, Material, attenuation_table, gas_density_g_cm3, gas_mu, material_mu, porous_mu
from .faraday import faraday_thickness_um, charge_time_for_thickness_min

__all__ = [
    "MO_K_ALPHA_EV",
    "Material",
    "attenuation_table",
    "gas_density_g_cm3",
    "gas_mu",
    "material_mu",
    "porous_mu",
    "faraday_thickness_um",
    "charge_time_for_thickness_min",
]
