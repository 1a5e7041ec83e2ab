"""Widgets of the Compare cells dock: the table of key numbers and the per-process box plots."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QTableWidget, QTableWidgetItem

from ..compare.grouping import boxplot_groups
from ..compare.table import LI_IN_SE, THICKNESS
from .mpl_canvas import ThemedFigureWidget

__all__ = ["KeyNumbersTable", "ProcessStatsFigure", "TABLE_COLUMNS", "reporting_failures"]

#: (table column, header, kind) of the dock's table; kind "pct" shows a 0..1 share in %.
TABLE_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("cell", "Cell", "text"),
    ("process", "Process", "text"),
    ("pressures", "Bonding", "text"),
    ("charge_minutes", "Charge (min)", "num"),
    ("faraday_thickness_um", "Faraday (µm)", "num"),
    (THICKNESS, "Li layer (µm)", "num"),
    (LI_IN_SE, "Li in SE (%)", "pct"),
    ("verdict", "Verdict", "text"),
)

_PROCESS_COLOURS = {"none": "#e0702e", "process1": "#3aa8e8", "process2": "#b04fd6", "process3": "#e8c93a"}


class _NumberItem(QTableWidgetItem):
    """A table cell showing formatted text but sorting by its number (NaN last)."""

    def __init__(self, value: float, text: str):
        super().__init__(text)
        self.value = float(value)
        self.setTextAlignment(int(Qt.AlignRight | Qt.AlignVCenter))

    def __lt__(self, other):  # noqa: D105 - Qt sorting hook
        if isinstance(other, _NumberItem):
            a, b = self.value, other.value
            if np.isnan(a) or np.isnan(b):
                return not np.isnan(a) and np.isnan(b)
            return a < b
        return super().__lt__(other)


class KeyNumbersTable(QTableWidget):
    """The key numbers of the compared cells, one row per cell, sortable by any column (numbers as numbers)."""

    def __init__(self, parent=None):
        super().__init__(0, len(TABLE_COLUMNS), parent)
        self.setHorizontalHeaderLabels([header for _, header, _ in TABLE_COLUMNS])
        self.setEditTriggers(QTableWidget.NoEditTriggers)
        self.setSortingEnabled(True)
        self.verticalHeader().setVisible(False)
        self.setMinimumHeight(60)

    def show_table(self, table) -> None:
        """Show a key-numbers table (from :func:`~napari_licell.compare.table.key_numbers_table`); None clears."""
        self.setSortingEnabled(False)
        self.setRowCount(0 if table is None else len(table))
        if table is not None:
            for row, (_, record) in enumerate(table.iterrows()):
                for col, (key, _, kind) in enumerate(TABLE_COLUMNS):
                    value = record[key]
                    if kind == "text":
                        item = QTableWidgetItem(str(value))
                    else:
                        number = float(value) * (100.0 if kind == "pct" else 1.0)
                        item = _NumberItem(number, "–" if np.isnan(number) else f"{number:.1f}")
                    self.setItem(row, col, item)
        self.setSortingEnabled(True)
        self.resizeColumnsToContents()

    def rows(self) -> list[list[str]]:
        """The table as shown (after any sorting), one list of cell texts per row."""
        return [[self.item(r, c).text() for c in range(self.columnCount())] for r in range(self.rowCount())]


class ProcessStatsFigure(ThemedFigureWidget):
    """Box plots of the Li layer thickness (µm) and the Li-in-SE share (%) per bonding process.

    Every cell is drawn as a dot over its process's box, so a process with a
    single cell still shows its value.
    """

    def __init__(self, napari_viewer=None, parent=None):
        self.table = None
        super().__init__(napari_viewer, parent=parent, toolbar=False, figsize=(4, 2.2))
        self.canvas.setMinimumHeight(90)
        self.redraw()

    def set_table(self, table) -> None:
        """Show the key-numbers table (from :func:`key_numbers_table`); None clears the plot."""
        self.table = table
        self.redraw()

    def draw(self) -> None:
        text = self.colours["text"]
        axes = self.figure.subplots(1, 2)
        specs = ((THICKNESS, "Li layer (µm)", 1.0), (LI_IN_SE, "Li in SE (%)", 100.0))
        for ax, (column, title, factor) in zip(axes, specs):
            self.style_axes(ax)
            ax.set_title(title, fontsize=8)
            ax.tick_params(labelsize=7)
            if self.table is None or len(self.table) == 0:
                continue
            labels, data = boxplot_groups(self.table, column)
            data = [d * factor for d in data]
            positions = np.arange(1, len(labels) + 1)
            filled = [(p, d) for p, d in zip(positions, data) if d.size]
            if filled:
                ax.boxplot(
                    [d for _, d in filled],
                    positions=[p for p, _ in filled],
                    widths=0.5,
                    medianprops={"color": text},
                    boxprops={"color": text},
                    whiskerprops={"color": text},
                    capprops={"color": text},
                    flierprops={"markeredgecolor": text},
                )
            rng = np.random.default_rng(0)
            for p, d, name in zip(positions, data, labels):
                jitter = rng.uniform(-0.12, 0.12, d.size) if d.size > 1 else np.zeros(d.size)
                ax.plot(p + jitter, d, "o", ms=4, color=_PROCESS_COLOURS.get(name, text), zorder=3)
            ax.set_xticks(positions, [name.replace("process", "P") for name in labels])
        if self.table is not None and len(self.table):
            counts = self.table.groupby("process").size()
            note = (
                "one cell per process"
                if counts.max() == 1
                else f"{int(counts.min())}–{int(counts.max())} cells per process"
            )
            self.figure.suptitle(f"Per bonding process ({note})", fontsize=8, color=text)


def reporting_failures(measure: Callable[[Any], dict]) -> Callable[[Any], dict]:
    """``measure`` that reports a failure for one cell as a notification and leaves its numbers empty."""

    def safe(cell: Any) -> dict:
        try:
            return dict(measure(cell))
        except Exception as exc:  # noqa: BLE001 - one bad cell must not lose the whole comparison
            from napari.utils.notifications import show_error

            show_error(f"Could not measure {getattr(cell, 'name', 'a cell')}: {exc}")
            return {"source": "measurement failed"}

    return safe
