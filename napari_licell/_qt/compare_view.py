"""Dock: the cells of a study side by side, with their key numbers, per-process statistics and a figure export.

The cross-sections are shown with napari's grid mode: one viewbox per cell,
all drawn by the one canvas with the one camera, so zooming or panning any
of them zooms and pans all of them (linked cameras come free), and all
share the viewer's dims, so every cell is cut at the same depth and the same
cross-section position (in µm, through the layers' scale). Each viewbox is
labelled with its cell's bonding process and pressures (the layer name,
e.g. "P1 | SE 400, C 3 MPa", drawn by the layer's name overlay; the
cell list and the table spell them out).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from qtpy.QtCore import Qt, QTimer
from qtpy.QtWidgets import QCheckBox, QFileDialog, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton

from ..cancellation import Cancelled
from ..compare.cell_titles import cell_title
from ..compare.figure import export_comparison_figure
from ..compare.table import default_measure, key_numbers_table
from .._napari.compare_layers import compare_cell_layers, study_cells_with_labels
from ..layer_roles import Role, role_of
from .compare_widgets import TABLE_COLUMNS, KeyNumbersTable, ProcessStatsFigure, reporting_failures
from ..errors import LiCellInputError
from .cross_section import show_stack_cross_section
from .dock_tabs import find_dock
from .dock_base import LicellDock
from .notify import report_error
from .widget_utils import adaptive_splitter, quietly

__all__ = ["CompareView", "ProcessStatsFigure", "TABLE_COLUMNS"]

#: How the table's "source" values read in a sentence.
_SOURCE_WORDS = {
    "measured": "measured from each cell's labels",
    "ground truth": "from the demo cells' ground truth",
    "measurement failed": "some cells could not be measured",
}


class CompareView(LicellDock):
    """All cells of a study side by side (napari grid mode), their key numbers, statistics and a figure export.

    Parameters
    ----------
    napari_viewer : napari.Viewer

    Notes
    -----
    Grid mode keeps one camera for all viewboxes, so the cells' views are
    linked for free: zoom and pan act on all of them at once. They share the
    viewer's dims too, so all show the same depth and cross-section position.
    Cells come from :meth:`set_cells` (any objects with ``name``,
    ``metadata``, ``image``, ``labels``, ``voxel_size_um``, ``voltage``, e.g.
    :class:`~napari_licell.phantoms.SyntheticCell`) or :meth:`open_demo_study`.
    """

    def __init__(self, napari_viewer, parent=None):
        super().__init__(napari_viewer, parent)
        self.cells: dict[str, Any] = {}
        self.layer_names: dict[str, tuple[str, str | None]] = {}
        self.table = None
        self.measure: Callable[[Any], dict] | None = None
        self._hidden_by_us: list[str] = []
        self._demo_open = False
        self.link(self.viewer.canvas.grid.events.enabled, self._on_grid_enabled)
        self._init_widgets()

    # --- widgets -----------------------------------------------------------------
    def _init_widgets(self) -> None:
        layout = self.body_layout
        row = QHBoxLayout()
        self.demo_button = QPushButton("Demo study")
        self.demo_button.clicked.connect(lambda: self.guarded(self.open_demo_study, background=True))
        self.study_button = QPushButton("Compare study")
        self.study_button.setToolTip("Compare the cells open in the Study dock that have labels")
        self.study_button.clicked.connect(lambda: self.guarded(self.compare_study, self._study(), background=True))
        self.study_dock = None
        self.side_by_side = QCheckBox("Side by side")
        self.side_by_side.setToolTip("napari grid mode: one viewbox per cell, one shared camera")
        self.side_by_side.toggled.connect(self.set_side_by_side)
        self.labels_box = QCheckBox("Labels")
        self.labels_box.setToolTip("Overlay each cell's labels in the class colours")
        self.labels_box.toggled.connect(lambda _: self._apply_visibility())
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip("Cross-sections, voltage curves and the table as one PNG or SVG")
        self.export_button.clicked.connect(self._export_dialog)
        for widget in (self.demo_button, self.study_button, self.side_by_side, self.labels_box, self.export_button):
            row.addWidget(widget)
        layout.addLayout(row)

        splitter = adaptive_splitter(self)  # side by side in the bottom dock, stacked in a side column
        self.cell_list = QListWidget()
        self.cell_list.setMinimumHeight(40)
        self.cell_list.setToolTip("Cells to show, tabulate and export")
        self.cell_list.itemChanged.connect(lambda _: self._on_checks())
        splitter.addWidget(self.cell_list)
        self.table_widget = KeyNumbersTable()
        splitter.addWidget(self.table_widget)
        self.stats = ProcessStatsFigure(self.viewer)
        splitter.addWidget(self.stats)
        for index, stretch in enumerate((1, 3, 2)):  # the table of key numbers gets the most room
            splitter.setStretchFactor(index, stretch)
        splitter.setSizes([60, 180, 120])
        self.splitter = splitter
        layout.addWidget(self.task_bar)
        layout.addWidget(splitter, 1)
        self.source_label = QLabel("No cells to compare.")
        self.source_label.setWordWrap(True)
        layout.addWidget(self.source_label)
        layout.addWidget(self.status)

    # --- model ---------------------------------------------------------------------
    def set_cells(self, cells: Sequence[Any], measure: Callable[[Any], dict] | None = None) -> None:
        """Compare ``cells``: add their layers, measure them, fill the table and switch to side by side.

        Parameters
        ----------
        cells : sequence
            Cells with ``name``, ``metadata``, ``image`` (z, y, x), ``labels``,
            ``voxel_size_um`` (µm) and ``voltage``.
        measure : callable(cell) -> dict, optional
            Key numbers of one cell (see :func:`~napari_licell.compare.table.key_numbers_table`);
            :func:`~napari_licell.compare.table.default_measure` by default.
        """
        measure = measure or default_measure()
        cells = list(cells)
        self._show_cells(cells, key_numbers_table(cells, reporting_failures(measure)), measure)

    def set_cells_in_background(
        self,
        cells: Sequence[Any] | Callable[[], Sequence[Any]],
        measure: Callable[[Any], dict] | None = None,
        then: Callable[[], None] | None = None,
    ):
        """:meth:`set_cells` with the measuring in a worker (progress per cell, Cancel); returns the worker.

        ``then`` runs in the GUI thread after the cells are shown (not when cancelled or failed).
        """
        measure = measure or default_measure()
        load = cells if callable(cells) else (lambda given=list(cells): given)  # a loader runs in the worker too
        safe = reporting_failures(measure)

        def work(progress, cancel):
            todo, done = list(load()), []

            def one(cell):
                if cancel.is_set():
                    raise Cancelled("comparison cancelled")
                numbers = safe(cell)
                done.append(cell)
                progress(len(done), len(todo))
                return numbers

            return todo, key_numbers_table(todo, one)

        return self.start_task(
            work, label="Measuring the cells…", on_done=lambda result: self._show_cells_in_steps(*result, measure, then)
        )

    def _show_cells(
        self, cells: list[Any], table, measure: Callable[[Any], dict], then: Callable[[], None] | None = None
    ) -> None:
        """Add the measured cells' layers, fill the list and the table, and switch to side by side."""
        for _ in self._show_cells_in_steps(cells, table, measure, then):
            pass

    def _show_cells_in_steps(
        self, cells: list[Any], table, measure: Callable[[Any], dict], then: Callable[[], None] | None = None
    ) -> Iterator[None]:
        """:meth:`_show_cells` one layer per step (the dock base runs a step per event-loop turn)."""
        self.measure = measure
        self.cells = {str(c.name): c for c in cells}
        yield from self._add_layers_in_steps()
        self.table = table
        with quietly(self.cell_list):
            self.cell_list.clear()
            for name, cell in self.cells.items():
                item = QListWidgetItem(cell_title(name, cell.metadata))
                item.setData(Qt.UserRole, name)
                item.setFlags(item.flags() | Qt.ItemIsUserCheckable)
                item.setCheckState(Qt.Checked)
                self.cell_list.addItem(item)
        sources = sorted(set(self.table["source"]) - {""})
        self.source_label.setText(
            f"{len(self.cells)} cells; numbers: {', '.join(_SOURCE_WORDS.get(s, s) for s in sources) or 'measured'}. "
            "Zoom and pan act on all cells (one camera); the sliders cut all at the same place."
        )
        self._on_checks()
        if self.side_by_side.isChecked():
            self._apply_visibility()
        else:
            self.side_by_side.setChecked(True)
        self.show_status(f"Compared {len(self.cells)} cells.")
        if then is not None:
            then()

    def on_busy_changed(self, busy: bool) -> None:
        self.demo_button.setEnabled(not busy and not self._demo_open)
        self.study_button.setEnabled(not busy)

    def _demo_opened(self) -> None:
        self._demo_open = True
        self.demo_button.setEnabled(False)

    def open_demo_study(self, background: bool = False) -> None:
        """Compare the demo study's four charged cells (no interlayer, processes 1-3).

        Their truth labels are measured by ``measure_cell`` when the measure
        module is installed; otherwise the numbers are read from the truth.
        """
        from ..phantoms.demo_study import load_demo_study

        def charged_cells():
            return [c for c in load_demo_study() if not c.metadata.get("dummy_cell")]

        if background:
            self.set_cells_in_background(charged_cells, then=self._demo_opened)
        else:
            cells = charged_cells()
            self.set_cells(cells)
            self._demo_opened()

    def follow_study(self, study_dock) -> None:
        """Let "Compare study cells" take its cells from ``study_dock``."""
        self.study_dock = study_dock
        self.study_button.setEnabled(True)

    def compare_study(self, study_dock, background: bool = False) -> int:
        """Compare the cells open in the Study dock that have labels; returns how many.

        A cell's labels are the first of ``"<scan> classes"`` (painted),
        ``"<scan> labels"`` (thresholds applied or opened from the study) and
        ``"<scan> truth"`` found among the viewer's layers.
        """
        if study_dock is None:
            raise LiCellInputError(None, "no Study dock open", "open Plugins > napari-licell > Study first")
        cells = study_cells_with_labels(study_dock.entries, self.viewer.layers)
        if not cells:
            report_error("No cell of the study has labels yet: apply thresholds or paint first")
            return 0
        (self.set_cells_in_background if background else self.set_cells)(cells)
        return len(cells)

    def _study(self):
        """The Study dock this dock follows, else one open in the same window (plain napari), else None."""
        return self.study_dock or find_dock(self, "StudyDock")

    def checked_cells(self) -> list[str]:
        """Names of the cells ticked in the list, in list order."""
        names = []
        for i in range(self.cell_list.count()):
            item = self.cell_list.item(i)
            if item.checkState() == Qt.Checked:
                names.append(item.data(Qt.UserRole))
        return names

    def set_checked(self, name: str, checked: bool) -> None:
        """Tick or untick cell ``name``."""
        for i in range(self.cell_list.count()):
            item = self.cell_list.item(i)
            if item.data(Qt.UserRole) == name:
                item.setCheckState(Qt.Checked if checked else Qt.Unchecked)

    def checked_table(self):
        """The key-numbers table of the ticked cells."""
        if self.table is None:
            return None
        return self.table[self.table["cell"].isin(self.checked_cells())].reset_index(drop=True)

    # --- layers -------------------------------------------------------------------
    def _add_layers_in_steps(self) -> Iterator[None]:
        """Put each cell's scan (and hidden labels) at the bottom of the layer list, in cell order, one per step.

        Pairs sit at layer indices (2k, 2k + 1) so grid stride 2 shows a cell's
        scan with its labels in one viewbox, left to right in cell order.
        """
        for k, (name, cell) in enumerate(self.cells.items()):
            names: list[str | None] = []
            for j, layer in enumerate(compare_cell_layers(name, cell)):
                if layer.name in self.viewer.layers and role_of(self.viewer.layers[layer.name]) == Role.COMPARE:
                    self.viewer.layers.remove(layer.name)  # an earlier copy; a user's layer is never replaced
                self.viewer.layers.insert(2 * k + j, layer)
                names.append(layer.name)
                yield
            self.layer_names[name] = (names[0], names[1] if len(names) > 1 else None)

    def _on_grid_enabled(self, event=None) -> None:
        """Grid mode turned off elsewhere (e.g. a cell picked in the Study dock): untick, forget what we hid."""
        grid = self.viewer.canvas.grid
        if not grid.enabled and self.side_by_side.isChecked():
            self._hidden_by_us = []
            with quietly(self.side_by_side):
                self.side_by_side.setChecked(False)

    def set_side_by_side(self, on: bool) -> None:
        """Grid mode with one viewbox per ticked cell (on), or back to the previous view (off)."""
        grid = self.viewer.canvas.grid
        if on:
            ours = {n for pair in self.layer_names.values() for n in pair if n}
            self._hidden_by_us = [l.name for l in self.viewer.layers if l.visible and l.name not in ours]
            for name in self._hidden_by_us:
                self.viewer.layers[name].visible = False
            grid.stride = 2
            grid.shape = (1, -1)
            grid.spacing = 0.04
            grid.enabled = True
            self._apply_visibility()
            show_stack_cross_section(self.viewer)
            # fit again once Qt has laid out the canvas (its size changes when docks open)
            QTimer.singleShot(0, self.viewer.reset_view)
        else:
            grid.enabled = False
            for pair in self.layer_names.values():
                for name in pair:
                    if name and name in self.viewer.layers:
                        self.viewer.layers[name].visible = False
            for name in self._hidden_by_us:
                if name in self.viewer.layers:
                    self.viewer.layers[name].visible = True
            self._hidden_by_us = []
        with quietly(self.side_by_side):
            self.side_by_side.setChecked(on)

    def _apply_visibility(self) -> None:
        if not self.side_by_side.isChecked():
            return
        checked = set(self.checked_cells())
        for name, (scan, labels) in self.layer_names.items():
            if scan in self.viewer.layers:
                self.viewer.layers[scan].visible = name in checked
            if labels and labels in self.viewer.layers:
                self.viewer.layers[labels].visible = name in checked and self.labels_box.isChecked()
        self.viewer.reset_view()

    def _on_checks(self) -> None:
        self._apply_visibility()
        table = self.checked_table()
        self._fill_table(table)
        self.stats.set_table(table)

    def _fill_table(self, table) -> None:
        self.table_widget.show_table(table)

    def table_rows(self) -> list[list[str]]:
        """The table as shown (after any sorting), one list of cell texts per row."""
        return self.table_widget.rows()

    # --- export -------------------------------------------------------------------
    def current_y_index(self) -> int | None:
        """The y row (voxel) where the viewer cuts the first shown cell, None when unknown."""
        for scan, _ in self.layer_names.values():
            if scan in self.viewer.layers:
                layer = self.viewer.layers[scan]
                data_point = layer.world_to_data(self.viewer.dims.point)
                return int(round(float(data_point[1])))
        return None

    def export_figure(self, path: str | os.PathLike) -> Path:
        """Write the comparison of the ticked cells (cross-sections at the viewer's y, curves, table) to PNG/SVG."""
        names = self.checked_cells()
        if not names:
            raise ValueError("no cells ticked to export")
        return export_comparison_figure(
            [self.cells[n] for n in names], path, table=self.checked_table(), y_index=self.current_y_index()
        )

    def _export_dialog(self) -> None:
        from napari.utils.notifications import show_error, show_info

        path, _ = QFileDialog.getSaveFileName(
            self, "Export comparison figure", "comparison.png", "PNG image (*.png);;SVG vector image (*.svg)"
        )
        if not path:
            return
        try:
            written = self.export_figure(path)
        except (OSError, ValueError) as exc:
            show_error(f"Could not export the comparison to {path}: {exc}")
            return
        show_info(f"Comparison figure saved to {written}")
