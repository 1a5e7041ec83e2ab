"""Plots render off the GUI thread without touching Qt there (Qt widgets belong to the GUI thread)."""

from __future__ import annotations

import gc
import threading
import time

from qtpy.QtWidgets import QApplication

from napari_licell._qt.mpl_canvas import BackgroundAggCanvas, ThemedFigureWidget


class _LinePlot(ThemedFigureWidget):
    def draw(self) -> None:
        ax = self.figure.add_subplot()
        ax.plot(range(100), [v * v for v in range(100)])
        self.style_axes(ax)


def _wait_for_render(canvas: BackgroundAggCanvas, seconds: float = 10.0) -> None:
    deadline = time.perf_counter() + seconds
    while canvas.rendering and time.perf_counter() < deadline:
        QApplication.processEvents()
        time.sleep(0.01)
    QApplication.processEvents()


def test_a_background_render_makes_no_qt_widget_call_off_the_gui_thread(qtbot, monkeypatch):
    # matplotlib's own Agg draw sets the toolbar's wait cursor and calls QWidget.update: from
    # the plot thread that is undefined behaviour in Qt and crashed the test run (segfault)
    plot = _LinePlot(toolbar=True)
    qtbot.addWidget(plot)
    plot.resize(400, 300)
    plot.show()
    canvas = plot.canvas
    _wait_for_render(canvas)
    gui_thread = threading.get_ident()
    calls_off_thread: list[str] = []
    for name in ("setCursor", "update", "repaint"):
        original = getattr(canvas, name)

        def record(*args, _name=name, _original=original, **kwargs):
            if threading.get_ident() != gui_thread:
                calls_off_thread.append(_name)
            return _original(*args, **kwargs)

        monkeypatch.setattr(canvas, name, record)
    plot.toolbar._draw_time = 0.0  # "the last draw was long ago": matplotlib would show a wait cursor
    plot.redraw()
    assert canvas.rendering
    _wait_for_render(canvas)
    assert not canvas.rendering
    assert canvas._image is not None and canvas._image.width() > 0
    assert calls_off_thread == []


def test_a_plot_deleted_while_it_renders_is_dropped_quietly(qtbot):
    plot = _LinePlot(toolbar=False)
    plot.resize(400, 300)
    plot.show()
    canvas = plot.canvas
    _wait_for_render(canvas)
    plot.redraw()
    relay = canvas._relay
    plot.deleteLater()
    del plot, canvas
    QApplication.processEvents()
    gc.collect()
    time.sleep(0.5)  # the render finishes and its signal reaches a relay the canvas did not own
    QApplication.processEvents()
    assert relay.parent() is None
