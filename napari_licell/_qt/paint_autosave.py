"""The Paint dock's autosave timer: the classes and scribbles of the scan being painted, written every N seconds.

The files and the rules (where, atomic, which autosave is on offer) are
:class:`~napari_licell.painting.paint_store.PaintAutosave`'s; this object only
owns the timer and writes when the strokes changed and no prediction is running.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from qtpy.QtCore import QObject, QTimer

from ..painting.paint_store import PaintAutosave
from ..painting.paint_volumes import is_on_disk

__all__ = ["PaintAutosaveTimer"]


class PaintAutosaveTimer(QObject):
    """Autosaves the dock's painting every ``seconds`` (0: off) when it changed.

    Parameters
    ----------
    store : PaintAutosave
        The autosave of the scan being painted.
    dock : PaintDock
        Read for its ``result_layer``, ``scribble_layer``, ``image_layer``,
        ``session`` (its ``dirty`` flag) and ``busy``; ``show_status`` reports.
    seconds : int
        Interval, seconds (0 switches the timer off).
    """

    def __init__(self, store: PaintAutosave, dock: Any, seconds: int, parent=None):
        super().__init__(parent)
        self.store, self.dock = store, dock
        self.timer = QTimer(self)
        self.timer.timeout.connect(self._tick)
        self.set_interval(int(seconds))

    def set_interval(self, seconds: int) -> None:
        """Autosave every ``seconds`` from now on (0: never by itself)."""
        self.timer.stop()
        if seconds > 0:
            self.timer.start(int(seconds * 1000))

    def _tick(self) -> None:
        session = self.dock.session
        if session is not None and session.dirty and not self.dock.busy:
            self.write_now()

    def write_now(self) -> Path | None:
        """Write the result and scribbles to the autosave folder now (atomic); None when there is nothing to write."""
        dock = self.dock
        if dock.result_layer is None or self.store.folder is None:
            return None
        if is_on_disk(dock.result_layer.data):  # painted straight into label stores: every stroke is on disk
            if dock.session is not None:
                dock.session.dirty = False
            return None
        try:
            path = self.store.write(
                dock.result_layer.name,
                dock.result_layer.data,
                getattr(dock.scribble_layer, "data", None),
                getattr(dock.image_layer, "name", None),
                dock.result_layer.scale,
            )
        except OSError as exc:
            dock.show_status(f"Autosave failed: {exc}")
            return None
        if dock.session is not None:
            dock.session.dirty = False
        dock.show_status(f"Autosaved {time.strftime('%H:%M:%S')} to {path.parent}")
        return path
