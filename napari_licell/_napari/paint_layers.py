"""Layers the Paint dock adds over a scan: the classes and scribbles it paints, the classifier's uncertainty.

No Qt: napari layer tuples from a scan layer and arrays (the dock adds them).
"""

from __future__ import annotations

from typing import Any

from ..layer_roles import Role, role_of, scan_of, tagged
from .layers import LayerData, image_layer_tuple, labels_layer_tuple

__all__ = ["paint_layer_tuples", "uncertainty_layer_tuple", "uncertainty_limits", "hide_scan_overlays"]


def paint_layer_tuples(scan: Any, labels: Any, scribbles: Any) -> tuple[LayerData, LayerData]:
    """The ``"<scan> classes"`` (shown) and ``"<scan> scribbles"`` (hidden) labels layers over ``scan``."""
    scale, translate = tuple(scan.scale), tuple(scan.translate)
    classes = labels_layer_tuple(
        labels, f"{scan.name} classes", scale, tagged({}, Role.CLASSES, scan.name), translate=translate
    )
    strokes = labels_layer_tuple(
        scribbles,
        f"{scan.name} scribbles",
        scale,
        tagged({}, Role.SCRIBBLES, scan.name),
        translate=translate,
        opacity=0.9,
        visible=False,
    )
    return classes, strokes


def uncertainty_limits(n_classes: int) -> tuple[float, float]:
    """Contrast limits of the uncertainty (1 - max class probability: at most 1 - 1/n for n classes)."""
    return 0.0, max(1.0 - 1.0 / max(n_classes, 2), 1e-3)


def uncertainty_layer_tuple(data: Any, scan: Any, n_classes: int) -> LayerData:
    """The hidden ``"<scan> uncertainty"`` image layer (magma, additive) over ``scan``."""
    meta = tagged({"definition": "1 - max class probability"}, Role.UNCERTAINTY, scan.name)
    return image_layer_tuple(
        data,
        f"{scan.name} uncertainty",
        scan.scale,
        meta,
        translate=tuple(scan.translate),
        colormap="magma",
        contrast_limits=uncertainty_limits(n_classes),
        blending="additive",
        visible=False,
    )


def hide_scan_overlays(layers: Any, scan_name: str, keep: tuple = ()) -> None:
    """Hide the threshold preview, labels, uncertainty and truth layers of ``scan_name`` (not ``keep``).

    When painting starts, what is drawn over the scan is what is painted.
    """
    hide = (Role.PREVIEW, Role.LABELS, Role.UNCERTAINTY, Role.TRUTH)
    for layer in list(layers):
        if all(layer is not k for k in keep) and role_of(layer) in hide and scan_of(layer) == scan_name:
            layer.visible = False
