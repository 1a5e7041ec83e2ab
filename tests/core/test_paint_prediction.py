"""The Paint dock's work, Qt-free: train on strokes, predict the scan, report what changed."""

from __future__ import annotations

import numpy as np

from napari_licell.classifier import PixelClassifier
from napari_licell.painting.prediction import train_and_predict_scan


def _two_phase_scan():
    rng = np.random.default_rng(0)
    image = rng.normal(100.0, 5.0, (8, 32, 32)).astype(np.float32)
    image[:, :, 16:] += 200.0  # a bright phase on the right half
    scribbles = np.zeros(image.shape, np.uint8)
    scribbles[2:6, 4:28, 2:6] = 1  # dark strokes, class 1
    scribbles[2:6, 4:28, 26:30] = 2  # bright strokes, class 2
    return image, scribbles


def test_strokes_train_a_classifier_that_labels_both_halves():
    image, scribbles = _two_phase_scan()
    before = np.zeros(image.shape, np.uint8)
    before[0, 0, 0] = 2  # a voxel the prediction will change back to 1
    p = train_and_predict_scan(image, scribbles, before)
    assert p.classifier.is_trained and p.uncertainty.dtype == np.float32 and p.seconds >= 0
    assert (p.labels[:, :, :16] == 1).mean() > 0.95 and (p.labels[:, :, 16:] == 2).mean() > 0.95
    np.testing.assert_array_equal(p.labels[scribbles > 0], scribbles[scribbles > 0])  # strokes kept
    changed = np.zeros(image.shape, bool)
    changed[p.changed] = True
    np.testing.assert_array_equal(changed, before != p.labels)
    np.testing.assert_array_equal(p.new_codes, p.labels[p.changed])


def test_a_given_classifier_is_applied_without_retraining():
    image, scribbles = _two_phase_scan()
    trained = train_and_predict_scan(image, scribbles, np.zeros(image.shape, np.uint8)).classifier
    calls = []
    trained.fit = lambda *a, **k: calls.append(a)  # noqa: ARG005 - would retrain
    p = train_and_predict_scan(image, np.zeros_like(scribbles), np.zeros(image.shape, np.uint8), trained)
    assert calls == [] and p.classifier is trained and isinstance(p.classifier, PixelClassifier)
    assert (p.labels[:, :, 16:] == 2).mean() > 0.95
