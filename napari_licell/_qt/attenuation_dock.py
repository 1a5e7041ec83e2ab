"""Dock: attenuation of every material of the cell at a beam energy (the paper's Fig. 2a)."""

from __future__ import annotations

from qtpy.QtWidgets import QDoubleSpinBox, QFormLayout, QLabel, QWidget

from ..physics.attenuation import attenuation_table
from .mpl_canvas import ThemedFigureWidget
from .dock_tabs import JoinsLicellTabs

__all__ = ["AttenuationDock"]


class AttenuationDock(JoinsLicellTabs, ThemedFigureWidget):
    """Bar chart of linear attenuation (1/cm, log scale) for Li, SE, carbon, metals and the fill gases."""

    def __init__(self, napari_viewer=None, parent=None):
        super().__init__(napari_viewer, parent, toolbar=False, figsize=(4, 3.5))
        self._init_controls()
        self.redraw()

    def _init_controls(self) -> None:
        form_host = QWidget()
        form = QFormLayout(form_host)
        self.energy_kev = QDoubleSpinBox(minimum=5.0, maximum=150.0, value=17.48, decimals=2, suffix=" keV")
        self.xe_pressure = QDoubleSpinBox(minimum=0.0, maximum=20.0, value=6.0, decimals=1, suffix=" atm")
        self.ar_pressure = QDoubleSpinBox(minimum=0.0, maximum=20.0, value=1.0, decimals=1, suffix=" atm")
        form.addRow("Beam energy", self.energy_kev)
        form.addRow("Xe pressure", self.xe_pressure)
        form.addRow("Ar pressure", self.ar_pressure)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        form.addRow(self.summary)
        self.layout().insertWidget(0, form_host)
        for box in (self.energy_kev, self.xe_pressure, self.ar_pressure):
            box.valueChanged.connect(self.redraw)

    def rows(self):
        """The attenuation rows for the current settings."""
        gases = (("Ar", self.ar_pressure.value()), ("Xe", self.xe_pressure.value()))
        return attenuation_table(self.energy_kev.value() * 1000.0, gases=gases)

    def draw(self) -> None:
        rows = self.rows()
        ax = self.figure.add_subplot(111)
        self.style_axes(ax)
        labels = [r.label.replace(" solid electrolyte", "").replace("Porous carbon", "C") for r in rows]
        values = [max(r.mu_per_cm, 1e-4) for r in rows]
        colours = ["#e8c93a" if "Li metal" in r.label else "#3aa8e8" if " atm" in r.label else "#8a8f99" for r in rows]
        ax.barh(range(len(rows)), values, color=colours)
        ax.set_yticks(range(len(rows)), labels, fontsize=7)
        ax.set_xscale("log")
        ax.set_xlabel("linear attenuation (1/cm)")
        ax.invert_yaxis()
        li = next(r.mu_per_cm for r in rows if r.label == "Li metal")
        xe = next(r.mu_per_cm for r in rows if r.label.startswith("Xe "))
        ar = next(r.mu_per_cm for r in rows if r.label.startswith("Ar "))
        self.summary.setText(f"Li {li:.3f} /cm; Xe gas {xe:.3f} /cm ({xe / li:.1f}x Li); Ar gas {ar:.3f} /cm")
