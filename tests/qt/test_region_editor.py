"""The cell region in the GUI: seen, moved by hand, autosaved, used again when the scan is opened again."""

from __future__ import annotations

import numpy as np

PLUGIN = "napari-licell"


def _jig_scan(viewer):
    from napari_licell.phantoms import paper_cell
    from napari_licell.phantoms.full_view import JigView, make_full_view_cell

    shape, vox = (80, 96, 96), 0.54
    spec = paper_cell("process3", shape=shape, charge_minutes=2000.0, seed=4)
    cell = make_full_view_cell(spec, JigView.scaled_to_view(shape[1] * vox, centre_offset_um=(2.0, -3.0)))
    return viewer.add_image(cell.image, name="jig_scan", scale=(vox,) * 3, units="um", metadata=dict(cell.metadata))


def _open_thresholds(viewer, qtbot):
    _, dock = viewer.window.add_plugin_dock_widget(PLUGIN, "Thresholds (Xe contrast)")
    qtbot.waitUntil(lambda: dock.worker is None and dock.histogram is not None, timeout=120000)
    return dock


def test_the_user_moves_the_bore_circles_and_the_region_follows_and_is_kept(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    scan = _jig_scan(viewer)
    dock = _open_thresholds(viewer, qtbot)
    editor = dock.region_editor
    found = dock.region_of(scan)
    assert found is not None and found.bore is not None
    assert "found in the scan" in editor.summary.text() and "µm" in editor.summary.text()
    assert editor.move_button.isEnabled() and not editor.use_button.isEnabled()
    qtbot.waitUntil(lambda: dock.thresholds is not None, timeout=60000)
    dock.live_preview.setChecked(True)  # the preview colours the cell only, as Apply labels it
    preview = np.asarray(viewer.layers["jig_scan preview"].data)
    plane = int(viewer.dims.current_step[0])
    inside = np.asarray(found[plane])
    preview = preview.reshape(inside.shape)  # the section keeps its one plane
    assert not preview[~inside].any() and preview[inside].all()
    dock.live_preview.setChecked(False)

    editor.move_button.click()
    circles = viewer.layers["jig_scan region circles"]
    assert len(circles.data) == 2 and viewer.layers.selection.active is circles
    assert viewer.layers.extent.units is not None  # walkthrough: "Inconsistent units across layers" warning
    assert 0 not in viewer.dims.displayed and viewer.dims.current_step[0] == 0  # a slice across the stack
    circles.data = [e + np.array([0.0, 4.0, 0.0]) for e in circles.data]  # the user drags both down by 4 voxels
    assert editor.use_button.isEnabled()
    editor.use_button.click()
    qtbot.waitUntil(lambda: dock.worker is None and dock.histogram is not None, timeout=120000)

    moved = dock.region_of(scan)
    assert "jig_scan region circles" not in viewer.layers
    shift = np.subtract(moved.bore.centre_start, found.bore.centre_start)
    assert np.allclose(shift, (4.0, 0.0), atol=1e-3)  # shapes hold float32
    outline = np.asarray(viewer.layers["jig_scan cell region"].data[40]) > 0
    assert np.array_equal(outline, np.asarray(moved[40]))  # the outline shows the corrected region
    assert "corrected by hand" in editor.summary.text() and editor.find_button.isEnabled()

    # opened again (a new dock, a new session): the corrected region is used, not found anew
    viewer.window.remove_dock_widget(dock)
    again = _open_thresholds(viewer, qtbot)
    assert again.region_of(scan).bore.centre_start == moved.bore.centre_start

    again.region_editor.find_button.click()  # forget the correction
    qtbot.waitUntil(lambda: again.worker is None and again.histogram is not None, timeout=120000)
    assert again.region_of(scan).bore.centre_start == found.bore.centre_start
    assert not again.region_editor.find_button.isEnabled()


def test_a_region_file_is_saved_and_loaded_and_a_wrong_one_gets_one_line(make_napari_viewer, qtbot, tmp_path):
    from napari_licell.segmentation.cell_region import CellRegion

    viewer = make_napari_viewer()
    scan = _jig_scan(viewer)
    dock = _open_thresholds(viewer, qtbot)
    path = dock.region_editor.save_region(tmp_path / "region.json")
    assert CellRegion.load(path).bore == dock.region_of(scan).bore  # what analyze --roi FILE reads

    wrong = CellRegion(shape=(10, 20, 20)).save(tmp_path / "other.json")
    dock.guarded(dock.region_editor.load_region, wrong)
    assert "other.json" in dock.status.text() and "shape" in dock.status.text()
    dock.region_editor.load_region(path)
    qtbot.waitUntil(lambda: dock.worker is None and dock.histogram is not None, timeout=120000)
    assert dock.region_of(scan).bore == CellRegion.load(path).bore


def test_where_no_bore_was_found_the_user_places_the_circles(make_napari_viewer, qtbot):
    from napari_licell.phantoms.demo_study import load_demo_cell

    viewer = make_napari_viewer()
    cell = load_demo_cell("process3_after_Xe6")  # a crop of the cell's interior: no bore in view
    scan = viewer.add_image(cell.image, name="crop", scale=(0.54,) * 3, metadata=dict(cell.metadata))
    dock = _open_thresholds(viewer, qtbot)
    editor = dock.region_editor
    assert dock.region_of(scan) is None and "whole volume" in editor.summary.text()
    assert editor.move_button.isEnabled() and editor.move_button.text() == "Place circles"
    editor.move_button.click()
    circles = viewer.layers["crop region circles"]
    assert len(circles.data) == 2  # a first guess at each end of the stack
    editor.use_button.click()
    qtbot.waitUntil(lambda: dock.worker is None and dock.histogram is not None, timeout=120000)
    placed = dock.region_of(scan)
    assert placed is not None and placed.bore is not None and "corrected by hand" in editor.summary.text()
    inside = np.asarray(placed[cell.image.shape[0] // 2])
    assert 0.05 < inside.mean() < 0.6  # only the placed circle counts now
