"""A form for the metadata a scan file lacks: voxel size, gas and pressure, bonding process, charge."""

from __future__ import annotations

from typing import Any

from qtpy.QtWidgets import QComboBox, QDoubleSpinBox, QFormLayout, QWidget

from ..study.study_file import BONDING_PROCESSES, GASES

__all__ = ["CellMetadataForm"]


def _spin(minimum: float, maximum: float, decimals: int, suffix: str) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(minimum, maximum)
    box.setDecimals(decimals)
    box.setSuffix(suffix)
    box.setSpecialValueText("unknown")  # the minimum shows as "unknown"
    return box


class CellMetadataForm(QWidget):
    """Edit one cell's metadata; :meth:`values` returns what the user set (None = unknown)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        form = QFormLayout(self)
        self.voxel_size = _spin(0.0, 10000.0, 4, " µm")
        self.gas = QComboBox()
        self.gas.addItems(["unknown", *GASES])
        self.gas_pressure = _spin(-0.1, 50.0, 2, " atm")
        self.process = QComboBox()
        self.process.setEditable(True)
        self.process.addItems(["unknown", *BONDING_PROCESSES])
        self.current_density = _spin(-0.001, 100.0, 3, " mA/cm²")
        self.charge_minutes = _spin(-1.0, 1e6, 1, " min")
        form.addRow("Voxel size", self.voxel_size)
        form.addRow("Fill gas", self.gas)
        form.addRow("Gas pressure", self.gas_pressure)
        form.addRow("Bonding process", self.process)
        form.addRow("Current density", self.current_density)
        form.addRow("Charge time", self.charge_minutes)

    def set_values(self, meta: dict[str, Any], voxel_size_um: float | None) -> None:
        """Fill the form from a cell's metadata (keys as in the study dock)."""
        self.voxel_size.setValue(voxel_size_um or 0.0)
        self.gas.setCurrentText(meta.get("gas") or "unknown")
        self.gas_pressure.setValue(meta["gas_pressure_atm"] if meta.get("gas_pressure_atm") is not None else -0.1)
        self.process.setCurrentText(str(meta.get("process") or "unknown"))
        j = meta.get("current_density_ma_cm2")
        self.current_density.setValue(j if j is not None else -0.001)
        t = meta.get("charge_minutes")
        self.charge_minutes.setValue(t if t is not None else -1.0)

    def values(self) -> dict[str, Any]:
        """The form's values; unknown entries are None."""

        def known(box: QDoubleSpinBox) -> float | None:
            return None if box.value() == box.minimum() else box.value()

        gas = self.gas.currentText()
        process = self.process.currentText().strip()
        return {
            "voxel_size_um": known(self.voxel_size),
            "gas": None if gas == "unknown" else gas,
            "gas_pressure_atm": known(self.gas_pressure),
            "process": None if process in ("", "unknown") else process,
            "current_density_ma_cm2": known(self.current_density),
            "charge_minutes": known(self.charge_minutes),
        }
