"""Paint dock: palette and shortcuts, undo, edit rules, interpolation, train & predict, autosave restore."""

from __future__ import annotations

import numpy as np
import pytest
from qtpy.QtCore import Qt

from napari_licell._qt.paint_dock import PaintDock
from napari_licell.classes import CLASS_TABLE, LI, METAL, SE, SE_LI, VOID
from napari_licell._napari.layers import labels_layer_tuple, synthetic_cell_layers
from napari_licell.phantoms import ImagingSettings, make_synthetic_cell, paper_cell

VOX = 0.54


@pytest.fixture(scope="module")
def small_cell():
    return make_synthetic_cell(
        paper_cell("none", shape=(64, 64, 64), seed=5), imaging=ImagingSettings(detected_photons_per_pixel=3e6)
    )


def _open(viewer, cell, qtbot, **kwargs) -> PaintDock:
    for data, kw, kind in synthetic_cell_layers(cell):
        getattr(viewer, f"add_{kind}")(data, **kw)
    dock = PaintDock(viewer, **kwargs)
    viewer.window.add_dock_widget(dock, name="Paint")
    dock.image_combo.setCurrentText(cell.name)
    return dock


def test_new_labels_palette_shortcuts_and_undo(make_napari_viewer, small_cell, qtbot):
    viewer = make_napari_viewer(show=True)
    dock = _open(viewer, small_cell, qtbot)
    dock.new_labels()
    result, scrib = dock.result_layer, dock.scribble_layer
    assert result.name == f"{small_cell.name} classes" and scrib.name == f"{small_cell.name} scribbles"
    assert result.data.shape == small_cell.image.shape and not result.data.any()
    for cls in CLASS_TABLE[1:]:
        np.testing.assert_allclose(result.colormap.color_dict[cls.code], cls.rgba, atol=1e-6)
    assert tuple(result.scale) == (VOX,) * 3

    dock.palette_buttons[VOID.code].click()
    assert result.selected_label == VOID.code and scrib.selected_label == VOID.code
    # keyboard shortcut on the canvas while the result layer is active
    viewer.layers.selection.active = result
    canvas = viewer.window._qt_viewer.canvas.native
    canvas.setFocus()
    qtbot.keyClick(canvas, Qt.Key_4)
    assert result.selected_label == SE.code
    assert dock.palette_buttons[SE.code].isChecked()
    qtbot.keyClick(canvas, Qt.Key_1)
    assert result.selected_label == LI.code and dock.selected_class == LI.code
    assert result.mode == "paint"  # the digit did not switch napari's labels mode

    # brush diameter in micrometres -> pixels
    dock.brush_um.setValue(5 * VOX)
    assert result.brush_size == 5

    result.paint((20, 30, 30), LI.code)
    painted = result.data == LI.code
    assert painted.sum() > 10 and np.all(np.nonzero(painted)[0] == 20)
    np.testing.assert_array_equal(scrib.data, np.where(painted, LI.code, 0))  # recorded as scribbles
    result.fill((20, 10, 10), VOID.code)  # fills the whole unlabelled plane
    assert (result.data[20] == VOID.code).sum() == 64 * 64 - painted.sum()
    result.undo()
    assert not (result.data == VOID.code).any() and not (scrib.data == VOID.code).any()
    result.undo()
    assert not result.data.any() and not scrib.data.any()
    result.redo()
    np.testing.assert_array_equal(result.data == LI.code, painted)
    np.testing.assert_array_equal(scrib.data == LI.code, painted)


def test_preserve_target_class_and_depth_band(make_napari_viewer, small_cell, qtbot):
    viewer = make_napari_viewer()
    dock = _open(viewer, small_cell, qtbot)
    start = np.zeros(small_cell.image.shape, np.uint8)
    start[:, :, :32] = SE.code  # a "threshold" result: SE on the left half
    data, kw, _ = labels_layer_tuple(start, "threshold", small_cell.scale)
    viewer.add_labels(data, **kw)
    dock.source_combo.setCurrentText("threshold")
    dock.new_labels()
    result = dock.result_layer
    np.testing.assert_array_equal(result.data, start)
    assert result.data is not viewer.layers["threshold"].data

    # preserve other labels: only unlabelled voxels take the new class
    dock.preserve_check.setChecked(True)
    assert result.preserve_labels and dock.scribble_layer.preserve_labels
    result.brush_size = 9
    result.paint((10, 30, 32), LI.code)
    changed = result.data[10] != start[10]
    assert changed.any() and np.all(start[10][changed] == 0)
    dock.preserve_check.setChecked(False)

    # paint only over SE: the unlabelled half of the brush is put back
    dock.set_target_class(SE.code)
    before = np.array(result.data)
    result.paint((12, 30, 32), VOID.code)
    qtbot.waitUntil(lambda: dock.pending_reverts == 0, timeout=2000)  # the revert runs from the event loop
    diff = result.data != before
    assert diff.any() and np.all(before[diff] == SE.code) and np.all(result.data[diff] == VOID.code)
    assert np.all(result.data[12][:, 32:][before[12][:, 32:] == 0] == 0)
    result.undo()
    np.testing.assert_array_equal(result.data, before)
    result.redo()
    assert np.all(result.data[diff] == VOID.code) and (result.data != before).sum() == diff.sum()
    dock.set_target_class(None)

    # depth band 10..20 um along z: a 3-D brush ball across z=30 um is cut to the band
    dock.set_depth_band(10.0, 20.0)
    result.n_edit_dimensions = 3
    result.brush_size = 41
    before = np.array(result.data)
    result.paint((36, 40, 48), METAL.code)  # centre at z = 19.4 um
    dock.apply_pending_edits()  # what the event loop does right after a programmatic edit
    diff = np.nonzero(result.data != before)
    z_um = diff[0] * VOX
    assert diff[0].size > 0 and z_um.min() >= 10.0 and z_um.max() <= 20.0
    assert diff[0].max() == 37  # 37 * 0.54 = 19.98 um, 38 would be outside
    outside = np.ones(result.data.shape[0], bool)
    outside[19:38] = False
    np.testing.assert_array_equal(result.data[outside], before[outside])
    result.n_edit_dimensions = 2
    result.fill((60, 5, 60), METAL.code)  # fill a plane outside the band: nothing changes
    dock.apply_pending_edits()
    np.testing.assert_array_equal(result.data[outside], before[outside])
    result.undo()
    np.testing.assert_array_equal(result.data, before)
    assert not (dock.scribble_layer.data == METAL.code).any()

    # an interactive stroke (several dabs grouped, reported after writing) is cut to the band at once
    result.brush_size = 5
    scrib_before = np.array(dock.scribble_layer.data)
    with result.block_history():
        for z in (15, 25, 45):  # 8.1 um (outside), 13.5 um (inside), 24.3 um (outside)
            result.paint((z, 10, 50), VOID.code)
    diff = np.nonzero(result.data != before)
    assert set(diff[0].tolist()) == {25}
    assert set(np.nonzero(dock.scribble_layer.data != scrib_before)[0].tolist()) == {25}
    result.undo()
    np.testing.assert_array_equal(result.data, before)
    np.testing.assert_array_equal(dock.scribble_layer.data, scrib_before)


def test_interpolate_between_painted_slices(make_napari_viewer, small_cell, qtbot):
    viewer = make_napari_viewer()
    dock = _open(viewer, small_cell, qtbot)
    dock.new_labels()
    result = dock.result_layer
    dock.select_class(LI.code)
    result.brush_size = 9
    result.paint((10, 30, 30), LI.code)
    result.brush_size = 21
    result.paint((20, 30, 30), LI.code)
    n = dock.interpolate()
    assert n > 0
    areas = (result.data == LI.code).reshape(64, -1).sum(axis=1)
    assert np.all(areas[11:20] > 0) and np.all(np.diff(areas[10:21]) >= 0)
    assert areas[15] > areas[10] and areas[15] < areas[20]
    np.testing.assert_array_equal(dock.scribble_layer.data == LI.code, result.data == LI.code)
    result.undo()
    assert not result.data[11:20].any() and not dock.scribble_layer.data[11:20].any()


def _strokes(dock, truth, rng):
    """A few short brush dabs per class on slices of the truth, painted with the napari API."""
    result = dock.result_layer
    result.brush_size = 3
    for code in (LI.code, VOID.code, SE_LI.code, SE.code, METAL.code):
        zs, ys, xs = np.nonzero(truth == code)
        inner = [
            i
            for i in rng.permutation(zs.size)[:4000]
            if np.all(truth[zs[i], ys[i] - 2 : ys[i] + 3, xs[i] - 2 : xs[i] + 3] == code)
        ][:6]
        dock.select_class(code)
        for i in inner:
            result.paint((zs[i], ys[i], xs[i]), code)


def test_train_predict_cancel_and_model_files(make_napari_viewer, small_cell, qtbot, tmp_path, output_dir):
    viewer = make_napari_viewer(show=True)
    viewer.window._qt_window.resize(1500, 950)
    dock = _open(viewer, small_cell, qtbot)
    dock.new_labels()
    result, scrib = dock.result_layer, dock.scribble_layer
    _strokes(dock, small_cell.labels, np.random.default_rng(1))
    painted = scrib.data > 0
    assert 0 < painted.mean() < 0.01
    # a deliberately wrong hand stroke must survive prediction
    result.brush_size = 3
    dock.select_class(VOID.code)
    result.paint((60, 5, 5), VOID.code)  # inside the SE
    wrong = np.array(scrib.data == VOID.code) & (small_cell.labels == SE.code)
    assert wrong.any()

    # cancel right away: nothing changes
    before = np.array(result.data)
    dock.train_and_predict()
    dock.cancel_button.click()
    qtbot.waitUntil(lambda: dock.worker is None, timeout=120_000)
    np.testing.assert_array_equal(result.data, before)
    assert "Cancelled" in dock.status.text()

    dock.train_button.click()
    assert not dock.train_button.isEnabled() and dock.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: dock.worker is None, timeout=300_000)
    assert dock.progress_bar.value() == 100
    pred = np.array(result.data)
    truth = small_cell.labels
    li_dice = 2 * ((pred == LI.code) & (truth == LI.code)).sum() / ((pred == LI.code).sum() + (truth == LI.code).sum())
    assert li_dice > 0.85, li_dice
    assert np.all(pred[wrong] == VOID.code)  # scribbles never overwritten
    np.testing.assert_array_equal(pred[painted], scrib.data[painted])
    unc = dock.uncertainty_layer
    assert unc is not None and unc.data.shape == truth.shape and 0 <= unc.data.min() and unc.data.max() <= 0.81
    assert "uncertainty" in unc.name
    # Next best slice: the viewer goes to an unpainted slice among the most uncertain ones
    assert dock.next_slice_button.isEnabled()
    axis = [d for d in range(3) if d not in viewer.dims.displayed][0]
    dock.next_slice_button.click()
    qtbot.waitUntil(lambda: dock.worker is None, timeout=60_000)
    chosen = viewer.dims.current_step[axis]
    left = np.where(scrib.data > 0, 0, unc.data).sum(axis=tuple(a for a in range(3) if a != axis))
    assert left[chosen] >= 0.5 * left.max() and not np.take(scrib.data, chosen, axis=axis).any()
    assert f"Slice {chosen}" in dock.status.text()
    viewer.dims.set_point(0, 40 * 0.54)
    shot = viewer.window.screenshot(path=str(output_dir / "paint_dock.png"), canvas_only=False)
    assert shot[..., :3].std() > 10
    # the prediction is one undo step
    result.undo()
    np.testing.assert_array_equal(result.data, before)
    result.redo()
    np.testing.assert_array_equal(result.data, pred)
    assert np.all(scrib.data[wrong] == VOID.code)

    # a saved model, loaded again, predicts the same labels without retraining
    path = dock.save_model(tmp_path / "cell.licell-clf")
    result.paint((40, 40, 40), METAL.code)  # an edit the reloaded prediction must keep (it is a scribble now)
    dock.load_model(path)
    qtbot.waitUntil(lambda: dock.worker is None, timeout=300_000)
    again = np.array(result.data)
    keep = scrib.data == 0
    np.testing.assert_array_equal(again[keep], pred[keep])
    assert again[40, 40, 40] == METAL.code


def test_autosave_and_restore_offer_on_start(make_napari_viewer, small_cell, qtbot):
    viewer = make_napari_viewer()
    dock = _open(viewer, small_cell, qtbot, autosave_seconds=1)
    assert not dock.restore_box.isVisible() and dock.recoverable == []
    dock.new_labels()
    result = dock.result_layer
    result.brush_size = 7
    result.paint((30, 20, 20), LI.code)
    result.paint((31, 40, 40), SE.code)
    qtbot.waitUntil(lambda: dock.last_autosave is not None, timeout=10_000)  # written by the timer
    labels, scribbles = np.array(result.data), np.array(dock.scribble_layer.data)
    assert dock.last_autosave.parent.name == ".licell-autosave"
    dock.close_dock()

    # "crash": the labels layers are lost, a new dock starts on the same scan
    viewer.layers.remove(result)
    viewer.layers.remove(dock.scribble_layer)
    dock2 = PaintDock(viewer)
    viewer.window.add_dock_widget(dock2, name="Paint 2")
    dock2.image_combo.setCurrentText(small_cell.name)
    assert len(dock2.recoverable) == 1
    assert not dock2.restore_box.isHidden()
    dock2.restore_button.click()
    np.testing.assert_array_equal(dock2.result_layer.data, labels)
    np.testing.assert_array_equal(dock2.scribble_layer.data, scribbles)
    assert dock2.restore_box.isHidden()


def test_dock_on_empty_viewer_follows_new_scan_and_reports_bad_training(make_napari_viewer, small_cell, qtbot):
    viewer = make_napari_viewer()
    dock = PaintDock(viewer)
    viewer.window.add_dock_widget(dock, name="Paint")
    assert dock.image_layer is None and not dock.new_button.isEnabled() and not dock.train_button.isEnabled()
    for data, kw, kind in synthetic_cell_layers(small_cell):
        getattr(viewer, f"add_{kind}")(data, **kw)
    assert dock.image_layer is viewer.layers[small_cell.name]
    assert [dock.source_combo.itemText(i) for i in range(dock.source_combo.count())] == [
        "(empty)",
        f"{small_cell.name} truth",
    ]
    dock.new_labels()
    dock.result_layer.paint((30, 30, 30), LI.code)  # one class only
    dock.train_and_predict()
    qtbot.waitUntil(lambda: dock.worker is None, timeout=120_000)
    assert "at least two" in dock.status.text()
    assert not (dock.result_layer.data == SE.code).any()
    viewer.layers.remove(dock.result_layer)
    assert dock.result_layer is None and not dock.train_button.isEnabled()


def test_a_scan_above_the_memory_limit_is_painted_and_classified_in_label_stores(
    make_napari_viewer, small_cell, qtbot, monkeypatch, tmp_path
):
    """Classes and strokes above the memory limit go to zarr stores on disk: paint, undo, train, predict there."""
    monkeypatch.setenv("LICELL_CACHE_DIR", str(tmp_path))
    viewer = make_napari_viewer()
    dock = _open(viewer, small_cell, qtbot)
    monkeypatch.setattr("napari_licell._qt.paint_dock.memory_limit_bytes", lambda: 4 * 64**3 - 1)
    dock.new_button.click()  # it used to refuse: "painting holds the labels and the strokes in memory"
    result, scrib = dock.result_layer, dock.scribble_layer
    assert type(result.data).__module__.startswith("zarr") and type(scrib.data).__module__.startswith("zarr")
    folder = tmp_path / "painting" / small_cell.name
    assert (folder / "classes.zarr").is_dir() and (folder / "scribbles.zarr").is_dir()

    _strokes(dock, small_cell.labels, np.random.default_rng(1))
    painted = np.asarray(scrib.data[:]) > 0
    assert painted.any() and np.array_equal(np.asarray(result.data[:])[painted], np.asarray(scrib.data[:])[painted])
    result.paint((60, 5, 5), VOID.code)  # a stroke undone again: gone from both stores
    result.undo()
    assert not np.asarray(scrib.data[60]).any() or np.asarray(scrib.data[60])[5, 5] != VOID.code
    assert dock.autosave_now() is None  # nothing to write: every stroke is in the store already

    dock.train_button.click()
    qtbot.waitUntil(lambda: dock.worker is None, timeout=300_000)
    pred, truth = np.asarray(result.data[:]), small_cell.labels
    li_dice = 2 * ((pred == LI.code) & (truth == LI.code)).sum() / ((pred == LI.code).sum() + (truth == LI.code).sum())
    assert li_dice > 0.85, li_dice
    np.testing.assert_array_equal(pred[painted], np.asarray(scrib.data[:])[painted])  # strokes kept
    assert "label store" in dock.status.text() and "cannot be undone" in dock.status.text()
    unc = dock.uncertainty_layer
    assert unc is not None and not isinstance(unc.data, np.ndarray) and unc.data.shape == truth.shape
    # the store outlives the session: opened again it holds the prediction
    import zarr

    np.testing.assert_array_equal(zarr.open_array(str(folder / "classes.zarr"), path="0", mode="r")[:], pred)


def test_new_labels_hides_the_scans_preview_and_labels_but_not_other_scans(make_napari_viewer, small_cell, qtbot):
    """Walkthrough: after "New labels" the threshold preview still coloured the canvas as if painted."""
    from napari_licell.layer_roles import Role, tagged

    viewer = make_napari_viewer(show=True)
    dock = _open(viewer, small_cell, qtbot)
    zeros = np.zeros(small_cell.image.shape, np.uint8)
    own = [
        viewer.add_labels(zeros, name=f"{small_cell.name} {kind}", metadata=tagged({}, role, small_cell.name))
        for kind, role in (("preview", Role.PREVIEW), ("labels", Role.LABELS))
    ]
    other = viewer.add_labels(zeros, name="other labels", metadata=tagged({}, Role.LABELS, "another_scan"))
    dock.new_labels()
    assert not any(layer.visible for layer in own)
    assert other.visible and dock.result_layer.visible and dock.scribble_layer is not None
