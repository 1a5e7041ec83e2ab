"""Widgets of the Paint dock: the restore offer, the class palette, the brush and edit rules."""

from __future__ import annotations

import time
from collections.abc import Callable

from qtpy.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
)

from ..classes import CLASS_TABLE
from ..painting import EditRules
from .paint_binding import PALETTE

__all__ = ["RestoreBox", "PaletteBox", "BrushBox"]

_ANY = -1


class RestoreBox(QGroupBox):
    """ "Unsaved work found": Restore / Discard of a label autosave (hidden when there is none)."""

    def __init__(self, parent=None):
        super().__init__("Unsaved work found", parent)
        box = QVBoxLayout(self)
        self.label = QLabel()
        self.label.setWordWrap(True)
        box.addWidget(self.label)
        row = QHBoxLayout()
        self.restore_button = QPushButton("Restore")
        self.discard_button = QPushButton("Discard")
        row.addWidget(self.restore_button)
        row.addWidget(self.discard_button)
        box.addLayout(row)
        self.setVisible(False)

    def offer(self, recoverable) -> None:
        """Show the offer for ``recoverable`` (an ``autosave.Recoverable``), or hide it (None)."""
        if recoverable is not None:
            when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(recoverable.saved_at))
            self.label.setText(f"Labels “{recoverable.name}” were autosaved at {when} and not saved since.")
        self.setVisible(recoverable is not None)


class PaletteBox(QGroupBox):
    """One checkable button per class in its colour (keys 1–6 on the canvas pick the same classes)."""

    def __init__(self, on_select: Callable[[int], None], parent=None):
        super().__init__("Class (keys 1–6)", parent)
        grid = QGridLayout(self)
        self.group = QButtonGroup(self)
        self.group.setExclusive(True)
        self.buttons: dict[int, QPushButton] = {}
        for i, cls in enumerate(PALETTE):
            button = QPushButton(f"{i + 1}  {cls.name}")
            button.setCheckable(True)
            button.setToolTip(f"Paint {cls.name} (code {cls.code}, key {i + 1})")
            text = "#000000" if _is_light(cls.colour) else "#ffffff"
            button.setStyleSheet(
                f"QPushButton {{background-color: {cls.colour}; color: {text}; text-align: left; padding: 3px;}}"
                "QPushButton:checked {border: 3px solid #ff3030;}"
            )
            button.clicked.connect(lambda _=False, code=cls.code: on_select(code))
            self.group.addButton(button, cls.code)
            grid.addWidget(button, i // 2, i % 2)
            self.buttons[cls.code] = button

    def check(self, code: int) -> None:
        button = self.buttons.get(code)
        if button is not None and not button.isChecked():
            button.setChecked(True)


class BrushBox(QGroupBox):
    """Brush diameter in µm, "preserve other labels", "only paint over", depth band, interpolation."""

    def __init__(self, parent=None):
        super().__init__("Brush and rules", parent)
        form = QFormLayout(self)
        self.brush_um = QDoubleSpinBox()
        self.brush_um.setRange(0.1, 500.0)
        self.brush_um.setDecimals(2)
        self.brush_um.setSingleStep(0.5)
        self.brush_um.setValue(5.0)
        self.brush_um.setSuffix(" µm")
        self.px_label = QLabel("")
        row = QHBoxLayout()
        row.addWidget(self.brush_um)
        row.addWidget(self.px_label)
        form.addRow("Brush diameter:", row)
        self.preserve_check = QCheckBox("Preserve other labels")
        self.preserve_check.setToolTip("Paint only on unlabelled voxels")
        form.addRow(self.preserve_check)
        self.target_combo = QComboBox()
        self.target_combo.addItem("any class", _ANY)
        for cls in CLASS_TABLE:
            self.target_combo.addItem(cls.name if cls.code else "unlabelled (0)", cls.code)
        self.target_combo.setToolTip("Edits may only change voxels of this class; others are put back")
        form.addRow("Only paint over:", self.target_combo)
        self.band_check = QCheckBox("Depth band (µm along z)")
        self.band_check.setToolTip("Edits outside the band along the stack axis (z) are put back")
        form.addRow(self.band_check)
        # on a row of their own: beside the check box a laptop's dock column cut their values ("161.4")
        self.band_from, self.band_to = QDoubleSpinBox(), QDoubleSpinBox()
        for box in (self.band_from, self.band_to):
            box.setRange(-1e5, 1e5)
            box.setDecimals(1)  # the unit is in the check box's text: room for the value
        row = QHBoxLayout()
        row.addWidget(QLabel("from"))
        row.addWidget(self.band_from, 1)
        row.addWidget(QLabel("to"))
        row.addWidget(self.band_to, 1)
        form.addRow(row)
        self.interpolate_button = QPushButton("Interpolate between painted slices")
        self.interpolate_button.setToolTip(
            "Fill the slices between two slices painted with the selected class by shape interpolation"
        )
        form.addRow(self.interpolate_button)

    def rules(self) -> EditRules:
        """The edit rules the controls say."""
        target = self.target_combo.currentData()
        band = (self.band_from.value(), self.band_to.value()) if self.band_check.isChecked() else None
        return EditRules(target_class=None if target in (None, _ANY) else int(target), band_um=band)

    def set_target_class(self, code: int | None) -> None:
        self.target_combo.setCurrentIndex(self.target_combo.findData(_ANY if code is None else int(code)))

    def set_band_range(self, z_from_um: float, z_to_um: float) -> None:
        """Put the depth band's ends at ``z_from_um``, ``z_to_um`` (world µm) without switching it on."""
        self.band_from.setValue(float(z_from_um))
        self.band_to.setValue(float(z_to_um))

    def set_depth_band(self, z_from_um: float | None, z_to_um: float | None = None) -> None:
        if z_from_um is None:
            self.band_check.setChecked(False)
            return
        self.band_from.setValue(float(z_from_um))
        self.band_to.setValue(float(z_to_um))
        self.band_check.setChecked(True)


def _is_light(hex_colour: str) -> bool:
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return 0.299 * r + 0.587 * g + 0.114 * b > 140
