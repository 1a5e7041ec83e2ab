"""The Paint dock on a scan larger than the memory limit: painting, training and predicting in label stores.

The Qt-free part is :mod:`napari_licell.painting.paint_volumes`; this module
is the dock's side of it: where the stores go (the cache folder, one folder
per scan), starting the layers on them, running the training and prediction
in the dock's worker, and showing the result and the uncertainty lazily.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from ..cache_dir import cache_root
from ..painting.paint_volumes import PaintStores, StorePrediction, paint_stores, train_and_predict_into_stores

__all__ = ["paint_folder", "start_stores", "train_into_stores"]


def paint_folder(scan_name: str):
    """The folder of a scan's painting stores: ``<cache>/painting/<scan name>``."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", scan_name).strip("_") or "scan"
    return cache_root() / "painting" / safe


def start_stores(dock: Any, shape: tuple[int, ...], source: str | None) -> PaintStores:
    """New classes and strokes stores for the dock's scan, started from the labels layer ``source`` (or empty)."""
    scan = dock.image_layer
    source = dock.source_combo.currentText() if source is None else source
    start = None if not source or source == "(empty)" else dock.layer_named(source).data
    return paint_stores(paint_folder(scan.name), shape, tuple(abs(s) for s in scan.scale[-3:]), start, source or "")


def train_into_stores(dock: Any, classifier: Any = None):
    """Train (unless ``classifier``) and predict the dock's scan into its stores in the dock's worker."""
    image = dock.image_layer.data
    stores = PaintStores(paint_folder(dock.image_layer.name), dock.result_layer.data, dock.scribble_layer.data)

    def work(progress, cancel):
        return train_and_predict_into_stores(image, stores, classifier, progress=progress, cancel=cancel.is_set)

    label = "Training and predicting into the label store…" if classifier is None else "Predicting into the store…"
    return dock.start_task(work, label=label, on_done=lambda p: _show_prediction(dock, p, stores.folder))


def _show_prediction(dock: Any, p: StorePrediction, folder) -> None:
    import dask.array as da

    dock.classifier = p.classifier
    if dock.result_layer is not None:
        dock.result_layer.refresh()  # the store changed under the layer
    # converted per displayed slice, never as a whole (float16 textures are not portable across GL drivers)
    dock._show_uncertainty(da.from_zarr(p.uncertainty).astype(np.float32), len(p.classifier.class_codes))
    mvox = p.n_voxels / 1e6
    dock.show_status(
        f"Predicted {p.n_voxels:,} voxels into the label store in {p.seconds:.1f} s ({p.seconds / max(mvox, 1e-9):.2f} "
        f"s per million); hand strokes were kept. The prediction is written on disk ({folder}) and "
        "cannot be undone with Ctrl+Z; paint over it to correct it."
    )
    dock._update_enabled()
