"""The Study dock's state without Qt: cells, edits into the study file's records, autosave and restore."""

from __future__ import annotations

import pytest

from napari_licell.commands.demo import write_demo_study
from napari_licell.errors import LiCellInputError
from napari_licell.study.study_file import load_study
from napari_licell.study.study_session import StudyCellEntry, StudySession, voltage_for_scan


@pytest.fixture(scope="module")
def demo_study_file(tmp_path_factory):
    return write_demo_study(tmp_path_factory.mktemp("demo"))


def test_cells_are_found_by_layer_or_scan_and_names_stay_unique():
    session, seen = StudySession(), []
    session.entry_changed.connect(seen.append)
    session.add(StudyCellEntry("cell A", ["cell A", "cell A labels"], {"process": "none"}))
    assert [e.name for e in seen] == ["cell A"] and session.known_layers() == {"cell A", "cell A labels"}
    assert session.cell_of("cell A labels") == "cell A" and session.cell_of("x", scan="cell A") == "cell A"
    assert session.cell_of("other") is None
    assert session.free_name("cell A", "scan.tif") == "scan.tif" and session.free_name("cell B", "x") == "cell B"
    with pytest.raises(LiCellInputError):
        session.apply_values("nobody", {"voxel_size_um": None})
    voxel = session.apply_values("cell A", {"voxel_size_um": 0.65, "charge_minutes": 90.0})
    assert voxel == (0.65, 0.65, 0.65) and seen[-1].metadata["charge_minutes"] == 90.0
    assert seen[-1].metadata["voxel_size_um"] == [0.65] * 3 and seen[-1].metadata["voxel_size_assumed"] is False
    with pytest.raises(LiCellInputError, match="lives in memory"):
        session.save()  # no study file open: nothing to save to


def test_an_edit_is_autosaved_restored_after_a_crash_and_retired_by_saving(demo_study_file):
    first = StudySession()
    first.open(demo_study_file)
    first.add(StudyCellEntry("process1_after_Xe6", ["process1_after_Xe6"], {}))
    first.apply_values(
        "process1_after_Xe6",
        {
            "voxel_size_um": 0.7,
            "charge_minutes": 1234.0,
            "current_density_ma_cm2": 0.3,
            "gas": "Xe",
            "gas_pressure_atm": 6.0,
        },
    )
    assert load_study(demo_study_file).cell("process1_after_Xe6").charge_minutes == 4000.0  # file untouched
    second = StudySession()
    second.open(demo_study_file)
    second.add(StudyCellEntry("process1_after_Xe6", ["process1_after_Xe6"], {"charge_minutes": 4000.0}))
    assert second.recoverable_autosave() is not None
    [(entry, voxel)] = second.restore_autosave()
    assert entry.metadata["charge_minutes"] == 1234.0 and tuple(voxel) == pytest.approx((0.7, 0.7, 0.7))
    saved = second.save()
    assert saved == demo_study_file and second.recoverable_autosave() is None
    record = load_study(saved).cell("process1_after_Xe6")
    assert record.charge_minutes == 1234.0 and record.current_density_ma_cm2 == pytest.approx(0.3)
    assert StudySession().restore_autosave() is None


def test_voltage_of_a_scan_without_a_study():
    assert voltage_for_scan(None, True, "process3_after_Xe6").n_points > 100  # a demo cell's own curve
    assert voltage_for_scan(None, True, "not a demo cell") is None and voltage_for_scan(None, False, "x") is None
    with pytest.raises(LiCellInputError):
        voltage_for_scan("/no/such/cycler.csv", False, "x")
