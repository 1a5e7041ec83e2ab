"""The one base of every LiCell dock: the real viewer, a scrollable body, one task runner, one error guard.

* napari hands a plugin dock a ``PublicOnlyProxy`` of the viewer, and every
  layer reached through it comes back wrapped in a proxy too, so
  ``event.source is self.layer`` is never true. The dock unwraps the viewer
  once (:func:`real_viewer`); every layer it sees is then the layer napari
  emits events for.
* The dock's widgets live in a scroll area with a small minimum size, so a
  dock never makes the window taller than a laptop screen.
* Long work runs in a worker thread (:meth:`LicellDock.start_task`) with a
  progress bar, a cancel button and one outcome message; the GUI thread only
  starts it and shows the result.
* Every action goes through :meth:`LicellDock.guarded`: an error becomes one
  notification (``notify.report_error``), never a traceback.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
import weakref
from collections.abc import Callable, Iterator
from typing import Any

from qtpy.QtCore import QObject, Qt, QTimer, Signal
from qtpy.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from ..cancellation import Cancelled
from ..errors import LiCellInputError
from .dock_tabs import JoinsLicellTabs
from .notify import report_error, report_info

__all__ = ["LicellDock", "TaskBar", "real_viewer", "real_layer"]

#: Smallest size a dock asks for (pixels): docks scroll rather than grow the window.
DOCK_MIN_WIDTH, DOCK_MIN_HEIGHT = 260, 120


def real_viewer(viewer: Any) -> Any:
    """The napari viewer behind a plugin's ``PublicOnlyProxy`` (the viewer itself when not wrapped)."""
    return getattr(viewer, "__wrapped__", viewer)


def real_layer(layer: Any) -> Any:
    """The layer behind a proxy (the layer itself when not wrapped)."""
    return getattr(layer, "__wrapped__", layer)


class _ProgressRelay(QObject):
    """Carries a task's progress from its worker thread to the task bar (queued across threads)."""

    progress = Signal(int, int)


class TaskBar(QWidget):
    """Progress bar, Cancel button and a one-line outcome of the dock's running task."""

    def __init__(self, parent=None):
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 100)
        self.progress_bar.setValue(0)
        self.progress_bar.setTextVisible(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.setToolTip("Stop the running computation; nothing is changed")
        row.addWidget(self.progress_bar, 1)
        row.addWidget(self.cancel_button)

    def started(self) -> None:
        self.progress_bar.setValue(0)
        self.progress_bar.setFormat("%p %")
        self.cancel_button.setEnabled(True)

    def advanced(self, done: int, total: int) -> None:
        self.progress_bar.setValue(int(100 * done / max(total, 1)))

    def ended(self, outcome: str) -> None:
        """``outcome``: "done" (bar full), "cancelled" or "failed" (bar empty, the word shown)."""
        self.cancel_button.setEnabled(False)
        if outcome == "done":
            self.progress_bar.setValue(100)
            self.progress_bar.setFormat("%p %")
        else:
            self.progress_bar.setValue(0)
            self.progress_bar.setFormat(outcome)


class LicellDock(JoinsLicellTabs, QWidget):
    """Base of the LiCell docks (see the module docstring).

    Parameters
    ----------
    napari_viewer : napari.Viewer or its plugin proxy
    scroll : bool
        Put the body in a scroll area (True for docks with many controls).

    Subclasses build their widgets into :attr:`body_layout`, put
    :attr:`task_bar` and :attr:`status` where they want them, and override
    :meth:`on_layers_changed`.
    """

    def __init__(self, napari_viewer, parent=None, *, scroll: bool = True):
        super().__init__(parent)
        self.viewer = real_viewer(napari_viewer)
        self._links: list[tuple[Any, Callable]] = []
        self._closed = False
        #: The running worker (None when idle).
        self.worker = None
        self._cancel = threading.Event()
        self._task_outcome = ""
        self._finish_steps: Iterator | None = None  # on_done's GUI-side steps still to run
        self._worker_finished = False
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        if scroll:
            area = QScrollArea()
            area.setWidgetResizable(True)
            area.setFrameShape(QFrame.Shape.NoFrame)
            area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
            self.body = QWidget()
            area.setWidget(self.body)
            outer.addWidget(area)
            self.scroll_area = area
        else:
            self.body = QWidget()
            outer.addWidget(self.body)
            self.scroll_area = None
        self.body_layout = QVBoxLayout(self.body)
        self.body_layout.setContentsMargins(4, 4, 4, 4)
        #: Below the scrolled body, always in view: the main action, its progress and the outcome line.
        self.footer_layout = QVBoxLayout()
        self.footer_layout.setContentsMargins(4, 0, 4, 4)
        outer.addLayout(self.footer_layout)
        self.setMinimumSize(DOCK_MIN_WIDTH, DOCK_MIN_HEIGHT)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Ignored)
        self.task_bar = TaskBar()
        self.task_bar.cancel_button.clicked.connect(self.cancel)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        cancel = self._cancel  # a dock napari deletes stops its task (the slot must not hold the dock)
        self.destroyed.connect(lambda *_args, event=cancel: event.set())
        self.link(self.viewer.layers.events.inserted, self._layers_changed)
        self.link(self.viewer.layers.events.removed, self._layers_changed)
        self.link(self.viewer.layers.selection.events.active, self._active_changed)

    # ------------------------------------------------------------------ viewer links
    def link(self, emitter: Any, slot: Callable) -> None:
        """Connect ``slot`` to a viewer (or project) event; disconnected when the dock closes.

        The connection holds the dock weakly and calls nothing once the dock's Qt
        objects are gone (napari may delete a dock without closing it).
        """
        call = _weak_slot(self, slot)
        emitter.connect(call)
        self._links.append((emitter, call))

    def _layers_changed(self, event=None) -> None:
        if self._alive():
            self.guarded(self.on_layers_changed, event)

    def on_layers_changed(self, event=None) -> None:
        """A layer was added or removed (``event.value`` is the layer); subclasses refresh their choices."""

    def follow_shown_scan(self) -> None:
        """Follow the scan on show now (subclasses call it at the end of their construction)."""
        self._active_changed()

    @contextmanager
    def adding_own_layer(self):
        """Add a layer (and give the user's active layer back) without the dock following the change."""
        self._adding_own_layer = True
        try:
            yield
        finally:
            self._adding_own_layer = False

    @contextmanager
    def keeping_active(self):
        """:meth:`adding_own_layer`, and the layer that was active is made active again afterwards."""
        active = self.viewer.layers.selection.active
        with self.adding_own_layer():
            yield
            if active is not None and self.has_layer(active):
                self.viewer.layers.selection.active = active

    def _active_changed(self, event=None) -> None:
        from ..layer_roles import scan_of

        if getattr(self, "_adding_own_layer", False):
            return
        active = self.viewer.layers.selection.active
        scan = scan_of(active) if active is not None else None
        if scan and self.layer_named(scan) is not None:
            self.guarded(self.on_scan_shown, scan)

    def on_scan_shown(self, scan: str) -> None:
        """The user (or the Study dock) made a layer of the scan ``scan`` active; subclasses follow that cell.

        Called while a task runs too: a subclass whose task writes into the followed layers checks :attr:`busy`.
        """

    def layer_named(self, name: str | None, kind: type | None = None):
        """The viewer's layer called ``name`` (of type ``kind``), or None."""
        if not name:
            return None
        for layer in self.viewer.layers:
            if layer.name == name and (kind is None or isinstance(layer, kind)):
                return layer
        return None

    def put_layer(self, layer_data: tuple, keep_active: bool = False) -> Any:
        """Add a layer from its ``(data, kwargs, kind)`` tuple, or update the data and metadata of the layer of
        that name; ``keep_active``: the user's active layer stays active (the dock does not follow)."""
        data, kwargs, kind = layer_data
        existing = self.layer_named(kwargs["name"])
        if existing is not None:
            existing.data = data
            existing.metadata.update(kwargs.get("metadata", {}))
            return existing
        if not keep_active:
            return getattr(self.viewer, f"add_{kind}")(data, **kwargs)
        with self.keeping_active():
            return getattr(self.viewer, f"add_{kind}")(data, **kwargs)

    def has_layer(self, layer: Any) -> bool:
        """Whether ``layer`` (this very object) is still in the viewer."""
        return layer is not None and any(other is layer for other in self.viewer.layers)

    def close_dock(self) -> None:
        """Stop the task and disconnect from the viewer (the layers stay)."""
        if self._closed:
            return
        self._closed = True
        self.cancel()
        for emitter, slot in self._links:
            try:
                emitter.disconnect(slot)
            except (TypeError, ValueError, RuntimeError):
                pass
        self._links = []

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt name
        self.close_dock()
        super().closeEvent(event)

    # ------------------------------------------------------------------ messages
    def show_status(self, text: str) -> None:
        if self._alive():
            self.status.setText(text)

    def guarded(self, func: Callable, *args: Any, **kwargs: Any) -> Any:
        """Run a GUI action; any error becomes one notification and the status line, never a traceback."""
        try:
            return func(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - the GUI shows every failure as a message
            self.show_status(report_error(exc))
            return None

    # ------------------------------------------------------------------ tasks
    @property
    def busy(self) -> bool:
        return self.worker is not None

    def start_task(
        self,
        work: Callable,
        *,
        label: str,
        on_done: Callable[[Any], None],
        on_cancelled: Callable[[], None] | None = None,
    ):
        """Run ``work(progress, cancel)`` in a worker thread with progress bar and Cancel.

        Parameters
        ----------
        work : callable(progress, cancel) -> result
            ``progress(done, total)`` may be called from the worker thread;
            ``cancel`` is a :class:`threading.Event` to poll (or pass on to the core).
        label : str
            Shown while it runs (e.g. "Classifying process3…").
        on_done : callable(result)
            Runs in the GUI thread with the result. When it returns a generator, the
            task (and the dock's ``busy``) lasts until the generator is exhausted, one
            ``next`` per event-loop turn, so a big result is shown in steps that each
            keep the GUI thread short.
        on_cancelled : callable(), optional
            Runs in the GUI thread when the user cancelled.

        Returns
        -------
        napari.qt.threading.FunctionWorker
        """
        from napari.qt.threading import create_worker

        if self.worker is not None:
            raise LiCellInputError(None, "a computation is already running", "wait for it or press Cancel")
        self._cancel.clear()
        cancel = self._cancel
        # progress goes through a relay the task owns, never through the dock: a worker that outlives its
        # dock (napari deleted it) must not emit a signal of a deleted C++ object (a segfault, not an error)
        relay = _ProgressRelay()
        relay.progress.connect(self.task_bar.advanced)
        self._relay = relay

        def run():
            return work(lambda done, total: relay.progress.emit(int(done), int(total)), cancel)

        worker = create_worker(run, _start_thread=False, _ignore_errors=True)
        self._task_outcome = ""
        worker.returned.connect(lambda value: self._on_task_returned(value, on_done))
        worker.errored.connect(lambda exc: self._on_task_error(exc, on_cancelled))
        worker.finished.connect(self._on_task_finished)
        self.worker = worker
        self.task_bar.started()
        self.show_status(label)
        self.on_busy_changed(True)
        worker.start()
        return worker

    def cancel(self) -> None:
        """Ask the running task to stop at its next block (nothing it would write is written)."""
        if self.worker is not None:
            self._cancel.set()
            self.show_status("Cancelling…")

    def _alive(self) -> bool:
        """False once the dock was closed or its Qt objects deleted (a worker may end after the window)."""
        if self._closed:
            return False
        try:
            self.status.objectName()
        except RuntimeError:  # wrapped C/C++ object has been deleted
            self._closed = True
            return False
        return True

    def _on_task_returned(self, value: Any, on_done: Callable[[Any], None]) -> None:
        if not self._alive():
            return
        if self._cancel.is_set():
            self._task_outcome = "cancelled"
            return
        self._task_outcome = "done"
        outcome = self.guarded(_call_ok, on_done, value)
        if outcome is None:
            self._task_outcome = "failed"
        elif isinstance(outcome, Iterator):
            self._finish_steps = outcome  # the task ends when its GUI-side steps are done
            QTimer.singleShot(0, _weak_slot(self, self._next_finish_step))

    def _next_finish_step(self) -> None:
        """Run one GUI-side step of a task's ``on_done`` (a generator), then yield to the event loop."""
        steps = self._finish_steps
        if steps is None:
            return
        if not self._alive():
            self._finish_steps = None
            steps.close()
            return
        try:
            next(steps)
        except StopIteration:
            pass
        except Exception as exc:  # noqa: BLE001 - shown as a message like any failure
            self._task_outcome = "failed"
            self.show_status(report_error(exc))
        else:
            QTimer.singleShot(0, _weak_slot(self, self._next_finish_step))
            return
        self._finish_steps = None
        if self._worker_finished:
            self._on_task_finished()

    def _on_task_error(self, exc: BaseException, on_cancelled: Callable[[], None] | None) -> None:
        if not self._alive():
            return
        if isinstance(exc, Cancelled) or self._cancel.is_set():
            self._task_outcome = "cancelled"
            self.show_status("Cancelled; nothing was changed.")
            report_info("Cancelled; nothing was changed.")
            if on_cancelled is not None:
                self.guarded(on_cancelled)
            return
        self._task_outcome = "failed"
        self.show_status(report_error(exc))

    def _on_task_finished(self) -> None:
        if self._finish_steps is not None:  # on_done still writing its result in steps
            self._worker_finished = True
            return
        self._worker_finished = False
        self.worker = None
        if not self._alive():
            return
        if self._task_outcome == "cancelled" and not self.status.text().startswith("Cancelled"):
            self.show_status("Cancelled; nothing was changed.")
        self.task_bar.ended(self._task_outcome or "done")
        if not self._closed:
            self.on_busy_changed(False)

    def on_busy_changed(self, busy: bool) -> None:
        """A task started (True) or ended (False); subclasses enable or disable their buttons."""


def _weak_slot(dock: LicellDock, slot: Callable) -> Callable:
    """``slot`` called only while ``dock`` lives (a bound method of the dock is held weakly)."""
    if getattr(slot, "__self__", None) is dock:
        method, ref = slot.__func__, weakref.ref(dock)

        def call(*args: Any) -> Any:
            owner = ref()
            if owner is not None and owner._alive():
                return method(owner, *args)
            return None
    else:
        ref = weakref.ref(dock)

        def call(*args: Any) -> Any:
            owner = ref()
            if owner is not None and owner._alive():
                return slot(*args)
            return None

    return call


def _call_ok(func: Callable[[Any], Any], value: Any) -> Any:
    """``func(value)``; its generator when it finishes in steps, else True (None means it failed)."""
    result = func(value)
    return result if isinstance(result, Iterator) else True
