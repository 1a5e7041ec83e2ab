"""Widgets of the Thresholds dock: threshold value boxes, the recovery row, the sensitivity table."""

from __future__ import annotations

import time
from collections.abc import Callable

from qtpy.QtWidgets import (
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

__all__ = ["ThresholdBoxes", "RecoveryRow", "SensitivityTable"]


class ThresholdBoxes(QWidget):
    """One spin box per threshold (grey value) with its attenuation in 1/cm beside it."""

    def __init__(self, on_value: Callable[[int, float], None], parent=None):
        super().__init__(parent)
        self.form = QFormLayout(self)
        self.form.setContentsMargins(0, 0, 0, 0)
        self.on_value = on_value
        self.boxes: list[QDoubleSpinBox] = []
        self.mu_labels: list[QLabel] = []

    def rebuild(self, thresholds) -> None:
        """One row per boundary of ``thresholds`` (none for None)."""
        while self.form.rowCount():
            self.form.removeRow(0)
        self.boxes, self.mu_labels = [], []
        if thresholds is None:
            return
        for i, name in enumerate(thresholds.boundary_names):
            box = QDoubleSpinBox(minimum=-1e9, maximum=1e9, decimals=1, value=thresholds.values[i])
            box.setKeyboardTracking(False)
            box.valueChanged.connect(lambda v, i=i: self.on_value(i, v))
            mu = QLabel("")
            row = QWidget()
            h = QHBoxLayout(row)
            h.setContentsMargins(0, 0, 0, 0)
            h.addWidget(box)
            h.addWidget(mu)
            self.form.addRow(name.replace("|", " | "), row)
            self.boxes.append(box)
            self.mu_labels.append(mu)
        self.update_values(thresholds)

    def update_values(self, thresholds) -> None:
        """Show ``thresholds``' values (no signals) and their 1/cm."""
        cal = thresholds.calibration if thresholds is not None else None
        for i, box in enumerate(self.boxes):
            if i < len(thresholds.values) and box.value() != thresholds.values[i]:
                box.blockSignals(True)
                box.setValue(thresholds.values[i])
                box.blockSignals(False)
        for i, label in enumerate(self.mu_labels):
            label.setText("" if cal is None else f"{cal.to_mu(thresholds.values[i]):.2f} /cm")


class RecoveryRow(QWidget):
    """ "Restore thresholds (autosaved HH:MM)" / Discard, shown only when an autosave can be recovered."""

    def __init__(self, parent=None):
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.restore_button = QPushButton("Restore thresholds")
        self.discard_button = QPushButton("Discard")
        row.addWidget(self.restore_button)
        row.addWidget(self.discard_button)
        row.addStretch(1)
        self.setVisible(False)

    def offer(self, record) -> None:
        """Offer ``record`` (a ``ThresholdAutosave``), or hide the row (None)."""
        self.restore_button.setEnabled(record is not None)
        if record is not None:
            when = time.strftime("%H:%M", time.localtime(record.saved_at))
            self.restore_button.setText(f"Restore thresholds (autosaved {when})")
            self.restore_button.setToolTip(
                "Thresholds moved but never applied: "
                + ", ".join(f"{n} {v:.1f}" for n, v in zip(record.thresholds.boundary_names, record.thresholds.values))
            )
        self.setVisible(record is not None)

    def damaged(self) -> None:
        """The autosave could not be read: only Discard is offered."""
        self.restore_button.setText("Restore thresholds (autosave damaged)")
        self.restore_button.setEnabled(False)
        self.setVisible(True)


class SensitivityTable(QTableWidget):
    """How much the Li and void volumes move when each threshold moves by one noise step."""

    HEADERS = ("threshold", "step", "Li −step", "Li +step", "void −step", "void +step")

    def __init__(self, parent=None):
        super().__init__(0, len(self.HEADERS), parent)
        self.setHorizontalHeaderLabels(list(self.HEADERS))
        self.verticalHeader().setVisible(False)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.setMinimumHeight(80)

    def show_rows(self, rows: list) -> None:
        self.setRowCount(len(rows))
        for r, row in enumerate(rows):
            cells = [
                row.boundary,
                f"±{row.step:.1f}",
                f"{row.li_change_minus:+.1%}",
                f"{row.li_change_plus:+.1%}",
                f"{row.void_change_minus:+.1%}",
                f"{row.void_change_plus:+.1%}",
            ]
            for c, text in enumerate(cells):
                self.setItem(r, c, QTableWidgetItem(text))
