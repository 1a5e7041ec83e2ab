"""Open a study written by `napari-licell demo`, edit what the files lack, save it, open it again."""

from __future__ import annotations

import numpy as np
import pytest

from napari_licell.commands.demo import write_demo_study
from napari_licell.study.study_file import load_study


@pytest.fixture(scope="module")
def demo_study_file(tmp_path_factory):
    return write_demo_study(tmp_path_factory.mktemp("demo"))


def test_open_study_shows_cells_with_voxel_size_and_voltage(make_napari_viewer, demo_study_file):
    viewer = make_napari_viewer()
    dock, study = viewer.window.add_plugin_dock_widget("napari-licell", "Study")
    problems = study.open_study(demo_study_file)
    assert problems == []
    assert study.tree.topLevelItemCount() == 6
    scan = viewer.layers["process3_after_Xe6"]
    assert np.allclose(scan.scale, 0.54)
    assert scan.data.shape == (300, 128, 128)
    assert type(scan.data).__module__.startswith("dask")  # opened lazily
    assert viewer.layers["process3_after_Xe6 labels"]._type_string == "labels"
    entry = study.entries["none_after_Xe6"]
    assert entry.voltage is not None and entry.voltage.time_min[-1] == pytest.approx(3500)
    assert entry.metadata["process"] == "none"


def test_edit_metadata_changes_scale_and_is_saved(make_napari_viewer, demo_study_file, tmp_path):
    viewer = make_napari_viewer()
    _, study = viewer.window.add_plugin_dock_widget("napari-licell", "Study")
    study.open_study(demo_study_file)
    study.select_cell("process2_after_Xe6")
    study.form.voxel_size.setValue(0.65)
    study.form.current_density.setValue(0.3)
    study.apply_metadata()
    assert np.allclose(viewer.layers["process2_after_Xe6"].scale, 0.65)
    saved = study.save_study(tmp_path / "edited.licell.yaml")
    reloaded = load_study(saved).cell("process2_after_Xe6")
    assert reloaded.current_density_ma_cm2 == pytest.approx(0.3)
    assert reloaded.scans[0].voxel_size_um == pytest.approx((0.65, 0.65, 0.65))
    assert reloaded.scans[0].path.is_file()  # relative paths resolve from the new location


def test_bad_scan_gives_a_message_and_no_layer(make_napari_viewer, tmp_path, monkeypatch):
    shown = []
    monkeypatch.setattr(
        "napari_licell._qt.study_dock.report_error",
        lambda exc: shown.append(str(getattr(exc, "message", exc))) or shown[-1],
    )
    viewer = make_napari_viewer()
    _, study = viewer.window.add_plugin_dock_widget("napari-licell", "Study")
    bad = tmp_path / "broken.tif"
    bad.write_bytes(b"II*\x00" + b"\x00" * 10)
    assert study.open_scan(bad) is None
    assert len(viewer.layers) == 0
    assert len(shown) == 1 and "broken.tif" in shown[0]
    assert study.status.text() == shown[0]  # the whole line stays readable in the dock, not only in a toast


def test_study_file_opens_by_drag_and_drop_reader(make_napari_viewer, demo_study_file):
    viewer = make_napari_viewer()
    viewer.open(str(demo_study_file), plugin="napari-licell")
    names = [layer.name for layer in viewer.layers]
    assert "dummy_Xe6" in names and "process3_after_Xe6 labels" in names


def test_unsaved_metadata_edits_are_offered_back_after_a_crash(make_napari_viewer, tmp_path):
    study_file = write_demo_study(tmp_path / "crash")
    viewer = make_napari_viewer()
    _, study = viewer.window.add_plugin_dock_widget("napari-licell", "Study")
    study.open_study(study_file)
    study.select_cell("process1_after_Xe6")
    study.form.voxel_size.setValue(0.7)
    study.form.charge_minutes.setValue(1234.0)
    study.apply_metadata()
    # the session dies without saving: a new viewer opens the same study file
    viewer2 = make_napari_viewer()
    _, again = viewer2.window.add_plugin_dock_widget("napari-licell", "Study")
    again.open_study(study_file)
    assert again.entries["process1_after_Xe6"].metadata["charge_minutes"] == 4000.0
    assert not again.restore_button.isHidden()
    assert again.restore_unsaved_changes()
    assert again.entries["process1_after_Xe6"].metadata["charge_minutes"] == 1234.0
    assert tuple(viewer2.layers["process1_after_Xe6"].scale) == pytest.approx((0.7, 0.7, 0.7))
    # an explicit save ends the offer
    again.save_study()
    viewer3 = make_napari_viewer()
    _, third = viewer3.window.add_plugin_dock_widget("napari-licell", "Study")
    third.open_study(study_file)
    assert third.restore_button.isHidden()
    assert third.entries["process1_after_Xe6"].metadata["charge_minutes"] == 1234.0


def test_side_view_of_a_scan_stored_in_planes_is_declined_when_it_would_read_too_much(
    make_napari_viewer, tmp_path, monkeypatch
):
    """A side view of a big plane-chunked scan would read most of its file: the plane view stays, with the reason."""
    import tifffile

    from napari_licell._qt import cross_section

    viewer = make_napari_viewer()
    _, study = viewer.window.add_plugin_dock_widget("napari-licell", "Study")
    scan = tmp_path / "planes.tif"
    tifffile.imwrite(
        scan,
        np.zeros((40, 64, 48), np.uint16),
        imagej=True,
        resolution=(1 / 0.54, 1 / 0.54),
        metadata={"spacing": 0.54, "unit": "um", "axes": "ZYX"},
    )
    monkeypatch.setattr(cross_section, "CROSS_SECTION_READ_LIMIT", 1000)  # bytes: anything chunked is "too much"
    study.open_scan(scan)
    layer_data = viewer.layers["planes"].data
    assert cross_section.cross_section_read_bytes(layer_data, 1) > 1000
    assert tuple(viewer.dims.order) == (0, 1, 2)  # slider over z, the (y, x) planes shown
    assert "<br>" in study.details.text() and "side view would read" in study.details.text()
    monkeypatch.setattr(cross_section, "CROSS_SECTION_READ_LIMIT", 512 * 2**20)
    assert cross_section.show_stack_cross_section(viewer) is None
    assert tuple(viewer.dims.order) == (1, 0, 2)  # the paper's view: stack axis up
    assert cross_section.cross_section_read_bytes(np.zeros((4, 5, 6)), 1) == 0  # in memory: free


def test_the_metadata_form_is_generated_from_the_cell_edits_dataclass(qtbot):
    from dataclasses import fields

    from napari_licell._qt.cell_metadata_form import CellMetadataForm
    from napari_licell.cell_edits import CellEdits, field_spec

    form = CellMetadataForm()
    qtbot.addWidget(form)
    assert [w.name for w in form.container] == [f.name for f in fields(CellEdits)]
    assert [w.label for w in form.container] == [field_spec(f.name).label for f in fields(CellEdits)]
    assert form.values() == CellEdits().to_values()  # a new form: everything unknown
    assert form.voxel_size.text() == "unknown" and form.gas.currentText() == "unknown"
    meta = {
        "gas": "Ar",
        "gas_pressure_atm": 1.0,
        "process": "my press",
        "current_density_ma_cm2": 0.1,
        "charge_minutes": 90.0,
    }
    form.set_values(meta, 0.65)
    assert form.values() == CellEdits.from_metadata(meta, 0.65).to_values()
    assert form.current_density.text() == "0.100 mA/cm²"
