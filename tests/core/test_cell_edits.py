"""The cell values edited by hand: one dataclass that the Study dock's form is generated from."""

from __future__ import annotations

from dataclasses import fields

from napari_licell.cell_edits import CellEdits, field_spec
from napari_licell.study.study_file import BONDING_PROCESSES, GASES


def test_every_field_says_how_it_is_shown():
    for f in fields(CellEdits):
        spec = field_spec(f.name)
        assert spec.label and (spec.choices or spec.maximum > spec.minimum)
    assert field_spec("gas").choices == ("unknown", *GASES)
    assert field_spec("process").choices == ("unknown", *BONDING_PROCESSES) and field_spec("process").editable
    assert field_spec("current_density_ma_cm2").unit == "mA/cm²" and field_spec("charge_minutes").unit == "min"
    assert field_spec("voxel_size_um").unit == "µm" and field_spec("voxel_size_um").decimals == 4


def test_metadata_round_trip_keeps_unknowns_unknown():
    meta = {
        "gas": "Xe",
        "gas_pressure_atm": 6.0,
        "process": "process2",
        "current_density_ma_cm2": 0.25,
        "charge_minutes": None,
        "se_pressure_mpa": 400.0,
    }
    values = CellEdits.from_metadata(meta, 0.54).to_values()
    assert values == {
        "voxel_size_um": 0.54,
        "gas": "Xe",
        "gas_pressure_atm": 6.0,
        "process": "process2",
        "current_density_ma_cm2": 0.25,
        "charge_minutes": None,
    }
    assert set(CellEdits.from_metadata({}).to_values().values()) == {None}
    assert CellEdits.from_metadata({"gas": "", "process": ""}).gas is None
