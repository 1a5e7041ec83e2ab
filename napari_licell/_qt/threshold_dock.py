"""Dock: xenon-contrast thresholds on the histogram, live section preview, apply to the volume.

A view of a :class:`~napari_licell.threshold_session.ThresholdSession`: the
histograms are counted in a worker (never on the GUI thread), suggestion,
contrast verdict and classification are the pipeline's
(:mod:`napari_licell.pipeline`), the preview of the shown section is
:func:`~napari_licell.segmentation.preview.preview_section` and is off until
the user asks for it. Only CT scans are thresholded (not maps, uncertainty,
comparison copies or 4D time-lapses).
"""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np
from qtpy.QtCore import QTimer
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from .. import pipeline
from ..cell_metadata import CellMetadata, metadata_changed
from ..errors import LiCellInputError
from ..layer_roles import Role, is_ct_scan, tagged
from ..segmentation import DENOISE_METHODS, ThresholdSet, threshold_sensitivity
from ..segmentation.preview import preview_section
from ..threshold_session import ScanRef, ThresholdSession
from .._napari.layers import labels_layer_tuple
from .dock_base import LicellDock
from .histogram_plot import HistogramPlot
from .settings import SettingsDialog, memory_limit_bytes
from .threshold_widgets import RecoveryRow, SensitivityTable, ThresholdBoxes

#: Outline colour of the cell region (not a class colour: the region is where classes are counted).
_REGION_RGBA = (0.35, 0.85, 1.0, 1.0)

__all__ = ["ThresholdDock"]

_NONE = "(none)"
#: Seconds between the last threshold change and its autosave.
AUTOSAVE_DELAY_SECONDS = 2.0


def _data_of(layer):
    """Full-resolution data of an image layer (level 0 of a multiscale image)."""
    return layer.data[0] if getattr(layer, "multiscale", False) else layer.data


def _scan_ref(layer) -> ScanRef:
    path = getattr(getattr(layer, "source", None), "path", None) or (layer.metadata or {}).get("source")
    return ScanRef(id(layer), layer.name, str(path) if path else None)


def _new_store_folder(name: str) -> Path:
    """A fresh folder in the cache (``$LICELL_CACHE_DIR/label-stores``) for a big scan's label store."""
    from ..cache_dir import cache_root

    base = cache_root() / "label-stores"
    base.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "labels"
    return Path(tempfile.mkdtemp(prefix=f"{stem}-", dir=base))


class ThresholdDock(LicellDock):
    """Thresholds for xenon-contrast CT: histogram with markers, suggestion, preview, apply, contrast.

    Parameters
    ----------
    napari_viewer : napari.Viewer
    autosave_delay_seconds : float
        Seconds after the last hand change before the thresholds are autosaved beside the scan (<= 0: off).
    """

    def __init__(self, napari_viewer, parent=None, autosave_delay_seconds: float = AUTOSAVE_DELAY_SECONDS):
        super().__init__(napari_viewer, parent)
        self.session = ThresholdSession()
        self.autosave_delay_seconds = float(autosave_delay_seconds)
        self.verdict = self.compare_verdict = self.last_result = self.threshold_recovery = None
        self.sensitivity: list = []
        self._damaged_autosave: Path | None = None
        self._image = self._compare = None
        self._histograms_wanted = False
        self._adding_own_layer = False
        self._corrected: dict[int, Any] = {}  # scan data token -> the scan with rings and cupping taken off
        self._build()
        self.autosave_timer = QTimer(self)
        self.autosave_timer.setSingleShot(True)
        self.autosave_timer.timeout.connect(lambda: self.guarded(self.autosave_thresholds_now))
        for emitter, slot in ((self.viewer.dims.events.current_step, self._on_dims),
                              (self.viewer.dims.events.ndisplay, self._on_dims),
                              (self.viewer.dims.events.order, self._on_dims),
                              (self.viewer.layers.selection.events.active, self._on_active_layer),
                              (metadata_changed, self._on_metadata_changed)):
            self.link(emitter, slot)
        self.guarded(self.on_layers_changed)
        self.guarded(self.follow_shown_scan)

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        tabs = QTabWidget()
        self.tabs = tabs
        main = QWidget()
        box = QVBoxLayout(main)
        box.setContentsMargins(2, 2, 2, 2)
        grid = QGridLayout()
        self.image_combo, self.compare_combo = QComboBox(), QComboBox()
        self.gas_combo = QComboBox()
        self.gas_combo.addItems(["unknown", "Xe", "Ar"])
        self.pressure = QDoubleSpinBox(minimum=0.0, maximum=20.0, value=6.0, decimals=1, suffix=" atm")
        self.method_combo = QComboBox()
        self.method_combo.addItems(["peaks", "multiotsu"])
        grid.addWidget(QLabel("Scan"), 0, 0)
        grid.addWidget(self.image_combo, 0, 1, 1, 3)
        grid.addWidget(QLabel("Gas"), 1, 0)
        grid.addWidget(self.gas_combo, 1, 1)
        grid.addWidget(self.pressure, 1, 2)
        grid.addWidget(self.method_combo, 1, 3)
        box.addLayout(grid)
        row = QHBoxLayout()
        self.suggest_button = QPushButton("Suggest")
        self.suggest_button.setToolTip("Thresholds from the peaks of the scan's histogram (and the gas physics)")
        self.zoom_low = QCheckBox("Zoom to Li / gas")
        self.zoom_low.setChecked(True)
        self.live_preview = QCheckBox("Live preview")
        self.live_preview.setToolTip("Colour the shown section by the thresholds as you move them")
        for w in (self.suggest_button, self.zoom_low, self.live_preview):
            row.addWidget(w)
        box.addLayout(row)
        self.restore_row = RecoveryRow()
        self.restore_thresholds_button = self.restore_row.restore_button
        self.discard_thresholds_button = self.restore_row.discard_button
        box.addWidget(self.restore_row)
        self.plot = HistogramPlot(self.viewer)
        box.addWidget(self.plot, 1)
        self.values = ThresholdBoxes(lambda i, v: self.guarded(self.set_threshold, i, v))
        box.addWidget(self.values)
        self.verdict_label = QLabel("")
        self.verdict_label.setWordWrap(True)
        box.addWidget(self.verdict_label)
        tabs.addTab(main, "Thresholds")
        compare = QWidget()
        form = QFormLayout(compare)
        form.addRow("Compare with", self.compare_combo)
        self.side_by_side = QCheckBox("Side by side (grid)")
        form.addRow(self.side_by_side)
        self.compare_label = QLabel("")
        self.compare_label.setWordWrap(True)
        form.addRow(self.compare_label)
        tabs.addTab(compare, "Compare")
        self.sensitivity_table = SensitivityTable()
        tabs.addTab(self.sensitivity_table, "Sensitivity")
        options = QWidget()
        form = QFormLayout(options)
        self.denoise_combo = QComboBox()
        self.denoise_combo.addItems(list(DENOISE_METHODS))
        self.pv_check = QCheckBox("Partial-volume rules")
        self.pv_check.setToolTip("Dark shells next to bright phases stay dark")
        self.pv_check.setChecked(True)
        self.band_check = QCheckBox("Carbon band by position")
        self.band_check.setChecked(True)
        self.settings_button = QToolButton()
        self.settings_button.setText("Memory limit… ⚙")
        form.addRow("Denoise", self.denoise_combo)
        form.addRow(self.pv_check)
        form.addRow(self.band_check)
        form.addRow(self.settings_button)
        tabs.addTab(options, "Options")
        self.body_layout.addWidget(tabs, 1)
        self.apply_button = QPushButton("Apply to volume")
        self.apply_button.setToolTip("Classify the whole scan with these thresholds (in the background)")
        # in the footer: Apply, its progress and Cancel stay in view on a laptop screen however long the tabs
        self.footer_layout.addWidget(self.apply_button)
        self.footer_layout.addWidget(self.task_bar)
        self.progress_bar, self.cancel_button = self.task_bar.progress_bar, self.task_bar.cancel_button
        self.footer_layout.addWidget(self.status)
        self.image_combo.currentTextChanged.connect(lambda _t: self.guarded(self._on_image_changed))
        self.compare_combo.currentTextChanged.connect(lambda _t: self.guarded(self._on_compare_changed))
        self.side_by_side.toggled.connect(lambda on: self.guarded(self.set_side_by_side, on))
        self.gas_combo.currentTextChanged.connect(lambda _t: self.guarded(self._update_verdicts))
        self.pressure.valueChanged.connect(lambda _v: self.guarded(self._update_verdicts))
        self.suggest_button.clicked.connect(lambda: self.guarded(self.suggest))
        self.zoom_low.toggled.connect(lambda _on: self._redraw_plot())
        self.live_preview.toggled.connect(lambda on: self.guarded(self._on_live_preview, on))
        self.apply_button.clicked.connect(lambda: self.guarded(self.apply_to_volume))
        self.settings_button.clicked.connect(lambda: SettingsDialog(self).exec())
        self.restore_thresholds_button.clicked.connect(lambda: self.guarded(self.restore_thresholds))
        self.discard_thresholds_button.clicked.connect(lambda: self.guarded(self.discard_thresholds))
        self.plot.marker_moved.connect(lambda i, v: self.guarded(self.set_threshold, i, v))
        self.plot.marker_released.connect(lambda i: self.guarded(self._after_hand_change))

    # ------------------------------------------------------------------ layers
    @property
    def image_layer(self):
        """The scan the thresholds are for (None when no scan is open)."""
        return self.layer_named(self.image_combo.currentText())

    @property
    def compare_layer(self):
        """The scan compared side by side (None when not comparing)."""
        name = self.compare_combo.currentText()
        return None if name in ("", _NONE, self.image_combo.currentText()) else self.layer_named(name)

    def _hists(self, layer) -> pipeline.ScanHistograms | None:
        return None if layer is None else self.session.histograms(id(_data_of(layer)))

    @property
    def histogram(self):
        h = self._hists(self.image_layer)
        return None if h is None else h.full

    @property
    def interior(self):
        h = self._hists(self.image_layer)
        return None if h is None else h.interior

    @property
    def compare_histogram(self):
        h = self._hists(self.compare_layer)
        return None if h is None else h.full

    @property
    def thresholds(self) -> ThresholdSet | None:
        layer = self.image_layer
        return None if layer is None else self.session.thresholds(id(layer))

    @property
    def value_boxes(self) -> list:
        """The threshold spin boxes, one per boundary."""
        return self.values.boxes

    @property
    def last_threshold_autosave(self) -> Path | None:
        return self.session.last_autosave

    @property
    def gas(self) -> tuple[str | None, float | None]:
        """Fill gas and pressure (atm) as set in the dock (None when unknown)."""
        gas = self.gas_combo.currentText()
        return (None, None) if gas == "unknown" else (gas, float(self.pressure.value()))

    def analysis_options(self) -> pipeline.AnalysisOptions:
        """The pipeline options the dock's controls say (gas, method, denoise, rules, memory limit)."""
        gas, pressure = self.gas
        return pipeline.AnalysisOptions(
            gas=gas, gas_pressure_atm=pressure, method=self.method_combo.currentText(),
            denoise=self.denoise_combo.currentText(), partial_volume=self.pv_check.isChecked(),
            carbon_band=self.band_check.isChecked(), memory_limit_bytes=memory_limit_bytes())

    def on_layers_changed(self, event=None) -> None:
        names = [layer.name for layer in self.viewer.layers if is_ct_scan(layer)]
        for combo, extra in ((self.image_combo, []), (self.compare_combo, [_NONE])):
            current = combo.currentText()
            combo.blockSignals(True)
            combo.clear()
            combo.addItems(extra + names)
            combo.setCurrentText(current if current in extra + names else (extra[0] if extra else ""))
            combo.blockSignals(False)
        if self.image_layer is not self._image:
            self._on_image_changed()
        if self.compare_layer is not self._compare:
            self._on_compare_changed()

    def _on_active_layer(self, event=None) -> None:
        """Follow the scan the user (or the Study dock) made active; anything else is not followed."""
        active = self.viewer.layers.selection.active
        if self._adding_own_layer:
            return
        if active is not None and is_ct_scan(active) and active.name != self.image_combo.currentText():
            self.image_combo.setCurrentText(active.name)

    def on_scan_shown(self, scan: str) -> None:
        """Follow the cell on show (also when the dock opens after the cell was picked)."""
        layer = self.layer_named(scan)
        if layer is not None and is_ct_scan(layer) and scan != self.image_combo.currentText():
            self.image_combo.setCurrentText(scan)

    def set_image(self, name: str) -> None:
        """Choose the scan by name."""
        if self.image_combo.findText(name) < 0:
            raise LiCellInputError(None, f"no scan layer named {name!r}")
        self.image_combo.setCurrentText(name)

    def set_compare(self, name: str | None) -> None:
        """Compare with another scan (None or "(none)" to stop)."""
        self.compare_combo.setCurrentText(name or _NONE)

    def _on_metadata_changed(self, layer_name: str) -> None:
        if self.image_layer is not None and layer_name == self.image_layer.name:
            self._read_gas(self.image_layer)
            self._update_verdicts()

    def _read_gas(self, layer) -> None:
        meta = CellMetadata.from_layer(layer)
        for widget, value in ((self.gas_combo, meta.gas or "unknown"),):
            widget.blockSignals(True)
            widget.setCurrentText(value)
            widget.blockSignals(False)
        if meta.gas_pressure_atm is not None:
            self.pressure.blockSignals(True)
            self.pressure.setValue(meta.gas_pressure_atm)
            self.pressure.blockSignals(False)

    def _on_image_changed(self) -> None:
        layer = self._image = self.image_layer
        for other in self.viewer.layers:  # only the chosen scan's preview is shown
            if other.metadata.get("role") == Role.PREVIEW.value:
                other.visible = layer is not None and other.metadata.get("scan") == layer.name \
                    and self.live_preview.isChecked()
        if layer is not None:
            self._read_gas(layer)
            self.guarded(self.check_threshold_recovery)  # a damaged autosave is reported; the scan still opens
        else:
            self.restore_row.offer(None)
        self.values.rebuild(self.thresholds)
        self._count_missing_histograms()
        self._refresh()

    def _on_compare_changed(self) -> None:
        self._compare = self.compare_layer
        self._count_missing_histograms()
        self._update_verdicts()
        self._redraw_plot()

    # ------------------------------------------------------------------ histograms (always in a worker)
    def _count_missing_histograms(self) -> None:
        layers = [l for l in (self.image_layer, self.compare_layer) if l is not None and self._hists(l) is None]
        if not layers:
            return
        if self.busy:
            self._histograms_wanted = True
            return
        data = [(id(_data_of(l)), _data_of(l)) for l in layers]
        options = self.analysis_options()

        def work(progress, cancel):
            counted = []
            for token, d in data:  # as analyze: the cell region (the jig stays out), rings and cupping off
                prepared = pipeline.prepare_scan(d, options, cancel=cancel,
                                                 progress=lambda stage, done, total: progress(done, total))
                counted.append((token, prepared.histograms, prepared.region, prepared.data))
            return counted

        self.start_task(work, label=f"Counting the histogram of {layers[0].name}…", on_done=self._on_histograms)

    def _on_histograms(self, counted) -> None:
        for token, hists, region, corrected in counted:
            self.session.store_histograms(token, hists, region)
            self._corrected[token] = corrected
        notes = [self._show_region(layer) for layer in (self.image_layer, self.compare_layer) if layer is not None]
        layer = self.image_layer
        if layer is not None and self.histogram is not None and self.thresholds is None:
            self.suggest()
        if notes and notes[0]:
            self.show_status(f"{self.status.text()}\n{notes[0]}")
        self._refresh()

    def region_of(self, layer) -> Any:
        """The cell region of ``layer``'s scan (None: the whole volume is the cell)."""
        return None if layer is None else self.session.region(id(_data_of(layer)))

    def _show_region(self, layer) -> str:
        """The cell region as an outlined labels layer over its scan (computed lazily); returns a note on it."""
        region = self.region_of(layer)
        name = f"{layer.name} cell region"
        if region is None or getattr(region, "is_whole_volume", False) or self.layer_named(name) is not None:
            return ""
        import dask.array as da

        from ..classes import LABEL_DTYPE

        mask = da.from_array(region, chunks=(max(1, min(16, region.shape[0])), *region.shape[1:]), asarray=True)
        from napari.utils.colormaps import DirectLabelColormap

        data = mask.astype(LABEL_DTYPE)
        meta = tagged({"definition": "inside the bore of the PEEK tube and the reconstruction circle",
                       "region": region.to_dict()}, Role.REGION, layer.name)
        outline = DirectLabelColormap(color_dict={None: (0, 0, 0, 0), 0: (0, 0, 0, 0), 1: _REGION_RGBA})
        d, kwargs, _ = labels_layer_tuple(data, name, layer.scale[-3:], meta, colormap=outline,
                                          translate=tuple(layer.translate)[-3:], opacity=0.8,
                                          units=tuple(str(u) for u in layer.units)[-3:])  # the scan's own units
        active = self.viewer.layers.selection.active
        with self.adding_own_layer():
            added = self.viewer.add_labels(d, **kwargs)
            added.contour = 2  # the outline only: the scan stays readable inside
            if active is not None and self.has_layer(active):
                self.viewer.layers.selection.active = active
        found = "the bore of the PEEK tube" if region.bore is not None else "the reconstruction circle"
        return (f"{layer.name}: cell region found ({found}, outlined in “{name}”); "
                "the jig and the no-data area outside it are left out of every number.")

    def on_busy_changed(self, busy: bool) -> None:
        self.apply_button.setEnabled(not busy)
        if not busy and self._histograms_wanted:
            self._histograms_wanted = False
            QTimer.singleShot(0, lambda: self.guarded(self._count_missing_histograms))

    # ------------------------------------------------------------------ thresholds
    def suggest(self) -> ThresholdSet:
        """Suggest thresholds from the chosen scan's histogram (and its calibration)."""
        layer = self.image_layer
        if layer is None:
            raise LiCellInputError(None, "no image layer to threshold", "open a scan first")
        hists = self._hists(layer)
        if hists is None:
            self._count_missing_histograms()
            raise LiCellInputError(None, f"{layer.name}: the histogram is still being counted", "try again shortly")
        ts = pipeline.suggest_scan_thresholds(hists, self.resolved_options(layer),
                                              pipeline.scan_calibration(layer.metadata))
        self.set_thresholds(ts)
        self.show_status("Suggested " + _describe(ts))
        return ts

    def set_thresholds(self, ts: ThresholdSet) -> None:
        """Use a whole threshold set (rebuilds markers and value boxes)."""
        layer = self.image_layer
        if layer is None:
            raise LiCellInputError(None, "no image layer to threshold", "open a scan first")
        self.session.set_thresholds(_scan_ref(layer), ts)
        self.values.rebuild(ts)
        self._refresh()

    def set_threshold(self, i: int, value: float) -> float:
        """Move threshold ``i`` to ``value`` grey (kept between its neighbours); returns the value used."""
        layer = self.image_layer
        if layer is None or self.thresholds is None:
            raise LiCellInputError(None, "no thresholds yet", "press Suggest first")
        ts = self.session.move(_scan_ref(layer), i, value)
        self.values.update_values(ts)
        self.plot.move_marker(i, ts)
        self.update_preview()
        if self.plot.dragging is None:
            self._after_hand_change()  # a drag is judged and autosaved once, on release
        return ts.values[i]

    def _after_hand_change(self) -> None:
        self._update_sensitivity()
        if self.autosave_delay_seconds > 0 and self.session.pending:
            self.autosave_timer.start(int(round(self.autosave_delay_seconds * 1000)))

    def _refresh(self) -> None:
        self._redraw_plot()
        self.update_preview()
        self._update_sensitivity()
        self._update_verdicts()

    def _redraw_plot(self) -> None:
        curves = [(l.name, self.histogram if k == 0 else self.compare_histogram)
                  for k, l in enumerate((self.image_layer, self.compare_layer)) if l is not None]
        self.plot.show_histograms(curves, self.thresholds, self.zoom_low.isChecked())

    def _update_sensitivity(self) -> None:
        ts, hist = self.thresholds, self.histogram
        self.sensitivity = [] if ts is None or hist is None else threshold_sensitivity(ts, hist)
        self.sensitivity_table.show_rows(self.sensitivity)

    def _update_verdicts(self) -> None:
        self.verdict = self._verdict_of(self.image_layer, self.analysis_options())
        self.verdict_label.setText("" if self.verdict is None else f"{self.image_layer.name}: {self.verdict.reason}")
        other = self.compare_layer
        self.compare_verdict = None if other is None else self._verdict_of(other, CellMetadata.from_layer(other)
                                                                           .analysis_options())
        self.compare_label.setText("" if self.compare_verdict is None
                                   else f"{other.name}: {self.compare_verdict.reason}")

    def _verdict_of(self, layer, options):
        hists = self._hists(layer)
        if hists is None:
            return None
        resolved, inference, verdict = pipeline.judge_scan_contrast(hists, options,
                                                                    pipeline.scan_calibration(layer.metadata))
        if inference is not None and inference.gas is not None:  # as analyze: the gas the data show
            pressure = f" {resolved.gas_pressure_atm:.1f} atm" if resolved.gas_pressure_atm is not None else ""
            verdict = replace(verdict, reason=f"{verdict.reason} (fill gas not given: {resolved.gas}{pressure} "
                                              "inferred from the data)")
        return verdict

    def resolved_options(self, layer=None) -> pipeline.AnalysisOptions:
        """The dock's options with the fill gas inferred from the scan when none is set (as analyze does)."""
        layer = self.image_layer if layer is None else layer
        options, hists = self.analysis_options(), self._hists(layer)
        if hists is None or options.gas is not None:
            return options
        return pipeline.resolve_fill_gas(hists, options, pipeline.scan_calibration(layer.metadata))[0]

    def set_side_by_side(self, on: bool) -> None:
        """napari grid mode with the scan and the compared scan next to each other."""
        self.viewer.grid.enabled = bool(on)
        if on and self.compare_layer is None:
            self.show_status("Side by side: choose a scan to compare with.")
        if self.side_by_side.isChecked() != bool(on):
            self.side_by_side.blockSignals(True)
            self.side_by_side.setChecked(bool(on))
            self.side_by_side.blockSignals(False)

    # ------------------------------------------------------------------ preview
    def _on_live_preview(self, on: bool) -> None:
        preview = self.preview_layer
        if preview is not None:
            preview.visible = bool(on)
        self.update_preview()

    def _on_dims(self, event=None) -> None:
        self.guarded(self.update_preview)

    def _section_index(self, layer) -> tuple | None:
        """Index tuple of the displayed 2D section of ``layer`` (None in 3D view)."""
        dims = self.viewer.dims
        if dims.ndisplay != 2:
            return None
        offset = dims.ndim - layer.ndim
        displayed = {d - offset for d in dims.displayed if d - offset >= 0}
        pos = layer.world_to_data(dims.point)
        shape = _data_of(layer).shape
        return tuple(slice(None) if ax in displayed else int(np.clip(np.round(pos[ax]), 0, shape[ax] - 1))
                     for ax in range(layer.ndim))

    @property
    def preview_layer(self):
        """The ``"<scan> preview"`` labels layer, if present."""
        layer = self.image_layer
        return None if layer is None else self.layer_named(f"{layer.name} preview")

    def update_preview(self) -> None:
        """Classify the displayed section with the current thresholds into the preview layer (when asked for)."""
        layer, ts = self.image_layer, self.thresholds
        if layer is None or ts is None or not self.live_preview.isChecked():
            return
        idx = self._section_index(layer)
        if idx is None:
            return
        data = preview_section(_data_of(layer), idx, ts, self.histogram)
        translate = np.asarray(layer.translate, dtype=float).copy()
        for ax, s in enumerate(idx):
            if not isinstance(s, slice):
                translate[ax] += s * float(layer.scale[ax])
        preview = self.preview_layer
        if preview is None:
            meta = tagged({"preview_of": layer.name, "thresholds": ts.to_dict()}, Role.PREVIEW, layer.name)
            d, kwargs, _ = labels_layer_tuple(data, f"{layer.name} preview", layer.scale, meta,
                                              translate=tuple(translate), opacity=0.5)
            active = self.viewer.layers.selection.active
            with self.adding_own_layer():
                self.viewer.add_labels(d, **kwargs)
                if active is not None and self.has_layer(active):
                    self.viewer.layers.selection.active = active
        else:
            preview.translate = tuple(translate)
            preview.data = data
            preview.metadata["thresholds"] = ts.to_dict()

    # ------------------------------------------------------------------ apply
    def apply_to_volume(self):
        """Classify the whole scan off the GUI thread into the ``"<scan> labels"`` layer."""
        layer = self.image_layer
        if layer is None:
            raise LiCellInputError(None, "no image layer to classify", "open a scan first")
        ts, hists = self.thresholds, self._hists(layer)
        if ts is None:
            raise LiCellInputError(None, f"{layer.name}: no thresholds yet", "press Suggest first")
        data, options = _data_of(layer), self.analysis_options()
        voxel = tuple(float(v) for v in layer.scale[-3:])
        region = self.region_of(layer)
        data = self._corrected.get(id(data), data)  # rings and cupping taken off, as the histograms were counted

        def work(progress, cancel):
            if data.ndim == 2:
                return layer, ts, pipeline.classify_scan(data, ts, options)
            out, store = pipeline.new_label_output(data.shape, voxel, options.memory_limit_bytes,
                                                   lambda: _new_store_folder(layer.name))
            try:
                result = pipeline.classify_scan(data, ts, options, histograms=hists, voxel_size_um=voxel,
                                                out=out if store is not None else None, progress=progress,
                                                cancel=cancel, region=region)
            except BaseException:
                if store is not None:  # a cancelled or failed run leaves no half-written store behind
                    shutil.rmtree(store.parent, ignore_errors=True)
                raise
            return layer, ts, result

        return self.start_task(work, label=f"Classifying {layer.name}…", on_done=self._on_classified)

    def _on_classified(self, value) -> None:
        layer, applied, result = value
        self.last_result = result
        meta = tagged({"thresholds": result.thresholds.to_dict(), "source_image": layer.name,
                       "denoise": self.denoise_combo.currentText(), "partial_volume": bool(result.partial_volume)},
                      Role.LABELS, layer.name)
        if result.carbon_band is not None:
            meta["carbon_band"] = asdict(result.carbon_band)
        if self.verdict is not None:  # the scan's one CNR travels with its labels (Results dock, reports)
            meta["contrast"] = pipeline.contrast_record(self.verdict, self.resolved_options(layer))
        name = f"{layer.name} labels"
        existing = self.layer_named(name)
        if existing is not None:
            existing.data = result.labels
            existing.metadata.update(meta)
        else:
            d, kwargs, _ = labels_layer_tuple(result.labels, name, layer.scale[-result.labels.ndim:], meta,
                                              translate=tuple(layer.translate)[-result.labels.ndim:])
            self.viewer.add_labels(d, **kwargs)
        band = "" if result.carbon_band is None else f"; {result.carbon_band.reason}"
        self.show_status(f"Labels written to “{name}”{band}.")
        if self.has_layer(layer):
            self.session.mark_applied(_scan_ref(layer), applied)
            if self.threshold_recovery is not None and not self.threshold_recovery.path.exists():
                self.restore_row.offer(None)

    # ------------------------------------------------------------------ autosave & recovery
    def autosave_thresholds_now(self) -> Path | None:
        """Write the pending threshold change (if any) to the scan's autosave now (atomic)."""
        self.autosave_timer.stop()
        try:
            path = self.session.write_pending()
        except OSError as exc:
            self.show_status(f"Threshold autosave failed: {exc}")
            raise
        if path is not None and self.threshold_recovery is not None and self.threshold_recovery.path == path:
            self._offer(None)  # the user kept working: the newer thresholds replaced the offer
        return path

    def flush_autosave(self) -> Path | None:
        """Write a pending threshold autosave at once (before closing); None when nothing was pending."""
        return self.autosave_thresholds_now() if self.session.pending else None

    def close_dock(self) -> None:
        if not self._closed:
            self.guarded(self.flush_autosave)
        super().close_dock()

    def _offer(self, record) -> None:
        self.threshold_recovery, self._damaged_autosave = record, None
        self.restore_row.offer(record)

    def check_threshold_recovery(self):
        """Offer the chosen scan's autosaved thresholds when they were never applied (not this dock's own)."""
        layer = self.image_layer
        if layer is None:
            self._offer(None)
            return None
        try:
            record = self.session.recoverable(_scan_ref(layer))
        except LiCellInputError:
            self._offer(None)
            self._damaged_autosave = _scan_ref(layer).autosave_path
            self.restore_row.damaged()
            raise
        self._offer(record)
        return record

    def restore_thresholds(self) -> ThresholdSet | None:
        """Use the offered autosaved thresholds (exact grey values); None when none was offered."""
        record = self.threshold_recovery
        if record is None or self.image_layer is None:
            return None
        self.session.restore(_scan_ref(self.image_layer), record)
        self.values.rebuild(record.thresholds)
        self._refresh()
        self._offer(None)
        self.show_status("Restored the autosaved thresholds " + _describe(record.thresholds))
        return record.thresholds

    def discard_thresholds(self) -> None:
        """Delete the offered (or damaged) threshold autosave of the chosen scan."""
        path = self.threshold_recovery.path if self.threshold_recovery is not None else self._damaged_autosave
        if path is not None:
            self.session.discard(path)
        self._offer(None)
        self.show_status("Discarded the autosaved thresholds.")


def _describe(ts: ThresholdSet) -> str:
    text = f"({ts.method}): " + ", ".join(f"{n} {v:.0f}" for n, v in zip(ts.boundary_names, ts.values))
    return text + ("; " + "; ".join(ts.notes) if ts.notes else "")
