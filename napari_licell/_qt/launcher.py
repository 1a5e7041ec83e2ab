"""The desktop launcher: a napari window with the LiCell docks, opened on the demo study."""

from __future__ import annotations

import os
import sys

__all__ = ["display_problem", "DEFAULT_DOCKS", "build_app", "launch", "quiet_pyqt5_notice", "set_window_icon"]

#: Docks the launcher opens, by their display name in napari.yaml: (name, area, tabbed behind).
DOCK_LAYOUT: tuple[tuple[str, str, str | None], ...] = (
    ("Study", "right", None),
    ("Thresholds (Xe contrast)", "right", "Study"),
    ("Paint & classify", "right", "Study"),
    ("Results", "right", "Study"),
    ("Voltage", "bottom", None),
    ("Compare cells", "bottom", "Voltage"),
    ("X-ray attenuation", "right", "Study"),
)
DEFAULT_DOCKS: tuple[str, ...] = tuple(name for name, _, _ in DOCK_LAYOUT)

PLUGIN_NAME = "napari-licell"


def display_problem() -> str | None:
    """One line saying why no window can open here, or None when a display is available."""
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform and platform not in ("xcb", "wayland"):
        return None  # offscreen/minimal/etc.: the user asked for it explicitly
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return (
            "napari-licell: no display available (DISPLAY is not set): run it in a desktop session "
            "or under xvfb-run, or use a headless subcommand (napari-licell --help)"
        )
    return None


def _open_settings(window=None) -> None:
    """The settings dialog over ``window`` (the main window): with no parent nothing would keep it alive."""
    from qtpy.QtWidgets import QApplication

    from .settings import open_settings_dialog

    open_settings_dialog(window or QApplication.activeWindow())


def _add_settings_menu(qt_window) -> None:
    """A "LiCell" menu in the window's menu bar with "Settings…" (memory limit, cache folder)."""
    menu = qt_window.menuBar().addMenu("LiCell")
    bar = qt_window.menuBar()  # the menu bar, owned by the window: the slot finds the window through it
    menu.addAction("Settings…").triggered.connect(lambda _checked=False, bar=bar: _open_settings(bar.window()))


def set_window_icon(qt_window) -> None:
    """The napari-licell icon (``napari_licell/resources``) on the window and the application."""
    from qtpy.QtGui import QIcon
    from qtpy.QtWidgets import QApplication

    from ..desktop_entry import resource_path

    icon = QIcon(str(resource_path("napari-licell.svg")))
    icon.addFile(str(resource_path("napari-licell.png")))  # where no SVG icon engine is installed
    qt_window.setWindowIcon(icon)
    app = QApplication.instance()
    if app is not None:
        app.setWindowIcon(icon)


def build_app(viewer, demo: bool = True, paths: list[str] | None = None) -> dict:
    """Add the LiCell docks to ``viewer`` and open the demo study or ``paths``.

    Returns the dock widgets by name.
    """
    from qtpy.QtCore import Qt, QTimer

    from .dock_tabs import legible_dock_tabs

    areas = {"right": Qt.RightDockWidgetArea, "bottom": Qt.BottomDockWidgetArea, "left": Qt.LeftDockWidgetArea}
    qt_window = viewer.window._qt_window
    # the side columns reach the window's bottom, so the bottom docks span the canvas only and the
    # window's minimum height is the tallest column, not the columns plus the bottom docks
    qt_window.setCorner(Qt.BottomLeftCorner, Qt.LeftDockWidgetArea)
    qt_window.setCorner(Qt.BottomRightCorner, Qt.RightDockWidgetArea)
    docks, dock_frames = {}, {}
    for name, area, behind in DOCK_LAYOUT:
        frame, widget = viewer.window.add_plugin_dock_widget(PLUGIN_NAME, name)
        docks[name], dock_frames[name] = widget, frame
        frame.setWindowTitle(name.replace("&", "&&"))  # tab "Study", not "Study (napari-licell)"; "&" not a mnemonic
        if behind in dock_frames:
            qt_window.tabifyDockWidget(dock_frames[behind], frame)
        elif area != "right":
            qt_window.addDockWidget(areas[area], frame)
    for name, _, behind in DOCK_LAYOUT:
        if behind is None and name in dock_frames:
            dock_frames[name].raise_()
    bottom = [dock_frames[n] for n, area, _ in DOCK_LAYOUT if area == "bottom" and n in dock_frames]
    if bottom:  # keep the canvas the largest thing in the window
        qt_window.resizeDocks(bottom[:1], [240], Qt.Vertical)
    if "Study" in dock_frames:  # room for the cell table and the workflow buttons
        qt_window.resizeDocks([dock_frames["Study"]], [400], Qt.Horizontal)
    legible_dock_tabs(qt_window)
    _add_settings_menu(qt_window)
    set_window_icon(qt_window)
    study = docks.get("Study")
    if "Voltage" in docks and study is not None:
        docks["Voltage"].follow_study(study)
    if "Compare cells" in docks and study is not None:
        docks["Compare cells"].follow_study(study)
    if paths and study is not None:
        for path in paths:  # through the Study dock, so cells, metadata and voltage curves are listed
            if str(path).lower().endswith((".yaml", ".yml")):
                study.open_study(path)
            else:
                study.open_scan(path)
    elif paths:
        viewer.open(paths, plugin=PLUGIN_NAME)
    elif demo and study is not None:
        study.open_demo_study()
    QTimer.singleShot(0, viewer.reset_view)  # once the docks have their sizes, fit the cell in the canvas
    return docks


def quiet_pyqt5_notice() -> bool:
    """Keep napari's PyQt5 deprecation toast off the canvas; True when it was switched off.

    PyQt5 is this app's default binding while napari supports it (PyQt6 is tested too);
    the notice is for plugin developers, and on every launch it covered the cell.
    """
    try:
        from napari._qt import qt_main_window
    except ImportError:  # napari moved it: the toast may show, nothing else changes
        return False
    if hasattr(qt_main_window, "SHOW_QT_WARNING"):
        qt_main_window.SHOW_QT_WARNING = False
        return True
    return False


def launch(paths: list[str] | None = None, demo: bool = True) -> int:
    """Open the desktop application; returns an exit code (2 when no display is available)."""
    problem = display_problem()
    if problem:
        print(problem, file=sys.stderr)
        return 2
    import warnings

    # PyQt5 stays our default backend while napari supports it; the notice is not the user's business
    warnings.filterwarnings("ignore", message=".*PyQt5 backend is deprecated.*")
    import napari

    quiet_pyqt5_notice()
    viewer = napari.Viewer(title="napari-licell")
    build_app(viewer, demo=demo, paths=paths)
    napari.run()
    return 0
