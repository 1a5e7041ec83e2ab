"""The Thresholds dock's two long tasks, run in its worker: counting histograms, and *Apply to volume*.

* The histograms of the scan (and of the scan compared with it) are counted
  by :func:`~napari_licell.threshold_session.count_histograms` (cell region,
  rings and cupping off, as ``analyze`` counts them); when they arrive the
  session keeps them, the region outline is shown and the first suggestion made.
* The classification is the pipeline's (:func:`~napari_licell.threshold_session.classify_to_labels`:
the scan with rings and cupping taken off as its histograms were counted,
only inside the cell region, labels in memory or in a store by the one
rule); the GUI thread only starts it and writes the ``"<scan> labels"`` layer
with its metadata (thresholds, contrast verdict, carbon band).
"""

from __future__ import annotations

from typing import Any

from .. import pipeline
from ..errors import LiCellInputError
from ..threshold_session import classify_to_labels, count_histograms, labels_metadata
from .._napari.layers import labels_layer_tuple
from .._napari.threshold_layers import scan_data, scan_ref
from .region_editor import region_files_for

__all__ = ["apply_thresholds_to_volume", "count_missing_histograms"]


def apply_thresholds_to_volume(dock: Any):
    """Classify ``dock``'s scan (a :class:`~napari_licell._qt.threshold_dock.ThresholdDock`) with its thresholds.

    Returns the worker (:meth:`~napari_licell._qt.dock_base.LicellDock.start_task`).
    """
    layer = dock.chosen_scan("classify")
    ts, hists = dock.thresholds, dock.histograms_of(layer)
    if ts is None:
        raise LiCellInputError(None, f"{layer.name}: no thresholds yet", "press Suggest first")
    data, options = scan_data(layer), dock.analysis_options()
    voxel = tuple(float(v) for v in layer.scale[-3:])
    region = dock.region_of(layer)
    data = dock.session.corrected(id(data), data)  # rings and cupping taken off, as the histograms were counted

    def work(progress, cancel):
        result = classify_to_labels(
            data,
            ts,
            options,
            name=layer.name,
            voxel_size_um=voxel,
            histograms=hists,
            region=region,
            progress=progress,
            cancel=cancel,
        )
        return layer, ts, result

    return dock.start_task(work, label=f"Classifying {layer.name}…", on_done=lambda value: _classified(dock, *value))


def _classified(dock: Any, layer: Any, applied: Any, result: Any) -> None:
    """Write the labels layer of ``layer`` and mark its thresholds applied (GUI thread)."""
    dock.last_result = result
    contrast = None if dock.verdict is None else pipeline.contrast_record(dock.verdict, dock.resolved_options(layer))
    meta = labels_metadata(result, layer.name, dock.denoise_combo.currentText(), contrast)
    name = f"{layer.name} labels"
    ndim = result.labels.ndim
    dock.put_layer(
        labels_layer_tuple(result.labels, name, layer.scale[-ndim:], meta, translate=tuple(layer.translate)[-ndim:])
    )
    band = "" if result.carbon_band is None else "; " + result.carbon_band.reason
    dock.show_status(f"Labels written to “{name}”{band}.")
    if dock.has_layer(layer):
        dock.session.mark_applied(scan_ref(layer), applied)
        dock.session.applied_elsewhere()


def count_missing_histograms(dock: Any) -> None:
    """Count, in ``dock``'s worker, the histograms its scan and compared scan do not have yet.

    While another task runs the count is only asked for (``dock._histograms_wanted``);
    the dock starts it when the task ends.
    """
    layers = [l for l in (dock.image_layer, dock.compare_layer) if l is not None and dock.histograms_of(l) is None]
    if not layers:
        return
    if dock.busy:
        dock._histograms_wanted = True
        return
    data = [(id(scan_data(l)), scan_data(l)) for l in layers]
    options, files = dock.analysis_options(), region_files_for(layers)
    dock.start_task(
        lambda progress, cancel: count_histograms(data, options, progress=progress, cancel=cancel, region_files=files),
        label=f"Counting the histogram of {layers[0].name}…",
        on_done=lambda counted: _histograms_counted(dock, counted),
    )


def _histograms_counted(dock: Any, counted: list) -> None:
    """Keep the counted histograms, show the region outlines, suggest when the scan has no thresholds yet."""
    for token, hists, region, corrected in counted:
        dock.session.store_histograms(token, hists, region, corrected)
    shown = [layer for layer in (dock.image_layer, dock.compare_layer) if layer is not None]
    notes = [dock.region_editor.show_outline(layer) for layer in shown]
    if dock.image_layer is not None and dock.histogram is not None and dock.thresholds is None:
        dock.suggest()
    if notes and notes[0]:
        dock.show_status(f"{dock.status.text()}\n{notes[0]}")
    dock.refresh()
