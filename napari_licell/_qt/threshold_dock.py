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

from pathlib import Path
from typing import Any

from qtpy.QtCore import QTimer
from qtpy.QtWidgets import QPushButton

from .. import pipeline
from ..cell_metadata import CellMetadata, metadata_changed
from ..errors import LiCellInputError
from ..layer_roles import is_ct_scan
from ..segmentation import ThresholdSet, threshold_sensitivity
from ..threshold_session import ThresholdSession, describe_thresholds
from .._napari.threshold_layers import SectionPreview, scan_data, scan_ref
from .dock_base import LicellDock
from .region_editor import RegionEditor
from .settings import memory_limit_bytes, open_settings_dialog, work_budget_bytes
from .threshold_tasks import apply_thresholds_to_volume, count_missing_histograms
from .threshold_autosave import ThresholdAutosaveTimer
from .threshold_controls import ThresholdTabs
from .widget_utils import quietly, refill_combo

__all__ = ["ThresholdDock"]

_NONE = "(none)"
#: Seconds between the last threshold change and its autosave.
AUTOSAVE_DELAY_SECONDS = 2.0


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
        self.verdict = self.compare_verdict = self.last_result = None
        self.sensitivity: list = []
        self._image = self._compare = None
        self._histograms_wanted = False
        self._adding_own_layer = False
        self.preview = SectionPreview(self.viewer, self.put_layer)
        self._build()
        self.autosave = ThresholdAutosaveTimer(
            self.session, self.restore_row, autosave_delay_seconds, self.guarded, self.show_status, parent=self
        )
        self.autosave_timer = self.autosave.timer
        self.link(self.session.recovery_changed, self.autosave.show_offer)
        for emitter, slot in (
            (self.viewer.dims.events.current_step, self._on_dims),
            (self.viewer.dims.events.ndisplay, self._on_dims),
            (self.viewer.dims.events.order, self._on_dims),
            (self.viewer.layers.selection.events.active, self._on_active_layer),
            (metadata_changed, self._on_metadata_changed),
        ):
            self.link(emitter, slot)
        self.guarded(self.on_layers_changed)
        self.guarded(self.follow_shown_scan)

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        tabs = self.tabs = ThresholdTabs(self.viewer, lambda i, v: self.guarded(self.set_threshold, i, v))
        for name in ThresholdTabs.CONTROLS:
            setattr(self, name, getattr(tabs, name))
        self.body_layout.addWidget(tabs, 1)
        tabs.insertTab(1, region_editor := RegionEditor(self), "Cell region")
        self.region_editor = region_editor
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
        self.settings_button.clicked.connect(lambda: open_settings_dialog(self))
        self.restore_thresholds_button.clicked.connect(lambda: self.guarded(self.restore_thresholds))
        self.discard_thresholds_button.clicked.connect(lambda: self.guarded(self.autosave.discard))
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

    def chosen_scan(self, verb: str):
        if self.image_layer is None:
            raise LiCellInputError(None, f"no image layer to {verb}", "open a scan first")
        return self.image_layer

    def histograms_of(self, layer) -> pipeline.ScanHistograms | None:
        return None if layer is None else self.session.histograms(id(scan_data(layer)))

    def _hist(self, layer, part: str = "full"):
        hists = self.histograms_of(layer)
        return None if hists is None else getattr(hists, part)

    histogram = property(lambda self: self._hist(self.image_layer), doc="Histogram of the scan (cell region).")
    interior = property(lambda self: self._hist(self.image_layer, "interior"), doc="Its interior histogram.")
    compare_histogram = property(lambda self: self._hist(self.compare_layer), doc="The compared scan's histogram.")

    thresholds = property(
        lambda self: None if self.image_layer is None else self.session.thresholds(id(self.image_layer)),
        doc="The scan's current thresholds (None before the first suggestion).",
    )
    value_boxes = property(lambda self: self.values.boxes, doc="The threshold spin boxes, one per boundary.")
    last_threshold_autosave = property(lambda self: self.session.last_autosave, doc="The last autosave written.")
    gas = property(lambda self: self.tabs.gas, doc="Fill gas and pressure (atm) as set (None when unknown).")

    def analysis_options(self) -> pipeline.AnalysisOptions:
        """The pipeline options the dock's controls say (gas, method, denoise, rules, memory limit)."""
        return self.tabs.analysis_options(work_budget_bytes(memory_limit_bytes()))  # the process's rule

    def on_layers_changed(self, event=None) -> None:
        names = [layer.name for layer in self.viewer.layers if is_ct_scan(layer)]
        refill_combo(self.image_combo, names)
        refill_combo(self.compare_combo, [_NONE, *names], fallback=_NONE)
        if self.image_layer is not self._image:
            self._on_image_changed()
        if self.compare_layer is not self._compare:
            self._on_compare_changed()

    def _on_active_layer(self, event=None) -> None:
        """Follow the scan the user (or the Study dock) made active; anything else is not followed."""
        if not self._adding_own_layer and self.viewer.layers.selection.active is not None:
            self.on_scan_shown(self.viewer.layers.selection.active.name)

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
        self.tabs.show_gas(CellMetadata.from_layer(layer).gas, CellMetadata.from_layer(layer).gas_pressure_atm)

    def _on_image_changed(self) -> None:
        layer = self._image = self.image_layer
        self.preview.show_only(layer)
        self.show_status("")  # the last scan's outcome is not this one's
        if layer is not None:
            self._read_gas(layer)
            self.guarded(self.check_threshold_recovery)  # a damaged autosave is reported; the scan still opens
        else:
            self.session.offer(None)
        self.values.rebuild(self.thresholds)
        self._count_missing_histograms()
        self.refresh()

    def _on_compare_changed(self) -> None:
        self._compare = self.compare_layer
        self._count_missing_histograms()
        self._update_verdicts()
        self._redraw_plot()

    # ------------------------------------------------------------------ histograms (always in a worker)
    def _count_missing_histograms(self) -> None:
        count_missing_histograms(self)

    def region_of(self, layer) -> Any:
        """The cell region of ``layer``'s scan (None: the whole volume is the cell)."""
        return None if layer is None else self.session.region(id(scan_data(layer)))

    def on_busy_changed(self, busy: bool) -> None:
        self.apply_button.setEnabled(not busy)
        self.region_editor.refresh()
        if not busy and self._histograms_wanted:
            self._histograms_wanted = False
            QTimer.singleShot(0, lambda: self.guarded(self._count_missing_histograms))

    # ------------------------------------------------------------------ thresholds
    def suggest(self) -> ThresholdSet:
        """Suggest thresholds from the chosen scan's histogram (and its calibration)."""
        layer = self.chosen_scan("threshold")
        hists = self.histograms_of(layer)
        if hists is None:
            self._count_missing_histograms()
            raise LiCellInputError(None, f"{layer.name}: the histogram is still being counted", "try again shortly")
        ts = pipeline.suggest_scan_thresholds(
            hists, self.resolved_options(layer), pipeline.scan_calibration(layer.metadata)
        )
        self.set_thresholds(ts)
        self.show_status(f"{layer.name}: suggested " + describe_thresholds(ts))
        return ts

    def set_thresholds(self, ts: ThresholdSet) -> None:
        """Use a whole threshold set (rebuilds markers and value boxes)."""
        self.session.set_thresholds(scan_ref(self.chosen_scan("threshold")), ts)
        self.values.rebuild(ts)
        self.refresh()

    def set_threshold(self, i: int, value: float) -> float:
        """Move threshold ``i`` to ``value`` grey (kept between its neighbours); returns the value used."""
        layer = self.image_layer
        if layer is None or self.thresholds is None:
            raise LiCellInputError(None, "no thresholds yet", "press Suggest first")
        ts = self.session.move(scan_ref(layer), i, value)
        self.values.update_values(ts)
        self.plot.move_marker(i, ts)
        self.update_preview()
        if self.plot.dragging is None:
            self._after_hand_change()  # a drag is judged and autosaved once, on release
        return ts.values[i]

    def _after_hand_change(self) -> None:
        self._update_sensitivity()
        self.autosave.schedule()

    def refresh(self) -> None:
        """Show the session's state for the chosen scan: region, plot, preview, sensitivity, verdicts."""
        self.region_editor.refresh()
        self._redraw_plot()
        self.update_preview()
        self._update_sensitivity()
        self._update_verdicts()

    def _redraw_plot(self) -> None:
        curves = [
            (l.name, self.histogram if k == 0 else self.compare_histogram)
            for k, l in enumerate((self.image_layer, self.compare_layer))
            if l is not None
        ]
        self.plot.show_histograms(curves, self.thresholds, self.zoom_low.isChecked())

    def _update_sensitivity(self) -> None:
        ts, hist = self.thresholds, self.histogram
        self.sensitivity = [] if ts is None or hist is None else threshold_sensitivity(ts, hist)
        self.sensitivity_table.show_rows(self.sensitivity)

    def _update_verdicts(self) -> None:
        self.verdict = self._verdict_of(self.image_layer, self.analysis_options())
        self.verdict_label.setText("" if self.verdict is None else f"{self.image_layer.name}: {self.verdict.reason}")
        other = self.compare_layer
        self.compare_verdict = (
            None if other is None else self._verdict_of(other, CellMetadata.from_layer(other).analysis_options())
        )
        self.compare_label.setText(
            "" if self.compare_verdict is None else f"{other.name}: {self.compare_verdict.reason}"
        )

    def _verdict_of(self, layer, options):
        return (
            None
            if layer is None
            else self.session.verdict(id(scan_data(layer)), options, pipeline.scan_calibration(layer.metadata))
        )

    def resolved_options(self, layer=None) -> pipeline.AnalysisOptions:
        """The dock's options with the fill gas inferred from the scan when none is set (as analyze does)."""
        layer = self.image_layer if layer is None else layer
        return self.session.resolved_options(
            id(scan_data(layer)), self.analysis_options(), pipeline.scan_calibration(layer.metadata)
        )

    def set_side_by_side(self, on: bool) -> None:
        """napari grid mode with the scan and the compared scan next to each other."""
        self.viewer.grid.enabled = bool(on)
        if on and self.compare_layer is None:
            self.show_status("Side by side: choose a scan to compare with.")
        with quietly(self.side_by_side):
            self.side_by_side.setChecked(bool(on))

    # ------------------------------------------------------------------ preview
    def _on_live_preview(self, on: bool) -> None:
        self.preview.set_on(on, self.image_layer)
        self.update_preview()

    def _on_dims(self, event=None) -> None:
        self.guarded(self.update_preview)

    preview_layer = property(lambda self: self.preview.layer(self.image_layer), doc="The scan's preview layer.")

    def update_preview(self) -> None:
        """Classify the displayed section with the current thresholds into the preview layer (when asked for)."""
        self.preview.update(self.image_layer, self.thresholds, self.histogram, self.region_of(self.image_layer))

    # ------------------------------------------------------------------ apply
    def apply_to_volume(self):
        """Classify the whole scan off the GUI thread into the ``"<scan> labels"`` layer."""
        return apply_thresholds_to_volume(self)

    # ------------------------------------------------------------------ autosave & recovery
    def autosave_thresholds_now(self) -> Path | None:
        """Write the pending threshold change (if any) to the scan's autosave now (atomic)."""
        return self.autosave.write_now()

    def flush_autosave(self) -> Path | None:
        """Write a pending threshold autosave at once (before closing); None when nothing was pending."""
        return self.autosave.flush()

    def close_dock(self) -> None:
        if not self._closed:
            self.guarded(self.flush_autosave)
        super().close_dock()

    threshold_recovery = property(lambda self: self.session.offered, doc="The autosave offered (None: none).")

    def check_threshold_recovery(self):
        """Offer the chosen scan's autosaved thresholds when they were never applied (not this dock's own)."""
        return self.autosave.check(None if self.image_layer is None else scan_ref(self.image_layer))

    def restore_thresholds(self) -> ThresholdSet | None:
        """Use the offered autosaved thresholds (exact grey values); None when none was offered."""
        if self.session.offered is None or self.image_layer is None:
            return None
        thresholds = self.session.restore_offered(scan_ref(self.image_layer))
        self.values.rebuild(thresholds)
        self.refresh()
        self.show_status("Restored the autosaved thresholds " + describe_thresholds(thresholds))
        return thresholds

    def discard_thresholds(self) -> None:
        """Delete the offered (or damaged) threshold autosave of the chosen scan."""
        self.autosave.discard()
