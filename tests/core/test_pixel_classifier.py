"""Pixel classifier on a noisy synthetic Xe cell: a few strokes per class are enough to find the lithium."""

from __future__ import annotations

import threading

import joblib
import numpy as np
import pytest

from napari_licell.classes import LI, METAL, SE, SE_LI, VOID
from napari_licell.classifier import (
    FeatureSettings,
    PixelClassifier,
    PredictionCancelled,
    compute_features,
    feature_halo,
    feature_names,
    interpolate_between_slices,
)
from napari_licell.classifier.features import default_block_shape, iter_blocks
from napari_licell.classifier.forest import MODEL_FORMAT, MODEL_FORMAT_VERSION
from napari_licell.errors import LiCellInputError
from napari_licell.phantoms import ImagingSettings, make_synthetic_cell, paper_cell
from napari_licell.phantoms.strokes import simulated_strokes


def dice(a: np.ndarray, b: np.ndarray) -> float:
    return 2.0 * np.logical_and(a, b).sum() / (a.sum() + b.sum())


@pytest.fixture(scope="module")
def noisy_cell():
    """The no-interlayer cell at half the default exposure (noisier than the demo)."""
    return make_synthetic_cell(
        paper_cell("none", shape=(200, 96, 96), seed=3), imaging=ImagingSettings(detected_photons_per_pixel=3e6)
    )


@pytest.fixture(scope="module")
def trained(noisy_cell):
    scribbles = simulated_strokes(noisy_cell.labels)
    clf = PixelClassifier()
    clf.fit(noisy_cell.image, scribbles)
    uncertainty = np.zeros(noisy_cell.image.shape, np.float16)
    labels = clf.predict(noisy_cell.image, uncertainty_out=uncertainty)
    return clf, scribbles, labels, uncertainty


def test_strokes_are_few(noisy_cell, trained):
    _, scribbles, _, _ = trained
    painted = scribbles > 0
    assert painted.mean() < 0.01
    assert set(np.unique(scribbles[painted])) == {LI.code, VOID.code, SE_LI.code, SE.code, METAL.code}
    assert np.all(scribbles[painted] == noisy_cell.labels[painted])


def test_lithium_found_from_few_strokes(noisy_cell, trained):
    clf, _, labels, uncertainty = trained
    assert labels.dtype == np.uint8 and labels.shape == noisy_cell.image.shape
    assert dice(labels == LI.code, noisy_cell.labels == LI.code) >= 0.9
    assert dice(labels == SE.code, noisy_cell.labels == SE.code) >= 0.9
    assert dice(labels == METAL.code, noisy_cell.labels == METAL.code) >= 0.99
    assert uncertainty.dtype == np.float16
    assert 0.0 <= float(uncertainty.min()) and float(uncertainty.max()) <= 1.0 - 1.0 / len(clf.class_codes) + 1e-3
    # wrong voxels are less sure than right ones
    right = labels == noisy_cell.labels
    assert uncertainty[~right].astype(float).mean() > uncertainty[right].astype(float).mean()


def test_prediction_keeps_scribbles_and_probabilities_sum_to_one(noisy_cell, trained):
    clf, scribbles, _, _ = trained
    sub = noisy_cell.image[:48]
    scr = np.zeros(sub.shape, np.uint8)
    scr[10, 10:20, 10:20] = VOID.code  # deliberately "wrong" strokes must survive prediction
    proba = np.zeros((len(clf.class_codes), *sub.shape), np.float16)
    unc = np.ones(sub.shape, np.float16)
    labels = clf.predict(sub, probabilities_out=proba, uncertainty_out=unc, scribbles=scr, slab_depth=16)
    assert np.all(labels[10, 10:20, 10:20] == VOID.code)
    assert np.all(unc[10, 10:20, 10:20] == 0)
    np.testing.assert_allclose(proba.astype(np.float32).sum(axis=0), 1.0, atol=5e-3)


def test_slab_depth_does_not_change_prediction(noisy_cell, trained):
    clf, _, labels, _ = trained
    sub = noisy_cell.image[:60]
    np.testing.assert_array_equal(clf.predict(sub, slab_depth=7), clf.predict(sub, slab_depth=60))


def test_save_load_reproduces_prediction_exactly(tmp_path, noisy_cell, trained):
    clf, _, labels, uncertainty = trained
    path = clf.save(tmp_path / "model.licell-clf")
    assert path.is_file() and not list(tmp_path.glob("*.tmp"))
    loaded = PixelClassifier.load(path)
    assert loaded.class_codes == clf.class_codes
    assert loaded.feature_settings == clf.feature_settings
    unc2 = np.zeros_like(uncertainty)
    labels2 = loaded.predict(noisy_cell.image, uncertainty_out=unc2)
    np.testing.assert_array_equal(labels2, labels)
    np.testing.assert_array_equal(unc2, uncertainty)


def test_load_refuses_other_format_version(tmp_path, trained):
    clf, _, _, _ = trained
    path = tmp_path / "future.licell-clf"
    joblib.dump({"format": MODEL_FORMAT, "format_version": MODEL_FORMAT_VERSION + 1, "forest": None}, path)
    with pytest.raises(LiCellInputError) as info:
        PixelClassifier.load(path)
    assert str(path) in str(info.value) and "format version" in str(info.value)
    junk = tmp_path / "junk.licell-clf"
    junk.write_bytes(b"not a model")
    with pytest.raises(LiCellInputError, match="junk.licell-clf"):
        PixelClassifier.load(junk)


def test_atomic_save_keeps_old_model_on_failure(tmp_path, trained, monkeypatch):
    clf, _, _, _ = trained
    path = clf.save(tmp_path / "model.licell-clf")
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(joblib, "dump", boom)
    with pytest.raises(OSError):
        clf.save(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.licell-clf"]


def test_cancel_leaves_outputs_untouched(noisy_cell, trained):
    clf, _, _, _ = trained
    sub = noisy_cell.image[:64]
    labels = np.full(sub.shape, 77, np.uint8)
    unc = np.full(sub.shape, 0.25, np.float16)
    stop = threading.Event()
    seen = []

    def progress(done, total):
        seen.append(done)
        stop.set()  # cancel after the first slab

    with pytest.raises(PredictionCancelled):
        clf.predict(sub, labels_out=labels, uncertainty_out=unc, progress=progress, cancel=stop, slab_depth=16)
    assert seen == [1]
    assert np.all(labels == 77) and np.all(unc == np.float16(0.25))


def test_fit_needs_two_classes(noisy_cell):
    scr = np.zeros(noisy_cell.image.shape, np.uint8)
    scr[50, 10:14, 10:14] = LI.code
    with pytest.raises(LiCellInputError, match="at least two"):
        PixelClassifier().fit(noisy_cell.image, scr)


def test_chunked_features_equal_whole_volume(noisy_cell):
    vol = noisy_cell.image[:70, :40, :48]
    settings = FeatureSettings(sigmas=(0.8, 2.0, 3.5))
    whole = compute_features(vol, settings)
    assert whole.shape == (*vol.shape, len(feature_names(settings)))
    for depth in (5, 16, feature_halo(settings) + 3):
        np.testing.assert_array_equal(compute_features(vol, settings, slab_depth=depth), whole)
    # blocks tiled in y and x as well (what big planes get)
    np.testing.assert_array_equal(compute_features(vol, settings, block_shape=(9, 13, 17)), whole)


def test_default_blocks_bound_memory_for_large_planes():
    shape = (500, 2048, 2048)
    block = default_block_shape(shape)
    assert np.prod(block) <= 1 << 21 and min(block[1:]) >= 64
    blocks = iter_blocks(shape, block)
    assert sum(int(np.prod([s.stop - s.start for s in b])) for b in blocks) == np.prod(shape)
    assert blocks[0][0] == blocks[1][0]  # z-slab by z-slab: the first slab is tiled in (y, x) first
    assert default_block_shape((64, 96, 96), slab_depth=16) == (16, 96, 96)


def test_feature_settings_round_trip():
    s = FeatureSettings(sigmas=(3.0, 1.0), hessian_eigenvalues=False)
    assert s.sigmas == (1.0, 3.0)
    assert FeatureSettings.from_dict(s.as_dict()) == s
    with pytest.raises(ValueError):
        FeatureSettings(sigmas=())


def test_interpolate_between_slices_makes_growing_disc():
    labels = np.zeros((11, 40, 40), np.uint8)
    yy, xx = np.mgrid[:40, :40]
    labels[0][(yy - 20) ** 2 + (xx - 20) ** 2 <= 4**2] = LI.code
    labels[10][(yy - 20) ** 2 + (xx - 20) ** 2 <= 12**2] = LI.code
    labels[5, 0:3, 0:3] = SE.code  # another class is never overwritten
    fill = interpolate_between_slices(labels, LI.code)
    assert not fill[0].any() and not fill[10].any()
    areas = fill.reshape(11, -1).sum(axis=1)[1:10]
    assert np.all(np.diff(areas) > 0)  # grows monotonically from r=4 to r=12
    r5 = np.sqrt(areas[4] / np.pi)  # slice 5: halfway, radius ~8
    assert 7.0 < r5 < 9.0
    assert not fill[5, 0:3, 0:3].any()
    assert not interpolate_between_slices(labels, VOID.code).any()


def test_predict_into_zarr_and_memmap_outputs(tmp_path, noisy_cell, trained):
    zarr = pytest.importorskip("zarr")
    clf, _, _, _ = trained
    sub = noisy_cell.image[:40]
    expected_unc = np.zeros(sub.shape, np.float16)
    expected = clf.predict(sub, uncertainty_out=expected_unc, slab_depth=16)
    labels_z = zarr.open_array(str(tmp_path / "labels.zarr"), mode="w", shape=sub.shape, chunks=(8, 96, 96), dtype="u1")
    unc_mm = np.lib.format.open_memmap(tmp_path / "unc.npy", "w+", np.float16, sub.shape)
    clf.predict(sub, labels_out=labels_z, uncertainty_out=unc_mm, slab_depth=16)
    np.testing.assert_array_equal(labels_z[:], expected)
    unc_mm.flush()
    np.testing.assert_array_equal(np.load(tmp_path / "unc.npy"), expected_unc)
