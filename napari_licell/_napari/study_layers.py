"""A study's opened cells as napari layer data (the adapter half of :mod:`napari_licell.study.open_cells`)."""

from __future__ import annotations

from ..layer_roles import Role, tagged
from ..study.open_cells import OpenedCell, OpenedScan
from .layers import LayerData, labels_layer_tuple, scan_layer_tuple

__all__ = ["scan_layers", "cell_layers"]


def scan_layers(scan: OpenedScan, study_path: str | None = None) -> list[LayerData]:
    """The scan as an image (or labels) layer, and its labels hidden, with the voxel size as scale."""
    volume = scan.volume
    kwargs = volume.layer_kwargs()
    levels = kwargs["metadata"].pop("multiscale_levels", None)
    data = list(levels) if levels and len(levels) > 1 else volume.data
    meta = {**kwargs["metadata"], **scan.metadata}
    if study_path is not None:
        meta["study"] = str(study_path)
    extra = {"multiscale": True} if isinstance(data, list) else {}
    if scan.is_labels:
        layers = [
            labels_layer_tuple(data, scan.name, volume.voxel_size_um, tagged(meta, Role.LABELS, scan.name), **extra)
        ]
    else:
        layers = [scan_layer_tuple(data, scan.name, volume.voxel_size_um, meta, contrast_from=volume.data, **extra)]
    if scan.labels is not None:
        meta_labels = tagged({"cell": meta.get("cell"), "source": str(scan.labels.source)}, Role.LABELS, scan.name)
        layers.append(
            labels_layer_tuple(
                scan.labels.data, f"{scan.name} labels", volume.voxel_size_um, meta_labels, visible=False
            )
        )
    return layers


def cell_layers(cell: OpenedCell, study_path: str | None = None) -> list[LayerData]:
    """Layers of every scan of an opened cell."""
    return [layer for scan in cell.scans for layer in scan_layers(scan, study_path)]
