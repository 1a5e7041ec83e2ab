"""Painting a scan larger than the memory limit: classes and strokes in label stores on disk. Qt-free.

When the classes and the strokes of a scan do not fit in memory together
(:func:`~napari_licell.pipeline.labels_fit_in_memory`, the one rule), the
Paint dock paints straight into two zarr label stores (``classes.zarr`` and
``scribbles.zarr``, chunks of whole planes' tiles) in a folder of the cache.
napari paints into a zarr array as into numpy (its undo included); only the
chunks a stroke touches are read and written, so the process holds a few
chunks, not the volume, and every stroke is on disk as soon as it is painted
(no autosave is needed). The classifier trains on the strokes' store and
predicts block by block straight into the classes store, keeping the strokes
(:func:`train_and_predict_into_stores`); the uncertainty goes to a third
store.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..classes import CLASS_TABLE, LABEL_DTYPE
from ..classifier import PixelClassifier
from ..errors import LiCellInputError
from ..io.label_store import create_label_store
from ..pipeline import labels_fit_in_memory

__all__ = [
    "IN_MEMORY_PAINT_BYTES_PER_VOXEL",
    "PaintStores",
    "StorePrediction",
    "is_on_disk",
    "paints_on_disk",
    "paint_stores",
    "train_and_predict_into_stores",
]

#: Planes copied at a time when painting starts from an existing labels volume.
_COPY_PLANES = 8


#: Peak bytes per voxel that painting in memory adds through a prediction: the classes and strokes, the
#: worker's copies, the uncertainty, and the prediction's undo step (napari keeps the index and old code
#: of every voxel changed). benchmarks/bench_paint_on_disk.py measured 61 bytes per voxel of peak
#: resident memory over the process before "New labels" (79 M voxels; label stores: 9).
IN_MEMORY_PAINT_BYTES_PER_VOXEL = 64


def paints_on_disk(shape: tuple[int, ...], memory_limit_bytes: int) -> bool:
    """True when the painting of a scan of ``shape`` goes to label stores on disk.

    In memory only when the classes and the strokes fit (the one rule,
    :func:`~napari_licell.pipeline.labels_fit_in_memory`) and a prediction's
    peak (:data:`IN_MEMORY_PAINT_BYTES_PER_VOXEL`) fits in the memory limit
    (2 GB, the default: up to 33 M voxels in memory; the demo cells hold 5 M).
    """
    voxels = int(np.prod(shape, dtype=np.int64))
    in_memory = labels_fit_in_memory(tuple(shape), memory_limit_bytes, volumes=2)
    return not (in_memory and voxels * IN_MEMORY_PAINT_BYTES_PER_VOXEL <= memory_limit_bytes)


def is_on_disk(data: Any) -> bool:
    """Whether a labels layer's data is a label store (zarr) rather than an array in memory."""
    return not isinstance(data, np.ndarray) and type(data).__module__.startswith("zarr")


@dataclass
class PaintStores:
    """The label stores of one scan's painting.

    Attributes
    ----------
    folder : Path
        Where the stores are (``classes.zarr``, ``scribbles.zarr``, ``uncertainty.zarr``).
    classes, scribbles : zarr.Array
        uint8 class codes: the result (prediction and hand edits) and the strokes only (0 = unpainted).
    """

    folder: Path
    classes: Any
    scribbles: Any


def paint_stores(
    folder: str | Path, shape: tuple[int, ...], voxel_size_um: Any, source: Any = None, source_name: str = ""
) -> PaintStores:
    """New stores for painting a scan of ``shape`` in ``folder`` (replacing earlier ones there).

    Parameters
    ----------
    folder : path-like
        Folder of the scan's painting stores (made when missing).
    shape : (z, y, x)
        The scan's shape, voxels.
    voxel_size_um : float or (z, y, x)
        Voxel size, micrometres (kept with the stores).
    source : array-like, optional
        Labels to start the classes from (same shape, class-table codes), copied a few planes at a time.
    source_name : str
        Its layer name, for the error message.

    Raises
    ------
    LiCellInputError
        ``source`` has another shape or codes outside the class table.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("classes.zarr", "scribbles.zarr", "uncertainty.zarr"):
        shutil.rmtree(folder / name, ignore_errors=True)
    classes = create_label_store(folder / "classes.zarr", shape, voxel_size_um, metadata={"role": "classes"})
    scribbles = create_label_store(folder / "scribbles.zarr", shape, voxel_size_um, metadata={"role": "scribbles"})
    if source is not None:
        _copy_labels(source, classes, source_name)
    return PaintStores(folder, classes, scribbles)


def _copy_labels(source: Any, target: Any, source_name: str) -> None:
    if tuple(source.shape) != tuple(target.shape):
        raise LiCellInputError(
            None, f"labels layer {source_name!r} has shape {tuple(source.shape)}, the scan {target.shape}"
        )
    top = max(c.code for c in CLASS_TABLE)
    for z0 in range(0, target.shape[0], _COPY_PLANES):
        block = np.asarray(source[z0 : z0 + _COPY_PLANES])
        if block.size and block.max() > top:
            raise LiCellInputError(None, f"labels layer {source_name!r} holds codes above {top} (not class codes)")
        target[z0 : z0 + block.shape[0]] = block.astype(LABEL_DTYPE, copy=False)


@dataclass
class StorePrediction:
    """What :func:`train_and_predict_into_stores` did.

    Attributes
    ----------
    classifier : PixelClassifier
        The classifier used.
    uncertainty : zarr.Array
        ``1 - max probability`` per voxel (float16), in ``uncertainty.zarr``.
    n_voxels : int
        Voxels predicted.
    seconds : float
        Wall-clock time of the prediction (training excluded), s.
    """

    classifier: PixelClassifier
    uncertainty: Any
    n_voxels: int
    seconds: float


def train_and_predict_into_stores(
    image: Any,
    stores: PaintStores,
    classifier: PixelClassifier | None = None,
    *,
    progress: Callable[[int, int], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> StorePrediction:
    """Train on the strokes' store (unless ``classifier`` is given) and classify ``image`` into the classes store.

    Blocks are written as they are predicted (a cancelled run leaves the
    blocks done so far predicted and the rest as they were); painted voxels
    keep their painted class.

    Raises
    ------
    LiCellInputError
        Fewer than two classes painted (from the classifier), shapes differ.
    """
    import zarr

    if tuple(image.shape) != tuple(stores.classes.shape):
        raise LiCellInputError(None, f"the scan has shape {tuple(image.shape)}, its painting {stores.classes.shape}")
    clf = classifier or PixelClassifier()
    if classifier is None:
        clf.fit(image, stores.scribbles, progress=progress, cancel=cancel)
    path = stores.folder / "uncertainty.zarr"
    shutil.rmtree(path, ignore_errors=True)
    uncertainty = zarr.open_array(
        str(path), mode="w", shape=stores.classes.shape, chunks=stores.classes.chunks, dtype=np.float16, fill_value=0
    )
    t0 = time.perf_counter()
    clf.predict(
        image,
        labels_out=stores.classes,
        uncertainty_out=uncertainty,
        scribbles=stores.scribbles,
        progress=progress,
        cancel=cancel,
        direct=True,
    )
    return StorePrediction(clf, uncertainty, int(np.prod(image.shape, dtype=np.int64)), time.perf_counter() - t0)
