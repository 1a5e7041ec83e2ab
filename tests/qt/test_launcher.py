"""The launcher opens the LiCell docks on the demo study and renders it with real OpenGL."""

from __future__ import annotations

import os
import subprocess
import sys


from napari_licell._qt.launcher import DEFAULT_DOCKS, build_app
from napari_licell.desktop_entry import resource_path


def test_launcher_shows_docks_and_demo_study(make_napari_viewer, output_dir):
    viewer = make_napari_viewer(show=True)
    viewer.window._qt_window.resize(1400, 900)
    docks = build_app(viewer, demo=True)
    for name in DEFAULT_DOCKS:
        assert name in docks
    study = docks["Study"]
    assert study.tree.topLevelItemCount() == 6
    assert study.current_cell() == "process3_after_Xe6"
    menu = next(a.menu() for a in viewer.window._qt_window.menuBar().actions() if a.text() == "LiCell")
    assert [a.text() for a in menu.actions()] == ["Settings…"]
    from qtpy.QtWidgets import QApplication

    from napari_licell._qt.settings import SettingsDialog

    QApplication.setActiveWindow(None)  # no window manager (Xvfb): no active window, the dialog had no parent
    menu.actions()[0].trigger()
    dialog = viewer.window._qt_window.findChild(SettingsDialog)
    assert dialog is not None and dialog.isVisible()  # it was garbage-collected before it could show
    dialog.close()
    icon = viewer.window._qt_window.windowIcon()  # the napari-licell icon, not napari's
    assert not icon.isNull()
    li_band = icon.pixmap(64, 64).toImage().pixelColor(45, 25)  # the Li layer of the drawn cell: Li yellow
    assert (li_band.red(), li_band.green(), li_band.blue()) == (0xE8, 0xC9, 0x3A)
    assert resource_path("napari-licell.svg").is_file()
    visible = [layer.name for layer in viewer.layers if layer.visible and "preview_of" not in layer.metadata]
    assert visible == ["process3_after_Xe6"]
    previews = [
        layer.metadata["preview_of"] for layer in viewer.layers if layer.visible and "preview_of" in layer.metadata
    ]
    assert set(previews) <= {"process3_after_Xe6"}  # the threshold preview follows the shown cell
    # the displayed plane contains the stack axis (z) vertically
    assert viewer.dims.displayed[0] == 0
    shot = viewer.window.screenshot(path=str(output_dir / "launcher.png"), canvas_only=True)
    rgb = shot[..., :3].astype(float)
    assert rgb.std() > 10, "the canvas is blank"
    # the steel collector (brightest) and the Li layer (darkest) are both drawn
    assert rgb.max() > 200 and (rgb.sum(axis=-1) < 60).mean() > 0.05


def test_switching_cell_changes_what_is_shown(make_napari_viewer):
    viewer = make_napari_viewer()
    docks = build_app(viewer, demo=True)
    docks["Study"].select_cell("dummy_Ar1")
    shown = [layer.name for layer in viewer.layers if layer.visible and "preview_of" not in layer.metadata]
    assert shown == ["dummy_Ar1"]
    assert docks["Thresholds (Xe contrast)"].image_combo.currentText() == "dummy_Ar1"
    assert "Ar at 1 atm" in docks["Study"].details.text()


def test_gui_without_display_says_so_in_one_line():
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    out = subprocess.run(
        [sys.executable, "-m", "napari_licell.cli"], capture_output=True, text=True, env=env, timeout=120
    )
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "no display" in lines[0]


def test_help_works_without_display():
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    out = subprocess.run(
        [sys.executable, "-m", "napari_licell.cli", "--help"], capture_output=True, text=True, env=env, timeout=120
    )
    assert out.returncode == 0
    assert "demo" in out.stdout and "gui" in out.stdout


def test_launcher_opens_given_scans_through_the_study_dock(make_napari_viewer, tmp_path):
    from napari_licell.io.writers import write_volume_tiff
    from napari_licell.phantoms import load_demo_cell

    cell = load_demo_cell("dummy_Xe6")
    scan = write_volume_tiff(tmp_path / "my_scan.tif", cell.image, 0.6)
    viewer = make_napari_viewer()
    docks = build_app(viewer, demo=False, paths=[str(scan)])
    assert docks["Study"].current_cell() == "my_scan"
    assert tuple(viewer.layers["my_scan"].scale) == (0.6, 0.6, 0.6)
    assert "process3_after_Xe6" not in viewer.layers
