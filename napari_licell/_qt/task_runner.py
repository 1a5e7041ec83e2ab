"""The docks' long work: a worker thread with a progress bar, Cancel and one outcome message.

:class:`TaskRunner` is mixed into :class:`~napari_licell._qt.dock_base.LicellDock`:
:meth:`TaskRunner.start_task` runs ``work(progress, cancel)`` off the GUI
thread, carries its progress to the :class:`TaskBar`, and shows the outcome
(done, cancelled, failed) in the dock's status line; the GUI thread only
starts the work and shows its result, in steps when the result is big.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterator
from typing import Any

from qtpy.QtCore import QObject, QTimer, Signal
from qtpy.QtWidgets import QHBoxLayout, QProgressBar, QPushButton, QWidget

from ..cancellation import Cancelled
from ..errors import LiCellInputError
from .notify import report_error, report_info

__all__ = ["TaskBar", "TaskRunner", "weak_slot"]


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


class TaskRunner:
    """The worker, progress and Cancel of a dock (a mixin of :class:`~napari_licell._qt.dock_base.LicellDock`).

    The host calls :meth:`_init_tasks` in its constructor and provides
    ``task_bar`` (a :class:`TaskBar`), ``status`` (a label), ``show_status``,
    ``guarded`` (its error guard) and ``_alive`` (False once its Qt objects are gone).
    """

    def _init_tasks(self) -> None:
        #: The running worker (None when idle).
        self.worker = None
        self._cancel = threading.Event()
        self._task_outcome = ""
        self._finish_steps: Iterator | None = None  # on_done's GUI-side steps still to run
        self._worker_finished = False

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
            QTimer.singleShot(0, weak_slot(self, self._next_finish_step))

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
            QTimer.singleShot(0, weak_slot(self, self._next_finish_step))
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


def weak_slot(dock: Any, slot: Callable) -> Callable:
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
