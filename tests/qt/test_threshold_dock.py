"""The threshold dock in a real viewer: suggestion, marker dragging, live preview, apply, errors."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.backend_bases import MouseEvent

from napari_licell._qt.threshold_dock import ThresholdDock
from napari_licell.classes import LI, VOID, napari_colormap
from napari_licell.phantoms import load_demo_cell
from napari_licell.segmentation import ThresholdSet, classify_slice


def _open(viewer, name):
    cell = load_demo_cell(name)
    viewer.add_image(cell.image, name=cell.name, scale=cell.scale, metadata=dict(cell.metadata))
    return cell


@pytest.fixture
def dock_with_cell(make_napari_viewer):
    viewer = make_napari_viewer()
    cell = _open(viewer, "process3_after_Xe6")
    dock = ThresholdDock(viewer)
    viewer.window.add_dock_widget(dock, name="Thresholds")
    return viewer, dock, cell


def _drag(dock, index, to_grey):
    """Press on marker ``index``, move to ``to_grey`` and release, through matplotlib mouse events."""
    canvas = dock.plot.canvas
    canvas.draw()
    ax = dock.plot.ax
    y = ax.transData.transform((dock.thresholds.values[index], 1e-3))[1]
    x0 = ax.transData.transform((dock.thresholds.values[index], 1e-3))[0]
    x1 = ax.transData.transform((to_grey, 1e-3))[0]
    for kind, x in (("button_press_event", x0), ("motion_notify_event", (x0 + x1) / 2),
                    ("motion_notify_event", x1), ("button_release_event", x1)):
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
    viewer.add_image(np.zeros((2, 3, 4, 5), dtype=np.uint16), name="4d")
    assert "2D or 3D" in shown[-1]


def test_side_by_side_ar_vs_xe(make_napari_viewer):
    viewer = make_napari_viewer()
    _open(viewer, "dummy_Ar1")
    _open(viewer, "dummy_Xe6")
    dock = ThresholdDock(viewer)
    viewer.window.add_dock_widget(dock)
    dock.set_image("dummy_Xe6")
    dock.set_compare("dummy_Ar1")
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
