"""Dock: the active cell's voltage curve (V vs minutes), its CT scans and events, linked to the time slider.

What it shows
-------------
* the voltage of the active cell against time in minutes, reduced for
  display to the minimum and maximum of every pixel column (so spikes
  survive) and re-reduced from the raw points whenever the time range
  changes (toolbar zoom/pan), so a zoomed view is exact;
* the 0.622 V InLi/Li reference line;
* a marker at the time of each CT scan of the cell;
* the events found by :func:`~napari_licell.echem.voltage_events.find_voltage_events`:
  the plateau voltage and the onset of a steep rise (about 2600 min in the
  cell without interlayer).

Linked time
-----------
A time-lapse layer is a 4D (scan, z, y, x) layer whose
``metadata['scan_times_min']`` lists the scan times in minutes (and
``metadata['voltage_curve']`` its :class:`VoltageCurve`), as built by
:func:`napari_licell.compare.timelapse.timelapse_layers`. While one is
active, moving napari's time slider moves a cursor line on the curve to that
scan's time, and a left click on the curve (with no toolbar mode active)
moves the slider to the scan nearest to the clicked time.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.transforms import blended_transform_factory
from qtpy.QtWidgets import QComboBox, QFileDialog, QHBoxLayout, QLabel, QPushButton

from ..echem.voltage_curve import VoltageCurve
from ..echem.voltage_events import VoltageEvents, decimate_for_display, find_voltage_events
from ..phantoms.voltage_curves import INLI_VS_LI_V
from .mpl_canvas import ThemedFigureWidget
from .dock_tabs import JoinsLicellTabs

__all__ = ["VoltageDock", "scan_times_of", "nearest_scan_index"]

_CURVE_COLOUR = "#3a8ee6"
_SCAN_COLOUR = "#e05050"
_ONSET_COLOUR = "#e0702e"
_REFERENCE_COLOUR = "#9a9a9a"
_CURSOR_COLOUR = "#2fd9b9"
_MIN_BINS = 200


def scan_times_of(metadata: dict[str, Any]) -> np.ndarray:
    """Scan times of a cell in minutes: ``scan_times_min``, else the charge end of an "after" scan, else none."""
    if metadata.get("scan_times_min") is not None:
        return np.asarray(metadata["scan_times_min"], dtype=float).ravel()
    if metadata.get("state") == "after" and metadata.get("charge_minutes") is not None:
        return np.array([float(metadata["charge_minutes"])])
    return np.empty(0)


def nearest_scan_index(scan_times_min: np.ndarray, time_min: float) -> int:
    """Index of the scan closest in time to ``time_min`` (minutes)."""
    times = np.asarray(scan_times_min, dtype=float)
    if times.size == 0:
        raise ValueError("no scans")
    return int(np.argmin(np.abs(times - float(time_min))))


class VoltageDock(JoinsLicellTabs, ThemedFigureWidget):
    """Voltage vs time of the active cell, with scans, events and a cursor linked to the time slider.

    Parameters
    ----------
    napari_viewer : napari.Viewer
        The viewer whose active layer, time slider and theme the dock follows.

    Notes
    -----
    The curve comes from, in order of what happened last: the Study dock's
    selected cell (after :meth:`follow_study`), an active layer carrying
    ``metadata['voltage_curve']``, :meth:`set_curve`, or a file opened with
    :meth:`open_voltage_file`.
    """

    def __init__(self, napari_viewer, parent=None):
        super().__init__(napari_viewer, parent=parent, toolbar=True, figsize=(5, 3))
        self.curve: VoltageCurve | None = None  # what is shown: the record, or one step of it
        self.record: VoltageCurve | None = None  # the whole record
        self.steps: list = []
        self.cell_name: str = ""
        self.scan_times_min: np.ndarray = np.empty(0)
        self.events: VoltageEvents | None = None
        self.linked_layer: str | None = None
        self.reference_v: float = INLI_VS_LI_V
        self._ax = None
        self._line = None
        self._cursor = None
        self._study = None
        self._init_controls()
        self.canvas.mpl_connect("button_press_event", self._on_click)
        self.canvas.mpl_connect("resize_event", lambda event: self._update_line())
        if napari_viewer is not None:
            napari_viewer.dims.events.current_step.connect(self._on_dims_step)
            napari_viewer.layers.selection.events.active.connect(self._on_active_layer)
            self._on_active_layer()
        self.redraw()

    # --- widgets ---------------------------------------------------------------
    def _init_controls(self) -> None:
        row = QHBoxLayout()
        self.open_button = QPushButton("Open voltage file…")
        self.open_button.setToolTip("Read a cycler file (BioLogic, Neware, Arbin, Maccor, Gamry, CSV) for the active cell")
        self.open_button.clicked.connect(lambda: self.open_voltage_file())
        self.timelapse_button = QPushButton("Time-lapse demo")
        self.timelapse_button.setToolTip("Open a synthetic process-3 cell scanned at 0, 1000, 2000, 3000 and 4000 min")
        self.timelapse_button.clicked.connect(lambda: self.open_timelapse_demo())
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip("Save the plot as PNG or SVG")
        self.export_button.clicked.connect(self._export_dialog)
        self.timelapse_button.setEnabled(self.viewer is not None)
        for button in (self.open_button, self.timelapse_button, self.export_button):
            row.addWidget(button)
        self.layout().addLayout(row)
        self.step_combo = QComboBox()
        self.step_combo.setToolTip("The charge step that matches the scan (a file holds many cycles and steps)")
        self.step_combo.setVisible(False)
        self.step_combo.currentIndexChanged.connect(self._on_step_chosen)
        self.layout().addWidget(self.step_combo)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.layout().addWidget(self.status)

    # --- model -----------------------------------------------------------------
    def set_curve(
        self,
        curve: VoltageCurve | None,
        scan_times_min=None,
        name: str = "",
        linked_layer: str | None = None,
    ) -> None:
        """Show ``curve`` (time in minutes, voltage in V) with scans at ``scan_times_min`` (minutes).

        Parameters
        ----------
        curve : VoltageCurve or None
            None shows "no voltage record".
        scan_times_min : array-like, optional
            Times of the cell's CT scans, minutes.
        name : str
            Cell name for the title.
        linked_layer : str, optional
            Name of the 4D time-lapse layer whose first axis is the scan index.
        """
        self.record = curve
        self.cell_name = name
        self.scan_times_min = np.empty(0) if scan_times_min is None else np.asarray(scan_times_min, float).ravel()
        self.linked_layer = linked_layer
        self._fill_steps(curve)
        self._show_part(self._default_part(curve))

    def _fill_steps(self, record: VoltageCurve | None) -> None:
        """List the record's charge steps (shown only when it has more than one step)."""
        from ..echem.charge_steps import split_steps

        self.steps = split_steps(record) if record is not None and record.n_points else []
        self.step_combo.blockSignals(True)
        self.step_combo.clear()
        self.step_combo.addItem("whole record", None)
        for step in self.steps:
            if step.kind in ("charge", "unknown"):
                where = " ".join(f"{k} {v}" for k, v in (("cycle", step.cycle), ("step", step.step)) if v is not None)
                self.step_combo.addItem(f"{where or f'step {step.ordinal}'}: {step.kind}, "
                                        f"{step.start_min:.0f}-{step.end_min:.0f} min", step.ordinal)
        self.step_combo.setVisible(len(self.steps) > 1)
        self.step_combo.blockSignals(False)

    def _default_part(self, record: VoltageCurve | None) -> int | None:
        """The first Li-plating charge of a record with several steps (None: the whole record)."""
        if record is None or len(self.steps) <= 1:
            return None
        from ..echem.charge_steps import select_charge
        from ..errors import LiCellInputError

        try:
            _, step, _ = select_charge(record)
        except LiCellInputError:
            return None
        return step.ordinal

    def _show_part(self, ordinal: int | None) -> None:
        """Show the step ``ordinal`` of the record (None: all of it), with its events."""
        record, part = self.record, self.record
        if record is not None and ordinal is not None:
            step = next(s for s in self.steps if s.ordinal == ordinal)
            part = _rows(record, step)
        index = self.step_combo.findData(ordinal)
        if index >= 0 and index != self.step_combo.currentIndex():
            self.step_combo.blockSignals(True)
            self.step_combo.setCurrentIndex(index)
            self.step_combo.blockSignals(False)
        self.curve = part
        self.events = find_voltage_events(part) if part is not None and part.n_points >= 10 else None
        self.status.setText(self._describe())
        self.redraw()

    def _on_step_chosen(self, index: int) -> None:
        self._show_part(self.step_combo.itemData(index))

    def follow_study(self, study_dock) -> None:
        """Show the voltage of the cell selected in ``study_dock`` (a :class:`StudyDock`), now and on every change."""
        self._study = study_dock
        study_dock.cell_selected.connect(self._on_study_cell)
        current = study_dock.current_cell()
        if current is not None:
            self._on_study_cell(current)

    def _on_study_cell(self, name: str) -> None:
        entry = self._study.entries.get(name) if self._study is not None else None
        if entry is None:
            return
        self.set_curve(entry.voltage, scan_times_of(entry.metadata), name=name)

    def _on_active_layer(self, event=None) -> None:
        layer = self.viewer.layers.selection.active
        if layer is None or not isinstance(layer.metadata.get("voltage_curve"), VoltageCurve):
            return
        linked = layer.name if layer.ndim >= 4 and layer.metadata.get("scan_times_min") is not None else None
        self.set_curve(layer.metadata["voltage_curve"], scan_times_of(layer.metadata), layer.name, linked)

    def _describe(self) -> str:
        if self.curve is None:
            return f"{self.cell_name}: no voltage record." if self.cell_name else "No voltage record."
        c = self.curve
        parts = [f"{self.cell_name or 'curve'}: {c.n_points:,} points over {c.time_min[-1] - c.time_min[0]:.0f} min"]
        if self.events is not None and self.events.plateau_v is not None:
            parts.append(f"plateau {self.events.plateau_v:.3f} V")
        if self.events is not None and self.events.rise_onset_min is not None:
            parts.append(f"steep rise from {self.events.rise_onset_min:.0f} min")
        if self.linked_layer:
            parts.append(f"linked to the time slider of '{self.linked_layer}'")
        return "; ".join(parts)

    # --- drawing ---------------------------------------------------------------
    def _n_bins(self) -> int:
        ratio = self.canvas.devicePixelRatioF() if hasattr(self.canvas, "devicePixelRatioF") else 1.0
        return max(_MIN_BINS, int(self.canvas.width() * ratio))

    def displayed_points(self, x0: float | None = None, x1: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The points plotted for the time range [x0, x1] (minutes; the whole record by default).

        At most two points per pixel column (its lowest and highest); the
        exact raw points when the range holds fewer than that.
        """
        if self.curve is None:
            return np.empty(0), np.empty(0)
        t, v = self.curve.time_min, self.curve.voltage_v
        if x0 is not None and x1 is not None and t.size:
            a = max(int(np.searchsorted(t, x0, side="left")) - 1, 0)
            b = min(int(np.searchsorted(t, x1, side="right")) + 1, t.size)
            t, v = t[a:b], v[a:b]
        return decimate_for_display(t, v, self._n_bins())

    def draw(self) -> None:
        self._ax = ax = self.figure.add_subplot()
        self.style_axes(ax)
        text = self.colours["text"]
        self._line = self._cursor = None
        ax.axhline(self.reference_v, color=_REFERENCE_COLOUR, lw=0.8, ls="--", label=f"InLi/Li {self.reference_v:.3f} V")
        ax.set_xlabel("time (min)")
        ax.set_ylabel("voltage (V)")
        if self.curve is None or self.curve.n_points == 0:
            ax.text(0.5, 0.5, "no voltage record", ha="center", va="center", transform=ax.transAxes, color=text)
            ax.set_title(self.cell_name, fontsize=9)
            return
        t, v = self.displayed_points()
        (self._line,) = ax.plot(t, v, color=_CURVE_COLOUR, lw=0.9, label="voltage")
        self._draw_scans(ax)
        self._draw_events(ax, text)
        self._cursor = ax.axvline(np.nan, color=_CURSOR_COLOUR, lw=1.8, label="shown scan")
        t0, t1 = float(self.curve.time_min[0]), float(self.curve.time_min[-1])
        pad = 0.01 * max(t1 - t0, 1e-9)  # so a scan or cursor at the record's end is not hidden by the spine
        ax.set_xlim(t0 - pad, t1 + pad)
        ax.set_title(self.cell_name, fontsize=9)
        self._on_dims_step()
        if not self._cursor.get_visible():
            self._cursor.set_label("_nolegend_")  # not a time-lapse: no cursor in the legend
        # beside the axes, so it never covers the curve or the ticks, however small the dock
        legend = ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, fontsize=7,
                           frameon=False)
        for item in legend.get_texts():
            item.set_color(text)
        ax.callbacks.connect("xlim_changed", self._on_xlim)

    def _draw_scans(self, ax) -> None:
        if self.scan_times_min.size == 0:
            return
        top = blended_transform_factory(ax.transData, ax.transAxes)
        for i, time in enumerate(self.scan_times_min):
            ax.axvline(time, color=_SCAN_COLOUR, lw=0.8, ls=":", label="CT scan" if i == 0 else None)
        ax.plot(self.scan_times_min, np.full(self.scan_times_min.size, 0.98), "v", color=_SCAN_COLOUR, ms=6,
                transform=top, clip_on=False)

    def _draw_events(self, ax, text: str) -> None:
        ev = self.events
        if ev is None:
            return
        # the events are named in the legend (placed where the curve is not), never as loose text on the curve
        if ev.plateau_v is not None and ev.plateau_start_min is not None:
            ax.hlines(ev.plateau_v, ev.plateau_start_min, ev.plateau_end_min, color=text, lw=1.4, alpha=0.7,
                      label=f"plateau {ev.plateau_v:.3f} V")
        if ev.rise_onset_min is not None:
            ax.axvline(ev.rise_onset_min, color=_ONSET_COLOUR, lw=1.0, label=f"rise at {ev.rise_onset_min:.0f} min")

    def _on_theme(self, event=None) -> None:
        """Redraw in the new theme's colours, keeping the user's zoom."""
        xlim = self._ax.get_xlim() if self._ax is not None and self._line is not None else None
        super()._on_theme(event)
        if xlim is not None and self._ax is not None and self._line is not None:
            self._ax.set_xlim(xlim)

    def _on_xlim(self, ax) -> None:
        self._update_line()

    def _update_line(self) -> None:
        """Re-reduce the raw points for the visible time range (exact when zoomed in far enough)."""
        if self._line is None or self._ax is None:
            return
        x0, x1 = self._ax.get_xlim()
        self.canvas.settle()
        self._line.set_data(*self.displayed_points(min(x0, x1), max(x0, x1)))
        self.canvas.draw_idle()

    # --- linked time -------------------------------------------------------------
    def _linked(self):
        """(layer, viewer axis of its scan index) of the linked time-lapse layer, or None."""
        if self.viewer is None or not self.linked_layer or self.linked_layer not in self.viewer.layers:
            return None
        layer = self.viewer.layers[self.linked_layer]
        return layer, self.viewer.dims.ndim - layer.ndim

    def current_scan_index(self) -> int | None:
        """Scan shown by the viewer's time slider, or None without a linked time-lapse layer."""
        linked = self._linked()
        if linked is None or self.scan_times_min.size == 0:
            return None
        layer, axis = linked
        world = self.viewer.dims.point[axis]
        index = int(round((world - layer.translate[0]) / layer.scale[0]))
        return int(np.clip(index, 0, self.scan_times_min.size - 1))

    @property
    def cursor_time_min(self) -> float | None:
        """Time (minutes) of the cursor line, None when it is hidden."""
        if self._cursor is None or not self._cursor.get_visible():
            return None
        return float(self._cursor.get_xdata()[0])

    def _on_dims_step(self, event=None) -> None:
        if self._cursor is None:
            return
        index = self.current_scan_index()
        self.canvas.settle()
        if index is None:
            self._cursor.set_visible(False)
        else:
            time = float(self.scan_times_min[index])
            self._cursor.set_xdata([time, time])
            self._cursor.set_visible(True)
        self.canvas.draw_idle()

    def show_scan(self, index: int) -> None:
        """Move the viewer's time slider to scan ``index`` of the linked time-lapse layer."""
        linked = self._linked()
        if linked is None:
            return
        layer, axis = linked
        index = int(np.clip(index, 0, self.scan_times_min.size - 1))
        self.viewer.dims.set_point(axis, float(layer.translate[0] + index * layer.scale[0]))

    def _on_click(self, event) -> None:
        if event.inaxes is not self._ax or event.xdata is None or getattr(event.button, "value", event.button) != 1:
            return
        if self.toolbar is not None and getattr(self.toolbar.mode, "name", "NONE") != "NONE":
            return  # zooming or panning, not picking a scan
        if self._linked() is None or self.scan_times_min.size == 0:
            return
        self.show_scan(nearest_scan_index(self.scan_times_min, event.xdata))

    # --- files -------------------------------------------------------------------
    def export(self, path: str | os.PathLike, dpi: int = 200) -> Path:
        """Save the plot as it is shown (format from the suffix: .png or .svg); returns the path."""
        path = Path(path)
        fmt = path.suffix.lower().lstrip(".")
        if fmt not in ("png", "svg"):
            raise ValueError(f"{path.name}: export the voltage plot as .png or .svg")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.figure.savefig(path, format=fmt, dpi=dpi, facecolor=self.figure.get_facecolor())
        return path

    def _export_dialog(self) -> None:
        from napari.utils.notifications import show_error, show_info

        stem = (self.cell_name or "voltage").replace(" ", "_")
        path, _ = QFileDialog.getSaveFileName(self, "Export voltage plot", f"{stem}_voltage.png",
                                              "PNG image (*.png);;SVG vector image (*.svg)")
        if not path:
            return
        try:
            written = self.export(path)
        except (OSError, ValueError) as exc:
            show_error(f"Could not export the voltage plot to {path}: {exc}")
            return
        show_info(f"Voltage plot saved to {written}")

    def open_voltage_file(self, path: str | os.PathLike | None = None) -> bool:
        """Read a cycler file and show it (keeping the current cell's scan times); False on failure.

        Errors are shown as a napari notification naming the file, never a traceback.
        """
        from napari.utils.notifications import show_error

        if path is None:
            path, _ = QFileDialog.getOpenFileName(self, "Open voltage file")
            if not path:
                return False
        path = Path(path)
        try:
            from ..echem.cycler_readers import read_voltage_curve

            curve = read_voltage_curve(path)
        except Exception as exc:  # noqa: BLE001 - any reader failure becomes one message
            message = getattr(exc, "message", None) or f"{path}: {type(exc).__name__}: {exc}"
            if str(path.name) not in message:
                message = f"{path}: {message}"
            show_error(f"Could not read voltage file {path.name}: {message}")
            return False
        self.set_curve(curve, self.scan_times_min, name=path.name, linked_layer=self.linked_layer)
        return True

    def open_timelapse_demo(self, process: str = "process3") -> str:
        """Add a synthetic time-lapse of ``process`` (scans at 0, 1000, 2000, 3000, 4000 min) and link it.

        Returns the name of the 4D scan layer.
        """
        from .._napari.layers import timelapse_layers
        from ..compare.timelapse import charge_series_timelapse
        from .cross_section import show_stack_cross_section

        series = charge_series_timelapse(process)
        names = []
        for data, kwargs, kind in timelapse_layers(series):
            if kwargs["name"] not in self.viewer.layers:
                getattr(self.viewer, f"add_{kind}")(data, **kwargs)
            names.append(kwargs["name"])
        for layer in self.viewer.layers:
            if layer.name not in names:
                layer.visible = False
        scan = self.viewer.layers[names[0]]
        scan.visible = True
        show_stack_cross_section(self.viewer, stack_axis=self.viewer.dims.ndim - scan.ndim + 1)
        self.viewer.layers.selection.active = scan
        if self.linked_layer != scan.name:  # selection was already on it: no event fired
            self._on_active_layer()
        self.show_scan(series.n_scans - 1)
        return scan.name

    def close_viewer_links(self) -> None:
        super().close_viewer_links()
        if self.viewer is None:
            return
        for emitter, slot in (
            (self.viewer.dims.events.current_step, self._on_dims_step),
            (self.viewer.layers.selection.events.active, self._on_active_layer),
        ):
            try:
                emitter.disconnect(slot)
            except (TypeError, ValueError):
                pass


def _rows(curve: VoltageCurve, step) -> VoltageCurve:
    """The rows of one step of ``curve`` (time still counted from the start of the record)."""
    from ..echem.charge_steps import select_charge

    if step.step is not None:
        return select_charge(curve, cycle=step.cycle, step=step.step)[0]
    return select_charge(curve, step=step.ordinal)[0]
