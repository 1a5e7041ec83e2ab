"""Small helpers the docks share: changing widgets without their signals, refilling a combo box."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["quietly", "refill_combo", "narrow_combo"]


@contextmanager
def quietly(*widgets) -> Iterator[None]:
    """Change ``widgets`` inside the block without emitting their signals (a programmatic change, not the user's)."""
    for widget in widgets:
        widget.blockSignals(True)
    try:
        yield
    finally:
        for widget in widgets:
            widget.blockSignals(False)


def narrow_combo(combo, characters: int = 10) -> None:
    """Let a combo box of layer names be narrower than its longest name (the dock's width is not set by a name).

    The box keeps room for ``characters`` characters; a longer name is elided in
    the box and shown whole in the drop-down list and the tooltip.
    """
    from qtpy.QtWidgets import QComboBox

    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(characters)
    combo.setToolTip(combo.currentText())


def refill_combo(combo, names: list[str], fallback: str = "") -> None:
    """Replace a combo box's items, keeping the current choice when it is still there, else ``fallback`` (quietly).

    The box is made narrow (:func:`narrow_combo`): layer names never widen a dock.
    """
    narrow_combo(combo)
    current = combo.currentText()
    with quietly(combo):
        combo.clear()
        combo.addItems(names)
        combo.setCurrentText(current if current in names else fallback)
    combo.setToolTip(combo.currentText())


def adaptive_splitter(reference, wide_ratio: float = 1.8):
    """A splitter whose parts lie side by side while ``reference`` (its dock) is wide and short, else stacked.

    ``wide_ratio``: the width/height ratio of ``reference`` from which the parts
    go side by side (a bottom dock), below which they are stacked (a side column).
    The dock's size decides, not the splitter's: in a scroll area the splitter is
    as tall as its stacked parts need.
    """
    from qtpy.QtCore import QEvent, QObject, Qt
    from qtpy.QtWidgets import QSplitter

    splitter = QSplitter(Qt.Orientation.Vertical)
    splitter.setChildrenCollapsible(False)

    class _FollowShape(QObject):
        def eventFilter(self, watched, event):  # noqa: D102 - Qt hook
            if event.type() == QEvent.Type.Resize:
                size = event.size()
                wide = size.width() > wide_ratio * max(size.height(), 1)
                orientation = Qt.Orientation.Horizontal if wide else Qt.Orientation.Vertical
                if orientation != splitter.orientation():
                    splitter.setOrientation(orientation)
            return False

    splitter._follow_shape = _FollowShape(splitter)  # owned by the splitter
    reference.installEventFilter(splitter._follow_shape)
    return splitter
