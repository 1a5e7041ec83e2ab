"""The first hour in the app, as a new user lives it: docks opened from the plugin menu, samples from
File > Open Sample, strokes painted with the mouse, Train & predict, Measure, a laptop screen.

Docks are opened the way napari opens them (``add_plugin_dock_widget``, which hands the dock a
``PublicOnlyProxy`` of the viewer), never constructed on the real viewer, so what these tests see is
what a user gets.
"""

from __future__ import annotations

import numpy as np
import pytest
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QApplication

from napari_licell.classes import CARBON, LI, METAL, SE, SE_LI, VOID
from napari_licell.phantoms.demo_study import load_demo_cell

from user_actions import StallSampler, drag_on_canvas

CELL = "process3_after_Xe6"
#: Longest the GUI thread may stall (wall time, ms) during a background task: catches freezes (round one:
#: 10-62 s) on a machine that other processes may load. What may stall it at all is napari building the
#: layers a task shows (~0.2 s per labels layer in napari itself, benchmarks/bench_gui_stalls.py).
MAX_STALL_MS = 5000
#: GUI-thread CPU time our own code may take in one stall (ms): the issue's goal, in CPU time so that a
#: loaded machine does not fail it (StallSampler.own_stalls).
OWN_CPU_MS = 100
PLUGIN = "napari-licell"


def _open_sample_with_study_dock(viewer):
    viewer.open_sample(PLUGIN, CELL)
    _, study = viewer.window.add_plugin_dock_widget(PLUGIN, "Study")
    return study


def _stroke_paths(truth_plane: np.ndarray, code: int, n: int) -> list[list[tuple[int, int]]]:
    """Up to ``n`` short strokes (3 points, rows x cols of the plane) deep inside the class ``code``."""
    from scipy import ndimage

    inside = ndimage.distance_transform_edt(truth_plane == code)
    paths = []
    for _ in range(n):
        if inside.max() < 2:
            break
        r, c = np.unravel_index(np.argmax(inside), inside.shape)
        half = int(min(inside[r, c] - 1, 6))
        paths.append([(r, c - half), (r, c), (r, c + half)] if inside[r, max(c - half, 0)] > 1 else [(r, c), (r, c)])
        inside[max(r - 8, 0) : r + 9, max(c - 12, 0) : c + 13] = 0  # next stroke elsewhere
    return paths


def test_samples_join_the_study_dock_with_their_voltage_curve(make_napari_viewer):
    viewer = make_napari_viewer()
    study = _open_sample_with_study_dock(viewer)
    assert study.current_cell() == CELL
    assert study.entries[CELL].voltage is not None  # the Voltage dock has a curve to show for a sample
    _, voltage = viewer.window.add_plugin_dock_widget(PLUGIN, "Voltage")
    voltage.follow_study(study)
    study.select_cell(CELL)
    assert voltage.curve is not None and "no voltage" not in voltage.status.text().lower()
    # the scan opens with the stack axis vertical and readable contrast (not limits set by the collector)
    scan = viewer.layers[CELL]
    lo, hi = scan.contrast_limits
    cell = load_demo_cell(CELL)
    se_grey = np.median(cell.image[cell.labels == SE.code])
    metal_grey = np.median(cell.image[cell.labels == METAL.code])
    assert lo < se_grey < hi < metal_grey


def test_painting_with_the_mouse_from_the_plugin_menu_trains_the_classifier(make_napari_viewer, qtbot):
    viewer = make_napari_viewer(show=True)
    viewer.window._qt_window.resize(1366, 768)
    study = _open_sample_with_study_dock(viewer)
    _, paint = viewer.window.add_plugin_dock_widget(PLUGIN, "Paint & classify")
    assert paint.image_combo.currentText() == CELL
    paint.new_button.click()
    classes = viewer.layers[f"{CELL} classes"]  # what the user sees in the layer list
    scribbles = viewer.layers[f"{CELL} scribbles"]
    assert viewer.layers.selection.active is classes and classes.mode == "paint"
    QApplication.processEvents()

    truth = load_demo_cell(CELL).labels
    displayed = list(viewer.dims.displayed)
    assert 0 in displayed, "the Study dock shows the stack axis on screen"
    hidden = [d for d in range(3) if d not in displayed][0]
    index = int(viewer.dims.current_step[hidden])
    plane = np.take(truth, index, axis=hidden)
    strokes = 0
    for code, n in ((LI.code, 3), (VOID.code, 2), (SE.code, 3), (SE_LI.code, 1), (CARBON.code, 2), (METAL.code, 3)):
        paint.palette_buttons[code].click()
        for path in _stroke_paths(plane, code, n):
            full = []
            for r, c in path:
                voxel = [0, 0, 0]
                voxel[hidden] = index
                voxel[displayed[0]], voxel[displayed[1]] = r, c
                full.append(voxel)
            drag_on_canvas(viewer, classes, full)
            strokes += 1
    assert strokes < 20
    painted = np.asarray(scribbles.data)
    assert set(np.unique(painted[painted > 0])) >= {LI.code, VOID.code, SE.code, METAL.code}
    np.testing.assert_array_equal(painted > 0, np.asarray(classes.data) > 0)  # strokes reached the scribbles
    assert painted[truth == LI.code].size and (painted[painted > 0] == truth[painted > 0]).mean() > 0.9

    with StallSampler() as watch:
        paint.train_button.click()
        qtbot.waitUntil(lambda: paint.worker is None, timeout=240000)
    assert paint.classifier is not None and paint.classifier.is_trained, paint.status.text()
    predicted = np.asarray(classes.data)
    li_true, li_pred = truth == LI.code, predicted == LI.code
    dice = 2 * (li_true & li_pred).sum() / (li_true.sum() + li_pred.sum())
    assert dice >= 0.9, f"Li Dice {dice:.3f} from {strokes} strokes"
    assert watch.longest_ms < MAX_STALL_MS, f"the GUI thread froze for {watch.longest_ms:.0f} ms"
    assert not watch.own_stalls(OWN_CPU_MS), f"our code held the GUI thread: {watch.own_stalls(OWN_CPU_MS)}"
    assert study.workflow.buttons[2].text().startswith("✓")  # the workflow strip saw the painting
    assert viewer.layers.selection.active is classes and classes.mode == "paint"  # brush back, to correct at once


def test_measure_runs_in_the_background_and_leaves_the_active_layer(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    _open_sample_with_study_dock(viewer)
    _, thresholds = viewer.window.add_plugin_dock_widget(PLUGIN, "Thresholds (Xe contrast)")
    _, results = viewer.window.add_plugin_dock_widget(PLUGIN, "Results")
    viewer.layers[f"{CELL} truth"].visible = True
    results.set_layers(f"{CELL} truth", CELL)
    active = viewer.layers[CELL]
    viewer.layers.selection.active = active
    n_layers = len(viewer.layers)
    with StallSampler() as watch:
        results.measure_button.click()
        assert results.worker is not None  # Measure returned at once; the work runs in a worker
        qtbot.waitUntil(lambda: results.worker is None, timeout=120000)
    assert results.measurement is not None, results.status.text()
    assert results.measurement.to_dict()["verdict"] == "uniform"
    assert "µm" in results.verdict_label.text() and " um " not in results.verdict_label.text()
    rows = {results.table.item(i, 0).text(): results.table.item(i, 1).text() for i in range(results.table.rowCount())}
    share = rows["Li inside SE, SE + Li included (the verdict's share)"].split("%")[0]
    assert f"{share} %" in results.verdict_label.text()  # the table and the verdict count the same thing
    assert results.progress.value() == 100
    assert viewer.layers.selection.active is active  # the thickness map did not take the user's place
    assert len(viewer.layers) == n_layers + 1  # the map, and no stray preview layer
    assert thresholds.image_combo.currentText() == CELL  # the Thresholds dock still follows the scan
    assert not any("preview" in layer.name for layer in viewer.layers)
    assert watch.longest_ms < MAX_STALL_MS, f"the GUI thread froze for {watch.longest_ms:.0f} ms"
    assert not watch.own_stalls(OWN_CPU_MS), f"our code held the GUI thread: {watch.own_stalls(OWN_CPU_MS)}"


@pytest.mark.parametrize("screen", [(1366, 768), (1920, 1080)])
def test_the_launcher_window_fits_the_screen_with_every_dock_reachable(make_napari_viewer, screen):
    from napari_licell._qt.launcher import DEFAULT_DOCKS, build_app

    width, height = screen
    viewer = make_napari_viewer(show=True)
    window = viewer.window._qt_window
    window.resize(width, height - 60)  # the desktop's task bar takes the rest
    docks = build_app(viewer, demo=True)
    QApplication.processEvents()
    hint = window.minimumSizeHint()
    assert hint.height() <= height - 60 and hint.width() <= width, f"minimum size {hint.width()}x{hint.height()}"
    assert window.height() <= height - 60 and window.width() <= width
    for name in DEFAULT_DOCKS:
        frame = docks[name].parentWidget()
        while frame is not None and not hasattr(frame, "toggleViewAction"):
            frame = frame.parentWidget()
        assert frame is not None, name
        frame.show()
        frame.raise_()
        QApplication.processEvents()
        assert docks[name].isVisible(), f"{name} cannot be shown"
        top_left = docks[name].mapTo(window, docks[name].rect().topLeft())
        assert 0 <= top_left.y() < window.height() - 40, f"{name} starts below the window's bottom"
        assert docks[name].height() >= 100, f"{name} is squeezed to {docks[name].height()} px"
        area = getattr(docks[name], "scroll_area", None)  # wider than its column: a sideways scroll bar
        if area is not None:
            room = area.width() - area.verticalScrollBar().sizeHint().width()
            need = docks[name].body.minimumSizeHint().width()
            assert need <= room, f"{name} needs {need} px, its column has {room}"
    # the bottom dock is wide and short: Compare lays its cell list, table and plot side by side
    assert docks["Compare cells"].splitter.orientation() == Qt.Orientation.Horizontal
    # the main action, its progress bar and Cancel are in view without scrolling
    thresholds = docks["Thresholds (Xe contrast)"]
    for widget in (thresholds.apply_button, thresholds.task_bar.cancel_button):
        bottom = widget.mapTo(window, widget.rect().bottomLeft()).y()
        assert widget.isVisible() and bottom < window.height(), f"{widget.text()} below the window at {bottom} px"
    # the Paint dock's outcome line too (walkthrough: cut at the bottom of the scrolled body)
    frame = docks["Paint & classify"].parentWidget()
    while frame is not None and not hasattr(frame, "toggleViewAction"):
        frame = frame.parentWidget()
    frame.raise_()
    docks["Paint & classify"].restore_box.setVisible(True)  # as after an earlier session: the body is taller
    docks["Paint & classify"].show_status(
        "Paint a few strokes of each phase on the classes layer (keys 1-6 pick the class), then Train & predict."
    )
    QApplication.processEvents()
    status = docks["Paint & classify"].status
    shown = status.visibleRegion().boundingRect()
    assert status.isVisible() and shown.height() == status.height(), f"Paint status shows {shown.height()} px"
    # the depth band's values whole ("161.4" was cut beside its check box at 1366)
    paint = docks["Paint & classify"]
    paint.set_depth_band(0.0, 161.46)
    QApplication.processEvents()
    for box in (paint.band_from, paint.band_to):
        text = box.lineEdit()
        need = text.fontMetrics().horizontalAdvance(text.text())
        assert text.width() >= need, f"depth band box shows {text.width()} px of '{text.text()}' ({need} px)"
    # the Study tree: every column but the cell name whole, no sideways scrolling ("Cha…" was cut)
    frame = docks["Study"].parentWidget()
    while frame is not None and not hasattr(frame, "toggleViewAction"):
        frame = frame.parentWidget()
    frame.raise_()
    QApplication.processEvents()
    tree, header = docks["Study"].tree, docks["Study"].tree.header()
    assert tree.topLevelItemCount() >= 4
    assert tree.horizontalScrollBar().maximum() == 0, "the Study tree scrolls sideways"
    for column in range(1, tree.columnCount()):
        need = max(tree.sizeHintForColumn(column), header.sectionSizeHint(column))
        assert header.sectionSize(column) >= need, f"Study column {column} is {header.sectionSize(column)} of {need}"


def test_compare_measures_the_cells_in_the_background_with_progress_and_cancel(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    _, compare = viewer.window.add_plugin_dock_widget(PLUGIN, "Compare cells")
    compare.demo_button.click()
    assert compare.worker is not None and compare.task_bar.cancel_button.isEnabled()
    compare.task_bar.cancel_button.click()
    qtbot.waitUntil(lambda: compare.worker is None, timeout=120000)
    assert compare.table is None and compare.cell_list.count() == 0  # cancelled: nothing shown, nothing half-done
    assert "Cancelled" in compare.status.text() and compare.demo_button.isEnabled()  # the user can try again

    with StallSampler() as watch:
        compare.demo_button.click()
        qtbot.waitUntil(lambda: compare.worker is None, timeout=240000)
    assert compare.cell_list.count() == 4 and len(compare.table) == 4
    assert compare.task_bar.progress_bar.value() == 100 and not compare.demo_button.isEnabled()
    # measuring ran in the worker (62 s frozen in round one); what stays on the GUI thread is napari building
    # the vispy visuals of eight 5 M-voxel layers for the grid view: 1.5-4 s here under software OpenGL
    assert watch.longest_ms < 2 * MAX_STALL_MS, f"the GUI thread froze for {watch.longest_ms:.0f} ms"
    assert not watch.own_stalls(OWN_CPU_MS), f"our code held the GUI thread: {watch.own_stalls(OWN_CPU_MS)}"


def test_no_pyqt5_deprecation_toast_covers_the_canvas_on_launch(make_napari_viewer, monkeypatch):
    from napari._qt import qt_main_window
    from napari.utils.notifications import notification_manager

    from napari_licell._qt.launcher import quiet_pyqt5_notice

    monkeypatch.setattr(qt_main_window, "SHOW_QT_WARNING", True)  # as in a fresh process
    shown = []
    monkeypatch.setattr(qt_main_window, "show_warning", lambda message: shown.append(message))
    assert quiet_pyqt5_notice()
    make_napari_viewer(show=True)
    QApplication.processEvents()
    assert not shown
    assert not any("PyQt5" in str(n.message) for n in notification_manager.records)


def test_opening_every_dock_from_the_plugin_menu_keeps_the_window_on_a_laptop_screen(make_napari_viewer, qtbot):
    from napari_licell._qt.launcher import DEFAULT_DOCKS

    viewer = make_napari_viewer(show=True)
    window = viewer.window._qt_window
    window.resize(1366, 708)
    for name in DEFAULT_DOCKS:  # as a user picks them one after another from Plugins > LiCell
        viewer.window.add_plugin_dock_widget(PLUGIN, name)
        qtbot.wait(20)
    QApplication.processEvents()
    assert window.minimumSizeHint().height() <= 708, window.minimumSizeHint()
    assert window.height() <= 708 + 1
    from qtpy.QtCore import Qt
    from qtpy.QtWidgets import QTabBar

    bars = [bar for bar in window.findChildren(QTabBar) if bar.parent() is window and bar.count() > 1]
    assert bars and all(bar.elideMode() == Qt.TextElideMode.ElideNone for bar in bars)  # not "R…", "Co…"


def test_gas_set_in_the_study_dock_reaches_the_thresholds_dock(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    study = _open_sample_with_study_dock(viewer)
    _, thresholds = viewer.window.add_plugin_dock_widget(PLUGIN, "Thresholds (Xe contrast)")
    assert thresholds.gas_combo.currentText() == "Xe"
    study.form.gas.setCurrentText("Ar")
    study.form.gas_pressure.setValue(1.0)
    study.apply_button.click()
    assert viewer.layers[CELL].metadata["gas"] == "Ar"
    assert thresholds.gas_combo.currentText() == "Ar"  # no second place to type it


def _two_cells_with_study_dock(viewer):
    viewer.open_sample(PLUGIN, "none_after_Xe6")
    viewer.open_sample(PLUGIN, CELL)
    _, study = viewer.window.add_plugin_dock_widget(PLUGIN, "Study")
    study.select_cell(CELL)
    return study


def test_docks_follow_the_cell_on_show_and_never_measure_the_ground_truth_by_default(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    study = _two_cells_with_study_dock(viewer)
    _, paint = viewer.window.add_plugin_dock_widget(PLUGIN, "Paint & classify")
    _, results = viewer.window.add_plugin_dock_widget(PLUGIN, "Results")
    _, thresholds = viewer.window.add_plugin_dock_widget(PLUGIN, "Thresholds (Xe contrast)")
    qtbot.wait(50)
    assert paint.image_combo.currentText() == CELL and results.image_box.currentText() == CELL
    assert results.labels_box.currentText() == ""  # the hidden truth layers are there, but not the user's work
    results.measure_button.click()
    assert results.measurement is None and results.worker is None and "labels" in results.status.text()

    qtbot.waitUntil(lambda: thresholds.histogram is not None, timeout=60000)
    thresholds.suggest_button.click()
    thresholds.apply_button.click()
    qtbot.waitUntil(lambda: thresholds.worker is None and f"{CELL} labels" in viewer.layers, timeout=120000)
    assert results.labels_box.currentText() == f"{CELL} labels"  # the user's thresholded labels, at once

    paint.new_button.click()
    assert f"{CELL} classes" in viewer.layers
    study.select_cell("none_after_Xe6")
    assert paint.image_combo.currentText() == "none_after_Xe6" and paint.result_layer is None
    assert not paint.train_button.isEnabled()  # no strokes of the other cell can train on this one
    assert results.image_box.currentText() == "none_after_Xe6" and results.labels_box.currentText() == ""
    study.select_cell(CELL)
    assert paint.result_layer is viewer.layers[f"{CELL} classes"] and paint.train_button.isEnabled()
    assert results.labels_box.currentText() == f"{CELL} classes"  # painted classes before thresholded labels


def test_compare_copies_stay_out_of_the_study_and_picking_a_cell_leaves_side_by_side(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    study = _two_cells_with_study_dock(viewer)
    _, compare = viewer.window.add_plugin_dock_widget(PLUGIN, "Compare cells")
    compare.open_demo_study()
    assert study.tree.topLevelItemCount() == 2  # the four compared copies did not join the study
    assert viewer.canvas.grid.enabled and compare.side_by_side.isChecked()
    assert study.workflow.buttons[4].text().startswith("✓")  # step 5 (compare) is done
    study.select_cell("none_after_Xe6")
    assert not viewer.canvas.grid.enabled and not compare.side_by_side.isChecked()
    shown = [layer.name for layer in viewer.layers if layer.visible]
    assert shown == ["none_after_Xe6"]


def test_a_scan_with_the_whole_jig_in_view_is_analysed_inside_the_cell_region(make_napari_viewer, qtbot):
    """Round one's report: the jig in view gave a 14 um layer for a 40 um one. The GUI finds the bore as analyze does."""
    from napari_licell.phantoms import paper_cell
    from napari_licell.phantoms.full_view import JigView, make_full_view_cell

    shape, vox, layer_um = (130, 96, 96), 0.54, 40.0
    spec = paper_cell("process3", shape=shape, charge_minutes=4000.0 * layer_um / 64.65, seed=4)
    cell = make_full_view_cell(spec, JigView.scaled_to_view(shape[1] * vox, centre_offset_um=(2.0, -3.0), tilt_deg=1.5))
    viewer = make_napari_viewer()
    viewer.add_image(cell.image, name="jig_scan", scale=(vox,) * 3, metadata=dict(cell.metadata))
    _, thresholds = viewer.window.add_plugin_dock_widget(PLUGIN, "Thresholds (Xe contrast)")
    qtbot.waitUntil(lambda: thresholds.worker is None and thresholds.thresholds is not None, timeout=120000)
    region_layer = viewer.layers["jig_scan cell region"]  # the user sees where the numbers come from
    assert "cell region found" in thresholds.status.text()
    inside = np.asarray(region_layer.data[65]) > 0
    assert 0.2 < inside.mean() < 0.8 and not inside[0, 0]  # the bore, not the jig or the no-data corners
    thresholds.apply_button.click()
    qtbot.waitUntil(lambda: thresholds.worker is None and "jig_scan labels" in viewer.layers, timeout=120000)
    labels = np.asarray(viewer.layers["jig_scan labels"].data)
    assert not labels[:, ~inside].any()  # nothing outside the region is classified
    _, results = viewer.window.add_plugin_dock_widget(PLUGIN, "Results")
    results.set_layers("jig_scan labels", "jig_scan")
    results.measure_button.click()
    qtbot.waitUntil(lambda: results.worker is None, timeout=120000)
    measured = results.measurement.li_layer.mean_thickness_um
    assert abs(measured - cell.truth.li_layer_thickness_um) < 2.0, measured
    assert results.measurement.to_dict()["verdict"] == "uniform"


def test_a_scan_without_its_fill_gas_is_judged_as_analyze_judges_it(make_napari_viewer, qtbot):
    cell = load_demo_cell(CELL)
    meta = {k: v for k, v in cell.metadata.items() if k not in ("gas", "gas_pressure_atm")}
    viewer = make_napari_viewer()
    viewer.add_image(cell.image, name="no_gas_scan", scale=cell.scale, metadata=meta)
    _, thresholds = viewer.window.add_plugin_dock_widget(PLUGIN, "Thresholds (Xe contrast)")
    qtbot.waitUntil(lambda: thresholds.worker is None and thresholds.thresholds is not None, timeout=120000)
    assert thresholds.gas_combo.currentText() == "unknown"
    text = thresholds.verdict_label.text()
    assert "inferred from the data" in text and "Xe" in text and "NOT" not in text


def test_picking_a_cell_after_the_time_lapse_shows_its_cross_section_alone(make_napari_viewer, qtbot):
    """Walkthrough: after the 4D time-lapse demo, picking a cell showed the time axis against x, time-lapse on top."""
    from napari_licell.layer_roles import Role, tagged

    viewer = make_napari_viewer()
    study = _two_cells_with_study_dock(viewer)
    scan = viewer.layers[CELL]
    series = np.zeros((3, *scan.data.shape), np.uint16)
    timelapse = viewer.add_image(series, name="time-lapse", metadata=tagged({}, Role.TIMELAPSE, "series"))
    viewer.dims.order = (1, 2, 0, 3)  # as the walkthrough found it: the time axis on screen
    study.select_cell("none_after_Xe6")
    assert not timelapse.visible and viewer.layers["none_after_Xe6"].visible
    assert viewer.dims.displayed == (1, 3)  # the cell's stack axis (rows) and x: its side view


def test_a_sample_shows_its_voltage_curve_without_the_study_dock(make_napari_viewer):
    """Walkthrough (plain napari): Voltage said "no voltage record" for a sample when no Study dock was open."""
    viewer = make_napari_viewer()
    viewer.open_sample(PLUGIN, "process2_after_Xe6")  # the hidden truth layer is the active one afterwards
    _, voltage = viewer.window.add_plugin_dock_widget(PLUGIN, "Voltage")
    assert voltage.curve is not None and voltage.status.text().startswith("process2_after_Xe6")


def test_compare_study_from_the_plugin_menu_finds_the_study_dock(make_napari_viewer, qtbot):
    """Walkthrough (plain napari): Compare study stayed greyed out; only the launcher linked it to the Study dock."""
    viewer = make_napari_viewer()
    _, compare = viewer.window.add_plugin_dock_widget(PLUGIN, "Compare cells")
    compare.study_button.click()  # no Study dock yet: one line saying what to open, no traceback
    assert "Study" in compare.status.text() and compare.table is None
    _two_cells_with_study_dock(viewer)
    assert compare.study_button.isEnabled()
    compare.study_button.click()
    qtbot.waitUntil(lambda: compare.worker is None and compare.table is not None, timeout=240_000)
    assert compare.cell_list.count() == 2
