"""The form for the metadata a scan file lacks (voxel size, gas and pressure, bonding process, charge).

Generated with magicgui from :class:`~napari_licell.cell_edits.CellEdits`: one
widget per dataclass field, labelled and ranged by the field's spec; a spin
box at its minimum reads "unknown" (None).
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from magicgui.widgets import ComboBox, Container, FloatSpinBox
from qtpy.QtWidgets import QVBoxLayout, QWidget

from ..cell_edits import CellEdits

__all__ = ["CellMetadataForm", "build_cell_edits_form"]

#: Attribute of :class:`CellMetadataForm` holding each field's Qt widget.
_ATTRIBUTES = {
    "voxel_size_um": "voxel_size",
    "gas": "gas",
    "gas_pressure_atm": "gas_pressure",
    "process": "process",
    "current_density_ma_cm2": "current_density",
    "charge_minutes": "charge_minutes",
}


def build_cell_edits_form() -> Container:
    """A magicgui container with one widget per :class:`CellEdits` field (labels, units, ranges from its spec)."""
    widgets = []
    for f in fields(CellEdits):
        spec = f.metadata["spec"]
        if spec.choices:
            widget = ComboBox(name=f.name, label=spec.label, choices=list(spec.choices), value="unknown")
            widget.native.setEditable(spec.editable)
        else:
            widget = FloatSpinBox(
                name=f.name,
                label=spec.label,
                min=spec.minimum,
                max=spec.maximum,
                step=10.0**-spec.decimals,
                value=spec.minimum,
            )
            widget.native.setDecimals(spec.decimals)
            widget.native.setSuffix(f" {spec.unit}")
            widget.native.setSpecialValueText("unknown")  # the minimum shows as "unknown"
            widget.native.setSingleStep(1.0)
        widgets.append(widget)
    container = Container(labels=True)
    container.extend(widgets)  # added after construction, so magicgui aligns the labels' widths
    return container


class CellMetadataForm(QWidget):
    """Edit one cell's metadata; :meth:`values` returns what the user set (None = unknown)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.container = build_cell_edits_form()
        self.container.margins = (0, 0, 0, 0)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.container.native)
        for name, attribute in _ATTRIBUTES.items():  # the Qt widgets, as the dock and its tests reach them
            setattr(self, attribute, self.container[name].native)

    def set_values(self, meta: dict[str, Any], voxel_size_um: float | None) -> None:
        """Fill the form from a cell's metadata (keys as in the study dock)."""
        edits = CellEdits.from_metadata(meta, voxel_size_um)
        for name, value in edits.to_values().items():
            native = self.container[name].native
            if hasattr(native, "setCurrentText"):
                native.setCurrentText(str(value) if value is not None else "unknown")
            else:
                native.setValue(value if value is not None else native.minimum())

    def values(self) -> dict[str, Any]:
        """The form's values; unknown entries are None."""
        values = {}
        for name in _ATTRIBUTES:
            native = self.container[name].native
            if hasattr(native, "currentText"):
                text = native.currentText().strip()
                values[name] = None if text in ("", "unknown") else text
            else:
                values[name] = None if native.value() == native.minimum() else native.value()
        return CellEdits(**values).to_values()
