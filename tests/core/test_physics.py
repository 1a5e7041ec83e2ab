"""Physics against independent numbers (DOMAIN.md's table and Faraday's law)."""

import pytest

from napari_licell.physics import (
    attenuation_table,
    charge_time_for_thickness_min,
    faraday_thickness_um,
    gas_density_g_cm3,
    gas_mu,
    material_mu,
)


@pytest.mark.parametrize(
    "value, expected",
    [
        (lambda: gas_mu("Xe", 6.0), 1.22),
        (lambda: material_mu("li"), 0.106),
        (lambda: gas_mu("Ar", 1.0), 0.021),
        (lambda: material_mu("se"), 61.0),
        (lambda: material_mu("peek"), 0.89),
        (lambda: material_mu("steel"), 290.0),
        (lambda: material_mu("inli"), 180.0),
    ],
)
def test_attenuation_at_mo_k_alpha_matches_domain_table(value, expected):
    assert value() == pytest.approx(expected, rel=0.02)


def test_ideal_gas_density():
    assert gas_density_g_cm3("Xe", 6.0) == pytest.approx(0.0322, rel=0.01)
    assert gas_density_g_cm3("Ar", 1.0) == pytest.approx(0.00163, rel=0.01)
    assert gas_mu("Xe", 0.0) == 0.0


def test_xenon_makes_gas_much_darker_than_li_contrast():
    assert gas_mu("Xe", 6.0) / material_mu("li") > 10
    assert abs(gas_mu("Ar", 1.0) - material_mu("li")) < 0.1


def test_attenuation_table_lists_every_material_and_both_gases():
    rows = attenuation_table()
    labels = [r.label for r in rows]
    assert any(lbl.startswith("Xe 6 atm") for lbl in labels)
    assert any(lbl.startswith("Ar 1 atm") for lbl in labels)
    assert "Li metal" in labels
    assert all(r.mu_per_cm >= 0 for r in rows)
    # higher energy: less attenuation
    assert material_mu("se", 30000.0) < material_mu("se")


def test_faraday_thickness():
    assert faraday_thickness_um(0.2, 4000) == pytest.approx(64.7, abs=0.05)
    assert faraday_thickness_um(0.4, 2000) == pytest.approx(faraday_thickness_um(0.2, 4000))
    assert charge_time_for_thickness_min(0.2, 64.654) == pytest.approx(4000, rel=1e-3)
    with pytest.raises(ValueError):
        faraday_thickness_um(-1, 10)
