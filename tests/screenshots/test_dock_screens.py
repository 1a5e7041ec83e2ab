"""What the user sees in the working docks: voltage with linked cursor, compare view, painting, results."""

from __future__ import annotations

import numpy as np

from napari_licell.classes import LI, SE, VOID
from napari_licell._napari.layers import synthetic_cell_layers
from napari_licell.phantoms import load_demo_cell

from napari_licell._qt.cross_section import show_stack_cross_section

from .conftest import canvas_shot, widget_shot
from .image_compare import assert_matches_reference, differs_from_reference


def _add_cell(viewer, name):
    cell = load_demo_cell(name)
    for data, kwargs, kind in synthetic_cell_layers(cell):
        getattr(viewer, f"add_{kind}")(data, **kwargs)
    return cell


def test_voltage_dock_with_linked_cursor(fixed_viewer, qtbot):
    _, dock = fixed_viewer.window.add_plugin_dock_widget("napari-licell", "Voltage")
    dock.resize(700, 380)
    dock.open_timelapse_demo()
    dock.show_scan(2)  # cursor at the 2000 min scan
    qtbot.wait(50)
    assert dock.cursor_time_min == 2000.0
    assert_matches_reference(widget_shot(dock), "voltage_dock_cursor_2000min")
    dock.show_scan(4)  # the cursor moves: the picture must change
    qtbot.wait(50)
    assert differs_from_reference(widget_shot(dock), "voltage_dock_cursor_2000min", strong_share_tol=0.0005)


def test_compare_view_of_four_cells(fixed_viewer, qtbot):
    _, view = fixed_viewer.window.add_plugin_dock_widget("napari-licell", "Compare cells")
    view.open_demo_study()
    qtbot.wait(50)
    assert len(view.checked_cells()) == 4
    assert_matches_reference(canvas_shot(fixed_viewer), "compare_four_cells")


def test_painting_workflow(fixed_viewer, qtbot):
    cell = _add_cell(fixed_viewer, "none_after_Xe6")
    _, dock = fixed_viewer.window.add_plugin_dock_widget("napari-licell", "Paint & classify")
    dock.image_combo.setCurrentText(cell.name)
    dock.new_labels()
    fixed_viewer.layers[f"{cell.name} truth"].visible = False
    result = dock.result_layer
    show_stack_cross_section(fixed_viewer)
    y = cell.image.shape[1] // 2
    fixed_viewer.dims.set_current_step(1, y)
    result.brush_size = 14
    # a few strokes of three classes on the displayed section, as a user would paint them
    for z, x, code in ((20, 30, SE.code), (200, 60, SE.code), (5, 60, 6), (60, 90, SE.code)):
        result.paint((z, y, x), code)
    li = np.argwhere(cell.labels[:, y, :] == LI.code)
    result.paint((int(li[len(li) // 2][0]), y, int(li[len(li) // 2][1])), LI.code)
    voids = np.argwhere(cell.labels[:, y, :] == VOID.code)
    if len(voids):
        result.paint((int(voids[0][0]), y, int(voids[0][1])), VOID.code)
    dock.apply_pending_edits()
    qtbot.wait(50)
    assert result.data.any()
    assert_matches_reference(canvas_shot(fixed_viewer), "painting_strokes")


def test_results_dock_with_thickness_map(fixed_viewer, qtbot):
    _add_cell(fixed_viewer, "process3_after_Xe6")
    _, dock = fixed_viewer.window.add_plugin_dock_widget("napari-licell", "Results")
    dock.resize(460, 760)
    dock.set_layers("process3_after_Xe6 truth", "process3_after_Xe6")
    dock.measure()
    qtbot.waitUntil(lambda: dock.measurement is not None, timeout=60000)
    qtbot.wait(100)
    assert dock.measurement.to_dict()["verdict"] == "uniform"
    dock.plots.setFixedSize(454, 244)  # the figure's own size, whatever room the dock layout gives it
    qtbot.wait(100)
    assert_matches_reference(widget_shot(dock.plots), "results_thickness_map_profiles")


def test_threshold_dock_with_preview(fixed_viewer, qtbot):
    docks_cell = _add_cell(fixed_viewer, "process1_after_Xe6")
    show_stack_cross_section(fixed_viewer)
    _, dock = fixed_viewer.window.add_plugin_dock_widget("napari-licell", "Thresholds (Xe contrast)")
    dock.set_image(docks_cell.name)
    qtbot.waitUntil(lambda: dock.histogram is not None, timeout=60000)
    assert f"{docks_cell.name} preview" not in fixed_viewer.layers  # no preview until the user asks for one
    dock.suggest()
    dock.live_preview.setChecked(True)
    qtbot.wait(50)
    preview = fixed_viewer.layers[f"{docks_cell.name} preview"]
    assert preview.visible and preview.data.any()
    shot = canvas_shot(fixed_viewer)
    assert_matches_reference(shot, "threshold_preview_process1")
    dock.plot.setFixedSize(400, 255)  # the figure's own size, whatever room the dock layout gives it
    qtbot.wait(100)
    assert_matches_reference(widget_shot(dock.plot), "threshold_histogram_process1")
    preview.visible = False  # a missing preview must not pass for the reference
    assert differs_from_reference(canvas_shot(fixed_viewer), "threshold_preview_process1")
