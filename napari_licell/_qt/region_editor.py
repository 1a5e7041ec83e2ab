"""The Thresholds dock's *Cell region* tab: see the region found, move its circles, save and load it.

The cell region (the bore of the PEEK tube, found when the scan's histograms
are counted) is outlined over the scan. Here the user can correct it:
*Move circles* puts the bore's circle at each end of the stack on a Shapes
layer and shows the first one; the user drags or resizes them (the last one
is at the slider's other end), and *Use the circles* makes them the region.
The corrected region is autosaved beside the scan at once
(:mod:`napari_licell.autosave.region`) and used from then on, also the next
time the scan is opened; *Find again* forgets it. *Save…* writes the region
file that ``analyze --roi FILE`` reads; *Load…* reads one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from qtpy.QtWidgets import QFileDialog, QGridLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from .._napari.region_shapes import REGION_EDGE_RGBA, region_from_ellipses, starting_ellipses
from .._napari.threshold_layers import region_layer_tuple, region_note, scan_data, scan_ref
from ..autosave.region import discard_region_autosave, find_region_autosave, write_region_autosave
from ..errors import LiCellInputError

__all__ = ["RegionEditor", "region_files_for"]


def region_files_for(layers: list) -> dict[int, Path]:
    """The corrected-region autosaves of the scans shown as ``layers``, by data token (scans never corrected: absent)."""
    files = {}
    for layer in layers:
        ref = scan_ref(layer)
        path = find_region_autosave(ref.source, ref.name)
        if path is not None:
            files[id(scan_data(layer))] = path
    return files


def describe_region(region: Any, scale_um: tuple, edited: bool) -> str:
    """Where the cell region is, in micrometres, for the tab's text."""
    if region is None:
        return "The whole volume is the cell (no PEEK bore or reconstruction circle in view)."
    ranges = [(0, int(n)) for n in region.shape]
    middle = region.shape[region.axis] // 2
    ranges[region.axis] = (middle, middle + 1)
    share = f"{100 * float(region.block(*ranges).mean()):.0f} % of the middle slice"
    circles = region.circles()
    if not circles:
        return f"Inside the reconstruction circle ({share}); no PEEK bore in view."
    axis = circles[0]["axis"]
    yx_scale = [float(s) for i, s in enumerate(scale_um[-3:]) if i != axis]
    ends = "; ".join(
        f"plane {c['plane']}: centre ({c['centre_yx'][0] * yx_scale[0]:.0f}, {c['centre_yx'][1] * yx_scale[1]:.0f}) µm"
        for c in circles
    )
    how = "corrected by hand (autosaved beside the scan)" if edited else "found in the scan"
    return f"Bore of the PEEK tube, {how}: radius {circles[0]['radius_vox'] * yx_scale[0]:.0f} µm; {ends}; {share}."


class RegionEditor(QWidget):
    """The *Cell region* tab of a Thresholds dock (``dock``: the :class:`ThresholdDock` it belongs to)."""

    def __init__(self, dock, parent=None):
        super().__init__(parent)
        self.dock = dock
        layout = QVBoxLayout(self)
        self.summary = QLabel("No scan yet.")
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        grid = QGridLayout()
        self.move_button = QPushButton("Move circles")
        self.move_button.setToolTip(
            "Show the bore's circle at each end of the stack as shapes you can drag and resize "
            "(a first guess when no bore was found)"
        )
        self.use_button = QPushButton("Use the circles")
        self.find_button = QPushButton("Find again")
        self.find_button.setToolTip("Forget the corrected region and find the bore in the scan again")
        self.save_button, self.load_button = QPushButton("Save…"), QPushButton("Load…")
        for i, button in enumerate(
            (self.move_button, self.use_button, self.find_button, self.save_button, self.load_button)
        ):
            grid.addWidget(button, i // 2, i % 2)
        layout.addLayout(grid)
        layout.addStretch(1)
        self.move_button.clicked.connect(lambda: dock.guarded(self.move_circles))
        self.use_button.clicked.connect(lambda: dock.guarded(self.use_circles))
        self.find_button.clicked.connect(lambda: dock.guarded(self.find_again))
        self.save_button.clicked.connect(lambda: dock.guarded(self._ask_save))
        self.load_button.clicked.connect(lambda: dock.guarded(self._ask_load))
        self.refresh()

    # ------------------------------------------------------------------ state
    def _scan(self):
        layer = self.dock.image_layer
        if layer is None:
            raise LiCellInputError(None, "no scan chosen", "choose a scan in the Thresholds tab")
        return layer

    def _circles_name(self, layer) -> str:
        return f"{layer.name} region circles"

    def _base_region(self, layer):
        """The scan's region to correct (the whole volume as a region when none was found)."""
        from ..segmentation.cell_region import CellRegion

        region = self.dock.region_of(layer)
        return region if region is not None else CellRegion(shape=tuple(int(s) for s in scan_data(layer).shape))

    def refresh(self) -> None:
        """Show the chosen scan's region and enable what can be done with it."""
        layer = self.dock.image_layer
        region = self.dock.region_of(layer)
        edited = layer is not None and bool(region_files_for([layer]))
        self.summary.setText("No scan yet." if layer is None else describe_region(region, tuple(layer.scale), edited))
        counted = layer is not None and layer.ndim == 3 and self.dock.histogram is not None
        self.move_button.setEnabled(counted and not self.dock.busy)
        self.move_button.setText("Move circles" if region is not None and region.circles() else "Place circles")
        circles = None if layer is None else self.dock.layer_named(self._circles_name(layer))
        self.use_button.setEnabled(circles is not None and not self.dock.busy)
        self.find_button.setEnabled(edited and not self.dock.busy)
        self.save_button.setEnabled(region is not None)
        self.load_button.setEnabled(layer is not None and not self.dock.busy)

    def show_outline(self, layer) -> str:
        """The cell region as an outlined labels layer over its scan; returns a note on it."""
        region, name = self.dock.region_of(layer), f"{layer.name} cell region"
        if (new := region_layer_tuple(region, layer)) is None or self.dock.layer_named(name) is not None:
            return ""
        self.dock.put_layer(new, keep_active=True).contour = 2  # the outline only: the scan stays readable inside
        return region_note(region, layer.name)

    # ------------------------------------------------------------------ actions
    def move_circles(self):
        """Add the bore's circles as a Shapes layer over the scan and show the first one."""
        layer = self._scan()
        region = self._base_region(layer)
        ellipses = starting_ellipses(region)
        viewer, name = self.dock.viewer, self._circles_name(layer)
        old = self.dock.layer_named(name)
        if old is not None:
            viewer.layers.remove(old)
        shapes = viewer.add_shapes(
            ellipses,
            shape_type="ellipse",
            name=name,
            scale=tuple(layer.scale),
            translate=tuple(layer.translate),
            units=tuple(str(unit) for unit in layer.units),  # as the scan's: no "inconsistent units" warning
            edge_color=[REGION_EDGE_RGBA],
            face_color=[(0, 0, 0, 0)],
            edge_width=2,
        )
        axis = region.axis + viewer.dims.ndim - layer.ndim
        others = [d for d in range(viewer.dims.ndim) if d != axis]
        viewer.dims.order = tuple(others[:-2] + [axis] + others[-2:])  # slices across the stack on screen
        viewer.dims.set_current_step(axis, 0)
        viewer.layers.selection.active = shapes
        shapes.mode = "select"
        self.dock.show_status(
            f"{layer.name}: drag or resize the circle, move the slider to the last plane for "
            "the other one, then press “Use the circles”."
        )
        self.refresh()
        return shapes

    def use_circles(self):
        """Make the circles the scan's region: autosaved beside the scan, histograms counted again in it."""
        layer = self._scan()
        circles = self.dock.layer_named(self._circles_name(layer))
        if circles is None:
            raise LiCellInputError(None, "no region circles to use", "press “Move circles” first")
        ellipses = [d for d, kind in zip(circles.data, circles.shape_type) if kind == "ellipse"]
        region = region_from_ellipses(self._base_region(layer), ellipses, circles.name)
        ref = scan_ref(layer)
        path = write_region_autosave(region, ref.source, ref.name)
        self.dock.viewer.layers.remove(circles)
        self._count_again(layer, f"{layer.name}: cell region corrected by hand, saved as {path}.")
        return region

    def find_again(self) -> None:
        """Forget the corrected region; the bore is found in the scan again."""
        layer = self._scan()
        ref = scan_ref(layer)
        discard_region_autosave(ref.source, ref.name)
        self._count_again(layer, f"{layer.name}: the corrected region was forgotten; finding the bore again.")

    def save_region(self, path: str | Path) -> Path:
        """Write the scan's region as a region file (``analyze --roi FILE`` reads it)."""
        layer = self._scan()
        region = self.dock.region_of(layer)
        if region is None:
            raise LiCellInputError(None, f"{layer.name}: the whole volume is the cell, no region to save")
        saved = region.save(path)
        self.dock.show_status(f"Cell region of {layer.name} saved to {saved}.")
        return saved

    def load_region(self, path: str | Path) -> Any:
        """Use a region file for the scan (checked against the scan's shape), autosaved as its corrected region."""
        from ..segmentation.cell_region import CellRegion

        layer = self._scan()
        try:
            region = CellRegion.load(path)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise LiCellInputError(path, f"not a cell region file ({exc})") from exc
        if tuple(region.shape) != tuple(int(s) for s in scan_data(layer).shape):
            raise LiCellInputError(
                path, f"the region is for a scan of shape {tuple(region.shape)}, not {tuple(scan_data(layer).shape)}"
            )
        ref = scan_ref(layer)
        write_region_autosave(region, ref.source, ref.name)
        self._count_again(layer, f"{layer.name}: cell region loaded from {path}.")
        return region

    def _count_again(self, layer, message: str) -> None:
        """Forget the scan's histograms and region outline and count them again in the new region."""
        dock = self.dock
        dock.session.forget_histograms(id(scan_data(layer)))
        outline = dock.layer_named(f"{layer.name} cell region")
        if outline is not None:
            dock.viewer.layers.remove(outline)
        dock.show_status(message)
        dock._count_missing_histograms()
        self.refresh()

    def _ask_save(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save the cell region", "cell_region.json", "Region (*.json)")
        if path:
            self.save_region(path)

    def _ask_load(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load a cell region", "", "Region (*.json)")
        if path:
            self.load_region(path)
