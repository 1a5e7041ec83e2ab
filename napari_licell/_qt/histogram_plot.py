"""The Thresholds dock's histogram: log share per grey value, class bands and one draggable marker per threshold."""

from __future__ import annotations

import numpy as np
from qtpy.QtCore import Signal

from ..classes import class_by_code
from .mpl_canvas import ThemedFigureWidget

__all__ = ["HistogramPlot"]

_PICK_PIXELS = 8


class HistogramPlot(ThemedFigureWidget):
    """Histogram of one or two scans with draggable threshold markers.

    Signals
    -------
    marker_moved(int, float)
        Marker ``i`` was dragged to a grey value.
    marker_released(int)
        The drag of marker ``i`` ended.
    """

    marker_moved = Signal(int, float)
    marker_released = Signal(int)

    def __init__(self, napari_viewer=None, parent=None):
        super().__init__(napari_viewer, parent=parent, toolbar=False, figsize=(4, 2.2))
        self.canvas.setMinimumHeight(150)
        self.ax = None
        self.marker_lines: list = []
        self.spans: list = []
        self.dragging: int | None = None
        self.histogram = self.thresholds = None
        self.curves: list[tuple[str, object, str | None]] = []
        self.zoom_low = True
        self.canvas.mpl_connect("button_press_event", self._on_press)
        self.canvas.mpl_connect("motion_notify_event", self._on_motion)
        self.canvas.mpl_connect("button_release_event", self._on_release)
        self.redraw()

    def show_histograms(self, curves: list[tuple[str, object]], thresholds=None, zoom_low: bool = True) -> None:
        """Draw ``curves`` (name, Histogram; the first is the scan thresholded) with ``thresholds``' markers."""
        self.curves = [(name, hist, None) for name, hist in curves if hist is not None]
        self.histogram = self.curves[0][1] if self.curves else None
        self.thresholds = thresholds
        self.zoom_low = bool(zoom_low)
        self.redraw()

    def x_range(self) -> tuple[float, float]:
        hist, ts = self.histogram, self.thresholds
        lo, hi = hist.occupied_range()
        x0, x1 = hist.grey(lo), hist.grey(hi)
        if self.zoom_low and ts is not None and ts.levels is not None:
            sigma = ts.noise_sigma or 0.01 * (x1 - x0)
            dark = [lv for lv, c in zip(ts.levels, ts.classes) if c in (1, 2) and np.isfinite(lv)]
            top = ts.values[min(len(ts.values), max(len(dark), 1)) - 1] if ts.values else x1
            x0 = max(x0, (min(dark) if dark else x0) - 8 * sigma)
            x1 = min(x1, max(top, max(dark) if dark else top) + 8 * sigma)
            if dark:  # no void or SE threshold above the dark phase (an Ar cell): the dark peak, not the metal
                x1 = min(x1, max(dark) + 25 * sigma)
        return x0, x1

    def draw(self) -> None:
        ax = self.figure.add_subplot(111)
        self.ax = ax
        self.style_axes(ax)
        ax.tick_params(labelsize=7)
        self.marker_lines, self.spans = [], []
        text = self.colours["text"]
        if self.histogram is None:
            ax.text(0.5, 0.5, "choose a scan", ha="center", va="center", transform=ax.transAxes, color=text)
            return
        x0, x1 = self.x_range()
        for k, (name, h, _) in enumerate(self.curves):
            a = int(max(0, np.floor(h.index(x0))))
            b = int(min(h.n_bins, np.ceil(h.index(x1)) + 1))
            greys, share = display_bins(h.greys[a:b], h.counts[a:b], max(h.n_voxels, 1) * h.bin_width)
            ax.plot(greys, np.where(share > 0, share, np.nan), lw=0.8, color=text if k == 0 else "#f0a030", label=name)
        ax.set_yscale("log")
        ax.set_xlim(x0, x1)
        ax.set_xlabel("grey value", fontsize=7)
        ax.set_ylabel("share / grey", fontsize=7)
        if len(self.curves) > 1:
            ax.legend(fontsize=6, loc="upper right")
        ts = self.thresholds
        if ts is None:
            return
        edges = [x0, *ts.values, x1]
        for k, code in enumerate(ts.classes):
            self.spans.append(ax.axvspan(edges[k], edges[k + 1], color=class_by_code(code).colour, alpha=0.12, lw=0))
        for i, (v, name) in enumerate(zip(ts.values, ts.boundary_names)):
            line = ax.axvline(v, color=class_by_code(ts.classes[i + 1]).colour, lw=1.6, picker=True)
            line.set_label(name)
            self.marker_lines.append(line)

    def move_marker(self, i: int, thresholds) -> None:
        """Move marker ``i`` and the class bands to ``thresholds`` (no full redraw)."""
        self.thresholds = thresholds
        if i >= len(self.marker_lines) or self.ax is None:
            return
        self.canvas.settle()
        self.marker_lines[i].set_xdata([thresholds.values[i]] * 2)
        x0, x1 = self.ax.get_xlim()
        edges = [x0, *thresholds.values, x1]
        for k, span in enumerate(self.spans):
            span.set_x(edges[k])
            span.set_width(edges[k + 1] - edges[k])
        self.canvas.draw_idle()

    def marker_at(self, x_pixels: float) -> int | None:
        """Index of the marker within a few pixels of display x, or None."""
        if self.ax is None or self.thresholds is None:
            return None
        best, best_d = None, _PICK_PIXELS
        for i, v in enumerate(self.thresholds.values):
            d = abs(self.ax.transData.transform((v, 1.0))[0] - x_pixels)
            if d <= best_d:
                best, best_d = i, d
        return best

    def _on_press(self, event) -> None:
        if event.inaxes is not self.ax or getattr(event, "button", 1) != 1:
            return
        self.dragging = self.marker_at(event.x)

    def _on_motion(self, event) -> None:
        if self.dragging is None or event.inaxes is not self.ax or event.xdata is None:
            return
        self.marker_moved.emit(self.dragging, float(event.xdata))

    def _on_release(self, event) -> None:
        if self.dragging is None:
            return
        i, self.dragging = self.dragging, None
        self.marker_released.emit(i)


def display_bins(greys: np.ndarray, counts: np.ndarray, per_bin: float, max_points: int = 600):
    """Merge neighbouring histogram bins for drawing: at most ``max_points``, and no comb.

    Scans exported with a scale factor hold only every n-th grey value; drawn bin
    by bin their histogram is a comb of spikes and empty bins. Bins are merged in
    groups as wide as the typical gap between occupied bins (and wide enough for
    ``max_points``); the share per grey value is kept.

    Returns
    -------
    greys : ndarray
        Mean grey value of each group.
    share : ndarray
        Counts of each group / (``per_bin`` x group size).
    """
    n = int(counts.size)
    if n == 0:
        return greys, counts.astype(np.float64)
    occupied = np.flatnonzero(counts)
    gap = int(np.median(np.diff(occupied))) if occupied.size > 2 else 1
    group = max(1, gap, int(np.ceil(n / max_points)))
    m = n // group * group
    if m == 0:
        return greys, counts / per_bin
    merged = counts[:m].reshape(-1, group).sum(axis=1)
    centres = greys[:m].reshape(-1, group).mean(axis=1)
    return centres, merged / (per_bin * group)
