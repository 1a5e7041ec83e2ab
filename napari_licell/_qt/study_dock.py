"""Dock: open a scan or a study, see its cells, edit the metadata files lack, save the study.

Thin: files are read by the core (``io.read_volume``, ``study.load_study``,
``study.study_layers``); the dock only adds layers and keeps the tree.
"""

from __future__ import annotations

import html

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qtpy.QtCore import Qt, Signal
from qtpy.QtWidgets import (
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..errors import LiCellInputError
from .cell_metadata_form import CellMetadataForm
from .cross_section import show_stack_cross_section
from .notify import report_error, report_info
from .recent_files import recent_files, remember_file

__all__ = ["StudyCellEntry", "StudyDock"]


@dataclass
class StudyCellEntry:
    """One cell as the dock shows it: its layers, metadata and voltage curve."""

    name: str
    layer_names: list[str]
    metadata: dict[str, Any] = field(default_factory=dict)
    voltage: Any = None


_COLUMNS = ("Cell", "Process", "Gas", "j (mA/cm²)", "Charge (min)")


class StudyDock(QWidget):
    """Tree of the study's cells; selecting one shows its scan as a stack cross-section."""

    cell_selected = Signal(str)
    cells_changed = Signal()

    def __init__(self, napari_viewer, parent=None):
        super().__init__(parent)
        self.viewer = napari_viewer
        self.entries: dict[str, StudyCellEntry] = {}
        self.study = None  # napari_licell.study.Study when a study file is open
        self.study_path: Path | None = None
        self._init_widgets()
        self._add_callbacks()

    # --- construction -----------------------------------------------------
    def _init_widgets(self) -> None:
        layout = QVBoxLayout(self)
        buttons = QHBoxLayout()
        self.open_study_button = QPushButton("Open study…")
        self.open_scan_button = QPushButton("Open scan…")
        self.recent_button = QPushButton("Recent")
        self.recent_menu = QMenu(self)
        self.recent_button.setMenu(self.recent_menu)
        for b in (self.open_study_button, self.open_scan_button, self.recent_button):
            buttons.addWidget(b)
        layout.addLayout(buttons)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(list(_COLUMNS))
        self.tree.setRootIsDecorated(False)
        layout.addWidget(self.tree)
        self.details = QLabel("No study open.")
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextSelectableByMouse)
        layout.addWidget(self.details)
        box = QGroupBox("Cell metadata")
        box_layout = QVBoxLayout(box)
        self.form = CellMetadataForm()
        box_layout.addWidget(self.form)
        row = QHBoxLayout()
        self.apply_button = QPushButton("Apply")
        self.save_button = QPushButton("Save study…")
        row.addWidget(self.apply_button)
        row.addWidget(self.save_button)
        box_layout.addLayout(row)
        layout.addWidget(box)
        self.restore_button = QPushButton("Restore unsaved changes")
        self.restore_button.setVisible(False)
        layout.addWidget(self.restore_button)
        self.demo_button = QPushButton("Open demo study")
        layout.addWidget(self.demo_button)
        self._refresh_recent()
        self._update_buttons()

    def _add_callbacks(self) -> None:
        self.tree.itemSelectionChanged.connect(self._on_selection)
        self.open_study_button.clicked.connect(self._ask_open_study)
        self.open_scan_button.clicked.connect(self._ask_open_scan)
        self.apply_button.clicked.connect(self.apply_metadata)
        self.save_button.clicked.connect(self._ask_save_study)
        self.demo_button.clicked.connect(self.open_demo_study)
        self.restore_button.clicked.connect(self.restore_unsaved_changes)

    # --- model ------------------------------------------------------------
    def add_entry(self, entry: StudyCellEntry) -> None:
        """Add (or replace) a cell in the tree."""
        self.entries[entry.name] = entry
        for i in range(self.tree.topLevelItemCount()):
            if self.tree.topLevelItem(i).text(0) == entry.name:
                self.tree.takeTopLevelItem(i)
                break
        self.tree.addTopLevelItem(QTreeWidgetItem(_row(entry)))
        for col in range(len(_COLUMNS)):
            self.tree.resizeColumnToContents(col)
        self.cells_changed.emit()

    def _add_layers(self, layers: list[tuple]) -> list[str]:
        names = []
        for data, kwargs, kind in layers:
            if kwargs["name"] not in self.viewer.layers:
                getattr(self.viewer, f"add_{kind}")(data, **kwargs)
            names.append(kwargs["name"])
        return names

    def open_demo_study(self) -> None:
        """Generate (or read from cache) the demo study and add its cells."""
        from .._napari.layers import synthetic_cell_layers
        from ..phantoms.demo_study import load_demo_study

        for cell in load_demo_study():
            names = self._add_layers(synthetic_cell_layers(cell))
            meta = dict(cell.metadata)
            meta["voxel_size_um"] = [cell.voxel_size_um] * 3
            self.add_entry(StudyCellEntry(cell.name, names, meta, cell.voltage))
        self.demo_button.setEnabled(False)
        default = "process3_after_Xe6" if "process3_after_Xe6" in self.entries else next(iter(self.entries))
        self.select_cell(default)

    def open_study(self, path: str | Path) -> list[str]:
        """Open a study file: every cell's scans (lazily), labels and voltage curve.

        Returns the problems met (one line each); those files are left out.
        """
        from .._napari.study_layers import cell_layers
        from ..study.open_cells import open_study_cells
        from ..study.study_file import load_study

        try:
            study = load_study(path)
        except LiCellInputError as exc:
            report_error(exc)
            return [exc.message]
        self.study, self.study_path = study, Path(path)
        problems: list[str] = []
        for opened in open_study_cells(study):
            layers = cell_layers(opened, study_path=str(path))
            names = self._add_layers(layers)
            meta = dict(opened.metadata)
            if layers:
                meta["voxel_size_um"] = list(layers[0][1]["scale"])
            self.add_entry(StudyCellEntry(opened.name, names, meta, opened.voltage))
            problems.extend(opened.problems)
        for problem in problems:
            report_error(problem)
        self._remember(str(path))
        if study.cells:
            self.select_cell(study.cells[0].name)
        self._update_buttons()
        self._offer_recovery()
        return problems

    def _offer_recovery(self) -> None:
        from ..autosave.study import recoverable_study_autosave

        auto = recoverable_study_autosave(self.study_path) if self.study_path is not None else None
        self.restore_button.setVisible(auto is not None)
        if auto is not None:
            report_info(f"{self.study_path}: unsaved changes from an earlier session were kept; "
                        "press 'Restore unsaved changes' in the Study dock to get them back")

    def restore_unsaved_changes(self) -> bool:
        """Apply the autosaved study (cell metadata, voxel sizes) over the open one; True when done."""
        from ..autosave.study import recoverable_study_autosave
        from ..study.study_file import load_study
        from ..study.open_cells import cell_metadata

        auto = recoverable_study_autosave(self.study_path) if self.study_path is not None else None
        if auto is None:
            return False
        try:
            recovered = load_study(auto)
        except LiCellInputError as exc:
            report_error(exc)
            return False
        self.study = recovered
        for cell in recovered.cells:
            entry = self.entries.get(cell.name)
            if entry is None:
                continue
            entry.metadata.update(cell_metadata(cell))
            voxel = cell.scans[0].voxel_size_um if cell.scans else None
            if voxel is not None:
                entry.metadata["voxel_size_um"] = list(voxel)
                for layer_name in entry.layer_names:
                    if layer_name in self.viewer.layers:
                        self.viewer.layers[layer_name].scale = tuple(voxel)
            self.add_entry(entry)
        self.restore_button.setVisible(False)
        if recovered.cells:
            self.select_cell(recovered.cells[0].name)
        return True

    def open_scan(self, path: str | Path, voxel_size_um: float | None = None) -> str | None:
        """Open one scan file or slice folder lazily as a new cell; returns its name or None on error."""
        from ..io.read_volume import read_volume

        try:
            volume = read_volume(path, voxel_size_um=voxel_size_um)
        except LiCellInputError as exc:
            report_error(exc)
            return None
        from .._napari.readers import volume_layer

        data, kwargs, kind = volume_layer(volume)
        name = Path(path).name.split(".")[0] or "scan"
        kwargs["name"] = name
        names = self._add_layers([(data, kwargs, kind)])
        meta = {"voxel_size_um": list(volume.voxel_size_um), "source": str(path)}
        if volume.voxel_size_assumed:
            report_info(f"{path}: no voxel size in the file; {volume.voxel_size_um[0]:g} µm assumed — set it below")
        self.add_entry(StudyCellEntry(name, names, meta, None))
        self._remember(str(path))
        self.select_cell(name)
        return name

    def apply_metadata(self) -> None:
        """Write the form's values into the selected cell (and its layers' scale and the study record)."""
        name = self.current_cell()
        if name is None:
            return
        entry = self.entries[name]
        values = self.form.values()
        voxel = values.pop("voxel_size_um")
        entry.metadata.update({k: v for k, v in values.items()})
        if voxel is not None:
            entry.metadata["voxel_size_um"] = [voxel] * 3
            for layer_name in entry.layer_names:
                if layer_name in self.viewer.layers:
                    layer = self.viewer.layers[layer_name]
                    layer.scale = (voxel,) * layer.ndim
                    layer.metadata["voxel_size_um"] = [voxel] * 3
                    layer.metadata["voxel_size_assumed"] = False
                    layer.metadata.pop("note", None)
        if self.study is not None:
            _update_record(self.study, name, values, voxel)
            self._autosave()
        self.add_entry(entry)
        self.select_cell(name)

    def _autosave(self) -> None:
        from ..autosave.study import autosave_study

        try:
            autosave_study(self.study, self.study_path)
        except (OSError, LiCellInputError):  # autosave must never stop the user's work
            pass

    def save_study(self, path: str | Path | None = None) -> Path | None:
        """Save the open study (atomically); returns the path or None when there is none to save."""
        from ..study.study_file import save_study

        if self.study is None:
            report_error(
                "The demo study lives in memory; write it to disk with `napari-licell demo --out DIR` "
                "and open that study to edit and save it"
            )
            return None
        target = Path(path) if path is not None else self.study_path
        try:
            saved = save_study(self.study, target)
        except (LiCellInputError, OSError) as exc:
            report_error(exc)
            return None
        from ..autosave.study import discard_study_autosave

        if self.study_path is not None:
            discard_study_autosave(self.study_path)
        self.study_path = saved
        self._remember(str(saved))
        return saved

    # --- selection ----------------------------------------------------------
    def select_cell(self, name: str) -> None:
        """Show only ``name``'s scan (its labels stay as they are) and make it the active layer."""
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
        scan = entry.layer_names[0] if entry.layer_names else None
        view_note = None
        if scan in self.viewer.layers:
            layer = self.viewer.layers[scan]
            layer.visible = True
            self.viewer.layers.selection.active = layer
            view_note = show_stack_cross_section(self.viewer)
        voxel = entry.metadata.get("voxel_size_um")
        self.form.set_values(entry.metadata, voxel[0] if voxel else None)
        self.details.setText(_describe(entry) + (f"<br>{html.escape(view_note)}" if view_note else ""))
        self.cell_selected.emit(name)

    # --- dialogs --------------------------------------------------------------
    def _ask_open_study(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open study", "", "LiCell study (*.yaml *.yml)")
        if path:
            self.open_study(path)

    def _ask_open_scan(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open scan", "", "CT volumes (*.tif *.tiff *.h5 *.hdf5 *.zarr);;All files (*)"
        )
        if path:
            self.open_scan(path)

    def _ask_save_study(self) -> None:
        if self.study is None:
            self.save_study()
            return
        path, _ = QFileDialog.getSaveFileName(self, "Save study", str(self.study_path or ""), "LiCell study (*.yaml)")
        if path:
            self.save_study(path)

    def _remember(self, path: str) -> None:
        try:
            remember_file(path)
        except Exception:  # settings storage is a convenience, never an error for the user
            return
        self._refresh_recent()

    def _refresh_recent(self) -> None:
        self.recent_menu.clear()
        for path in recent_files():
            action = self.recent_menu.addAction(path)
            action.triggered.connect(lambda _=False, p=path: self._open_recent(p))
        self.recent_button.setEnabled(bool(self.recent_menu.actions()))

    def _open_recent(self, path: str) -> None:
        if path.lower().endswith((".yaml", ".yml")):
            self.open_study(path)
        else:
            self.open_scan(path)

    def _update_buttons(self) -> None:
        self.save_button.setToolTip("" if self.study is not None else "Only a study opened from a file can be saved")


def _fmt(value) -> str:
    return "" if value is None else f"{value:g}"


def _row(entry: StudyCellEntry) -> list[str]:
    m = entry.metadata
    gas = f"{m['gas']} {m.get('gas_pressure_atm') or 0:g} atm" if m.get("gas") else "?"
    process = m.get("process") or ("dummy" if m.get("dummy_cell") else "?")
    return [entry.name, str(process), gas, _fmt(m.get("current_density_ma_cm2")), _fmt(m.get("charge_minutes"))]


def _update_record(study, name: str, values: dict, voxel: float | None) -> None:
    try:
        record = study.cell(name)
    except KeyError:
        return
    if values.get("process") is not None:
        record.bonding_process = values["process"]
    record.current_density_ma_cm2 = values.get("current_density_ma_cm2")
    record.charge_minutes = values.get("charge_minutes")
    for scan in record.scans:
        scan.gas = values.get("gas")
        scan.gas_pressure_atm = values.get("gas_pressure_atm")
        if voxel is not None:
            scan.voxel_size_um = (voxel,) * 3


def _describe(entry: StudyCellEntry) -> str:
    m = entry.metadata
    lines = [f"<b>{entry.name}</b>"]
    if m.get("process_description"):
        lines.append(m["process_description"])
    if m.get("dummy_cell"):
        lines.append("Dummy cell: Li metal and carbon in the jig, no electrolyte.")
    if m.get("gas"):
        lines.append(f"Fill gas: {m['gas']} at {m.get('gas_pressure_atm') or 0:g} atm")
    if m.get("current_density_ma_cm2") is not None and m.get("charge_minutes") is not None:
        lines.append(f"Charged at {m['current_density_ma_cm2']:g} mA/cm² for {m['charge_minutes']:g} min")
    voxel = m.get("voxel_size_um")
    if voxel:
        if len(set(voxel)) == 1:
            lines.append(f"Voxel size {voxel[0]:g} µm")
        else:
            lines.append("Voxel size " + " × ".join(f"{v:.4g}" for v in voxel) + " µm (z × y × x)")
    if m.get("synthetic"):
        lines.append("Synthetic cell generated from physics (ground truth in the hidden 'truth' layer).")
    return "<br>".join(lines)
