"""Train the pixel classifier on a scan's strokes and predict the whole scan: the Paint dock's work, Qt-free.

Runs in the dock's worker thread; what it returns is what the GUI thread
writes into the classes layer (only the voxels that changed) and shows as the
uncertainty layer.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..classes import LABEL_DTYPE
from ..classifier import PixelClassifier

__all__ = ["Prediction", "train_and_predict_scan"]


@dataclass
class Prediction:
    """What :func:`train_and_predict_scan` found.

    Attributes
    ----------
    classifier : PixelClassifier
        The classifier used (trained on the strokes unless a loaded one was given).
    labels : ndarray of uint8
        Predicted class codes of every voxel.
    uncertainty : ndarray of float32
        Per-voxel uncertainty (float32: float16 textures are not portable across GL drivers).
    seconds : float
        Wall-clock time of the prediction (training excluded), s.
    changed : tuple of ndarray
        Indices of the voxels whose code differs from ``before``.
    new_codes : ndarray of uint8
        Their predicted codes.
    """

    classifier: PixelClassifier
    labels: np.ndarray
    uncertainty: np.ndarray
    seconds: float
    changed: tuple[np.ndarray, ...]
    new_codes: np.ndarray


def train_and_predict_scan(
    image: Any,
    scribbles: np.ndarray,
    before: np.ndarray,
    classifier: PixelClassifier | None = None,
    *,
    progress: Callable[[int, int], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> Prediction:
    """Train a new classifier on ``scribbles`` (unless ``classifier`` is given) and predict ``image``.

    Parameters
    ----------
    image : array-like
        The scan (z, y, x).
    scribbles : ndarray
        Hand strokes: 0 unpainted, class codes where painted (kept as painted in the prediction).
    before : ndarray
        The labels shown now; the prediction is compared with them.
    classifier : PixelClassifier, optional
        A trained classifier to apply without retraining.
    progress : callable(done, total), optional
    cancel : callable() -> bool, optional
        Polled between blocks; True stops the work.
    """
    clf = classifier or PixelClassifier()
    if classifier is None:
        clf.fit(image, scribbles, progress=progress, cancel=cancel)
    labels = np.zeros(image.shape, dtype=LABEL_DTYPE)
    uncertainty = np.zeros(image.shape, dtype=np.float32)  # values of float16 precision, as the model file's
    t0 = time.perf_counter()
    # direct: the arrays are this call's own, so a cancel (which raises) leaves nothing half-written behind
    clf.predict(
        image,
        labels_out=labels,
        uncertainty_out=uncertainty,
        scribbles=scribbles,
        progress=progress,
        cancel=cancel,
        direct=True,
    )
    seconds = time.perf_counter() - t0
    changed = np.nonzero(before != labels)
    return Prediction(clf, labels, uncertainty, seconds, changed, labels[changed])
