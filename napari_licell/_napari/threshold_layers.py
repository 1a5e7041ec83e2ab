"""Layers the Thresholds dock adds over a scan: the live preview of one section and the cell region outline.

No Qt: these build napari layer tuples from a scan layer and core objects
(the dock adds them to the viewer).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..layer_roles import Role, tagged
from ..threshold_session import ScanRef
from ..segmentation.preview import preview_section
from .layers import LayerData, labels_layer_tuple

__all__ = [
    "SectionPreview",
    "scan_data",
    "scan_ref",
    "section_index",
    "preview_layer_tuple",
    "update_preview",
    "section_translate",
    "region_layer_tuple",
    "region_note",
    "REGION_RGBA",
]

#: Outline colour of the cell region (not a class colour: the region is where classes are counted).
REGION_RGBA = (0.35, 0.85, 1.0, 1.0)


def scan_data(layer: Any) -> Any:
    """Full-resolution data of an image layer (level 0 of a multiscale image)."""
    return layer.data[0] if getattr(layer, "multiscale", False) else layer.data


def scan_ref(layer: Any) -> ScanRef:
    """Where the threshold autosave of the scan shown as ``layer`` lives (beside its file, if it has one)."""
    path = getattr(getattr(layer, "source", None), "path", None) or (layer.metadata or {}).get("source")
    return ScanRef(id(layer), layer.name, str(path) if path else None)


def section_index(dims: Any, layer: Any) -> tuple | None:
    """Index tuple of the 2D section of ``layer`` the viewer's ``dims`` show (None in 3D view)."""
    if dims.ndisplay != 2:
        return None
    offset = dims.ndim - layer.ndim
    displayed = {d - offset for d in dims.displayed if d - offset >= 0}
    pos = layer.world_to_data(dims.point)
    shape = scan_data(layer).shape
    return tuple(
        slice(None) if ax in displayed else int(np.clip(np.round(pos[ax]), 0, shape[ax] - 1))
        for ax in range(layer.ndim)
    )


def section_translate(layer: Any, idx: tuple) -> tuple[float, ...]:
    """Translate (world units) that puts a section ``idx`` of ``layer`` where it lies in the scan."""
    translate = np.asarray(layer.translate, dtype=float).copy()
    for ax, s in enumerate(idx):
        if not isinstance(s, slice):
            translate[ax] += s * float(layer.scale[ax])
    return tuple(translate)


def preview_layer_tuple(data: Any, layer: Any, idx: tuple, thresholds: Any) -> LayerData:
    """The ``"<scan> preview"`` labels layer: section ``idx`` of ``layer`` classified by ``thresholds``."""
    meta = tagged({"preview_of": layer.name, "thresholds": thresholds.to_dict()}, Role.PREVIEW, layer.name)
    return labels_layer_tuple(
        data, f"{layer.name} preview", layer.scale, meta, translate=section_translate(layer, idx), opacity=0.5
    )


def update_preview(
    dims: Any, layer: Any, thresholds: Any, histogram: Any, existing: Any, region: Any = None
) -> LayerData | None:
    """Classify the section of ``layer`` the ``dims`` show into the preview layer.

    Outside the cell ``region`` (when given) the preview is left empty, as Apply leaves the labels.
    Updates ``existing`` (the preview layer, or None) in place, or returns the
    tuple of a new preview layer; None when nothing is to be added (3D view, or updated).
    """
    idx = section_index(dims, layer)
    if idx is None:
        return None
    data = preview_section(scan_data(layer), idx, thresholds, histogram)
    if region is not None and len(idx) == 3:
        inside = np.asarray(region[idx])
        if inside.size == data.size:  # the section may keep its one plane as an axis of length 1
            data = np.where(inside.reshape(data.shape), data, 0).astype(data.dtype)
    if existing is None:
        return preview_layer_tuple(data, layer, idx, thresholds)
    existing.translate = section_translate(layer, idx)
    existing.data = data
    existing.metadata["thresholds"] = thresholds.to_dict()
    return None


class SectionPreview:
    """The ``"<scan> preview"`` labels layer: the shown section classified by the thresholds, while it is on.

    Parameters
    ----------
    viewer : napari.Viewer
    put_layer : callable
        ``put_layer(layer_data, keep_active=True)`` adds a layer without taking the user's active layer.
    """

    def __init__(self, viewer: Any, put_layer: Any) -> None:
        self.viewer, self.put_layer = viewer, put_layer
        self.on = False

    def layer(self, scan: Any) -> Any:
        """The preview layer of ``scan`` (None when there is none)."""
        name = None if scan is None else f"{scan.name} preview"
        return next((layer for layer in self.viewer.layers if layer.name == name), None)

    def set_on(self, on: bool, scan: Any) -> None:
        """Turn the preview on or off (its layer is shown or hidden)."""
        self.on = bool(on)
        preview = self.layer(scan)
        if preview is not None:
            preview.visible = self.on

    def show_only(self, scan: Any) -> None:
        """Only ``scan``'s preview is shown (and only while the preview is on)."""
        for other in self.viewer.layers:
            if other.metadata.get("role") == Role.PREVIEW.value:
                other.visible = scan is not None and other.metadata.get("scan") == scan.name and self.on

    def update(self, scan: Any, thresholds: Any, histogram: Any, region: Any = None) -> None:
        """Classify the shown section of ``scan`` inside ``region`` into its preview layer (when on, and
        thresholds exist)."""
        if scan is None or thresholds is None or not self.on:
            return
        new = update_preview(self.viewer.dims, scan, thresholds, histogram, self.layer(scan), region)
        if new is not None:
            self.put_layer(new, keep_active=True)


def region_layer_tuple(region: Any, layer: Any) -> LayerData | None:
    """The cell region of ``layer``'s scan as an outlined labels layer in the scan's units (computed lazily).

    None when there is no region to show (the whole volume is the cell).
    """
    if region is None or getattr(region, "is_whole_volume", False):
        return None
    import dask.array as da
    from napari.utils.colormaps import DirectLabelColormap

    from ..classes import LABEL_DTYPE

    mask = da.from_array(region, chunks=(max(1, min(16, region.shape[0])), *region.shape[1:]), asarray=True)
    meta = tagged(
        {"definition": "inside the bore of the PEEK tube and the reconstruction circle", "region": region.to_dict()},
        Role.REGION,
        layer.name,
    )
    outline = DirectLabelColormap(color_dict={None: (0, 0, 0, 0), 0: (0, 0, 0, 0), 1: REGION_RGBA})
    return labels_layer_tuple(
        mask.astype(LABEL_DTYPE),
        f"{layer.name} cell region",
        layer.scale[-3:],
        meta,
        colormap=outline,
        translate=tuple(layer.translate)[-3:],
        opacity=0.8,
        units=tuple(str(u) for u in layer.units)[-3:],
    )  # the scan's own units


def region_note(region: Any, layer_name: str) -> str:
    """What the user is told when a scan's cell region was found."""
    if region.bore is None:
        return (
            f"{layer_name}: no PEEK bore found, only the reconstruction circle (outlined in “{layer_name} cell "
            "region”): the no-data area is left out, but if the jig is in view it is counted as cell. Place the "
            "bore by hand in the Cell region tab (Move circles), or load a region file."
        )
    return (
        f"{layer_name}: cell region found (the bore of the PEEK tube, outlined in “{layer_name} cell region”); "
        "the jig and the no-data area outside it are left out of every number."
    )
