"""What a user's hands do, for end-to-end GUI tests: mouse drags on napari's vispy canvas, a GUI-thread watch.

The drags are real Qt mouse events sent to the canvas widget, so they pass
through vispy, napari's mouse bindings and the layer's own paint code, as a
person's strokes do.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

import numpy as np
from qtpy.QtCore import QEvent, QPoint, QPointF, Qt, QTimer
from qtpy.QtGui import QMouseEvent
from qtpy.QtWidgets import QApplication

__all__ = ["canvas_point", "drag_on_canvas", "GuiThreadWatch"]


def _canvas(viewer):
    qt_viewer = viewer.window._qt_viewer
    return qt_viewer.canvas


def canvas_point(viewer, layer, data_index: Sequence[float]) -> QPoint:
    """The canvas pixel under the voxel ``data_index`` of ``layer`` (displayed dims only)."""
    world = np.asarray(layer.data_to_world(np.asarray(data_index, float)), float)
    displayed = list(viewer.dims.displayed)
    xy = [world[displayed[1]], world[displayed[0]]]  # vispy's scene is (x, y)
    mapped = _canvas(viewer).view.scene.transform.map(xy)
    return QPoint(int(round(mapped[0])), int(round(mapped[1])))


def _send(widget, kind, point: QPoint, buttons) -> None:
    event = QMouseEvent(kind, QPointF(point), QPointF(widget.mapToGlobal(point)), Qt.MouseButton.LeftButton,
                        buttons, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)


def drag_on_canvas(viewer, layer, path: Iterable[Sequence[float]], steps: int = 4) -> None:
    """Press the left button at the first voxel of ``path``, move through the others, release at the last.

    ``path`` holds data indices of ``layer`` on the displayed plane.
    """
    native = _canvas(viewer).native
    points = [canvas_point(viewer, layer, p) for p in path]
    _send(native, QEvent.Type.MouseMove, points[0], Qt.MouseButton.NoButton)
    _send(native, QEvent.Type.MouseButtonPress, points[0], Qt.MouseButton.LeftButton)
    for a, b in zip(points[:-1], points[1:]):
        for t in np.linspace(0, 1, steps + 1)[1:]:
            p = QPoint(int(round(a.x() + t * (b.x() - a.x()))), int(round(a.y() + t * (b.y() - a.y()))))
            _send(native, QEvent.Type.MouseMove, p, Qt.MouseButton.LeftButton)
    _send(native, QEvent.Type.MouseButtonRelease, points[-1], Qt.MouseButton.NoButton)
    QApplication.processEvents()


class GuiThreadWatch:
    """Ticks a timer on the GUI thread and records the longest gap between ticks (ms) while it runs."""

    def __init__(self, interval_ms: int = 10):
        self.interval_ms = interval_ms
        self.longest_gap_ms = 0.0
        self._last = None
        self._timer = QTimer()
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        now = time.perf_counter()
        if self._last is not None:
            self.longest_gap_ms = max(self.longest_gap_ms, 1000 * (now - self._last) - self.interval_ms)
        self._last = now

    def __enter__(self) -> GuiThreadWatch:
        self._last = None
        self._timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self._timer.stop()
