"""Dock: open a scan or a study, see its cells, edit the metadata files lack, save the study; the guided start.

Thin: files are read by the core (``io.read_volume``, ``study.load_study``,
``study.open_cells``) and turned into layers by the napari adapter; the dock
adds the layers, keeps the tree of cells and writes edited metadata into the
scan layers (:class:`~napari_licell.cell_metadata.CellMetadata`), so every
other dock sees it. Scans that arrive another way (File > Open Sample, a file
dropped on the canvas) join the tree too.
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
)

from ..cell_metadata import CellMetadata
from ..errors import LiCellInputError
from ..layer_roles import Role, is_ct_scan, role_of, scan_of
from .cell_metadata_form import CellMetadataForm
from .cross_section import show_stack_cross_section
from .dock_base import LicellDock
from .notify import report_error, report_info
from .recent_files import recent_files, remember_file
from .study_text import cell_row, describe_cell, update_record
from .workflow_strip import WorkflowStrip, raise_dock, step_states

__all__ = ["StudyCellEntry", "StudyDock"]

_COLUMNS = ("Cell", "Process", "Gas", "j (mA/cm²)", "Charge (min)")


@dataclass
class StudyCellEntry:
    """One cell as the dock shows it: its layers, metadata and voltage curve."""

    name: str
    layer_names: list[str]
    metadata: dict[str, Any] = field(default_factory=dict)
    voltage: Any = None


class StudyDock(LicellDock):
    """Tree of the study's cells; selecting one shows only its layers, as a stack cross-section."""

    cell_selected = Signal(str)
    cells_changed = Signal()

    def __init__(self, napari_viewer, parent=None):
        super().__init__(napari_viewer, parent)
        self.entries: dict[str, StudyCellEntry] = {}
        self.study = None  # napari_licell.study.Study when a study file is open
        self.study_path: Path | None = None
        self._visible_by_cell: dict[str, set[str]] = {}
        self._shown_cell: str | None = None
        self._adding = False
        self._init_widgets()
        self._add_callbacks()
        self.on_layers_changed()

    # --- construction -----------------------------------------------------
    def _init_widgets(self) -> None:
        layout = self.body_layout
        self.workflow = WorkflowStrip()
        layout.addWidget(self.workflow)
        buttons = QHBoxLayout()
        self.open_study_button = QPushButton("Open study…")
        self.open_scan_button = QPushButton("Open scan…")
        self.recent_button = QPushButton("Recent")
        self.recent_menu = QMenu(self)
        self.recent_button.setMenu(self.recent_menu)
        for b in (self.open_study_button, self.open_scan_button, self.recent_button):
            buttons.addWidget(b)
        layout.addLayout(buttons)
        self.demo_button = QPushButton("Open demo study")
        self.demo_button.setToolTip("Six synthetic cells made from X-ray physics: the four processes and an Ar/Xe pair")
        layout.addWidget(self.demo_button)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(list(_COLUMNS))
        self.tree.setRootIsDecorated(False)
        self.tree.setMinimumHeight(90)
        layout.addWidget(self.tree, 1)
        self.details = QLabel("No study open. Open a scan or a study, or try the demo study.")
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.details)
        box = QGroupBox("Cell metadata")
        box_layout = QVBoxLayout(box)
        self.form = CellMetadataForm()
        box_layout.addWidget(self.form)
        row = QHBoxLayout()
        self.apply_button = QPushButton("Apply")
        self.apply_button.setToolTip("Use these values for the cell's layers (scale, gas, charge) in every dock")
        self.save_button = QPushButton("Save study…")
        row.addWidget(self.apply_button)
        row.addWidget(self.save_button)
        box_layout.addLayout(row)
        layout.addWidget(box)
        self.restore_button = QPushButton("Restore unsaved changes")
        self.restore_button.setVisible(False)
        layout.addWidget(self.restore_button)
        layout.addWidget(self.status)
        self._refresh_recent()
        self._update_buttons()

    def _add_callbacks(self) -> None:
        self.tree.itemSelectionChanged.connect(lambda: self.guarded(self._on_selection))
        self.open_study_button.clicked.connect(self._ask_open_study)
        self.open_scan_button.clicked.connect(self._ask_open_scan)
        self.apply_button.clicked.connect(lambda: self.guarded(self.apply_metadata))
        self.save_button.clicked.connect(self._ask_save_study)
        self.demo_button.clicked.connect(lambda: self.guarded(self.open_demo_study))
        self.restore_button.clicked.connect(lambda: self.guarded(self.restore_unsaved_changes))
        self.workflow.step_requested.connect(lambda name: self.guarded(raise_dock, self.viewer, name))

    # --- model ------------------------------------------------------------
    def add_entry(self, entry: StudyCellEntry) -> None:
        """Add (or replace) a cell in the tree."""
        self.entries[entry.name] = entry
        for i in range(self.tree.topLevelItemCount()):
            if self.tree.topLevelItem(i).text(0) == entry.name:
                self.tree.takeTopLevelItem(i)
                break
        item = QTreeWidgetItem(cell_row(entry.metadata, entry.name))
        if entry.metadata.get("voxel_size_assumed"):
            item.setText(0, f"{entry.name} ⚠")
            item.setToolTip(0, "No voxel size in the file: 0.54 µm was assumed. Set it under Cell metadata.")
        self.tree.addTopLevelItem(item)
        for col in range(len(_COLUMNS)):
            self.tree.resizeColumnToContents(col)
        self.cells_changed.emit()

    def _add_layers(self, layers: list[tuple]) -> list[str]:
        names = []
        self._adding = True
        try:
            for data, kwargs, kind in layers:
                if self.layer_named(kwargs["name"]) is None:
                    getattr(self.viewer, f"add_{kind}")(data, **kwargs)
                names.append(kwargs["name"])
        finally:
            self._adding = False
        return names

    def on_layers_changed(self, event=None) -> None:
        """Scans opened another way (samples, drag and drop, scripts) join the tree; the workflow follows."""
        if not self._adding:
            self._adopt_new_scans()
        self._update_workflow()

    def _adopt_new_scans(self) -> None:
        known = {name for entry in self.entries.values() for name in entry.layer_names}
        adopted = None
        for layer in self.viewer.layers:
            if layer.name in known or not is_ct_scan(layer, allow_2d=False) or "compare_cell" in layer.metadata:
                continue
            meta = CellMetadata.from_layer(layer)
            name = meta.cell or layer.name
            if name in self.entries:
                name = layer.name
            entry_meta = {**layer.metadata, "voxel_size_um": [float(s) for s in layer.scale[-3:]]}
            self.add_entry(StudyCellEntry(name, [layer.name], entry_meta, _voltage_for(meta, name)))
            adopted = name
        if adopted is not None and self.current_cell() is None:
            self.select_cell(adopted)

    def open_demo_study(self) -> None:
        """Generate (or read from cache) the demo study and add its cells."""
        from .._napari.layers import synthetic_cell_layers
        from ..phantoms.demo_study import load_demo_study

        for cell in load_demo_study():
            names = self._add_layers(synthetic_cell_layers(cell))
            meta = {**cell.metadata, "cell": cell.name, "voxel_size_um": [cell.voxel_size_um] * 3}
            self.add_entry(StudyCellEntry(cell.name, names, meta, cell.voltage))
        self.demo_button.setEnabled(False)
        self.select_cell("process3_after_Xe6" if "process3_after_Xe6" in self.entries else next(iter(self.entries)))

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
                meta["voxel_size_assumed"] = bool(layers[0][1]["metadata"].get("voxel_size_assumed"))
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
        from ..study.open_cells import cell_metadata
        from ..study.study_file import load_study

        auto = recoverable_study_autosave(self.study_path) if self.study_path is not None else None
        if auto is None:
            return False
        self.study = load_study(auto)
        for cell in self.study.cells:
            entry = self.entries.get(cell.name)
            if entry is None:
                continue
            entry.metadata.update(cell_metadata(cell))
            voxel = cell.scans[0].voxel_size_um if cell.scans else None
            if voxel is not None:
                entry.metadata["voxel_size_um"] = list(voxel)
            self._write_layers(entry, voxel)
            self.add_entry(entry)
        self.restore_button.setVisible(False)
        if self.study.cells:
            self.select_cell(self.study.cells[0].name)
        return True

    def open_scan(self, path: str | Path, voxel_size_um: float | None = None) -> str | None:
        """Open one scan file or slice folder lazily as a new cell; returns its name or None on error."""
        from .._napari.readers import volume_layer
        from ..io.read_volume import read_volume

        try:
            volume = read_volume(path, voxel_size_um=voxel_size_um)
        except LiCellInputError as exc:
            report_error(exc)
            return None
        data, kwargs, kind = volume_layer(volume)
        name = Path(path).name.split(".")[0] or "scan"
        kwargs["name"] = name
        names = self._add_layers([(data, kwargs, kind)])
        meta = {**kwargs["metadata"], "voxel_size_um": list(volume.voxel_size_um), "source": str(path)}
        if volume.voxel_size_assumed:
            report_info(f"{path}: no voxel size in the file; {volume.voxel_size_um[0]:g} µm assumed — set it below")
        self.add_entry(StudyCellEntry(name, names, meta, None))
        self._remember(str(path))
        self.select_cell(name)
        return name

    def apply_metadata(self) -> None:
        """Write the form's values into the selected cell: its layers (every dock sees them) and the study."""
        name = self.current_cell()
        if name is None:
            raise LiCellInputError(None, "no cell selected", "open a scan or a study and pick a cell")
        entry = self.entries[name]
        values = self.form.values()
        voxel = values.pop("voxel_size_um")
        entry.metadata.update(values)
        if voxel is not None:
            entry.metadata["voxel_size_um"] = [voxel] * 3
            entry.metadata["voxel_size_assumed"] = False
        self._write_layers(entry, (voxel,) * 3 if voxel is not None else None)
        if self.study is not None:
            update_record(self.study, name, values, voxel)
            self._autosave()
        self.add_entry(entry)
        self.select_cell(name)
        self.show_status(f"{name}: metadata applied to its layers.")

    def _write_layers(self, entry: StudyCellEntry, voxel) -> None:
        """The entry's metadata (and voxel size as scale) into its scan layers, announced to every dock."""
        for layer_name in entry.layer_names:
            layer = self.layer_named(layer_name)
            if layer is None:
                continue
            if voxel is not None:
                layer.scale = tuple(voxel)[-layer.ndim:] if layer.ndim <= 3 else (1.0,) * (layer.ndim - 3) + tuple(voxel)
                layer.metadata.pop("note", None)
            merged = CellMetadata.from_dict({**layer.metadata, **entry.metadata})
            merged.to_layer(layer)

    def _autosave(self) -> None:
        from ..autosave.study import autosave_study

        try:
            autosave_study(self.study, self.study_path)
        except (OSError, LiCellInputError):  # autosave must never stop the user's work
            pass

    def save_study(self, path: str | Path | None = None) -> Path | None:
        """Save the open study (atomically); returns the path or None when there is none to save."""
        from ..autosave.study import discard_study_autosave
        from ..study.study_file import save_study

        if self.study is None:
            report_error("The demo study lives in memory; write it to disk with `napari-licell demo --out DIR` "
                         "and open that study to edit and save it")
            return None
        target = Path(path) if path is not None else self.study_path
        try:
            saved = save_study(self.study, target)
        except (LiCellInputError, OSError) as exc:
            report_error(exc)
            return None
        if self.study_path is not None:
            discard_study_autosave(self.study_path)
        self.study_path = saved
        self._remember(str(saved))
        return saved

    # --- selection ----------------------------------------------------------
    def select_cell(self, name: str) -> None:
        """Show only ``name``'s layers (as they were when last shown) and make its scan the active layer."""
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            if item.text(0).removesuffix(" ⚠") == name:
                self.tree.setCurrentItem(item)
                return

    def current_cell(self) -> str | None:
        item = self.tree.currentItem()
        return item.text(0).removesuffix(" ⚠") if item is not None else None

    def _cell_of(self, layer) -> str | None:
        scan = scan_of(layer)
        for name, entry in self.entries.items():
            if scan in entry.layer_names or layer.name in entry.layer_names:
                return name
        return None

    def _on_selection(self) -> None:
        name = self.current_cell()
        if name is None or name not in self.entries:
            return
        entry = self.entries[name]
        if self._shown_cell is not None and self._shown_cell != name:
            self._visible_by_cell[self._shown_cell] = {l.name for l in self.viewer.layers
                                                       if l.visible and self._cell_of(l) == self._shown_cell}
        grid = self.viewer.canvas.grid
        if grid.enabled:  # leave the Compare view's side by side: one cell on show
            grid.enabled = False
        remembered = self._visible_by_cell.get(name)
        scan = entry.layer_names[0] if entry.layer_names else None
        for layer in self.viewer.layers:
            cell = self._cell_of(layer)
            if role_of(layer) == Role.COMPARE:
                layer.visible = False
                continue
            if cell is None:
                continue
            if cell != name:
                layer.visible = False
            elif remembered is not None:
                layer.visible = layer.name in remembered or layer.name == scan
        view_note = None
        scan_layer = self.layer_named(scan)
        if scan_layer is not None:
            scan_layer.visible = True
            self.viewer.layers.selection.active = scan_layer
            view_note = show_stack_cross_section(self.viewer)
        self._shown_cell = name
        voxel = entry.metadata.get("voxel_size_um")
        self.form.set_values(entry.metadata, voxel[0] if voxel else None)
        self.details.setText(describe_cell(entry.name, entry.metadata) + (f"<br>{html.escape(view_note)}" if view_note else ""))
        self._update_workflow()
        self.cell_selected.emit(name)

    def _update_workflow(self) -> None:
        name = self.current_cell()
        entry = self.entries.get(name) if name else None
        scan = entry.layer_names[0] if entry is not None and entry.layer_names else None
        self.workflow.show_states(step_states(list(self.viewer.layers), scan))

    # --- dialogs --------------------------------------------------------------
    def _ask_open_study(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open study", "", "LiCell study (*.yaml *.yml)")
        if path:
            self.guarded(self.open_study, path)

    def _ask_open_scan(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open scan", "",
                                              "CT volumes (*.tif *.tiff *.h5 *.hdf5 *.zarr);;All files (*)")
        if path:
            self.guarded(self.open_scan, path)

    def _ask_save_study(self) -> None:
        if self.study is None:
            self.save_study()
            return
        path, _ = QFileDialog.getSaveFileName(self, "Save study", str(self.study_path or ""), "LiCell study (*.yaml)")
        if path:
            self.guarded(self.save_study, path)

    def _remember(self, path: str) -> None:
        try:
            remember_file(path)
        except Exception:  # noqa: BLE001 - settings storage is a convenience, never an error for the user
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
            self.guarded(self.open_study, path)
        else:
            self.guarded(self.open_scan, path)

    def _update_buttons(self) -> None:
        self.save_button.setToolTip("" if self.study is not None else "Only a study opened from a file can be saved")


def _voltage_for(meta: CellMetadata, name: str):
    """The voltage curve of a scan that joined without the Study dock: its cycler file, or a demo cell's curve."""
    if meta.voltage_file:
        from ..echem.cycler_readers import read_voltage_curve

        try:
            return read_voltage_curve(meta.voltage_file)
        except LiCellInputError as exc:
            report_error(exc)
            return None
    if meta.synthetic:
        from ..phantoms.demo_study import DEMO_CELL_NAMES, load_demo_cell

        if name in DEMO_CELL_NAMES:
            return load_demo_cell(name).voltage
    return None
