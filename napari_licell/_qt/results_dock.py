"""Dock: the numbers of the active cell, its Li thickness map and depth profiles, a report.

Thin: measurement is :func:`napari_licell.measure.measure_cell`, run in a
worker thread with progress and cancel; the dock shows what it returns and
re-measures (debounced) when the labels change.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from qtpy.QtCore import QTimer
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
)

from .. import pipeline
from ..errors import LiCellInputError
from ..layer_roles import Role, is_ct_scan, role_of, scan_of, tagged
from .dock_base import LicellDock
from ..measure.headline import headline_rows
from .notify import report_error
from .results_plots import ResultsPlots

__all__ = ["ResultsDock", "headline_rows"]


class ResultsDock(LicellDock):
    """Numbers, thickness map and depth profiles of the chosen labels layer."""

    def __init__(self, napari_viewer, parent=None):
        super().__init__(napari_viewer, parent)
        self.measurement = None
        self._measured: dict[str, Any] = {}  # the last measurement of each labels layer, by name
        self._watched = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(1000)
        self._init_widgets()
        self._add_callbacks()
        self.on_layers_changed()
        self.follow_shown_scan()

    def _init_widgets(self) -> None:
        layout = self.body_layout
        form = QFormLayout()
        self.labels_box = QComboBox()
        self.image_box = QComboBox()
        form.addRow("Labels", self.labels_box)
        form.addRow("Scan (optional)", self.image_box)
        layout.addLayout(form)
        row = QHBoxLayout()
        self.measure_button = QPushButton("Measure")
        self.measure_button.setToolTip("Measure where the lithium is (in the background)")
        self.auto_update = QCheckBox("Update when labels change")
        self.auto_update.setChecked(True)
        row.addWidget(self.measure_button)
        row.addWidget(self.auto_update)
        layout.addLayout(row)
        layout.addWidget(self.task_bar)
        self.progress, self.cancel_button = self.task_bar.progress_bar, self.task_bar.cancel_button
        self.verdict_label = QLabel("Choose a labels layer and press Measure.")
        self.verdict_label.setWordWrap(True)
        layout.addWidget(self.verdict_label)
        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(["quantity", "value"])
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()  # values whole; long quantity names wrap in a narrow column
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.table.setWordWrap(True)
        self.table.setMinimumHeight(120)
        layout.addWidget(self.table, 1)
        self.plots = ResultsPlots(self.viewer)
        layout.addWidget(self.plots, 1)
        row2 = QHBoxLayout()
        self.report_button = QPushButton("Report (HTML)…")
        self.json_button = QPushButton("Numbers (JSON)…")
        row2.addWidget(self.report_button)
        row2.addWidget(self.json_button)
        self.footer_layout.addLayout(row2)  # the report buttons stay in view
        self.footer_layout.addWidget(self.status)
        for button in (self.report_button, self.json_button):
            button.setEnabled(False)

    def _add_callbacks(self) -> None:
        self.measure_button.clicked.connect(lambda: self.guarded(self.measure))
        self.labels_box.currentTextChanged.connect(self._watch_labels)
        self.labels_box.currentTextChanged.connect(self._show_measured_of)
        self._timer.timeout.connect(lambda: self.guarded(self.measure))
        self.report_button.clicked.connect(self._ask_report)
        self.json_button.clicked.connect(self._ask_json)

    # --- layers ------------------------------------------------------------
    def on_layers_changed(self, event=None) -> None:
        from napari.layers import Labels

        measurable = (None, Role.LABELS, Role.CLASSES, Role.TRUTH)
        layers = [
            layer
            for layer in self.viewer.layers
            if isinstance(layer, Labels) and layer.ndim == 3 and role_of(layer) in measurable
        ]
        # the user's own labels first; ground truth of the demo cells last, never picked by itself
        labels = [layer.name for layer in layers if role_of(layer) != Role.TRUTH]
        labels += [layer.name for layer in layers if role_of(layer) == Role.TRUTH]
        images = [layer.name for layer in self.viewer.layers if is_ct_scan(layer, allow_2d=False)]
        for box, names, allow_none in ((self.labels_box, labels, True), (self.image_box, images, True)):
            current = box.currentText()
            box.blockSignals(True)
            box.clear()
            if allow_none:
                box.addItem("")
            box.addItems(names)
            if current in names:
                box.setCurrentText(current)
            box.blockSignals(False)
        added = getattr(event, "value", None)
        if added is not None and role_of(added) in (Role.LABELS, Role.CLASSES):  # new labels of the shown scan
            shown = self.image_box.currentText()
            if not shown or scan_of(added) == shown:
                self.labels_box.setCurrentText(added.name)
        elif not self.labels_box.currentText() and self.image_box.currentText():
            self._pick_labels_of(self.image_box.currentText())
        self._watch_labels(self.labels_box.currentText())

    def on_scan_shown(self, scan: str) -> None:
        """Follow the cell the user shows: its scan, and its own labels (painted, else thresholded)."""
        if self.image_box.findText(scan) < 0 or scan == self.image_box.currentText():
            return
        self.image_box.setCurrentText(scan)
        chosen = self.layer_named(self.labels_box.currentText())
        if chosen is None or scan_of(chosen) != scan:  # the user's own pick for this scan stays
            self._pick_labels_of(scan)

    def _pick_labels_of(self, scan: str) -> None:
        """The scan's painted classes, else its thresholded labels, else nothing (never the ground truth)."""
        for role in (Role.CLASSES, Role.LABELS):
            for layer in self.viewer.layers:
                if role_of(layer) == role and scan_of(layer) == scan and self.labels_box.findText(layer.name) >= 0:
                    self.labels_box.setCurrentText(layer.name)
                    return
        self.labels_box.setCurrentText("")
        self.verdict_label.setText(
            f"{scan} has no labels yet: apply thresholds or paint, then Measure (or pick a labels layer above)."
        )

    def _watch_labels(self, name: str) -> None:
        if self._watched is not None:
            try:
                self._watched.events.labels_update.disconnect(self._on_labels_changed)
            except (TypeError, ValueError, AttributeError):
                pass
            self._watched = None
        layer = self.layer_named(name)
        if layer is not None:
            event = getattr(layer.events, "labels_update", None) or layer.events.data
            event.connect(self._on_labels_changed)
            self._watched = layer
            scan = scan_of(layer)
            if scan and self.image_box.findText(scan) >= 0:
                self.image_box.setCurrentText(scan)

    def _on_labels_changed(self, event=None) -> None:
        if self.auto_update.isChecked() and self.measurement is not None:
            self._timer.start()

    def set_layers(self, labels_name: str, image_name: str = "") -> None:
        """Choose the layers to measure (as a user would in the combo boxes)."""
        self.labels_box.setCurrentText(labels_name)
        self.image_box.setCurrentText(image_name)

    # --- measuring ---------------------------------------------------------
    def _inputs(self) -> dict[str, Any]:
        layer = self.layer_named(self.labels_box.currentText())
        if layer is None:
            raise LiCellInputError(
                None, "choose a labels layer to measure", "apply thresholds, paint, or open labels first"
            )
        image_layer = self.layer_named(self.image_box.currentText())
        meta = dict(image_layer.metadata) if image_layer is not None else {}
        meta.update({k: v for k, v in layer.metadata.items() if k not in meta})
        image = image_layer.data if image_layer is not None else None
        if image is not None and tuple(image.shape) != tuple(layer.data.shape):
            image = None
        return {
            "labels": layer.data,
            "voxel_size_um": tuple(float(s) for s in layer.scale[-3:]),
            "image": image,
            "options": pipeline.AnalysisOptions.from_metadata(meta),
            "contrast": layer.metadata.get("contrast"),
            "gas_pores": layer.metadata.get("gas_pores"),
            "calibration": pipeline.scan_calibration(meta),
            "name": layer.name,
        }

    def measure(self):
        """Measure the chosen labels layer in a worker thread (progress and Cancel in the dock)."""
        if self.busy:
            return self.worker
        inputs = self._inputs()

        def work(progress, cancel):
            options, contrast, image = inputs["options"], inputs["contrast"], inputs["image"]
            if contrast is None and image is not None:  # the scan's one CNR, as analyze and the Thresholds dock
                hists = pipeline.scan_histograms(image, cancel=cancel)
                contrast = pipeline.contrast_record(
                    pipeline.judge_contrast(hists, options, inputs["calibration"]), options
                )
            m = pipeline.measure_scan(
                inputs["labels"],
                inputs["voxel_size_um"],
                options,
                image=image,
                contrast=contrast,
                name=inputs["name"],
                progress=progress,
                cancel=cancel,
            )
            pipeline.note_gas_pores(m, inputs["gas_pores"])  # as analyze reports it
            return m

        self.measure_button.setEnabled(False)
        return self.start_task(
            work,
            label=f"Measuring {inputs['name']}…",
            on_done=self._on_measured,
            on_cancelled=lambda: self.verdict_label.setText("Measurement cancelled; the previous results are kept."),
        )

    def on_busy_changed(self, busy: bool) -> None:
        self.measure_button.setEnabled(not busy)

    def _on_measured(self, m) -> None:
        self._measured[m.name] = m
        self._display(m)
        self._show_thickness_layer(m)
        self.show_status(f"Measured {m.name}.")

    def _show_measured_of(self, name: str) -> None:
        """Show the chosen labels' own last measurement, or nothing (never another cell's numbers)."""
        m = self._measured.get(name)
        if m is not None:
            self._display(m)
        else:  # also after "no labels yet": the labels that came since are named
            if self.measurement is not None:
                self.measurement = None
                self.table.setRowCount(0)
                self.plots.show_measurement(None)
                self.show_status("")
            self.verdict_label.setText(
                f"{name}: not measured yet; press Measure." if name else "Choose a labels layer and press Measure."
            )
        for button in (self.report_button, self.json_button):
            button.setEnabled(self.measurement is not None)

    def _display(self, m) -> None:
        self.measurement = m
        for button in (self.report_button, self.json_button):
            button.setEnabled(True)
        d = m.to_dict()
        self.verdict_label.setText(f"<b>{d['verdict']}</b>: {d['verdict_reason']}")
        rows = headline_rows(m)
        self.table.setRowCount(len(rows))
        for i, (quantity, value) in enumerate(rows):
            self.table.setItem(i, 0, QTableWidgetItem(quantity))
            self.table.item(i, 0).setToolTip(quantity)
            self.table.setItem(i, 1, QTableWidgetItem(value))
        self.table.resizeRowsToContents()
        self.plots.show_measurement(m)

    def _show_thickness_layer(self, m) -> None:
        """The thickness map (µm) as a hidden 2D image layer over (y, x), for the plan view."""
        name = f"{m.name} Li thickness (µm)"
        vz, vy, vx = m.oriented_voxel_size_um
        data = np.nan_to_num(m.li_layer.thickness_map_um.astype(np.float32))
        existing = self.layer_named(name)
        if existing is not None:
            existing.data = data
            return
        scan = self.image_box.currentText() or m.name
        meta = tagged({"unit": "um", "measurement": "li_layer_thickness_map"}, Role.THICKNESS_MAP, scan)
        active = self.viewer.layers.selection.active
        with self.adding_own_layer():
            self.viewer.add_image(
                data, name=name, scale=(vy, vx), colormap="viridis", visible=False, metadata=meta, units=("um", "um")
            )  # as the scans: no "inconsistent units" warning
            if active is not None and self.has_layer(active):  # the map does not take the user's place
                self.viewer.layers.selection.active = active

    # --- export -------------------------------------------------------------
    def write_report(self, path: str | Path) -> Path | None:
        """Write the HTML report of the last measurement."""
        from ..report.html_report import write_cell_report

        if self.measurement is None:
            report_error("Measure a cell first")
            return None
        try:
            return write_cell_report(self.measurement, path)
        except OSError as exc:
            report_error(exc)
            return None

    def write_json(self, path: str | Path) -> Path | None:
        """Write every number of the last measurement as JSON."""
        from ..io.writers import write_json

        if self.measurement is None:
            report_error("Measure a cell first")
            return None
        return write_json(path, self.measurement.to_dict())

    def _ask_report(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save report", "report.html", "HTML (*.html)")
        if path:
            self.write_report(path)

    def _ask_json(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save numbers", "measurements.json", "JSON (*.json)")
        if path:
            self.write_json(path)
