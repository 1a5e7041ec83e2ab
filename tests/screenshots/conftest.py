"""Screenshot tests: fixed window size, fixed theme, deterministic demo data."""

from __future__ import annotations

import warnings

import pytest

warnings.filterwarnings("ignore", message=".*PyQt5 backend is deprecated.*")


@pytest.fixture
def fixed_viewer(make_napari_viewer):
    """A shown viewer with the dark theme and a fixed window size."""
    viewer = make_napari_viewer(show=True)
    viewer.theme = "dark"
    viewer.window._qt_window.resize(1400, 1000)
    return viewer


def canvas_shot(viewer, scale: float = 2.0):
    """Canvas screenshot (real OpenGL) fitted to the data at ``scale`` screen pixels per data pixel.

    The canvas is rendered at a size set by the data alone (napari's
    ``fit_to_data_extent``), not by the window, so the docks around it (and
    their widgets) do not change the picture.
    """
    from qtpy.QtWidgets import QApplication

    QApplication.processEvents()
    viewer.reset_view()
    return viewer.window._qt_viewer.screenshot(flash=False, fit_to_data_extent=True, scale=scale)


def wait_for_plots(widget, timeout_s: float = 30.0) -> None:
    """Let the plots inside ``widget`` finish rendering (they render off the GUI thread)."""
    import time

    from qtpy.QtWidgets import QApplication

    from napari_licell._qt.mpl_canvas import BackgroundAggCanvas

    deadline = time.perf_counter() + timeout_s
    QApplication.processEvents()
    while any(c.rendering for c in widget.findChildren(BackgroundAggCanvas)) and time.perf_counter() < deadline:
        QApplication.processEvents()
        time.sleep(0.005)
    QApplication.processEvents()


def widget_shot(widget):
    """Pixels of a Qt widget as an (H, W, 4) uint8 array, once its plots are drawn."""
    from qtpy.QtGui import QImage

    wait_for_plots(widget)
    image = widget.grab().toImage().convertToFormat(QImage.Format.Format_RGBA8888)
    width, height = image.width(), image.height()
    ptr = image.constBits()
    ptr.setsize(height * image.bytesPerLine()) if hasattr(ptr, "setsize") else None
    import numpy as np

    arr = np.frombuffer(ptr, dtype=np.uint8).reshape(height, image.bytesPerLine() // 4, 4)
    return arr[:, :width].copy()
