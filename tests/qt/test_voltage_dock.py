"""The voltage dock: curve of the active cell, decimation, events, linked time slider, export, file errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from matplotlib.backend_bases import MouseEvent
from matplotlib.image import imread

from napari_licell._qt.study_dock import StudyDock
from napari_licell._qt.voltage_dock import VoltageDock, nearest_scan_index
from napari_licell.echem.voltage_curve import VoltageCurve


def _click(dock: VoltageDock, time_min: float, button: int = 1) -> None:
    """Press the mouse on the curve axes at ``time_min`` (through matplotlib's own event dispatch)."""
    dock.canvas.draw()
    y_mid = float(np.mean(dock._ax.get_ylim()))
    x_px, y_px = dock._ax.transData.transform((time_min, y_mid))
    event = MouseEvent("button_press_event", dock.canvas, x_px, y_px, button=button)
    dock.canvas.callbacks.process("button_press_event", event)


@pytest.fixture
def timelapse_dock(make_napari_viewer):
    viewer = make_napari_viewer()
    dock = VoltageDock(viewer)
    viewer.window.add_dock_widget(dock, name="Voltage")
    name = dock.open_timelapse_demo()
    return viewer, dock, name


def test_time_slider_moves_cursor_to_scan_time(timelapse_dock):
    viewer, dock, name = timelapse_dock
    layer = viewer.layers[name]
    assert layer.data.shape[0] == 5 and layer.ndim == 4
    times = layer.metadata["scan_times_min"]
    assert times == [0.0, 1000.0, 2000.0, 3000.0, 4000.0]
    assert dock.linked_layer == name
    # the demo opens on the last scan
    assert viewer.dims.current_step[0] == 4
    assert dock.cursor_time_min == 4000.0
    for index in (0, 2, 3):
        viewer.dims.set_current_step(0, index)
        assert dock.cursor_time_min == times[index]
    # the displayed plane is the (z, x) cross-section: stack axis vertical
    assert viewer.dims.displayed == (1, 3)


def test_click_on_curve_jumps_slider_to_nearest_scan(timelapse_dock):
    viewer, dock, _ = timelapse_dock
    viewer.dims.set_current_step(0, 0)
    _click(dock, 2300.0)
    assert viewer.dims.current_step[0] == 2  # 2000 min is nearest to 2300 min
    assert dock.cursor_time_min == 2000.0
    _click(dock, 3700.0)
    assert viewer.dims.current_step[0] == 4
    # a right click, or a click while zooming with the toolbar, does not pick a scan
    _click(dock, 900.0, button=3)
    assert viewer.dims.current_step[0] == 4
    dock.toolbar.zoom()
    _click(dock, 900.0)
    assert viewer.dims.current_step[0] == 4
    dock.toolbar.zoom()  # toggle off
    _click(dock, 900.0)
    assert viewer.dims.current_step[0] == 1


def test_nearest_scan_index():
    assert nearest_scan_index(np.array([0.0, 1000.0, 2000.0]), 1499.0) == 1
    assert nearest_scan_index(np.array([0.0, 1000.0, 2000.0]), 1e6) == 2
    with pytest.raises(ValueError):
        nearest_scan_index(np.empty(0), 1.0)


def test_decimation_keeps_spikes_and_zoom_is_exact(make_napari_viewer):
    viewer = make_napari_viewer()
    dock = VoltageDock(viewer)
    n = 252_951
    t = np.linspace(0.0, 4000.0, n)
    v = 0.622 + 0.001 * np.sin(t / 50.0)
    spike_hi, spike_lo = 123_457, 200_001
    v[spike_hi] = 0.95  # one-sample spikes must survive decimation
    v[spike_lo] = 0.30
    dock.set_curve(VoltageCurve(t, v), scan_times_min=[4000.0], name="spiky")
    x, y = dock._line.get_data()
    n_bins = dock._n_bins()
    assert len(x) <= 2 * n_bins < n
    assert y.max() == 0.95 and y.min() == 0.30
    assert x[np.argmax(y)] == t[spike_hi] and x[np.argmin(y)] == t[spike_lo]
    assert np.all(np.diff(x) >= 0)
    # zoomed into 3 minutes (~190 raw points, fewer than 2 per pixel): every raw point in view is drawn
    lo, hi = t[spike_hi] - 1.5, t[spike_hi] + 1.5
    dock._ax.set_xlim(lo, hi)
    x, y = dock._line.get_data()
    inside = (t >= lo) & (t <= hi)
    shown = (x >= lo) & (x <= hi)
    assert 150 < inside.sum() < 2 * n_bins
    np.testing.assert_array_equal(x[shown], t[inside])
    np.testing.assert_array_equal(y[shown], v[inside])
    # zoomed out again: decimated again
    dock._ax.set_xlim(0.0, 4000.0)
    assert len(dock._line.get_data()[0]) <= 2 * n_bins


def test_follows_study_selection_and_annotates_events(make_napari_viewer):
    viewer = make_napari_viewer()
    study = StudyDock(viewer)
    dock = VoltageDock(viewer)
    dock.follow_study(study)
    study.open_demo_study()
    assert dock.cell_name == "process3_after_Xe6"
    assert dock.scan_times_min.tolist() == [4000.0]
    assert dock.events.plateau_v == pytest.approx(0.622, abs=0.01)
    assert dock.events.rise_onset_min is None
    study.select_cell("none_after_Xe6")
    assert dock.cell_name == "none_after_Xe6"
    assert dock.scan_times_min.tolist() == [3500.0]
    assert dock.events.rise_onset_min == pytest.approx(2600.0, abs=60.0)
    legend = dock._ax.get_legend()
    texts = [t.get_text() for t in legend.get_texts()]
    assert any(t.startswith("rise at 2") for t in texts)
    assert any(t.startswith("plateau 0.62") for t in texts)
    assert not dock._ax.texts  # named in the legend, no loose text drawn over the curve
    dock.canvas.draw()
    box = legend.get_window_extent()
    line = dock._line
    xy = dock._ax.transData.transform(np.column_stack([line.get_xdata(), line.get_ydata()]))
    inside = (xy[:, 0] > box.x0) & (xy[:, 0] < box.x1) & (xy[:, 1] > box.y0) & (xy[:, 1] < box.y1)
    assert inside.mean() < 0.05, "the legend covers the curve"
    # the reference line sits at 0.622 V
    assert any(np.allclose(line.get_ydata(), 0.622) for line in dock._ax.lines)
    # a study-dock cell is not a time-lapse: no cursor
    assert dock.cursor_time_min is None
    study.select_cell("dummy_Ar1")
    assert dock.curve is None and "no voltage record" in dock.status.text()


def test_export_png_and_svg(make_napari_viewer, output_dir, tmp_path):
    viewer = make_napari_viewer()
    dock = VoltageDock(viewer)
    dock.open_timelapse_demo()
    png = dock.export(output_dir / "voltage_dock.png")
    assert png.stat().st_size > 0
    pixels = imread(png)
    assert pixels[..., :3].std() > 0.01, "exported plot is uniform"
    svg = dock.export(tmp_path / "voltage.svg")
    assert svg.read_text().lstrip().startswith("<?xml") and "<svg" in svg.read_text()
    with pytest.raises(ValueError):
        dock.export(tmp_path / "voltage.jpg")


def test_bad_voltage_file_is_one_message_naming_it(make_napari_viewer, tmp_path, monkeypatch):
    import napari.utils.notifications as notifications

    messages = []
    monkeypatch.setattr(notifications, "show_error", messages.append)
    viewer = make_napari_viewer()
    dock = VoltageDock(viewer)
    bad = tmp_path / "broken_cycler.csv"
    bad.write_text("this is not\na cycler file\n")
    assert dock.open_voltage_file(bad) is False
    assert len(messages) == 1
    assert "broken_cycler.csv" in messages[0] and "Traceback" not in messages[0]
    assert dock.curve is None


def test_open_voltage_file_keeps_scans(make_napari_viewer, tmp_path):
    viewer = make_napari_viewer()
    dock = VoltageDock(viewer)
    dock.set_curve(None, scan_times_min=[0.0, 120.0], name="cell")
    good = tmp_path / "cell.csv"
    minutes = np.arange(0, 241, 1.0)
    rows = "\n".join(f"{m * 60:.0f},{0.622 + 1e-5 * m:.6f}" for m in minutes)
    good.write_text("time_s,voltage_v\n" + rows + "\n")
    assert dock.open_voltage_file(good) is True
    assert dock.curve.n_points == minutes.size
    np.testing.assert_allclose(dock.curve.time_min, minutes)
    assert dock.scan_times_min.tolist() == [0.0, 120.0]
    assert dock.cell_name == "cell.csv"


def test_theme_change_recolours_and_keeps_zoom(make_napari_viewer):
    viewer = make_napari_viewer()
    dock = VoltageDock(viewer)
    dock.open_timelapse_demo()
    dark = dock.figure.get_facecolor()
    dock._ax.set_xlim(1000.0, 1500.0)
    viewer.theme = "light"
    assert dock.figure.get_facecolor() != dark
    assert dock._ax.get_xlim() == (1000.0, 1500.0)
    assert dock._line.get_xdata().min() <= 1000.0 + 1.0 and dock._line.get_xdata().max() >= 1500.0 - 1.0
    assert dock.cursor_time_min == 4000.0


@pytest.mark.skipif(not (Path(__file__).resolve().parents[2] / "tests/data/cycler").exists(), reason="no test files")
def test_a_record_of_many_steps_shows_the_first_charge_and_lets_the_user_pick_another(make_napari_viewer):
    from napari_licell.echem.charge_steps import select_charge, split_steps
    from napari_licell.echem.cycler_readers import read_voltage_curve

    folder = Path(__file__).resolve().parents[2] / "tests/data/cycler"
    record = None
    for path in sorted(p for p in folder.iterdir() if p.suffix.lower() in (".csv", ".txt", ".ndax", ".mpr")):
        try:
            curve = read_voltage_curve(path)
        except Exception:  # noqa: BLE001 - only a file with several charge steps is wanted here
            continue
        if sum(s.kind == "charge" for s in split_steps(curve)) >= 2:
            record = curve
            break
    if record is None:
        pytest.skip("no real cycler file with two charge steps in tests/data/cycler")
    dock = VoltageDock(make_napari_viewer())
    assert dock.open_voltage_file(record.source)
    assert dock.step_combo.isVisible() or dock.step_combo.count() > 2
    first, step, _ = select_charge(record)
    assert dock.curve.n_points == first.n_points  # the first Li-plating charge, not the whole record
    assert dock.record.n_points == record.n_points > first.n_points
    dock.step_combo.setCurrentIndex(0)  # "whole record"
    assert dock.curve.n_points == record.n_points
    dock.step_combo.setCurrentIndex(dock.step_combo.count() - 1)  # the last charge step
    assert dock.curve.n_points < record.n_points and dock.curve.time_min[0] > first.time_min[0]
