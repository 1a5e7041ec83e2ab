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

__all__ = ["canvas_point", "drag_on_canvas", "GuiThreadWatch", "StallSampler"]


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
    event = QMouseEvent(
        kind,
        QPointF(point),
        QPointF(widget.mapToGlobal(point)),
        Qt.MouseButton.LeftButton,
        buttons,
        Qt.KeyboardModifier.NoModifier,
    )
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


class StallSampler:
    """Finds what the GUI thread (and the other threads) were doing whenever it stalled.

    A QTimer on the GUI thread beats every ``beat_ms``; a Python thread checks the
    beat every ``sample_ms`` and, while the beat is more than ``late_ms`` overdue,
    records the innermost frames of every thread. After the run, :meth:`stalls`
    lists each stall with its length (ms) and the frames seen most often in it, so
    a stall can be put down to a function (a GUI-thread call) or to another
    thread holding the interpreter lock (a worker's pure-Python or import work).
    """

    def __init__(self, beat_ms: int = 5, sample_ms: float = 5.0, late_ms: float = 50.0, depth: int = 12):
        import threading

        self.beat_ms, self.sample_ms, self.late_ms, self.depth = beat_ms, sample_ms, late_ms, depth
        self._beat = time.perf_counter()
        self._beat_cpu = float("nan")
        self._timer = QTimer()
        self._timer.setInterval(beat_ms)
        self._timer.timeout.connect(self._on_beat)
        self._gui_id = threading.get_ident()
        self._gui_tid = threading.get_native_id()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._current: dict | None = None
        self.records: list[dict] = []

    def _gui_cpu_ms(self) -> float:
        """CPU time the GUI thread has used so far (ms; 10 ms ticks), from /proc."""
        import os

        try:
            with open(f"/proc/self/task/{self._gui_tid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            return 1000.0 * (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return float("nan")

    def _on_beat(self) -> None:
        now = time.perf_counter()
        if self._current is not None:
            self._current["ms"] = 1000 * (now - self._current["start"])
            self._current["gui_cpu_ms"] = self._gui_cpu_ms() - self._current["gui_cpu_start"]
            self.records.append(self._current)
            self._current = None
        self._beat = now
        self._beat_cpu = self._gui_cpu_ms()

    def _frames(self) -> dict[str, list[str]]:
        import sys
        import threading

        names = {t.ident: t.name for t in threading.enumerate()}
        out = {}
        for ident, frame in sys._current_frames().items():
            if ident == threading.get_ident():
                continue
            stack = []
            while frame is not None and len(stack) < self.depth:
                code = frame.f_code
                stack.append(f"{code.co_filename.split('site-packages/')[-1]}:{frame.f_lineno} {code.co_name}")
                frame = frame.f_back
            out["GUI" if ident == self._gui_id else names.get(ident, str(ident))] = stack
        return out

    def _watch(self) -> None:
        while not self._stop.wait(self.sample_ms / 1000):
            late = 1000 * (time.perf_counter() - self._beat)
            if late > self.late_ms:
                if self._current is None:
                    self._current = {"start": self._beat, "samples": [], "gui_cpu_start": self._beat_cpu}
                self._current["samples"].append(self._frames())

    def __enter__(self) -> StallSampler:
        self._beat = time.perf_counter()
        self._beat_cpu = self._gui_cpu_ms()
        self._timer.start()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._timer.stop()

    @property
    def longest_ms(self) -> float:
        return max((r["ms"] for r in self.records), default=0.0)

    def stalls(self, over_ms: float = 100.0, top: int = 4) -> list[tuple[float, list[str]]]:
        """Stalls longer than ``over_ms``: (length in ms, the most frequent frame lines, per thread).

        The first line says how much of the stall the GUI thread spent on the CPU (the rest it
        waited: for the interpreter lock, or for a core when other processes load the machine).
        """
        from collections import Counter

        found = []
        for record in self.records:
            if record["ms"] < over_ms:
                continue
            counts: Counter = Counter()
            for sample in record["samples"]:
                for thread, stack in sample.items():
                    for line in set(stack):
                        counts[f"[{thread}] {line}"] += 1
            n = max(len(record["samples"]), 1)
            lines = [f"GUI thread on the CPU for {record.get('gui_cpu_ms', float('nan')):.0f} ms of it"]
            lines += [f"{100 * c / n:3.0f}% {line}" for line, c in counts.most_common(top * 6)]
            found.append((record["ms"], lines))
        return sorted(found, key=lambda f: -f[0])

    @staticmethod
    def _owner(stack: list[str]) -> str:
        """Whose code the innermost frames of a GUI-thread stack are: ``ours``, ``napari`` or ``other``.

        numpy, scipy, the standard library and the like are skipped (they count for whoever called them).
        """
        for line in stack:
            if "napari_licell/" in line and "tests/qt/user_actions.py" not in line:
                return "ours"
            if any(part in line for part in ("napari/", "vispy/", "superqt/", "magicgui/", "qtpy/", "app_model/")):
                return "napari"
            if "bench_gui_stalls.py" in line or "tests/qt/" in line or "_pytest/" in line:
                return "other"
        return "other"

    def own_stalls(self, over_cpu_ms: float = 100.0) -> list[tuple[float, float, list[str]]]:
        """Stalls in which the GUI thread ran our code for more than ``over_cpu_ms`` of CPU time.

        A stall is ours when most of its GUI-thread samples have our code innermost (numpy and the
        standard library count for their caller). CPU time, not wall time, so a machine loaded by other
        processes does not make our code look slow. Returns (wall ms, GUI CPU ms, innermost frames).
        """
        found = []
        for record in self.records:
            cpu = record.get("gui_cpu_ms", float("nan"))
            stacks = [sample.get("GUI", []) for sample in record["samples"]]
            if not stacks or not cpu == cpu or cpu <= over_cpu_ms:
                continue
            ours = [stack for stack in stacks if self._owner(stack) == "ours"]
            if 2 * len(ours) > len(stacks):
                found.append((record["ms"], cpu, ours[0][:6]))
        return found
