"""Keeps the Paint dock's palette and brush box in step with its two painted layers (no layer hooks here).

The class painted, the brush size (set in µm, applied in pixels of the scan),
"preserve existing labels" and the edit rules follow the controls; the
palette and the check box follow napari's own layer controls.
"""

from __future__ import annotations

from typing import Any

from ..classes import class_by_code
from .paint_widgets import BrushBox, PaletteBox

__all__ = ["BrushLink", "brush_pixels"]


def brush_pixels(brush_um: float, scale_um) -> int:
    """Brush diameter in pixels of a scan with voxel size ``scale_um`` (µm, the finest in-plane axis)."""
    pixel_um = float(min(abs(s) for s in tuple(scale_um)[-2:]))
    return max(1, int(round(float(brush_um) / pixel_um)))


class BrushLink:
    """The palette, the brush box and the layers painted (classes and scribbles), kept in step."""

    def __init__(self, palette: PaletteBox, brush: BrushBox):
        self.palette, self.brush = palette, brush
        self.layers: tuple[Any, ...] = ()

    def bind(self, result: Any, scribbles: Any, link) -> None:
        """Keep ``result`` and ``scribbles`` in step; ``link(emitter, slot)`` connects (and later disconnects)."""
        self.layers = (result, scribbles)
        for layer in self.layers:  # the palette and the check box follow napari's own controls
            link(layer.events.selected_label, self.on_selected_label)
            link(layer.events.preserve_labels, self.on_preserve_event)
        self.apply_brush_size(result.scale)
        self.apply_preserve(self.brush.preserve_check.isChecked())

    def select_class(self, code: int) -> None:
        """Make ``code`` the label painted on the layers and check its palette button."""
        class_by_code(code)
        for layer in self.layers:
            if layer is not None and layer.selected_label != code:
                layer.selected_label = code
        self.palette.check(code)

    @property
    def selected_class(self) -> int:
        """Code of the class checked on the palette."""
        return int(self.palette.group.checkedId())

    def on_selected_label(self, event=None) -> None:
        """napari's label control picked a class: the palette follows (codes of the class table only)."""
        code = int(event.source.selected_label) if event is not None else self.selected_class
        if code in self.palette.buttons:
            self.select_class(code)

    def on_preserve_event(self, event=None) -> None:
        """napari's "preserve labels" changed: the check box follows."""
        on = bool(event.source.preserve_labels) if event is not None else False
        if self.brush.preserve_check.isChecked() != on:
            self.brush.preserve_check.setChecked(on)

    def apply_brush_size(self, scale_um) -> None:
        """The brush size set in µm, in pixels of the scan of voxel size ``scale_um``, on both layers."""
        px = brush_pixels(self.brush.brush_um.value(), scale_um)
        for layer in self.layers:
            if layer is not None:
                layer.brush_size = px
        self.brush.px_label.setText(f"= {px} px")

    def apply_preserve(self, on: bool) -> None:
        """Painting over existing labels on or off, on both layers."""
        for layer in self.layers:
            if layer is not None and layer.preserve_labels != bool(on):
                layer.preserve_labels = bool(on)
