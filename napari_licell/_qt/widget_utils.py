"""Small helpers the docks share: changing widgets without their signals, refilling a combo box."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["quietly", "refill_combo"]


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


def refill_combo(combo, names: list[str], fallback: str = "") -> None:
    """Replace a combo box's items, keeping the current choice when it is still there, else ``fallback`` (quietly)."""
    current = combo.currentText()
    with quietly(combo):
        combo.clear()
        combo.addItems(names)
        combo.setCurrentText(current if current in names else fallback)
