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
from pathlib import Path

from qtpy.QtCore import Signal
from qtpy.QtWidgets import QFileDialog, QTreeWidgetItem

from ..cell_metadata import CellMetadata
from ..errors import LiCellInputError
from ..layer_roles import Role, is_ct_scan, role_of, scan_of
from ..study.study_session import StudyCellEntry, StudySession, voltage_for_scan
from .cross_section import show_stack_cross_section
from .dock_base import LicellDock
from .notify import report_error, report_info
from .study_text import cell_row, describe_cell
from .study_widgets import COLUMNS, StudyWidgets
from .workflow_strip import raise_dock, step_states

__all__ = ["StudyCellEntry", "StudyDock"]


class StudyDock(LicellDock):
    """Tree of the study's cells; selecting one shows only its layers, as a stack cross-section."""

    cell_selected = Signal(str)
    cells_changed = Signal()

    def __init__(self, napari_viewer, parent=None):
        super().__init__(napari_viewer, parent)
        self.session = StudySession()
        self._visible_by_cell: dict[str, set[str]] = {}
        self._shown_cell: str | None = None
        self._adding = False
        self._init_widgets()
        self._add_callbacks()
        self.on_layers_changed()

    # --- construction -----------------------------------------------------
    def _init_widgets(self) -> None:
        widgets = StudyWidgets(self.body_layout)
        for name in StudyWidgets.CONTROLS:
            setattr(self, name, getattr(widgets, name))
        self.body_layout.addWidget(self.status)
        self._update_buttons()

    entries = property(lambda self: self.session.entries, doc="The cells on show, by name.")
    study = property(lambda self: self.session.study, doc="The open study (None: no study file is open).")
    study_path = property(lambda self: self.session.study_path, doc="The open study's file.")

    def _add_callbacks(self) -> None:
        self.tree.itemSelectionChanged.connect(lambda: self.guarded(self._on_selection))
        self.open_study_button.clicked.connect(self._ask_open_study)
        self.open_scan_button.clicked.connect(self._ask_open_scan)
        self.apply_button.clicked.connect(lambda: self.guarded(self.apply_metadata))
        self.save_button.clicked.connect(self._ask_save_study)
        self.demo_button.clicked.connect(lambda: self.guarded(self.open_demo_study))
        self.restore_button.clicked.connect(lambda: self.guarded(self.restore_unsaved_changes))
        self.workflow.step_requested.connect(lambda name: self.guarded(raise_dock, self.viewer, name))
        self.recent_button.chosen.connect(self._open_recent)
        self.link(self.session.entry_changed, self._show_entry)

    # --- model ------------------------------------------------------------
    def add_entry(self, entry: StudyCellEntry) -> None:
        """Add (or replace) a cell in the tree."""
        self.session.add(entry)

    def _show_entry(self, entry: StudyCellEntry) -> None:
        for i in range(self.tree.topLevelItemCount()):
            if self.tree.topLevelItem(i).text(0).removesuffix(" ⚠") == entry.name:
                self.tree.takeTopLevelItem(i)
                break
        item = QTreeWidgetItem(cell_row(entry.metadata, entry.name))
        item.setToolTip(0, entry.name)  # a long name is elided in a narrow dock
        if entry.metadata.get("voxel_size_assumed"):
            item.setText(0, f"{entry.name} ⚠")
            item.setToolTip(0, "No voxel size in the file: 0.54 µm was assumed. Set it under Cell metadata.")
        self.tree.addTopLevelItem(item)
        for col in range(len(COLUMNS)):
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
        known = self.session.known_layers()
        adopted = None
        for layer in self.viewer.layers:
            if layer.name in known or not is_ct_scan(layer, allow_2d=False) or "compare_cell" in layer.metadata:
                continue
            meta = CellMetadata.from_layer(layer)
            name = self.session.free_name(meta.cell or layer.name, layer.name)
            entry_meta = {**layer.metadata, "voxel_size_um": [float(s) for s in layer.scale[-3:]]}
            self.add_entry(StudyCellEntry(name, [layer.name], entry_meta, self._voltage_for(meta, name)))
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

        try:
            study = self.session.open(path)
        except LiCellInputError as exc:
            self.show_status(report_error(exc))  # the whole line also where it stays readable
            return [exc.message]
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
        auto = self.session.recoverable_autosave()
        self.restore_button.setVisible(auto is not None)
        if auto is not None:
            report_info(
                f"{self.study_path}: unsaved changes from an earlier session were kept; "
                "press 'Restore unsaved changes' in the Study dock to get them back"
            )

    def restore_unsaved_changes(self) -> bool:
        """Apply the autosaved study (cell metadata, voxel sizes) over the open one; True when done."""
        changed = self.session.restore_autosave()
        if changed is None:
            return False
        for entry, voxel in changed:
            self._write_layers(entry, voxel)
        self.restore_button.setVisible(False)
        if self.study is not None and self.study.cells:
            self.select_cell(self.study.cells[0].name)
        return True

    def open_scan(self, path: str | Path, voxel_size_um: float | None = None) -> str | None:
        """Open one scan file or slice folder lazily as a new cell; returns its name or None on error."""
        from .._napari.readers import volume_layer
        from ..io.read_volume import read_volume

        try:
            volume = read_volume(path, voxel_size_um=voxel_size_um)
        except LiCellInputError as exc:
            self.show_status(report_error(exc))  # the whole line also where it stays readable
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
        voxel = self.session.apply_values(name, self.form.values())
        self._write_layers(self.entries[name], voxel)
        self.select_cell(name)
        self.show_status(f"{name}: metadata applied to its layers.")

    def _write_layers(self, entry: StudyCellEntry, voxel) -> None:
        """The entry's metadata (and voxel size as scale) into its scan layers, announced to every dock."""
        for layer_name in entry.layer_names:
            layer = self.layer_named(layer_name)
            if layer is None:
                continue
            if voxel is not None:
                layer.scale = (
                    tuple(voxel)[-layer.ndim :] if layer.ndim <= 3 else (1.0,) * (layer.ndim - 3) + tuple(voxel)
                )
                layer.metadata.pop("note", None)
            merged = CellMetadata.from_dict({**layer.metadata, **entry.metadata})
            merged.to_layer(layer)

    def save_study(self, path: str | Path | None = None) -> Path | None:
        """Save the open study (atomically); returns the path or None when there is none to save."""
        try:
            saved = self.session.save(path)
        except (LiCellInputError, OSError) as exc:
            self.show_status(report_error(exc))
            return None
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
        return self.session.cell_of(layer.name, scan_of(layer))

    def _on_selection(self) -> None:
        name = self.current_cell()
        if name is None or name not in self.entries:
            return
        entry = self.entries[name]
        if self._shown_cell is not None and self._shown_cell != name:
            self._visible_by_cell[self._shown_cell] = {
                l.name for l in self.viewer.layers if l.visible and self._cell_of(l) == self._shown_cell
            }
        grid = self.viewer.canvas.grid
        if grid.enabled:  # leave the Compare view's side by side: one cell on show
            grid.enabled = False
        remembered = self._visible_by_cell.get(name)
        scan = entry.layer_names[0] if entry.layer_names else None
        for layer in self.viewer.layers:
            cell = self._cell_of(layer)
            if role_of(layer) in (Role.COMPARE, Role.TIMELAPSE):  # one cell on show, in its own axes
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
            # the scan's stack axis in the viewer's axes (a 4D time-lapse adds a leading axis)
            view_note = show_stack_cross_section(self.viewer, self.viewer.dims.ndim - scan_layer.ndim)
        self._shown_cell = name
        voxel = entry.metadata.get("voxel_size_um")
        self.form.set_values(entry.metadata, voxel[0] if voxel else None)
        self.details.setText(
            describe_cell(entry.name, entry.metadata) + (f"<br>{html.escape(view_note)}" if view_note else "")
        )
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
        path, _ = QFileDialog.getOpenFileName(
            self, "Open scan", "", "CT volumes (*.tif *.tiff *.h5 *.hdf5 *.zarr);;All files (*)"
        )
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
        self.recent_button.remember(path)

    def _open_recent(self, path: str) -> None:
        if path.lower().endswith((".yaml", ".yml")):
            self.guarded(self.open_study, path)
        else:
            self.guarded(self.open_scan, path)

    @staticmethod
    def _voltage_for(meta: CellMetadata, name: str):
        try:
            return voltage_for_scan(meta.voltage_file, bool(meta.synthetic), name)
        except LiCellInputError as exc:
            report_error(exc)
            return None

    def _update_buttons(self) -> None:
        self.save_button.setToolTip("" if self.study is not None else "Only a study opened from a file can be saved")
