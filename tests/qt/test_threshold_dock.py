"""The threshold dock in a real viewer: suggestion, marker dragging, live preview, apply, errors, autosave."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from matplotlib.backend_bases import MouseEvent

from napari_licell._qt.threshold_dock import ThresholdDock
from napari_licell.classes import LI, VOID, napari_colormap
from napari_licell.phantoms import load_demo_cell
from napari_licell.segmentation import ThresholdSet, classify_slice


@pytest.fixture(autouse=True)
def _own_autosave_folder(tmp_path, monkeypatch):
    """Autosaves of layers without a file go to the cache: one per test, so no test sees another's."""
    monkeypatch.setenv("LICELL_CACHE_DIR", str(tmp_path / "cache"))


def _open(viewer, name):
    cell = load_demo_cell(name)
    viewer.add_image(cell.image, name=cell.name, scale=cell.scale, metadata=dict(cell.metadata))
    return cell


def _dock_on_the_ar_and_xe_dummies(viewer) -> ThresholdDock:
    """A Thresholds dock on the 1 atm Ar and 6 atm Xe dummy cells, the Xe cell chosen."""
    _open(viewer, "dummy_Ar1")
    _open(viewer, "dummy_Xe6")
    dock = ThresholdDock(viewer)
    viewer.window.add_dock_widget(dock)
    dock.set_image("dummy_Xe6")
    return dock


def _ready(dock, qtbot, preview: bool = True):
    """Wait until the histograms are counted (in the dock's worker) and the thresholds suggested."""
    qtbot.waitUntil(lambda: dock.worker is None and dock.thresholds is not None, timeout=60_000)
    dock.live_preview.setChecked(preview)
    return dock


@pytest.fixture
def dock_with_cell(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    cell = _open(viewer, "process3_after_Xe6")
    dock = ThresholdDock(viewer)
    viewer.window.add_dock_widget(dock, name="Thresholds")
    _ready(dock, qtbot)
    return viewer, dock, cell


def _drag(dock, index, to_grey):
    """Press on marker ``index``, move to ``to_grey`` and release, through matplotlib mouse events."""
    canvas = dock.plot.canvas
    canvas.draw()
    ax = dock.plot.ax
    y = ax.transData.transform((dock.thresholds.values[index], 1e-3))[1]
    x0 = ax.transData.transform((dock.thresholds.values[index], 1e-3))[0]
    x1 = ax.transData.transform((to_grey, 1e-3))[0]
    for kind, x in (
        ("button_press_event", x0),
        ("motion_notify_event", (x0 + x1) / 2),
        ("motion_notify_event", x1),
        ("button_release_event", x1),
    ):
        event = MouseEvent(kind, canvas, x, y, button=1)
        canvas.callbacks.process(kind, event)


def test_suggest_and_preview_of_the_displayed_slice(dock_with_cell):
    viewer, dock, cell = dock_with_cell
    assert dock.image_layer.name == cell.name and dock.histogram is not None
    ts = dock.suggest()
    assert ts.boundary_names[0] == "li|void" and 1040 < ts.values[0] < 1090
    viewer.dims.set_current_step(0, 150)
    preview = viewer.layers[f"{cell.name} preview"]
    assert preview.data.shape == (1, 128, 128)
    np.testing.assert_allclose(preview.translate, (150 * 0.54, 0, 0))
    np.testing.assert_allclose(preview.scale, cell.scale)
    np.testing.assert_array_equal(preview.data[0], classify_slice(cell.image[150], ts))
    assert "Li and gas-filled voids are separable" in dock.verdict_label.text()
    assert dock.sensitivity_table.rowCount() == len(ts.values)


def test_dragging_a_marker_updates_the_preview(dock_with_cell):
    viewer, dock, cell = dock_with_cell
    dock.suggest()
    viewer.dims.set_current_step(0, 40)  # inside the Li layer
    preview = viewer.layers[f"{cell.name} preview"]
    li_before = int((preview.data == LI.code).sum())
    start = dock.thresholds.values[0]
    _drag(dock, 0, start - 45.0)
    moved = dock.thresholds.values[0]
    assert moved == pytest.approx(start - 45.0, abs=3.0)
    assert dock.plot.dragging is None
    assert dock.value_boxes[0].value() == pytest.approx(moved)
    assert dock.plot.marker_lines[0].get_xdata()[0] == pytest.approx(moved)
    li_after = int((preview.data == LI.code).sum())
    void_after = int((preview.data == VOID.code).sum())
    assert li_after < li_before and void_after > 0
    np.testing.assert_array_equal(preview.data[0], classify_slice(cell.image[40], dock.thresholds))


def test_set_threshold_clamps_and_follows_in_preview(dock_with_cell):
    viewer, dock, cell = dock_with_cell
    ts = dock.suggest()
    used = dock.set_threshold(0, ts.values[1] + 500)  # cannot pass the next threshold
    assert used == ts.values[1]
    viewer.dims.set_current_step(0, 40)
    preview = viewer.layers[f"{cell.name} preview"]
    assert (preview.data == VOID.code).sum() == 0  # no void range left
    assert dock.thresholds.method.endswith("(edited)")


def test_preview_follows_any_dims_order(dock_with_cell):
    viewer, dock, cell = dock_with_cell
    ts = dock.suggest()
    viewer.dims.order = (2, 0, 1)  # the displayed plane is (z, y); x is sliced
    viewer.dims.set_current_step(2, 77)
    preview = viewer.layers[f"{cell.name} preview"]
    assert preview.data.shape == (300, 128, 1)
    np.testing.assert_allclose(preview.translate, (0, 0, 77 * 0.54))
    # a section along the stack axis is refined like "Apply to volume": partial volume and carbon band
    fast = classify_slice(cell.image[:, :, 77], ts)
    assert (preview.data[:, :, 0] == fast).mean() > 0.9
    truth = cell.labels[:, :, 77]
    assert (preview.data[:, :, 0] == truth).mean() > (fast == truth).mean()


def test_apply_to_volume_writes_labels_with_thresholds(dock_with_cell, qtbot):
    viewer, dock, cell = dock_with_cell
    ts = dock.suggest()
    dock.apply_to_volume()
    name = f"{cell.name} labels"
    qtbot.waitUntil(lambda: name in viewer.layers and dock.worker is None, timeout=120_000)
    labels = viewer.layers[name]
    assert ThresholdSet.from_dict(labels.metadata["thresholds"]).values == ts.values
    assert labels.metadata["carbon_band"]["found"] and labels.metadata["carbon_band"]["side"] == "se"
    np.testing.assert_allclose(labels.scale, cell.scale)
    assert labels.data.dtype == np.uint8 and labels.data.shape == cell.image.shape
    colours = labels.colormap.color_dict
    for code, rgba in napari_colormap().items():
        if code is not None and code > 0:
            np.testing.assert_allclose(colours[code], rgba, atol=1e-6)
    li = labels.data == LI.code
    truth = cell.labels == LI.code
    assert 2 * (li & truth).sum() / (li.sum() + truth.sum()) >= 0.9
    assert dock.progress_bar.value() == 100


def test_cancel_leaves_no_labels(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    cell = load_demo_cell("none_after_Xe6")
    big = np.concatenate([cell.image] * 4)
    viewer.add_image(big, name="big", scale=cell.scale, metadata=dict(cell.metadata))
    dock = ThresholdDock(viewer)
    viewer.window.add_dock_widget(dock)
    _ready(dock, qtbot)
    dock.apply_to_volume()
    dock.cancel()
    qtbot.waitUntil(lambda: dock.worker is None, timeout=120_000)
    assert "big labels" not in viewer.layers
    assert "Cancelled" in dock.status.text()


def test_errors_become_notifications(make_napari_viewer, monkeypatch):
    import napari.utils.notifications as notifications

    shown = []
    monkeypatch.setattr(notifications, "show_error", lambda text: shown.append(text))
    viewer = make_napari_viewer()
    dock = ThresholdDock(viewer)
    viewer.window.add_dock_widget(dock)
    dock.apply_button.click()  # no image at all
    assert shown and "no image layer" in shown[-1]
    dock.suggest_button.click()
    assert "no image layer" in shown[-1]
    n_shown = len(shown)
    viewer.add_image(np.zeros((2, 3, 4, 5), dtype=np.uint16), name="4d")  # a time-lapse is no scan to threshold
    viewer.layers.selection.active = viewer.layers["4d"]
    assert len(shown) == n_shown and dock.image_combo.findText("4d") < 0 and dock.worker is None


def test_side_by_side_ar_vs_xe(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    dock = _dock_on_the_ar_and_xe_dummies(viewer)
    dock.set_compare("dummy_Ar1")
    _ready(dock, qtbot)
    qtbot.waitUntil(lambda: dock.compare_histogram is not None and dock.worker is None, timeout=60_000)
    dock.set_side_by_side(True)
    assert viewer.grid.enabled and dock.side_by_side.isChecked()
    assert dock.compare_histogram is not None and len(dock.plot.ax.get_lines()) >= 2
    assert dock.verdict.separable and not dock.compare_verdict.separable
    assert "NOT separable" in dock.compare_label.text()
    # the calibration in the metadata tells the steel plunger from SE
    assert dock.thresholds.classes[-1] == 6
    dock.set_side_by_side(False)
    assert not viewer.grid.enabled


def test_two_dimensional_image(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    cell = load_demo_cell("process1_after_Xe6")
    plane = cell.image[:, 64, :]  # a (z, x) cross-section
    viewer.add_image(plane, name="section", scale=cell.scale[1:])
    dock = ThresholdDock(viewer)
    viewer.window.add_dock_widget(dock)
    _ready(dock, qtbot)
    assert dock.thresholds is not None and dock.interior is None  # suggested from the 2D histogram
    preview = viewer.layers["section preview"]
    np.testing.assert_array_equal(preview.data, classify_slice(plane, dock.thresholds))
    dock.apply_to_volume()
    qtbot.waitUntil(lambda: "section labels" in viewer.layers and dock.worker is None, timeout=60_000)
    np.testing.assert_array_equal(viewer.layers["section labels"].data, classify_slice(plane, dock.thresholds))


def test_cross_section_preview_labels_the_carbon_band_by_position(dock_with_cell):
    from napari_licell._qt.cross_section import show_stack_cross_section
    from napari_licell.classes import CARBON

    viewer, dock, cell = dock_with_cell
    show_stack_cross_section(viewer)
    dock.suggest()
    preview = viewer.layers[f"{cell.name} preview"]
    assert preview.data.shape == (300, 1, 128)  # a section along the stack axis
    y = int(np.round(viewer.dims.point[1] / 0.54))
    truth = cell.labels[:, y, :]
    carbon = preview.data[:, 0, :] == CARBON.code
    dice = 2 * (carbon & (truth == CARBON.code)).sum() / (carbon.sum() + (truth == CARBON.code).sum())
    assert dice > 0.8


# ---------------------------------------------------------------------- autosave and recovery
def _autosave_file(cell_name: str):
    from napari_licell.autosave import thresholds as threshold_autosave

    return threshold_autosave.threshold_autosave_path(threshold_autosave.autosave_folder_for(None), cell_name)


def _fresh_dock(make_napari_viewer, qtbot, name="process3_after_Xe6", **kwargs):
    """A new viewer and dock on the same scan: what the user gets after a crash and a restart."""
    viewer = make_napari_viewer()
    _open(viewer, name)
    dock = ThresholdDock(viewer, **kwargs)
    viewer.window.add_dock_widget(dock, name="Thresholds")
    _ready(dock, qtbot)
    return viewer, dock


def test_moves_are_autosaved_once_after_a_pause_and_restored_exactly(make_napari_viewer, qtbot, monkeypatch):
    import re

    from napari_licell.autosave import thresholds as threshold_autosave

    writes = []
    real_write = threshold_autosave.write_threshold_autosave

    def counting_write(*args, **kwargs):
        writes.append(args[2].values)
        return real_write(*args, **kwargs)

    monkeypatch.setattr(threshold_autosave, "write_threshold_autosave", counting_write)
    viewer, dock = _fresh_dock(make_napari_viewer, qtbot, autosave_delay_seconds=0.5)
    name = dock.image_layer.name
    suggested = dock.thresholds.values
    assert dock.restore_row.isHidden()  # nothing to recover: the default layout is unchanged
    qtbot.wait(900)  # longer than the autosave delay
    assert writes == [] and not _autosave_file(name).exists()  # a suggestion alone is not autosaved

    dock.value_boxes[1].setValue(suggested[1] + 4.25)  # typed into a spinbox
    _drag(dock, 0, suggested[0] - 30.0)  # and a marker dragged over several mouse moves
    assert writes == [] and not _autosave_file(name).exists()  # debounced: nothing written yet
    moved = dock.thresholds.values
    assert moved[1] == pytest.approx(suggested[1] + 4.25, abs=0.05)  # the spinbox shows one decimal
    assert moved[0] == pytest.approx(suggested[0] - 30.0, abs=3.0)
    qtbot.waitUntil(lambda: dock.last_threshold_autosave is not None, timeout=10_000)
    assert writes == [moved]  # one write for the whole burst of changes, with the final values
    assert dock.last_threshold_autosave == _autosave_file(name)
    assert dock.last_threshold_autosave.parent.name == ".licell-autosave"
    assert dock.restore_row.isHidden()  # the dock's own autosave is not offered back to it

    # "crash": a new viewer and dock on the same scan
    viewer2, dock2 = _fresh_dock(make_napari_viewer, qtbot)
    assert not dock2.restore_row.isHidden()
    assert re.fullmatch(r"Restore thresholds \(autosaved \d\d:\d\d\)", dock2.restore_thresholds_button.text())
    assert dock2.thresholds.values == suggested  # the new dock suggested afresh ...
    assert writes == [moved]  # ... without overwriting the autosave with its suggestion
    dock2.restore_thresholds_button.click()
    assert dock2.thresholds.values == moved  # exact grey values
    assert [b.value() for b in dock2.value_boxes] == pytest.approx(list(moved), abs=0.05)
    assert dock2.plot.marker_lines[0].get_xdata()[0] == moved[0]
    assert viewer2.layers[f"{name} preview"].metadata["thresholds"]["values"] == list(moved)
    assert dock2.restore_row.isHidden() and "Restored" in dock2.status.text()
    assert writes == [moved]


def test_discard_removes_the_offer_for_good(make_napari_viewer, qtbot):
    viewer, dock = _fresh_dock(make_napari_viewer, qtbot, autosave_delay_seconds=0.2)
    dock.set_threshold(0, dock.thresholds.values[0] - 10.0)
    qtbot.waitUntil(lambda: dock.last_threshold_autosave is not None, timeout=10_000)
    _, dock2 = _fresh_dock(make_napari_viewer, qtbot)
    assert dock2.threshold_recovery is not None
    dock2.discard_thresholds_button.click()
    assert dock2.restore_row.isHidden() and not dock.last_threshold_autosave.exists()
    _, dock3 = _fresh_dock(make_napari_viewer, qtbot)
    assert dock3.threshold_recovery is None and dock3.restore_row.isHidden()


def test_apply_marks_the_autosave_as_not_needing_recovery(make_napari_viewer, qtbot):
    from napari_licell.autosave.thresholds import read_threshold_autosave

    viewer, dock = _fresh_dock(make_napari_viewer, qtbot, autosave_delay_seconds=0.2)
    name = dock.image_layer.name
    dock.set_threshold(0, dock.thresholds.values[0] - 12.0)
    qtbot.waitUntil(lambda: dock.last_threshold_autosave is not None, timeout=10_000)
    assert read_threshold_autosave(_autosave_file(name)).needs_recovery
    dock.apply_to_volume()
    qtbot.waitUntil(lambda: f"{name} labels" in viewer.layers and dock.worker is None, timeout=120_000)
    record = read_threshold_autosave(_autosave_file(name))
    assert record.applied and not record.needs_recovery
    assert record.thresholds.values == dock.thresholds.values
    _, dock2 = _fresh_dock(make_napari_viewer, qtbot)
    assert dock2.threshold_recovery is None and dock2.restore_row.isHidden()

    # moved again after the apply, with the change still pending when Apply finishes: it stays recoverable
    dock.set_threshold(0, dock.thresholds.values[0] + 5.0)
    dock.autosave_thresholds_now()
    _, dock3 = _fresh_dock(make_napari_viewer, qtbot)
    assert dock3.threshold_recovery is not None
    assert dock3.threshold_recovery.thresholds.values == dock.thresholds.values


def test_a_change_on_another_scan_does_not_drop_the_pending_autosave(make_napari_viewer, qtbot):
    from napari_licell.autosave.thresholds import read_threshold_autosave

    viewer = make_napari_viewer()
    _open(viewer, "process3_after_Xe6")
    _open(viewer, "process1_after_Xe6")
    dock = ThresholdDock(viewer, autosave_delay_seconds=30.0)  # the timer never fires in this test
    viewer.window.add_dock_widget(dock)
    dock.set_image("process3_after_Xe6")
    _ready(dock, qtbot)
    first = dock.set_threshold(0, dock.thresholds.values[0] - 8.0)
    dock.set_image("process1_after_Xe6")
    _ready(dock, qtbot)
    dock.set_threshold(0, dock.thresholds.values[0] - 9.0)  # process3's change is written now
    assert read_threshold_autosave(_autosave_file("process3_after_Xe6")).thresholds.values[0] == first
    assert not _autosave_file("process1_after_Xe6").exists()
    assert dock.flush_autosave() == _autosave_file("process1_after_Xe6")
    dock.set_image("process3_after_Xe6")  # back to a scan whose autosave the dock wrote itself
    assert dock.threshold_recovery is None and dock.restore_row.isHidden()
    assert dock.thresholds.values[0] == first


def test_a_damaged_autosave_is_reported_and_can_be_discarded(make_napari_viewer, qtbot, monkeypatch):
    import napari.utils.notifications as notifications

    shown = []
    monkeypatch.setattr(notifications, "show_error", lambda text: shown.append(text))
    path = _autosave_file("process3_after_Xe6")
    path.parent.mkdir(parents=True)
    path.write_text('{"format": "napari-licell threshold autosave", "format_version": 1, "thresh', "utf-8")
    viewer, dock = _fresh_dock(make_napari_viewer, qtbot)
    assert dock.thresholds is not None  # the scan still opened and got its suggestion
    assert any("damaged" in text and str(path) in text for text in shown)
    assert not dock.restore_row.isHidden() and not dock.restore_thresholds_button.isEnabled()
    assert dock.threshold_recovery is None
    dock.discard_thresholds_button.click()
    assert not path.exists() and dock.restore_row.isHidden()


@pytest.fixture
def own_settings():
    """The settings module; the file is in a folder of this test ($LICELL_CONFIG_DIR, tests/conftest.py)."""
    from napari_licell._qt import settings

    return settings


def test_a_scan_larger_than_the_budget_is_classified_into_a_label_store(
    dock_with_cell, qtbot, monkeypatch, own_settings, tmp_path
):
    """With a small memory limit the labels go to a zarr store in the cache, tiled, with the same codes."""
    import zarr

    from napari_licell.segmentation import classify_volume

    viewer, dock, cell = dock_with_cell
    own_settings.set_memory_limit_gb(0.25)
    monkeypatch.setattr("napari_licell._qt.threshold_dock.memory_limit_bytes", lambda: 4 * 2**20)
    ts = dock.suggest()
    dock.apply_to_volume()
    name = f"{cell.name} labels"
    qtbot.waitUntil(lambda: name in viewer.layers and dock.worker is None, timeout=120_000)
    data = viewer.layers[name].data
    assert isinstance(data, zarr.Array) and data.chunks == (8, 128, 128)
    stores = tmp_path / "cache" / "label-stores"
    assert len(list(stores.iterdir())) == 1
    # a cancelled run leaves no half-written store behind (and the shown labels as they were)
    dock.apply_to_volume()
    dock.cancel()
    qtbot.waitUntil(lambda: dock.worker is None, timeout=120_000)
    assert "Cancelled" in dock.status.text() and viewer.layers[name].data is data
    assert len(list(stores.iterdir())) == 1
    assert (tmp_path / "cache" / "label-stores") in Path(data.store.root).parents
    np.testing.assert_array_equal(data[:], classify_volume(cell.image, ts).labels)


def test_the_options_tab_is_generated_from_the_analysis_options(qtbot):
    from dataclasses import fields

    from napari_licell._qt.threshold_controls import OPTION_FIELDS, analysis_options_form
    from napari_licell.pipeline import AnalysisOptions

    form = analysis_options_form()
    qtbot.addWidget(form.native)
    defaults = {f.name: f.default for f in fields(AnalysisOptions)}
    assert [w.name for w in form] == list(OPTION_FIELDS)
    assert {w.name: w.value for w in form} == {name: defaults[name] for name in OPTION_FIELDS}
    assert form.partial_volume.native.text() == "Partial-volume rules"


def test_the_status_line_never_shows_the_last_scans_suggestion(make_napari_viewer, qtbot):
    """Walkthrough: after switching cells the status line still showed the previous cell's suggestion."""
    viewer = make_napari_viewer()
    dock = _dock_on_the_ar_and_xe_dummies(viewer)
    _ready(dock, qtbot)
    dock.suggest()
    assert dock.status.text().startswith("dummy_Xe6: suggested")
    dock.set_image("dummy_Ar1")
    assert "dummy_Xe6" not in dock.status.text()
    qtbot.waitUntil(lambda: dock.worker is None and dock.histogram is not None, timeout=60_000)
    dock.suggest()
    assert dock.status.text().startswith("dummy_Ar1: suggested")
