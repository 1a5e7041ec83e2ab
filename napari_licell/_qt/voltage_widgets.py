"""The Voltage dock's controls under its plot: file, time-lapse demo and export buttons, step picker, status."""

from __future__ import annotations

from qtpy.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton

__all__ = ["VoltageControls"]


class VoltageControls:
    """The controls, added to ``layout`` (the dock's); :attr:`CONTROLS` are the ones the dock connects."""

    CONTROLS = ("open_button", "timelapse_button", "export_button", "step_combo", "status")

    def __init__(self, layout, with_viewer: bool):
        row = QHBoxLayout()
        self.open_button = QPushButton("Open voltage file…")
        self.open_button.setToolTip(
            "Read a cycler file (BioLogic, Neware, Arbin, Maccor, Gamry, CSV) for the active cell"
        )
        self.timelapse_button = QPushButton("Time-lapse demo")
        self.timelapse_button.setToolTip("Open a synthetic process-3 cell scanned at 0, 1000, 2000, 3000 and 4000 min")
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip("Save the plot as PNG or SVG")
        self.timelapse_button.setEnabled(with_viewer)
        for button in (self.open_button, self.timelapse_button, self.export_button):
            row.addWidget(button)
        layout.addLayout(row)
        self.step_combo = QComboBox()
        self.step_combo.setToolTip("The charge step that matches the scan (a file holds many cycles and steps)")
        self.step_combo.setVisible(False)
        layout.addWidget(self.step_combo)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
