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

import numpy as np
from qtpy.QtWidgets import QFileDialog

from ..echem.voltage_curve import VoltageCurve
from ..layer_roles import scan_of
from ..echem.voltage_view import VoltageView, nearest_scan_index, scan_times_of
from ..phantoms.voltage_curves import INLI_VS_LI_V
from .mpl_canvas import ThemedFigureWidget
from .dock_tabs import JoinsLicellTabs
from .voltage_plot import CURSOR_COLOUR, CURVE_COLOUR, REFERENCE_COLOUR, draw_events, draw_scan_times
from .voltage_widgets import VoltageControls
from .widget_utils import quietly

__all__ = ["VoltageDock", "scan_times_of", "nearest_scan_index"]

_MIN_BINS = 200


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
        self.view = VoltageView()  # the record, the step on show, its events and scan times
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
        controls = VoltageControls(self.layout(), with_viewer=self.viewer is not None)
        for name in VoltageControls.CONTROLS:
            setattr(self, name, getattr(controls, name))
        self.open_button.clicked.connect(lambda: self.open_voltage_file())
        self.timelapse_button.clicked.connect(lambda: self.open_timelapse_demo())
        self.export_button.clicked.connect(self._export_dialog)
        self.step_combo.currentIndexChanged.connect(self._on_step_chosen)

    # --- model -----------------------------------------------------------------
    def set_curve(
        self, curve: VoltageCurve | None, scan_times_min=None, name: str = "", linked_layer: str | None = None
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
        self.view.set_record(curve, scan_times_min, name, linked_layer)
        with quietly(self.step_combo):
            self.step_combo.clear()
            for text, ordinal in self.view.step_choices():
                self.step_combo.addItem(text, ordinal)
            self.step_combo.setVisible(len(self.view.steps) > 1)
        self._shown()

    def _shown(self) -> None:
        """Show what the view holds now (the step picked, its events, the description) and redraw."""
        index = self.step_combo.findData(self.view.step_ordinal)
        if index >= 0 and index != self.step_combo.currentIndex():
            with quietly(self.step_combo):
                self.step_combo.setCurrentIndex(index)
        self.status.setText(self.view.describe())
        self.redraw()

    record = property(lambda self: self.view.record, doc="The whole cycler record (None: none).")
    curve = property(lambda self: self.view.curve, doc="What is shown: the record, or one step of it.")
    steps = property(lambda self: self.view.steps, doc="The record's steps.")
    events = property(lambda self: self.view.events, doc="Events found on what is shown.")
    cell_name = property(lambda self: self.view.cell_name, doc="The cell shown.")
    scan_times_min = property(lambda self: self.view.scan_times_min, doc="The cell's scan times (minutes).")
    linked_layer = property(lambda self: self.view.linked_layer, doc="The linked 4D time-lapse layer's name.")

    def _on_step_chosen(self, index: int) -> None:
        self.view.show_step(self.step_combo.itemData(index))
        self._shown()

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
        if layer is not None and "voltage_curve" not in layer.metadata:  # a cell's labels: its scan's record
            layer = next((other for other in self.viewer.layers if other.name == scan_of(layer)), layer)
        if layer is None or not isinstance(layer.metadata.get("voltage_curve"), VoltageCurve):
            return
        linked = layer.name if layer.ndim >= 4 and layer.metadata.get("scan_times_min") is not None else None
        if layer.metadata["voltage_curve"] is self.view.record and linked == self.view.linked_layer:
            return  # the same cell's record (e.g. its Compare copy): nothing to split or draw again
        self.set_curve(layer.metadata["voltage_curve"], scan_times_of(layer.metadata), layer.name, linked)

    # --- drawing ---------------------------------------------------------------
    def _n_bins(self) -> int:
        ratio = self.canvas.devicePixelRatioF() if hasattr(self.canvas, "devicePixelRatioF") else 1.0
        return max(_MIN_BINS, int(self.canvas.width() * ratio))

    def displayed_points(self, x0: float | None = None, x1: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The points plotted for the time range [x0, x1] (minutes; the whole record by default)."""
        return self.view.displayed_points(self._n_bins(), x0, x1)

    def draw(self) -> None:
        self._ax = ax = self.figure.add_subplot()
        self.style_axes(ax)
        text = self.colours["text"]
        self._line = self._cursor = None
        ax.axhline(self.reference_v, color=REFERENCE_COLOUR, lw=0.8, ls="--", label=f"InLi/Li {self.reference_v:.3f} V")
        ax.set_xlabel("time (min)")
        ax.set_ylabel("voltage (V)")
        if self.curve is None or self.curve.n_points == 0:
            ax.text(0.5, 0.5, "no voltage record", ha="center", va="center", transform=ax.transAxes, color=text)
            ax.set_title(self.cell_name, fontsize=9)
            return
        t, v = self.displayed_points()
        (self._line,) = ax.plot(t, v, color=CURVE_COLOUR, lw=0.9, label="voltage")
        draw_scan_times(ax, self.scan_times_min)
        draw_events(ax, self.events, text)
        self._cursor = ax.axvline(np.nan, color=CURSOR_COLOUR, lw=1.8, label="shown scan")
        t0, t1 = float(self.curve.time_min[0]), float(self.curve.time_min[-1])
        pad = 0.01 * max(t1 - t0, 1e-9)  # so a scan or cursor at the record's end is not hidden by the spine
        ax.set_xlim(t0 - pad, t1 + pad)
        ax.set_title(self.cell_name, fontsize=9)
        self._on_dims_step()
        if not self._cursor.get_visible():
            self._cursor.set_label("_nolegend_")  # not a time-lapse: no cursor in the legend
        # beside the axes, so it never covers the curve or the ticks, however small the dock
        legend = ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, fontsize=7, frameon=False)
        for item in legend.get_texts():
            item.set_color(text)
        ax.callbacks.connect("xlim_changed", self._on_xlim)

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
        path, _ = QFileDialog.getSaveFileName(
            self, "Export voltage plot", f"{stem}_voltage.png", "PNG image (*.png);;SVG vector image (*.svg)"
        )
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
