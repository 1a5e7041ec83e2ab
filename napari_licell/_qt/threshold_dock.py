"""Dock: xenon-contrast thresholds on the histogram, live slice preview, apply to the volume.

Thin: it reads the chosen image layer, calls :mod:`napari_licell.segmentation`
and writes two labels layers, ``"<image> preview"`` (the displayed slice,
plain thresholds, updated while a marker is dragged) and ``"<image> labels"``
(the whole volume with the partial-volume rules and the carbon band, computed
off the GUI thread; the thresholds go to ``layer.metadata["thresholds"]``).

Thresholds moved by hand but not applied are autosaved (a couple of seconds
after the last change) beside the scan by :mod:`napari_licell.threshold_autosave`;
choosing a scan with such an autosave offers *Restore thresholds* / *Discard*.
"""

from __future__ import annotations

import shutil
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
from qtpy.QtCore import Qt, QTimer, Signal
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from .. import pipeline
from ..autosave import thresholds as ts_autosave
from ..classes import class_by_code
from ..errors import LiCellInputError
from .._napari.layers import labels_layer_tuple
from ..segmentation import (
    DENOISE_METHODS,
    Cancelled,
    ContrastVerdict,
    Histogram,
    ThresholdSet,
    classify_block,
    classify_slice,
    find_stack_axis,
    label_carbon_band,
    with_levels,
    threshold_sensitivity,
)
from .mpl_canvas import ThemedFigureWidget
from .settings import SettingsDialog, memory_limit_bytes
from .notify import report_error, report_info

__all__ = ["ThresholdDock"]


def _new_store_path(name: str) -> Path:
    """A fresh label-store path in the cache (``$LICELL_CACHE_DIR/label-stores``) for a big scan's labels."""
    import re
    import tempfile

    from ..cache_dir import cache_root

    base = cache_root() / "label-stores"
    base.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "labels"
    return Path(tempfile.mkdtemp(prefix=f"{stem}-", dir=base)) / "labels.zarr"

#: Arrays up to this many voxels get their histogram on the GUI thread (~0.2 s).
_SYNC_HISTOGRAM_VOXELS = 200_000_000
_NONE = "(none)"
#: Largest shown section (pixels) that the live preview refines with partial volume and the carbon band.
_REFINED_PREVIEW_PIXELS = 1_500_000
_PICK_PIXELS = 8
#: Seconds between the last threshold change and its autosave.
AUTOSAVE_DELAY_SECONDS = 2.0


def _data_of(layer) -> Any:
    """Full-resolution data of an image layer (level 0 of a multiscale image)."""
    return layer.data[0] if getattr(layer, "multiscale", False) else layer.data


def _scan_histograms(data, progress=None, cancel=None) -> tuple[Histogram, Histogram | None]:
    """Full histogram and (3D) the histogram of uniform voxels the phase peaks are read from (the pipeline's)."""
    hists = pipeline.scan_histograms(data, progress=progress, cancel=cancel)
    return hists.full, hists.interior


class _HistogramPlot(ThemedFigureWidget):
    """Log-count histogram of one or two images with one draggable marker per threshold."""

    def __init__(self, dock: "ThresholdDock"):
        super().__init__(dock.viewer, parent=dock, toolbar=False, figsize=(4, 2.6))
        self.dock = dock
        self.ax = None
        self.marker_lines: list = []
        self.spans: list = []
        self.dragging: int | None = None
        self.canvas.setMinimumHeight(260)
        self.canvas.mpl_connect("button_press_event", dock.on_marker_press)
        self.canvas.mpl_connect("motion_notify_event", dock.on_marker_motion)
        self.canvas.mpl_connect("button_release_event", dock.on_marker_release)

    def x_range(self, hist: Histogram) -> tuple[float, float]:
        lo, hi = hist.occupied_range()
        x0, x1 = hist.grey(lo), hist.grey(hi)
        ts = self.dock.thresholds
        if self.dock.zoom_low.isChecked() and ts is not None and ts.levels is not None:
            sigma = ts.noise_sigma or 0.01 * (x1 - x0)
            dark = [lv for lv, c in zip(ts.levels, ts.classes) if c in (1, 2) and np.isfinite(lv)]
            # the threshold just above the dark classes closes the zoomed range
            top = ts.values[min(len(ts.values), max(len(dark), 1)) - 1] if ts.values else x1
            x0 = max(x0, (min(dark) if dark else x0) - 8 * sigma)
            x1 = min(x1, max(top, max(dark) if dark else top) + 8 * sigma)
        return x0, x1

    def draw(self) -> None:
        dock = self.dock
        ax = self.figure.add_subplot(111)
        self.ax = ax
        self.style_axes(ax)
        self.marker_lines, self.spans = [], []
        hist = dock.histogram
        if hist is None:
            ax.text(0.5, 0.5, "choose an image layer", ha="center", va="center", transform=ax.transAxes,
                    color=self.colours["text"])
            return
        x0, x1 = self.x_range(hist)
        curves = [(dock.image_layer.name if dock.image_layer is not None else "image", hist, self.colours["text"])]
        other = dock.compare_histogram
        if other is not None and dock.compare_layer is not None:
            curves.append((dock.compare_layer.name, other, "#f0a030"))
        for name, h, colour in curves:
            a = int(max(0, np.floor(h.index(x0))))
            b = int(min(h.n_bins, np.ceil(h.index(x1)) + 1))
            share = h.counts[a:b] / max(h.n_voxels, 1) / h.bin_width
            ax.plot(h.greys[a:b], np.where(share > 0, share, np.nan), lw=0.8, color=colour, label=name)
        ax.set_yscale("log")
        ax.set_xlim(x0, x1)
        ax.set_xlabel("grey value")
        ax.set_ylabel("share / grey")
        if len(curves) > 1:
            ax.legend(fontsize=7, loc="upper right")
        ts = dock.thresholds
        if ts is None:
            return
        edges = [x0, *ts.values, x1]
        for k, code in enumerate(ts.classes):
            cls = class_by_code(code)
            span = ax.axvspan(edges[k], edges[k + 1], color=cls.colour, alpha=0.12, lw=0)
            self.spans.append(span)
        for i, (v, name) in enumerate(zip(ts.values, ts.boundary_names)):
            colour = class_by_code(ts.classes[i + 1]).colour
            line = ax.axvline(v, color=colour, lw=1.6, picker=True)
            line.set_label(name)
            self.marker_lines.append(line)

    def move_marker(self, i: int) -> None:
        """Move marker ``i`` and the class bands to the current thresholds (no full redraw)."""
        ts = self.dock.thresholds
        if ts is None or i >= len(self.marker_lines) or self.ax is None:
            return
        self.marker_lines[i].set_xdata([ts.values[i], ts.values[i]])
        x0, x1 = self.ax.get_xlim()
        edges = [x0, *ts.values, x1]
        for k, span in enumerate(self.spans):
            span.set_x(edges[k])
            span.set_width(edges[k + 1] - edges[k])
        self.canvas.draw_idle()

    def marker_at(self, x_pixels: float) -> int | None:
        """Index of the marker within a few pixels of display x, or None."""
        if self.ax is None or self.dock.thresholds is None:
            return None
        best, best_d = None, _PICK_PIXELS
        for i, v in enumerate(self.dock.thresholds.values):
            px = self.ax.transData.transform((v, 1.0))[0]
            d = abs(px - x_pixels)
            if d <= best_d:
                best, best_d = i, d
        return best


class ThresholdDock(QWidget):
    """Thresholds for xenon-contrast CT: histogram with markers, suggestion, preview, apply, contrast.

    Parameters
    ----------
    napari_viewer : napari.Viewer
    autosave_delay_seconds : float
        Seconds after the last hand change of a threshold before the
        thresholds are autosaved beside the scan (0 or less switches the
        autosave off).
    """

    _progress = Signal(int, int)

    def __init__(self, napari_viewer, parent=None, autosave_delay_seconds: float = AUTOSAVE_DELAY_SECONDS):
        super().__init__(parent)
        self.viewer = napari_viewer
        self.autosave_delay_seconds = float(autosave_delay_seconds)
        #: Last threshold autosave written by this dock (None before the first).
        self.last_threshold_autosave: Path | None = None
        #: Autosave of the chosen scan offered for recovery (None when there is nothing to offer).
        self.threshold_recovery: ts_autosave.ThresholdAutosave | None = None
        self._pending_autosave: tuple[Any, ThresholdSet] | None = None
        self._own_autosaves: dict[Path, float] = {}
        self._damaged_autosave: Path | None = None
        self._applying: tuple[Any, ThresholdSet] | None = None
        self._autosave_failed = False
        self.histogram: Histogram | None = None
        self.interior: Histogram | None = None
        self.compare_histogram: Histogram | None = None
        self.compare_interior: Histogram | None = None
        self.thresholds: ThresholdSet | None = None
        self.verdict: ContrastVerdict | None = None
        self.compare_verdict: ContrastVerdict | None = None
        self.sensitivity: list = []
        self.worker = None
        self.last_result = None
        self._hist_cache: dict[int, tuple[Histogram, Histogram | None]] = {}
        self._thresholds_by_layer: dict[int, ThresholdSet] = {}
        self._cancel = threading.Event()
        self._image_key: int | None = None
        self._compare_key: int | None = None
        self._build()
        self.autosave_timer = QTimer(self)
        self.autosave_timer.setSingleShot(True)
        self.autosave_timer.timeout.connect(lambda: self._guarded(self.autosave_thresholds_now))
        self._progress.connect(self._on_progress)
        viewer = self.viewer
        viewer.layers.events.inserted.connect(self._refresh_layers)
        viewer.layers.events.removed.connect(self._refresh_layers)
        viewer.dims.events.current_step.connect(self._on_dims)
        viewer.dims.events.ndisplay.connect(self._on_dims)
        viewer.dims.events.order.connect(self._on_dims)
        viewer.layers.selection.events.active.connect(self._on_active_layer)
        self._refresh_layers()

    def _on_active_layer(self, event=None) -> None:
        """Follow the scan the user (or the Study dock) made active; hide other scans' previews."""
        from napari.layers import Image

        active = self.viewer.layers.selection.active
        if isinstance(active, Image) and active.name != self.image_combo.currentText():
            self.image_combo.setCurrentText(active.name)

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        grid = QGridLayout()
        self.image_combo = QComboBox()
        self.compare_combo = QComboBox()
        self.gas_combo = QComboBox()
        self.gas_combo.addItems(["unknown", "Xe", "Ar"])
        self.pressure = QDoubleSpinBox(minimum=0.0, maximum=20.0, value=6.0, decimals=1, suffix=" atm")
        self.method_combo = QComboBox()
        self.method_combo.addItems(["peaks", "multiotsu"])
        self.suggest_button = QPushButton("Suggest")
        grid.addWidget(QLabel("Image"), 0, 0)
        grid.addWidget(self.image_combo, 0, 1, 1, 3)
        grid.addWidget(QLabel("Gas"), 1, 0)
        grid.addWidget(self.gas_combo, 1, 1)
        grid.addWidget(self.pressure, 1, 2)
        grid.addWidget(QLabel("Compare"), 2, 0)
        grid.addWidget(self.compare_combo, 2, 1, 1, 2)
        self.side_by_side = QCheckBox("Side by side")
        grid.addWidget(self.side_by_side, 2, 3)
        grid.addWidget(self.method_combo, 1, 3)
        layout.addLayout(grid)

        row = QHBoxLayout()
        row.addWidget(self.suggest_button)
        self.zoom_low = QCheckBox("Zoom to Li / gas")
        self.zoom_low.setChecked(True)
        self.live_preview = QCheckBox("Live preview")
        self.live_preview.setChecked(True)
        row.addWidget(self.zoom_low)
        row.addWidget(self.live_preview)
        layout.addLayout(row)

        # shown only when the chosen scan has thresholds autosaved but never applied
        self.restore_row = QWidget()
        restore = QHBoxLayout(self.restore_row)
        restore.setContentsMargins(0, 0, 0, 0)
        self.restore_thresholds_button = QPushButton("Restore thresholds")
        self.discard_thresholds_button = QPushButton("Discard")
        restore.addWidget(self.restore_thresholds_button)
        restore.addWidget(self.discard_thresholds_button)
        restore.addStretch(1)
        self.restore_row.setVisible(False)
        layout.addWidget(self.restore_row)

        self.plot = _HistogramPlot(self)
        layout.addWidget(self.plot)

        self.values_host = QWidget()
        self.values_form = QFormLayout(self.values_host)
        self.values_form.setContentsMargins(0, 0, 0, 0)
        self.value_boxes: list[QDoubleSpinBox] = []
        self.mu_labels: list[QLabel] = []
        layout.addWidget(self.values_host)

        self.verdict_label = QLabel("")
        self.verdict_label.setWordWrap(True)
        self.verdict_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        layout.addWidget(self.verdict_label)
        self.compare_label = QLabel("")
        self.compare_label.setWordWrap(True)
        layout.addWidget(self.compare_label)

        self.sensitivity_table = QTableWidget(0, 6)
        self.sensitivity_table.setHorizontalHeaderLabels(
            ["threshold", "step", "Li -step", "Li +step", "void -step", "void +step"]
        )
        self.sensitivity_table.verticalHeader().setVisible(False)
        self.sensitivity_table.setMinimumHeight(110)
        self.sensitivity_table.setMaximumHeight(150)
        layout.addWidget(self.sensitivity_table)

        options = QHBoxLayout()
        self.denoise_combo = QComboBox()
        self.denoise_combo.addItems(list(DENOISE_METHODS))
        self.pv_check = QCheckBox("PV rules")
        self.pv_check.setToolTip("Partial-volume rules: dark shells next to bright phases stay dark")
        self.pv_check.setChecked(True)
        self.band_check = QCheckBox("Carbon band")
        self.band_check.setChecked(True)
        options.addWidget(QLabel("Denoise"))
        options.addWidget(self.denoise_combo)
        options.addWidget(self.pv_check)
        options.addWidget(self.band_check)
        self.settings_button = QToolButton()
        self.settings_button.setText("⚙")
        self.settings_button.setToolTip("Settings: memory limit for classifying whole scans")
        options.addWidget(self.settings_button)
        layout.addLayout(options)

        run = QHBoxLayout()
        self.apply_button = QPushButton("Apply to volume")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 100)
        run.addWidget(self.apply_button)
        run.addWidget(self.cancel_button)
        run.addWidget(self.progress_bar)
        layout.addLayout(run)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)

        self.image_combo.currentTextChanged.connect(lambda _t: self._guarded(self._on_image_changed))
        self.compare_combo.currentTextChanged.connect(lambda _t: self._guarded(self._on_compare_changed))
        self.side_by_side.toggled.connect(lambda on: self._guarded(self.set_side_by_side, on))
        self.gas_combo.currentTextChanged.connect(lambda _t: self._guarded(self._update_verdicts))
        self.pressure.valueChanged.connect(lambda _v: self._guarded(self._update_verdicts))
        self.suggest_button.clicked.connect(lambda: self._guarded(self.suggest))
        self.zoom_low.toggled.connect(lambda _on: self.plot.redraw())
        self.live_preview.toggled.connect(lambda _on: self._guarded(self.update_preview))
        self.apply_button.clicked.connect(lambda: self._guarded(self.apply_to_volume))
        self.settings_button.clicked.connect(lambda: SettingsDialog(self).exec())
        self.cancel_button.clicked.connect(self.cancel)
        self.restore_thresholds_button.clicked.connect(lambda: self._guarded(self.restore_thresholds))
        self.discard_thresholds_button.clicked.connect(lambda: self._guarded(self.discard_thresholds))

    # ------------------------------------------------------------------ helpers
    def _guarded(self, func, *args):
        """Run a GUI action; any error becomes a notification, never a traceback."""
        try:
            return func(*args)
        except Exception as exc:  # noqa: BLE001 - the GUI shows every failure as a message
            self.status.setText(report_error(exc))
            return None

    def _image_layers(self) -> list:
        from napari.layers import Image

        return [layer for layer in self.viewer.layers if isinstance(layer, Image)]

    def _layer_named(self, name: str):
        for layer in self._image_layers():
            if layer.name == name:
                return layer
        return None

    @property
    def image_layer(self):
        """The image layer the thresholds are for (None when no image is open)."""
        return self._layer_named(self.image_combo.currentText())

    @property
    def compare_layer(self):
        """The image layer compared side by side (None when not comparing, or when it is the image itself)."""
        name = self.compare_combo.currentText()
        if name in ("", _NONE) or name == self.image_combo.currentText():
            return None
        return self._layer_named(name)

    def analysis_options(self) -> pipeline.AnalysisOptions:
        """The pipeline options the dock's controls say (gas, method, denoise, rules, memory limit)."""
        gas, pressure = self.gas
        return pipeline.AnalysisOptions(
            gas=gas, gas_pressure_atm=pressure, method=self.method_combo.currentText(),
            denoise=self.denoise_combo.currentText(), partial_volume=self.pv_check.isChecked(),
            carbon_band=self.band_check.isChecked(), memory_limit_bytes=memory_limit_bytes(),
        )

    @property
    def gas(self) -> tuple[str | None, float | None]:
        """Fill gas and pressure (atm) as set in the dock (None when unknown)."""
        gas = self.gas_combo.currentText()
        return (None, None) if gas == "unknown" else (gas, float(self.pressure.value()))

    def _refresh_layers(self, event=None) -> None:
        names = [layer.name for layer in self._image_layers()]
        for combo, extra in ((self.image_combo, []), (self.compare_combo, [_NONE])):
            current = combo.currentText()
            combo.blockSignals(True)
            combo.clear()
            combo.addItems(extra + names)
            if current in extra + names:
                combo.setCurrentText(current)
            elif extra:
                combo.setCurrentText(extra[0])
            combo.blockSignals(False)
        # only a change of the chosen layers triggers work (preview/labels layers come and go)
        if self._layer_key(self.image_layer) != self._image_key:
            self._guarded(self._on_image_changed)
        if self._layer_key(self.compare_layer) != self._compare_key:
            self._guarded(self._on_compare_changed)

    @staticmethod
    def _layer_key(layer) -> int | None:
        return None if layer is None else id(layer)

    def set_image(self, name: str) -> None:
        """Choose the image layer by name."""
        if self._layer_named(name) is None:
            raise LiCellInputError(None, f"no image layer named {name!r}")
        self.image_combo.setCurrentText(name)
        self._on_image_changed()

    # ------------------------------------------------------------------ histogram & suggestion
    def _histogram_of(self, layer, on_ready) -> tuple | None:
        """(histogram, interior histogram) of a layer: cached, computed here for modest arrays, else in a worker."""
        key = id(layer.data)
        if key in self._hist_cache:
            on_ready(self._hist_cache[key])
            return self._hist_cache[key]
        data = _data_of(layer)
        if isinstance(data, np.ndarray) and data.size <= _SYNC_HISTOGRAM_VOXELS:
            pair = _scan_histograms(data)
            self._hist_cache[key] = pair
            on_ready(pair)
            return pair
        from napari.qt.threading import create_worker

        self._cancel.clear()
        emit = self._progress.emit
        worker = create_worker(
            _scan_histograms, data, progress=lambda d, t: emit(d, t), cancel=self._cancel,
            _start_thread=False, _ignore_errors=True,
        )

        def done(pair):
            self._hist_cache[key] = pair
            self._guarded(on_ready, pair)

        worker.returned.connect(done)
        worker.errored.connect(self._on_worker_error)
        worker.finished.connect(self._on_worker_finished)
        self._start_worker(worker, f"Counting the histogram of {layer.name}…")
        return None

    def _on_image_changed(self) -> None:
        layer = self.image_layer
        self._image_key = self._layer_key(layer)
        for other in self.viewer.layers:
            preview_of = (other.metadata or {}).get("preview_of")
            if preview_of is not None:
                # only the chosen scan's preview is shown (when live preview is on)
                other.visible = layer is not None and preview_of == layer.name and self.live_preview.isChecked()
        self.histogram = self.interior = None
        if layer is None:
            self.thresholds = None
            self._show_recovery(None)
            self._rebuild_value_boxes()
            self.plot.redraw()
            return
        if layer.ndim not in (2, 3):
            raise LiCellInputError(None, f"{layer.name}: thresholds need a 2D or 3D image, not {layer.ndim}D")
        meta = layer.metadata or {}
        gas = meta.get("gas")
        self.gas_combo.blockSignals(True)
        self.gas_combo.setCurrentText(gas if gas in ("Xe", "Ar") else "unknown")
        self.gas_combo.blockSignals(False)
        if meta.get("gas_pressure_atm") is not None:
            self.pressure.blockSignals(True)
            self.pressure.setValue(float(meta["gas_pressure_atm"]))
            self.pressure.blockSignals(False)
        self.thresholds = self._thresholds_by_layer.get(id(layer))
        self._rebuild_value_boxes()
        self._guarded(self.check_threshold_recovery)
        self._histogram_of(layer, self._on_histogram)
        if self._layer_key(self.compare_layer) != self._compare_key:
            self._on_compare_changed()

    def _on_histogram(self, pair: tuple) -> None:
        self.histogram, self.interior = pair
        if self.thresholds is None:
            self.suggest()
        else:
            self._after_thresholds_changed(full_redraw=True)
            layer = self.image_layer
            self.status.setText(f"Thresholds of {layer.name if layer is not None else ''} {self._describe(self.thresholds)}")
        self._update_verdicts()

    def suggest(self) -> ThresholdSet:
        """Suggest thresholds from the histogram of the chosen image (and its metadata calibration)."""
        layer = self.image_layer
        if layer is None:
            raise LiCellInputError(None, "no image layer to threshold", "open a scan first")
        if self.histogram is None:
            raise LiCellInputError(None, f"{layer.name}: the histogram is still being counted", "try again shortly")
        ts = pipeline.suggest_scan_thresholds(
            pipeline.ScanHistograms(self.histogram, self.interior), self.analysis_options(),
            pipeline.scan_calibration(layer.metadata),
        )
        self.set_thresholds(ts)
        self.status.setText("Suggested " + self._describe(ts))
        return ts

    @staticmethod
    def _describe(ts: ThresholdSet) -> str:
        text = f"({ts.method}): " + ", ".join(f"{n} {v:.0f}" for n, v in zip(ts.boundary_names, ts.values))
        return text + ("; " + "; ".join(ts.notes) if ts.notes else "")

    # ------------------------------------------------------------------ thresholds
    def set_thresholds(self, ts: ThresholdSet) -> None:
        """Use a whole threshold set (rebuilds markers and value boxes)."""
        self.thresholds = ts
        if self.image_layer is not None:
            self._thresholds_by_layer[id(self.image_layer)] = ts
        self._rebuild_value_boxes()
        self._after_thresholds_changed(full_redraw=True)

    def set_threshold(self, i: int, value: float) -> float:
        """Move threshold ``i`` to ``value`` grey (kept between its neighbours); returns the value used."""
        if self.thresholds is None:
            raise LiCellInputError(None, "no thresholds yet", "press Suggest first")
        if not 0 <= i < len(self.thresholds.values):
            raise IndexError(f"threshold index {i} out of range 0..{len(self.thresholds.values) - 1}")
        self.thresholds = self.thresholds.with_value(i, float(value))
        if self.image_layer is not None:
            self._thresholds_by_layer[id(self.image_layer)] = self.thresholds
        used = self.thresholds.values[i]
        box = self.value_boxes[i] if i < len(self.value_boxes) else None
        if box is not None:
            box.blockSignals(True)
            box.setValue(used)
            box.blockSignals(False)
        self._update_mu_labels()
        self.plot.move_marker(i)
        self.update_preview()
        if self.plot.dragging is None:
            self._update_sensitivity()
            self._schedule_autosave()  # a drag is autosaved once, on release
        return used

    def _rebuild_value_boxes(self) -> None:
        while self.values_form.rowCount():
            self.values_form.removeRow(0)
        self.value_boxes, self.mu_labels = [], []
        ts = self.thresholds
        if ts is None:
            return
        for i, name in enumerate(ts.boundary_names):
            box = QDoubleSpinBox(minimum=-1e9, maximum=1e9, decimals=1, value=ts.values[i])
            box.setKeyboardTracking(False)
            box.valueChanged.connect(lambda v, i=i: self._guarded(self.set_threshold, i, v))
            mu = QLabel("")
            row = QWidget()
            h = QHBoxLayout(row)
            h.setContentsMargins(0, 0, 0, 0)
            h.addWidget(box)
            h.addWidget(mu)
            self.values_form.addRow(name.replace("|", " | "), row)
            self.value_boxes.append(box)
            self.mu_labels.append(mu)
        self._update_mu_labels()

    def _update_mu_labels(self) -> None:
        ts = self.thresholds
        cal = ts.calibration if ts is not None else None
        for i, label in enumerate(self.mu_labels):
            label.setText("" if cal is None else f"{cal.to_mu(ts.values[i]):.2f} /cm")

    def _after_thresholds_changed(self, full_redraw: bool = False) -> None:
        if full_redraw:
            self.plot.redraw()
        self.update_preview()
        self._update_sensitivity()

    def _update_sensitivity(self) -> None:
        table = self.sensitivity_table
        if self.thresholds is None or self.histogram is None:
            table.setRowCount(0)
            self.sensitivity = []
            return
        self.sensitivity = threshold_sensitivity(self.thresholds, self.histogram)
        table.setRowCount(len(self.sensitivity))
        for r, row in enumerate(self.sensitivity):
            cells = [row.boundary, f"±{row.step:.1f}", f"{row.li_change_minus:+.1%}", f"{row.li_change_plus:+.1%}",
                     f"{row.void_change_minus:+.1%}", f"{row.void_change_plus:+.1%}"]
            for c, text in enumerate(cells):
                table.setItem(r, c, QTableWidgetItem(text))

    # ------------------------------------------------------------------ marker dragging
    def on_marker_press(self, event) -> None:
        """Matplotlib press: start dragging the marker under the pointer."""
        if event.inaxes is not self.plot.ax or getattr(event, "button", 1) != 1:
            return
        self.plot.dragging = self.plot.marker_at(event.x)

    def on_marker_motion(self, event) -> None:
        """Matplotlib motion: move the dragged marker (and the preview) to the pointer."""
        if self.plot.dragging is None or event.inaxes is not self.plot.ax or event.xdata is None:
            return
        self._guarded(self.set_threshold, self.plot.dragging, float(event.xdata))

    def on_marker_release(self, event) -> None:
        """Matplotlib release: stop dragging; refresh the sensitivity table."""
        if self.plot.dragging is None:
            return
        self.plot.dragging = None
        self._update_sensitivity()
        self._schedule_autosave()

    # ------------------------------------------------------------------ preview
    def _slice_index(self, layer) -> tuple | None:
        """Index tuple of the displayed 2D slice of ``layer`` (None in 3D view)."""
        dims = self.viewer.dims
        if dims.ndisplay != 2:
            return None
        offset = dims.ndim - layer.ndim
        displayed = {d - offset for d in dims.displayed if d - offset >= 0}
        pos = layer.world_to_data(dims.point)
        shape = _data_of(layer).shape
        idx = []
        for ax in range(layer.ndim):
            if ax in displayed:
                idx.append(slice(None))
            else:
                idx.append(int(np.clip(np.round(pos[ax]), 0, shape[ax] - 1)))
        return tuple(idx)

    @property
    def preview_layer(self):
        """The ``"<image> preview"`` labels layer, if present."""
        layer = self.image_layer
        if layer is None:
            return None
        name = f"{layer.name} preview"
        return next((lyr for lyr in self.viewer.layers if lyr.name == name), None)

    #: Refine the preview like "Apply to volume" does (partial volume, carbon band by position).
    carbon_in_preview = True

    def _refined_section(self, layer, idx: tuple, axis: int, ts: ThresholdSet, fallback: np.ndarray) -> np.ndarray:
        """Classify a 3-section slab around the shown section with partial-volume handling, then
        label the carbon band by position (found only when the section contains the stack axis)."""
        if self.histogram is None:
            return fallback
        data = _data_of(layer)
        i = int(idx[axis])
        lo, hi = max(i - 1, 0), min(i + 2, data.shape[axis])
        slab_idx = list(idx)
        slab_idx[axis] = slice(lo, hi)
        slab = np.asarray(data[tuple(slab_idx)])
        codes = classify_block(slab, with_levels(ts, self.histogram))
        take = [slice(None)] * 3
        take[axis] = slice(i - lo, i - lo + 1)
        section = np.ascontiguousarray(codes[tuple(take)])
        label_carbon_band(section)
        return section

    def update_preview(self) -> None:
        """Classify the displayed slice of the image with the current thresholds into the preview layer."""
        layer = self.image_layer
        ts = self.thresholds
        if layer is None or ts is None or not self.live_preview.isChecked():
            return
        idx = self._slice_index(layer)
        if idx is None:
            return
        plane = np.asarray(_data_of(layer)[idx])
        codes = classify_slice(plane, ts)
        sliced = [ax for ax, s in enumerate(idx) if not isinstance(s, slice)]
        data = codes.reshape([1 if ax in sliced else n for ax, n in enumerate(_data_of(layer).shape)])
        if data.ndim == 3 and len(sliced) == 1 and self.carbon_in_preview and plane.size <= _REFINED_PREVIEW_PIXELS:
            stack = find_stack_axis(data)
            if stack is not None and stack.axis != sliced[0]:  # the section runs along the stack axis
                data = self._refined_section(layer, idx, sliced[0], ts, data)
        translate = np.asarray(layer.translate, dtype=float).copy()
        scale = np.asarray(layer.scale, dtype=float)
        for ax in sliced:
            translate[ax] += idx[ax] * scale[ax]
        preview = self.preview_layer
        if preview is None:
            d, kwargs, _ = labels_layer_tuple(
                data, f"{layer.name} preview", layer.scale, {"preview_of": layer.name, "thresholds": ts.to_dict()},
                translate=tuple(translate), opacity=0.5,
            )
            active = self.viewer.layers.selection.active
            self.viewer.add_labels(d, **kwargs)
            if active is not None and active in self.viewer.layers:
                self.viewer.layers.selection.active = active
        else:
            preview.translate = tuple(translate)
            preview.data = data
            preview.metadata["thresholds"] = ts.to_dict()

    def _on_dims(self, event=None) -> None:
        self._guarded(self.update_preview)

    # ------------------------------------------------------------------ contrast & comparison
    def _update_verdicts(self) -> None:
        gas, pressure = self.gas
        layer = self.image_layer
        if self.histogram is not None and layer is not None:
            self.verdict = pipeline.judge_contrast(
                pipeline.ScanHistograms(self.histogram, self.interior), self.analysis_options(),
                pipeline.scan_calibration(layer.metadata),
            )
            self.verdict_label.setText(f"{layer.name}: {self.verdict.reason}")
        else:
            self.verdict = None
            self.verdict_label.setText("")
        other = self.compare_layer
        if other is not None and self.compare_histogram is not None:
            meta = other.metadata or {}
            o_gas = meta.get("gas") if meta.get("gas") in ("Xe", "Ar") else None
            o_p = meta.get("gas_pressure_atm") if o_gas else None
            self.compare_verdict = pipeline.judge_contrast(
                pipeline.ScanHistograms(self.compare_histogram, self.compare_interior),
                pipeline.AnalysisOptions(gas=o_gas, gas_pressure_atm=o_p), pipeline.scan_calibration(meta),
            )
            self.compare_label.setText(f"{other.name}: {self.compare_verdict.reason}")
        else:
            self.compare_verdict = None
            self.compare_label.setText("")

    def set_compare(self, name: str | None) -> None:
        """Compare with another image layer (None or "(none)" to stop)."""
        self.compare_combo.setCurrentText(name or _NONE)
        self._on_compare_changed()

    def _on_compare_changed(self) -> None:
        other = self.compare_layer
        self._compare_key = self._layer_key(other)
        self.compare_histogram = self.compare_interior = None
        if other is None:
            self._update_verdicts()
            self.plot.redraw()
            return

        def ready(pair):
            self.compare_histogram, self.compare_interior = pair
            self._update_verdicts()
            self.plot.redraw()

        self._histogram_of(other, ready)

    def set_side_by_side(self, on: bool) -> None:
        """napari grid mode with the image and the compared image next to each other."""
        self.viewer.grid.enabled = bool(on)
        if on and self.compare_layer is None:
            self.status.setText("Side by side: choose an image to compare with.")
        if self.side_by_side.isChecked() != bool(on):
            self.side_by_side.blockSignals(True)
            self.side_by_side.setChecked(bool(on))
            self.side_by_side.blockSignals(False)

    # ------------------------------------------------------------------ apply to volume
    def _start_worker(self, worker, text: str) -> None:
        self.worker = worker
        self.progress_bar.setValue(0)
        self.cancel_button.setEnabled(True)
        self.apply_button.setEnabled(False)
        self.status.setText(text)
        worker.start()

    def apply_to_volume(self):
        """Classify the whole image off the GUI thread into the ``"<image> labels"`` layer.

        Returns
        -------
        napari.qt.threading.FunctionWorker
            The running worker (also in :attr:`worker` until it ends).
        """
        from napari.qt.threading import create_worker

        layer = self.image_layer
        if layer is None:
            raise LiCellInputError(None, "no image layer to classify", "open a scan first")
        if self.thresholds is None:
            raise LiCellInputError(None, f"{layer.name}: no thresholds yet", "press Suggest first")
        if self.worker is not None:
            raise LiCellInputError(None, "a computation is already running", "wait or press Cancel")
        data = _data_of(layer)
        ts = self.thresholds
        self._applying = (layer, ts)
        options = self.analysis_options()
        hists = pipeline.ScanHistograms(self.histogram, self.interior)
        voxel = tuple(float(v) for v in layer.scale[-3:])
        self._cancel.clear()
        emit = self._progress.emit
        cancel = self._cancel

        def work():
            if data.ndim == 2:
                result = pipeline.classify_scan(data, ts, options)
                return layer, ts, None, result.labels
            out, store = pipeline.new_label_output(data.shape, voxel, options.memory_limit_bytes,
                                                   lambda: _new_store_path(layer.name).parent)
            try:
                result = pipeline.classify_scan(data, ts, options, histograms=hists, voxel_size_um=voxel,
                                                out=out if store is not None else None,
                                                progress=lambda d, t: emit(d, t), cancel=cancel)
            except BaseException:
                if store is not None:  # a cancelled or failed run leaves no half-written store behind
                    shutil.rmtree(store.parent, ignore_errors=True)
                raise
            return layer, result.thresholds, result, result.labels

        worker = create_worker(work, _start_thread=False, _ignore_errors=True)
        worker.returned.connect(lambda value: self._guarded(self._on_classified, value))
        worker.errored.connect(self._on_worker_error)
        worker.finished.connect(self._on_worker_finished)
        self._start_worker(worker, f"Classifying {layer.name}…")
        return worker

    def cancel(self) -> None:
        """Ask the running computation to stop at its next slab (nothing is written)."""
        if self.worker is not None:
            self._cancel.set()
            self.status.setText("Cancelling…")

    def _on_progress(self, done: int, total: int) -> None:
        self.progress_bar.setValue(int(100 * done / max(total, 1)))

    def _on_classified(self, value) -> None:
        layer, ts, result, labels = value
        self.last_result = result
        meta = {
            "thresholds": ts.to_dict(),
            "source_image": layer.name,
            "denoise": self.denoise_combo.currentText(),
            "partial_volume": bool(result.partial_volume) if result is not None else False,
        }
        if result is not None and result.carbon_band is not None:
            meta["carbon_band"] = asdict(result.carbon_band)
        if self.verdict is not None:  # the scan's one CNR travels with its labels (Results dock, reports)
            meta["contrast"] = pipeline.contrast_record(self.verdict, self.analysis_options())
        name = f"{layer.name} labels"
        existing = next((lyr for lyr in self.viewer.layers if lyr.name == name), None)
        if existing is not None:
            existing.data = labels
            existing.metadata.update(meta)
        else:
            d, kwargs, _ = labels_layer_tuple(labels, name, layer.scale, meta, translate=tuple(layer.translate))
            self.viewer.add_labels(d, **kwargs)
        band = "" if result is None or result.carbon_band is None else f"; {result.carbon_band.reason}"
        self.status.setText(f"Labels written to “{name}”{band}.")
        applying, self._applying = self._applying, None
        if applying is not None and applying[0] is layer:
            self._guarded(self._mark_applied, layer, applying[1])

    def _on_worker_error(self, exc: BaseException) -> None:
        if isinstance(exc, Cancelled):
            self.status.setText("Cancelled; nothing was written.")
            report_info("Thresholding cancelled; nothing was written.")
            return
        self.status.setText(report_error(exc))

    def _on_worker_finished(self) -> None:
        self.worker = None
        self.cancel_button.setEnabled(False)
        self.apply_button.setEnabled(True)
        self.progress_bar.setValue(0 if self._cancel.is_set() else 100)

    # ------------------------------------------------------------------ autosave & recovery
    @staticmethod
    def _source_of(layer) -> str | None:
        """The file (or slice folder) an image layer was read from, or None."""
        path = getattr(getattr(layer, "source", None), "path", None) or (layer.metadata or {}).get("path")
        return str(path) if path else None

    def _autosave_target(self, layer) -> tuple[Path, str, str | None]:
        """(folder, key, source) of a layer's threshold autosave (the Paint dock's folder rule)."""
        source = self._source_of(layer)
        return ts_autosave.autosave_folder_for(source), ts_autosave.scan_key(source, layer.name), source

    def _schedule_autosave(self) -> None:
        """Autosave the chosen scan's thresholds ``autosave_delay_seconds`` after the last change."""
        layer, ts = self.image_layer, self.thresholds
        if layer is None or ts is None or self.autosave_delay_seconds <= 0:
            return
        pending = self._pending_autosave
        if pending is not None and pending[0] is not layer:
            self.autosave_thresholds_now()  # another scan's change is not dropped
        self._pending_autosave = (layer, ts)
        self.autosave_timer.start(int(round(self.autosave_delay_seconds * 1000)))

    def autosave_thresholds_now(self) -> Path | None:
        """Write the pending threshold change (if any) to the scan's autosave now (atomic).

        Returns
        -------
        Path or None
            The autosave file, None when nothing was pending or the write failed
            (the failure is shown once as a notification).
        """
        self.autosave_timer.stop()
        pending, self._pending_autosave = self._pending_autosave, None
        if pending is None:
            return None
        layer, ts = pending
        folder, key, source = self._autosave_target(layer)
        stamp = time.time()
        try:
            path = ts_autosave.write_threshold_autosave(
                folder, key, ts, source=source, layer_name=layer.name, saved_at=stamp
            )
        except OSError as exc:
            text = f"Threshold autosave failed: {exc}"
            if not self._autosave_failed:
                report_error(text)
            self._autosave_failed = True
            self.status.setText(text)
            return None
        self._autosave_failed = False
        self._own_autosaves[path] = stamp
        self.last_threshold_autosave = path
        if self.threshold_recovery is not None and self.threshold_recovery.path == path:
            self._show_recovery(None)  # the user kept working: the newer thresholds replaced the offer
        return path

    def flush_autosave(self) -> Path | None:
        """Write a pending threshold autosave at once (before closing); None when nothing was pending."""
        return self.autosave_thresholds_now() if self._pending_autosave is not None else None

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt name
        self._guarded(self.flush_autosave)
        super().closeEvent(event)

    def _mark_applied(self, layer, ts: ThresholdSet) -> None:
        """After *Apply to volume*: the applied thresholds no longer need recovery."""
        pending = self._pending_autosave
        if pending is not None and pending[0] is layer and pending[1].to_dict() == ts.to_dict():
            self._pending_autosave = None
            self.autosave_timer.stop()
        current = self._thresholds_by_layer.get(id(layer))
        if current is not None and current.to_dict() != ts.to_dict():
            return  # moved again while applying: that newer change stays recoverable
        folder, key, source = self._autosave_target(layer)
        if not ts_autosave.threshold_autosave_path(folder, key).exists():
            return  # nothing was autosaved, nothing to retire
        stamp = time.time()
        path = ts_autosave.mark_thresholds_applied(
            folder, key, ts, source=source, layer_name=layer.name, applied_at=stamp
        )
        self._own_autosaves[path] = stamp
        if self.threshold_recovery is not None and self.threshold_recovery.path == path:
            self._show_recovery(None)

    def check_threshold_recovery(self) -> ts_autosave.ThresholdAutosave | None:
        """Offer the chosen scan's autosaved thresholds when they were never applied.

        Autosaves this dock wrote itself are not offered (the dock holds those
        thresholds). A damaged autosave is reported as a notification and only
        *Discard* is offered.
        """
        layer = self.image_layer
        if layer is None:
            self._show_recovery(None)
            return None
        folder, key, source = self._autosave_target(layer)
        try:
            record = ts_autosave.find_recoverable_thresholds(folder, key, source)
        except LiCellInputError:
            self._show_recovery(None)
            self._damaged_autosave = ts_autosave.threshold_autosave_path(folder, key)
            self.restore_thresholds_button.setText("Restore thresholds (autosave damaged)")
            self.restore_thresholds_button.setEnabled(False)
            self.restore_row.setVisible(True)
            raise
        if record is not None and self._own_autosaves.get(record.path) == record.saved_at:
            record = None
        self._show_recovery(record)
        return record

    def _show_recovery(self, record: ts_autosave.ThresholdAutosave | None) -> None:
        """Show the Restore/Discard row for ``record``, or hide it (None)."""
        self.threshold_recovery = record
        self._damaged_autosave = None
        self.restore_thresholds_button.setEnabled(record is not None)
        if record is not None:
            when = time.strftime("%H:%M", time.localtime(record.saved_at))
            self.restore_thresholds_button.setText(f"Restore thresholds (autosaved {when})")
            self.restore_thresholds_button.setToolTip(
                "Thresholds moved but never applied: "
                + ", ".join(f"{n} {v:.1f}" for n, v in zip(record.thresholds.boundary_names, record.thresholds.values))
            )
        self.restore_row.setVisible(record is not None)

    def restore_thresholds(self) -> ThresholdSet | None:
        """Use the offered autosaved thresholds (exact grey values); returns them, None when none was offered."""
        record = self.threshold_recovery
        if record is None:
            return None
        self.set_thresholds(record.thresholds)
        self._own_autosaves[record.path] = record.saved_at  # the dock holds them now: not offered again
        self._show_recovery(None)
        when = time.strftime("%H:%M:%S", time.localtime(record.saved_at))
        self.status.setText(f"Restored the thresholds autosaved at {when} " + self._describe(record.thresholds))
        return record.thresholds

    def discard_thresholds(self) -> None:
        """Delete the offered (or damaged) threshold autosave of the chosen scan."""
        path = self.threshold_recovery.path if self.threshold_recovery is not None else self._damaged_autosave
        if path is not None:
            ts_autosave.discard_threshold_autosave(path)
            self._own_autosaves.pop(path, None)
        self._show_recovery(None)
        self.status.setText("Discarded the autosaved thresholds.")
