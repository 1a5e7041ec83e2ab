"""LiCell docks share tabs: a dock opened from the plugin menu joins the LiCell docks already in its area.

napari stacks every plugin dock it opens in the right-hand area, one under
the other, and the window grows to hold their minimum heights (seven docks
made it 3,333 px tall, and napari saved that size). A LiCell dock that is
shown for the first time therefore tabs itself behind a LiCell dock already
in the same area, so any number of them take the height of one.
"""

from __future__ import annotations

from qtpy.QtWidgets import QDockWidget, QMainWindow, QScrollArea, QWidget

__all__ = [
    "LICELL_DOCK_PROPERTY",
    "JoinsLicellTabs",
    "mark_licell_dock",
    "join_licell_tabs",
    "legible_dock_tabs",
    "find_dock",
]

#: Qt property set on every LiCell dock widget, so other LiCell docks can find it.
LICELL_DOCK_PROPERTY = "licell_dock"


def mark_licell_dock(widget: QWidget) -> None:
    """Mark ``widget`` as a LiCell dock (see :func:`join_licell_tabs`)."""
    widget.setProperty(LICELL_DOCK_PROPERTY, True)


def _frame_of(widget: QWidget) -> QDockWidget | None:
    parent = widget.parentWidget()
    while parent is not None and not isinstance(parent, QDockWidget):
        parent = parent.parentWidget()
    return parent


def join_licell_tabs(widget: QWidget) -> bool:
    """Tab ``widget``'s dock behind another visible LiCell dock in the same area; True when it did.

    Does nothing when the dock is floating, already tabbed with a LiCell dock,
    or alone in its area.
    """
    frame = _frame_of(widget)
    window = frame.parentWidget() if frame is not None else None
    if frame is None or not isinstance(window, QMainWindow) or frame.isFloating():
        return False
    area = window.dockWidgetArea(frame)
    mine = set(window.tabifiedDockWidgets(frame))
    for other in window.findChildren(QDockWidget):
        if other is frame or other.isFloating() or not other.isVisible():
            continue
        inner = other.widget()
        if inner is None or not _is_licell(inner) or window.dockWidgetArea(other) != area:
            continue
        if other in mine:
            return False
        window.tabifyDockWidget(other, frame)
        legible_dock_tabs(window)
        frame.show()
        frame.raise_()
        return True
    return False


def find_dock(widget: QWidget, class_name: str) -> QWidget | None:
    """A dock widget of class ``class_name`` open in ``widget``'s window (docks opened one by one from the menu)."""
    window = widget.window()
    for other in window.findChildren(QWidget) if window is not None else ():
        if type(other).__name__ == class_name:
            return other
    return None


def legible_dock_tabs(window: QMainWindow) -> None:
    """Dock tabs show whole titles and scroll, rather than eliding to "S…" in a narrow column."""
    from qtpy.QtCore import Qt
    from qtpy.QtWidgets import QTabBar

    for bar in window.findChildren(QTabBar):
        if bar.parent() is window:
            bar.setElideMode(Qt.TextElideMode.ElideNone)
            bar.setUsesScrollButtons(True)


def _is_licell(widget: QWidget) -> bool:
    if widget.property(LICELL_DOCK_PROPERTY):
        return True
    if isinstance(widget, QScrollArea):  # napari may wrap a plugin widget in a scroll area
        child = widget.widget()
        return bool(child is not None and child.property(LICELL_DOCK_PROPERTY))
    return False


class JoinsLicellTabs:
    """Mixin for a LiCell dock widget: marked as one, and tabbed with the others when first shown."""

    _joined_tabs = False

    def showEvent(self, event) -> None:  # noqa: N802 - Qt name
        super().showEvent(event)
        if not self._joined_tabs:
            self._joined_tabs = True
            mark_licell_dock(self)
            _shorten_title(self)
            from qtpy.QtCore import QTimer

            QTimer.singleShot(0, self._join_tabs)

    def _join_tabs(self) -> None:
        try:
            join_licell_tabs(self)
        except RuntimeError:  # the dock was deleted before the event loop came back
            pass


def _shorten_title(widget: QWidget) -> None:
    """Drop napari's " (napari-licell)" from the dock's tab title, so the tabs of a narrow column stay legible."""
    frame = _frame_of(widget)
    if frame is not None:
        title = frame.windowTitle()
        if "&&" not in title:  # a tab reads a lone "&" as a keyboard mnemonic ("Paint _classify")
            title = title.replace("&", "&&")
        frame.setWindowTitle(title.replace(" (napari-licell)", ""))
