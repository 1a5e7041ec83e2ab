"""The one base of every LiCell dock: the real viewer, a scrollable body, one task runner, one error guard.

* napari hands a plugin dock a ``PublicOnlyProxy`` of the viewer, and every
  layer reached through it comes back wrapped in a proxy too, so
  ``event.source is self.layer`` is never true. The dock unwraps the viewer
  once (:func:`real_viewer`); every layer it sees is then the layer napari
  emits events for.
* The dock's widgets live in a scroll area with a small minimum size, so a
  dock never makes the window taller than a laptop screen.
* Long work runs in a worker thread (:meth:`LicellDock.start_task`, from
  :class:`~napari_licell._qt.task_runner.TaskRunner`) with a progress bar, a
  cancel button and one outcome message; the GUI thread only starts it and
  shows the result.
* Every action goes through :meth:`LicellDock.guarded`: an error becomes one
  notification (``notify.report_error``), never a traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from typing import Any

from qtpy.QtCore import Qt
from qtpy.QtWidgets import QFrame, QLabel, QScrollArea, QSizePolicy, QVBoxLayout, QWidget

from .._napari.layers import warm_up_label_colours
from .dock_tabs import JoinsLicellTabs
from .notify import report_error
from .task_runner import TaskBar, TaskRunner, weak_slot

__all__ = ["LicellDock", "TaskBar", "real_viewer", "real_layer"]

#: Smallest size a dock asks for (pixels): docks scroll rather than grow the window.
DOCK_MIN_WIDTH, DOCK_MIN_HEIGHT = 260, 120


def real_viewer(viewer: Any) -> Any:
    """The napari viewer behind a plugin's ``PublicOnlyProxy`` (the viewer itself when not wrapped)."""
    return getattr(viewer, "__wrapped__", viewer)


def real_layer(layer: Any) -> Any:
    """The layer behind a proxy (the layer itself when not wrapped)."""
    return getattr(layer, "__wrapped__", layer)


class LicellDock(JoinsLicellTabs, TaskRunner, QWidget):
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
        warm_up_label_colours()  # napari's first labels layer would compile on the GUI thread
        self._links: list[tuple[Any, Callable]] = []
        self._closed = False
        self._init_tasks()
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
        call = weak_slot(self, slot)
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
