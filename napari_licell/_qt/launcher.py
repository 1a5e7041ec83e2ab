"""The desktop launcher: a napari window with the LiCell docks, opened on the demo study."""

from __future__ import annotations

import os
import sys

__all__ = ["display_problem", "DEFAULT_DOCKS", "build_app", "launch"]

#: Docks the launcher opens, by their display name in napari.yaml, in order.
DEFAULT_DOCKS: tuple[str, ...] = ("Study",)
#: Docks opened but tabbed behind the first one on the same side.
TABBED_DOCKS: tuple[str, ...] = ("X-ray attenuation",)

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


def build_app(viewer, demo: bool = True, paths: list[str] | None = None) -> dict:
    """Add the LiCell docks to ``viewer`` and open the demo study or ``paths``.

    Returns the dock widgets by name.
    """
    docks = {}
    first_dock = None
    for name in DEFAULT_DOCKS + TABBED_DOCKS:
        dock, widget = viewer.window.add_plugin_dock_widget(PLUGIN_NAME, name)
        docks[name] = widget
        if name in TABBED_DOCKS and first_dock is not None:
            viewer.window._qt_window.tabifyDockWidget(first_dock, dock)
        elif first_dock is None:
            first_dock = dock
    if first_dock is not None:
        first_dock.raise_()
    study = docks.get("Study")
    if paths:
        viewer.open(paths, plugin=PLUGIN_NAME)
    elif demo and study is not None:
        study.open_demo_study()
    return docks


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

    viewer = napari.Viewer(title="napari-licell")
    build_app(viewer, demo=demo, paths=paths)
    napari.run()
    return 0
