"""The results dock measures the chosen labels, shows the numbers and follows label edits."""

from __future__ import annotations

import json

import numpy as np
import pytest

from napari_licell.classes import LI, SE
from napari_licell._napari.layers import synthetic_cell_layers
from napari_licell.phantoms import load_demo_cell


def _viewer_with(make_napari_viewer, name):
    viewer = make_napari_viewer()
    cell = load_demo_cell(name)
    for data, kwargs, kind in synthetic_cell_layers(cell):
        getattr(viewer, f"add_{kind}")(data, **kwargs)
    _, dock = viewer.window.add_plugin_dock_widget("napari-licell", "Results")
    return viewer, dock, cell


def test_measures_process3_layer_and_shows_the_verdict(make_napari_viewer, qtbot, tmp_path):
    viewer, dock, cell = _viewer_with(make_napari_viewer, "process3_after_Xe6")
    dock.set_layers("process3_after_Xe6 truth", "process3_after_Xe6")
    dock.measure()
    qtbot.waitUntil(lambda: dock.measurement is not None, timeout=60000)
    m = dock.measurement.to_dict()
    assert m["verdict"] == "uniform"
    assert m["li_layer"]["mean_thickness_um"] == pytest.approx(cell.truth.li_layer_thickness_um, abs=2 * 0.54)
    table = {dock.table.item(i, 0).text(): dock.table.item(i, 1).text() for i in range(dock.table.rowCount())}
    assert table["Verdict"] == "uniform"
    assert table["Li layer mean thickness"].startswith(f"{m['li_layer']['mean_thickness_um']:.2f}")
    assert "Faraday thickness" in table  # current density and time came from the scan's metadata
    thickness = viewer.layers["process3_after_Xe6 truth Li thickness (µm)"].data
    assert np.nanmean(thickness) == pytest.approx(m["li_layer"]["mean_thickness_um"], rel=0.05)
    report = dock.write_report(tmp_path / "report.html")
    assert "uniform" in report.read_text()
    numbers = json.loads(dock.write_json(tmp_path / "m.json").read_text())
    assert numbers["verdict"] == "uniform"
    table_widget = dock.table  # in a laptop's dock column every value is whole (the walkthrough saw "3.08", "unifo")
    table_widget.setParent(None)
    table_widget.resize(380, 300)
    table_widget.show()
    qtbot.addWidget(table_widget)
    qtbot.wait(50)
    widest = max(table_widget.fontMetrics().horizontalAdvance(v) for v in table.values())
    assert table_widget.columnWidth(1) >= widest, (table_widget.columnWidth(0), table_widget.columnWidth(1), widest)


def test_editing_labels_updates_the_numbers(make_napari_viewer, qtbot):
    viewer, dock, _ = _viewer_with(make_napari_viewer, "process3_after_Xe6")
    dock.set_layers("process3_after_Xe6 truth", "")
    dock._timer.setInterval(10)
    dock.measure()
    qtbot.waitUntil(lambda: dock.measurement is not None, timeout=60000)
    before = dock.measurement.to_dict()["li_in_se"]["volume_um3"]
    layer = viewer.layers["process3_after_Xe6 truth"]
    data = layer.data
    region = (slice(250, 270), slice(40, 80), slice(40, 80))
    assert (data[region] == SE.code).mean() > 0.9
    first = dock.measurement
    layer.data_setitem(tuple(np.indices((20, 40, 40)).reshape(3, -1) + np.array([[250], [40], [40]])), LI.code)
    qtbot.waitUntil(lambda: dock.measurement is not first, timeout=60000)
    after = dock.measurement.to_dict()["li_in_se"]["volume_um3"]
    assert after > before + 0.5 * 20 * 40 * 40 * 0.54**3


def test_no_labels_layer_gives_a_message(make_napari_viewer, monkeypatch):
    import napari.utils.notifications as notifications

    shown = []
    monkeypatch.setattr(notifications, "show_error", lambda text: shown.append(text))
    viewer = make_napari_viewer()
    _, dock = viewer.window.add_plugin_dock_widget("napari-licell", "Results")
    dock.measure_button.click()  # as a user would: one notification, no traceback
    assert shown and "labels" in shown[0] and "labels" in dock.status.text()
    assert dock.measurement is None and dock.worker is None


def test_another_labels_layer_never_shows_the_numbers_of_the_one_measured(make_napari_viewer, qtbot):
    viewer, dock, cell = _viewer_with(make_napari_viewer, "process3_after_Xe6")
    dock.set_layers("process3_after_Xe6 truth", "process3_after_Xe6")
    assert not dock.report_button.isEnabled()  # nothing measured yet: nothing to report
    dock.measure()
    qtbot.waitUntil(lambda: dock.measurement is not None, timeout=60000)
    measured = dock.measurement
    assert dock.report_button.isEnabled() and dock.table.rowCount() > 5
    viewer.add_labels(np.zeros(cell.labels.shape, np.uint8), name="other labels", scale=(0.54,) * 3)
    dock.labels_box.setCurrentText("other labels")
    assert dock.measurement is None and dock.table.rowCount() == 0
    assert not dock.report_button.isEnabled() and "not measured yet" in dock.verdict_label.text()
    dock.labels_box.setCurrentText("process3_after_Xe6 truth")  # back: its own numbers again
    assert dock.measurement is measured and dock.table.rowCount() > 5


def test_labels_applied_after_no_labels_yet_replace_that_message(make_napari_viewer, qtbot):
    """Walkthrough: after Apply, Results still said "has no labels yet" with the new labels in its box."""
    from napari_licell.layer_roles import Role, tagged

    viewer = make_napari_viewer()
    cell = load_demo_cell("none_after_Xe6")
    viewer.add_image(cell.image, name=cell.name, scale=(0.54,) * 3)
    _, dock = viewer.window.add_plugin_dock_widget("napari-licell", "Results")
    dock.on_scan_shown(cell.name)
    assert "no labels yet" in dock.verdict_label.text()
    meta = tagged({}, Role.LABELS, cell.name)
    viewer.add_labels(np.zeros(cell.image.shape, np.uint8), name=f"{cell.name} labels", metadata=meta)
    assert dock.labels_box.currentText() == f"{cell.name} labels"
    assert "no labels yet" not in dock.verdict_label.text() and "press Measure" in dock.verdict_label.text()
