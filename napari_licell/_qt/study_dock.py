"""Dock: the cells of the open study, their metadata, and which one is shown."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from qtpy.QtCore import Qt, Signal
from qtpy.QtWidgets import QLabel, QPushButton, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from .cross_section import show_stack_cross_section

__all__ = ["StudyCellEntry", "StudyDock"]


@dataclass
class StudyCellEntry:
    """One cell of the study as the dock shows it: its layers and metadata."""

    name: str
    layer_names: list[str]
    metadata: dict[str, Any] = field(default_factory=dict)
    voltage: Any = None


_COLUMNS = ("Cell", "Process", "Gas", "j (mA/cm²)", "Charge (min)")


class StudyDock(QWidget):
    """Tree of the study's cells; selecting one shows its scan as a stack cross-section."""

    cell_selected = Signal(str)

    def __init__(self, napari_viewer, parent=None):
        super().__init__(parent)
        self.viewer = napari_viewer
        self.entries: dict[str, StudyCellEntry] = {}
        self._init_widgets()

    def _init_widgets(self) -> None:
        layout = QVBoxLayout(self)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(list(_COLUMNS))
        self.tree.setRootIsDecorated(False)
        self.tree.itemSelectionChanged.connect(self._on_selection)
        layout.addWidget(self.tree)
        self.details = QLabel("No study open.")
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextSelectableByMouse)
        layout.addWidget(self.details)
        self.demo_button = QPushButton("Open demo study")
        self.demo_button.clicked.connect(self.open_demo_study)
        layout.addWidget(self.demo_button)

    # --- model ---------------------------------------------------------------
    def add_entry(self, entry: StudyCellEntry) -> None:
        """Add (or replace) a cell in the tree."""
        self.entries[entry.name] = entry
        for i in range(self.tree.topLevelItemCount()):
            if self.tree.topLevelItem(i).text(0) == entry.name:
                self.tree.takeTopLevelItem(i)
                break
        m = entry.metadata
        gas = f"{m.get('gas', '?')} {m.get('gas_pressure_atm', ''):g} atm" if "gas" in m else "?"
        item = QTreeWidgetItem(
            [
                entry.name,
                str(m.get("process", "dummy" if m.get("dummy_cell") else "?")),
                gas,
                _fmt(m.get("current_density_ma_cm2")),
                _fmt(m.get("charge_minutes")),
            ]
        )
        self.tree.addTopLevelItem(item)
        for col in range(len(_COLUMNS)):
            self.tree.resizeColumnToContents(col)

    def open_demo_study(self) -> None:
        """Generate (or read from cache) the demo study and add its cells."""
        from ..layers import synthetic_cell_layers
        from ..phantoms.demo_study import load_demo_study

        for cell in load_demo_study():
            names = []
            for data, kwargs, kind in synthetic_cell_layers(cell):
                if kwargs["name"] not in self.viewer.layers:
                    getattr(self.viewer, f"add_{kind}")(data, **kwargs)
                names.append(kwargs["name"])
            self.add_entry(StudyCellEntry(cell.name, names, dict(cell.metadata), cell.voltage))
        self.demo_button.setEnabled(False)
        default = "process3_after_Xe6" if "process3_after_Xe6" in self.entries else next(iter(self.entries))
        self.select_cell(default)

    # --- selection ------------------------------------------------------------
    def select_cell(self, name: str) -> None:
        """Show only ``name``'s scan (its truth stays hidden) and make it the active layer."""
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            if item.text(0) == name:
                self.tree.setCurrentItem(item)
                return

    def current_cell(self) -> str | None:
        item = self.tree.currentItem()
        return item.text(0) if item is not None else None

    def _on_selection(self) -> None:
        name = self.current_cell()
        if name is None or name not in self.entries:
            return
        entry = self.entries[name]
        own = set(entry.layer_names)
        for other in self.entries.values():
            for layer_name in other.layer_names:
                if layer_name in self.viewer.layers and layer_name not in own:
                    self.viewer.layers[layer_name].visible = False
        scan = entry.layer_names[0]
        if scan in self.viewer.layers:
            layer = self.viewer.layers[scan]
            layer.visible = True
            self.viewer.layers.selection.active = layer
            show_stack_cross_section(self.viewer)
        self.details.setText(_describe(entry))
        self.cell_selected.emit(name)


def _fmt(value) -> str:
    return "" if value is None else f"{value:g}"


def _describe(entry: StudyCellEntry) -> str:
    m = entry.metadata
    lines = [f"<b>{entry.name}</b>"]
    if "process_description" in m:
        lines.append(m["process_description"])
    if m.get("dummy_cell"):
        lines.append("Dummy cell: Li metal and carbon in the jig, no electrolyte.")
    if "gas" in m:
        lines.append(f"Fill gas: {m['gas']} at {m['gas_pressure_atm']:g} atm")
    if m.get("current_density_ma_cm2") is not None:
        lines.append(f"Charged at {m['current_density_ma_cm2']:g} mA/cm² for {m['charge_minutes']:g} min")
    if m.get("synthetic"):
        lines.append("Synthetic cell generated from physics (ground truth in the hidden 'truth' layer).")
    return "<br>".join(lines)
