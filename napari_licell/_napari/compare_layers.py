"""Layers of the Compare cells dock: each compared cell's scan and labels, and the study's cells that have labels.

No Qt: napari layer objects built from core objects (the dock inserts them).
"""

from __future__ import annotations

from typing import Any

from ..compare.cell_titles import short_title
from ..layer_roles import Role, tagged
from .layers import synthetic_cell_layers

__all__ = ["compare_cell_layers", "study_cells_with_labels"]


def compare_cell_layers(name: str, cell: Any) -> list:
    """The hidden scan (with its title drawn over it) and labels layers of one compared cell.

    Named by the cell's short title (process and pressures; never the cell's
    own layer names, which the copies would replace); tagged with the
    compare role, so the Study dock does not adopt them; the scan carries the
    cell's voltage curve, so the Voltage dock follows the active cell.
    """
    from napari.layers import Layer

    title = short_title(name, cell.metadata)
    if title == name:  # a cell without a process (the dummies): the copy must not take the cell's own name
        title = f"{name} (compare)"
    layers = []
    for j, (data, kwargs, kind) in enumerate(
        synthetic_cell_layers(cell, with_truth=getattr(cell, "labels", None) is not None)[:2]
    ):
        kwargs = dict(kwargs)
        kwargs["name"] = title if j == 0 else f"{title} labels"
        kwargs["metadata"] = tagged(dict(kwargs.get("metadata", {}), compare_cell=name), Role.COMPARE)
        if j == 0 and getattr(cell, "voltage", None) is not None:
            kwargs["metadata"]["voltage_curve"] = cell.voltage
        kwargs["visible"] = False
        layer = Layer.create(data, kwargs, kind)
        if j == 0:
            layer.name_overlay.visible = True
            layer.name_overlay.font_size = 8
        layers.append(layer)
    return layers


def study_cells_with_labels(entries: dict[str, Any], layers: Any) -> list:
    """The Study dock's cells whose scan is open (3D) and has labels, as cells to compare.

    A cell's labels are the first of ``"<scan> classes"`` (painted),
    ``"<scan> labels"`` (thresholds applied or opened from the study) and
    ``"<scan> truth"`` found among ``layers``.
    """
    from ..compare.study_cells import LABEL_LAYER_SUFFIXES, ComparedCell

    cells = []
    for name, entry in entries.items():
        scan = entry.layer_names[0] if entry.layer_names else None
        if scan not in layers:
            continue
        image_layer = layers[scan]
        labels = next((layers[scan + s].data for s in LABEL_LAYER_SUFFIXES if scan + s in layers), None)
        if labels is None or image_layer.ndim != 3:
            continue
        cells.append(
            ComparedCell(
                name, image_layer.data, labels, float(image_layer.scale[0]), dict(entry.metadata), entry.voltage
            )
        )
    return cells
