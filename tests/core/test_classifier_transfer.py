"""The fast, transferable pixel classifier: compiled forest, numba filters, accuracy on demo cells, train CLI, next slice."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import tifffile
from scipy import ndimage as ndi

from napari_licell.classes import CARBON, LI, SE, VOID
from napari_licell.classifier import PixelClassifier, PredictionCancelled, next_best_slice
from napari_licell.classifier.compiled import compile_forest
from napari_licell.classifier.filters import gaussian3, gradient_magnitude3, minimum3
from napari_licell.classifier.forest import _read_with_halo
from napari_licell.classifier.transfer import (
    calibration_from_scan_metadata,
    transfer_columns,
    transfer_features,
    transfer_halo,
)
from napari_licell.cli import main
from napari_licell.phantoms import load_demo_cell
from napari_licell.phantoms.strokes import simulated_strokes


def dice(a, b) -> float:
    return 2.0 * np.logical_and(a, b).sum() / (a.sum() + b.sum())


def test_numba_filters_match_scipy():
    x = np.random.default_rng(0).normal(size=(23, 31, 40)).astype(np.float32)
    for s in (0.8, 1.0, 2.5):
        np.testing.assert_allclose(gaussian3(x, s), ndi.gaussian_filter(x, s, truncate=3.0), atol=2e-6)
    g = ndi.gaussian_filter(x, 1.0)
    np.testing.assert_allclose(gradient_magnitude3(g), np.sqrt(sum(d * d for d in np.gradient(g))), atol=1e-6)
    for r in (1, 2, 3):
        np.testing.assert_array_equal(minimum3(x, r), ndi.minimum_filter(x, size=2 * r + 1, mode="reflect"))
    tiny = x[:2, :3, :4]  # kernels wider than the array: reflected more than once
    np.testing.assert_allclose(gaussian3(tiny, 2.5), ndi.gaussian_filter(tiny, 2.5, truncate=3.0), atol=2e-6)
    np.testing.assert_array_equal(minimum3(tiny, 3), ndi.minimum_filter(tiny, size=7, mode="reflect"))


def test_compiled_forest_equals_scikit_learn():
    from sklearn.ensemble import RandomForestClassifier

    rng = np.random.default_rng(1)
    X = rng.normal(size=(2000, 6)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(int) + 2 * (X[:, 3] > 1)
    rf = RandomForestClassifier(12, max_depth=12, random_state=0).fit(X, y)
    Xt = rng.normal(size=(20000, 6)).astype(np.float32)
    Xt[:100, 0] = rf.estimators_[0].tree_.threshold[0]  # exactly on a split: same side as scikit-learn
    compiled = compile_forest(rf)
    assert compiled.split_feature is None  # trees of more than 64 leaves: the tree walk
    np.testing.assert_allclose(compiled.predict_proba(Xt), rf.predict_proba(Xt), atol=1e-12)


@pytest.mark.parametrize("max_depth, pure", [(5, False), (None, True)])
def test_bit_mask_forest_equals_scikit_learn(max_depth, pure):
    """Small trees go through the bit-mask evaluator: float leaves (depth-limited) and class votes (pure leaves)."""
    from sklearn.ensemble import RandomForestClassifier

    rng = np.random.default_rng(2)
    X = rng.normal(size=(300, 5)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int) + 2 * (X[:, 1] > 0.5) + (X[:, 2] > 1.5)
    rf = RandomForestClassifier(9, max_depth=max_depth, random_state=0).fit(X, y)
    compiled = compile_forest(rf)
    assert compiled.split_feature is not None and (compiled.class_leaves is not None) == pure
    Xt = rng.normal(size=(1000, 5)).astype(np.float32)
    Xt[:50, 1] = rf.estimators_[0].tree_.threshold[0]  # exactly on a split
    expected = rf.predict_proba(Xt)
    np.testing.assert_allclose(compiled.predict_proba(Xt), expected, atol=1e-12)
    best, top, proba = compiled.predict_best(np.ascontiguousarray(Xt.T), proba=True)
    np.testing.assert_array_equal(best, np.argmax(expected, axis=1))
    np.testing.assert_allclose(top, expected.max(axis=1), atol=1e-6)
    np.testing.assert_allclose(proba, expected, atol=1e-12)


@pytest.fixture(scope="module")
def trained():
    """The default model trained on the simulated strokes (< 1,000 voxels) of demo cell process1."""
    cell = load_demo_cell("process1_after_Xe6")
    strokes = simulated_strokes(cell.labels, 3)
    clf = PixelClassifier()
    clf.fit(
        cell.image, strokes, calibration=calibration_from_scan_metadata(cell.metadata), voxel_size_um=cell.voxel_size_um
    )
    return clf, strokes


def _predict(clf, name, **kw):
    cell = load_demo_cell(name)
    labels = clf.predict(
        cell.image, calibration=calibration_from_scan_metadata(cell.metadata), voxel_size_um=cell.voxel_size_um, **kw
    )
    return cell, labels


def test_strokes_are_under_a_thousand_voxels(trained):
    clf, strokes = trained
    assert 0 < (strokes > 0).sum() < 1000
    assert clf.calibrated and clf.summary.boundary_voxels  # the partial-volume rule added rim voxels
    assert set(clf.summary.band_voxels) == {CARBON.code, VOID.code}  # the carbon band found by position, gas above


def test_no_band_samples_without_a_carbon_band():
    """A cell without an interlayer (carbon painted on gas-filled voids) gets no samples placed by position."""
    cell = load_demo_cell("none_after_Xe6")
    strokes = simulated_strokes(cell.labels, 3)
    strokes[strokes == VOID.code] = CARBON.code  # the gas painted as carbon: nothing lies as a band on the collector
    clf = PixelClassifier(n_estimators=4)
    clf.fit(
        cell.image, strokes, calibration=calibration_from_scan_metadata(cell.metadata), voxel_size_um=cell.voxel_size_um
    )
    assert clf.summary.band_voxels == {}


@pytest.mark.parametrize(
    "name, li_min, void_min",
    [
        ("process1_after_Xe6", 0.98, 0.85),  # the painted cell (0.967 before the carbon band's samples)
        ("process2_after_Xe6", 0.98, 0.90),  # never seen (0.975 before)
        ("none_after_Xe6", 0.98, 0.85),  # never seen, no carbon interlayer (0.979 before)
        # never seen, its carbon under the SE (higher than any painted): void 0.565 before the band by position
        ("process3_after_Xe6", 0.98, 0.85),
    ],
)
def test_lithium_and_voids_found_on_demo_cells(trained, name, li_min, void_min):
    clf, _ = trained
    cell, labels = _predict(clf, name)
    assert dice(labels == LI.code, cell.labels == LI.code) >= li_min
    assert dice(labels == VOID.code, cell.labels == VOID.code) >= void_min
    assert dice(labels == SE.code, cell.labels == SE.code) >= 0.98
    assert clf.last_gate_fraction > 0.6  # most voxels decided by the thresholds, without the forest


def test_carbon_band_by_position_turns_the_forests_void_into_carbon(trained):
    """process3's interlayer lies under the SE: the forest (taught on process1's, on the collector) calls it void."""
    clf, _ = trained
    cell, forest_only = _predict(clf, "process3_after_Xe6", band_by_position=False)
    _, labels = _predict(clf, "process3_after_Xe6")
    assert clf.last_band.found and clf.last_band.side == "se" and clf.last_band.n_voxels > 10_000
    carbon = cell.labels == CARBON.code
    assert dice(labels == CARBON.code, carbon) > dice(forest_only == CARBON.code, carbon) + 0.1
    changed = labels != forest_only
    assert np.all(forest_only[changed] == VOID.code) and np.all(labels[changed] == CARBON.code)  # nothing else moves


def test_gas_pores_the_forest_calls_carbon_become_void_beyond_the_band():
    """A new user's finding: trained in the Paint dock on process3 (strokes seed 1, no calibration), the forest
    called 91 % of the SE's gas pores carbon (void Dice 0.16): carbon beyond the band, not joined to it."""
    cell = load_demo_cell("process3_after_Xe6")
    strokes = simulated_strokes(cell.labels, 1)
    clf = PixelClassifier()
    clf.fit(cell.image, strokes)  # as the Paint dock trains
    forest_only = clf.predict(cell.image, scribbles=strokes, band_by_position=False)
    labels = clf.predict(cell.image, scribbles=strokes)
    pores = cell.labels == VOID.code
    assert dice(forest_only == VOID.code, pores) < 0.5  # the finding, still in the forest alone
    assert dice(labels == VOID.code, pores) >= 0.85
    assert dice(labels == CARBON.code, cell.labels == CARBON.code) >= dice(
        forest_only == CARBON.code, cell.labels == CARBON.code
    )
    assert np.all(labels[strokes != 0] == strokes[strokes != 0])


def test_band_by_position_leaves_painted_voxels(trained):
    clf, _ = trained
    cell = load_demo_cell("process3_after_Xe6")
    cal = calibration_from_scan_metadata(cell.metadata)
    forest_only = clf.predict(cell.image, calibration=cal, voxel_size_um=cell.voxel_size_um, band_by_position=False)
    scribbles = np.zeros_like(forest_only)
    band_void = (forest_only == VOID.code) & (cell.labels == CARBON.code)
    scribbles[band_void] = VOID.code  # the user insists: void
    labels = clf.predict(cell.image, calibration=cal, voxel_size_um=cell.voxel_size_um, scribbles=scribbles)
    assert band_void.any() and np.all(labels[band_void] == VOID.code)


def test_gate_agrees_with_the_forest(trained):
    clf, _ = trained
    cell = load_demo_cell("process2_after_Xe6")
    sub = cell.image[:140]
    cal = calibration_from_scan_metadata(cell.metadata)
    gated = clf.predict(sub, calibration=cal, gate=True)
    full = clf.predict(sub, calibration=cal, gate=False)
    assert (gated == full).mean() > 0.999


def test_block_features_equal_whole_volume(trained):
    clf, _ = trained
    cell = load_demo_cell("process1_after_Xe6")
    vol = cell.image[:60, :50, :40]
    ctx = clf.scan_context(vol, calibration_from_scan_metadata(cell.metadata), cell.voxel_size_um)
    h = transfer_halo(clf.feature_settings)
    whole = transfer_features(np.asarray(vol), ctx, clf.feature_settings, (0, 0, 0))
    region = (slice(20, 41), slice(10, 30), slice(5, 40))
    block, crop, origin = _read_with_halo(vol, region, h)
    part = transfer_features(block, ctx, clf.feature_settings, origin, crop)
    np.testing.assert_allclose(part, whole[region], rtol=1e-5, atol=1e-4)
    # columns of chosen voxels, in any order (the gather walks rows forward and divides on a jump back)
    index = np.random.default_rng(0).permutation(part[..., 0].size)[:500]
    cols = transfer_columns(block, ctx, clf.feature_settings, origin, crop, index=index)
    np.testing.assert_allclose(cols.T, part.reshape(-1, part.shape[-1])[index], rtol=1e-6, atol=1e-5)


def test_direct_prediction_into_zarr_with_progress_and_cancel(tmp_path, trained):
    zarr = pytest.importorskip("zarr")
    clf, _ = trained
    cell = load_demo_cell("process2_after_Xe6")
    sub, cal = cell.image[:64], calibration_from_scan_metadata(cell.metadata)
    expected = clf.predict(sub, calibration=cal, slab_depth=16)
    out = zarr.open_array(str(tmp_path / "l.zarr"), mode="w", shape=sub.shape, chunks=(16, 64, 64), dtype="u1")
    seen = []
    clf.predict(
        sub, labels_out=out, calibration=cal, slab_depth=16, direct=True, progress=lambda d, t: seen.append((d, t))
    )
    np.testing.assert_array_equal(out[:], expected)
    assert seen[-1] == (4, 4)
    stop = threading.Event()
    out2 = zarr.open_array(str(tmp_path / "m.zarr"), mode="w", shape=sub.shape, chunks=(16, 64, 64), dtype="u1")
    with pytest.raises(PredictionCancelled):
        clf.predict(
            sub,
            labels_out=out2,
            calibration=cal,
            slab_depth=16,
            direct=True,
            progress=lambda d, t: stop.set(),
            cancel=stop,
        )
    np.testing.assert_array_equal(out2[:16], expected[:16])  # the first block was written before the cancel
    assert not out2[16:].any()


def test_calibrated_model_refuses_an_uncalibrated_scan(trained):
    clf, _ = trained
    from napari_licell.errors import LiCellInputError

    with pytest.raises(LiCellInputError, match="calibrated to 1/cm"):
        clf.predict(load_demo_cell("none_after_Xe6").image[:40])


def test_save_load_keeps_levels_and_prediction(tmp_path, trained):
    clf, _ = trained
    loaded = PixelClassifier.load(clf.save(tmp_path / "m.licell-clf"))
    assert loaded.levels == clf.levels and loaded.metal_threshold == clf.metal_threshold and loaded.calibrated
    cell = load_demo_cell("none_after_Xe6")
    cal = calibration_from_scan_metadata(cell.metadata)
    np.testing.assert_array_equal(
        loaded.predict(cell.image[:50], calibration=cal), clf.predict(cell.image[:50], calibration=cal)
    )


# --- train CLI -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    assert main(["demo", "--out", str(out)]) == 0
    return out


def _write(path, data):
    tifffile.imwrite(path, np.ascontiguousarray(data), imagej=True, metadata={"axes": "ZYX"})
    return str(path)


def test_train_then_analyze_a_cell_the_model_never_saw(demo_dir, tmp_path, capsys):
    strokes = _write(tmp_path / "strokes.tif", simulated_strokes(load_demo_cell("process1_after_Xe6").labels, 3))
    model = tmp_path / "cell1.licell-clf"
    assert main(["train", str(demo_dir / "process1_after_Xe6.tif"), "--strokes", strokes, "--out", str(model)]) == 0
    printed = capsys.readouterr().out
    assert "1/cm (calibrated)" in printed and str(model) in printed
    out = tmp_path / "analysis"
    assert (
        main(
            [
                "analyze",
                str(demo_dir / "process2_after_Xe6.tif"),
                "--out",
                str(out),
                "--gas",
                "xe",
                "--model",
                str(model),
            ]
        )
        == 0
    )
    labels = tifffile.imread(out / "labels.tif")
    truth = load_demo_cell("process2_after_Xe6").labels
    assert dice(labels == LI.code, truth == LI.code) >= 0.98  # 0.975 before the carbon band's samples
    assert dice(labels == VOID.code, truth == VOID.code) >= 0.85


def test_bad_strokes_get_one_line(demo_dir, tmp_path, capsys):
    scan = str(demo_dir / "process1_after_Xe6.tif")
    truth = load_demo_cell("process1_after_Xe6").labels
    one = _write(tmp_path / "one.tif", np.where(simulated_strokes(truth, 3) > 0, LI.code, 0).astype(np.uint8))
    short = _write(tmp_path / "short.tif", simulated_strokes(truth, 3)[:100])
    for strokes, needle in (
        (one, "at least two"),
        (short, "differ from the scan"),
        (str(tmp_path / "none.tif"), "not found"),
    ):
        assert main(["train", scan, "--strokes", strokes, "--out", str(tmp_path / "m.licell-clf")]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and needle in err[0] and strokes in err[0]
    assert not (tmp_path / "m.licell-clf").exists()


# --- next best slice -----------------------------------------------------------------------------------


def test_next_best_slice_points_at_the_doubtful_slab_and_skips_painted_slices():
    unc = np.zeros((60, 20, 30), np.float16)
    unc[37:40, 5:15, 5:25] = 0.6  # the doubtful region
    unc[10, :, :] = 0.2  # a thin, milder one
    s = next_best_slice(unc)
    assert s.index == 38 and s.axis == 0 and 0 < s.share < 1
    scribbles = np.zeros(unc.shape, np.uint8)
    scribbles[38, 0, 0] = LI.code  # the user painted there: next suggestion elsewhere
    s2 = next_best_slice(unc, scribbles=scribbles, skip_painted=2)
    assert s2.index == 10
    assert next_best_slice(unc, axis=2).index in range(5, 25)
    assert next_best_slice(np.zeros((5, 5, 5), np.float32)) is None


def test_heights_stay_in_the_units_the_model_learnt():
    """A model trained without a voxel size learnt heights in voxels: a scan with one is not re-scaled."""
    cell = load_demo_cell("process3_after_Xe6")
    crop = (slice(None), slice(0, 40), slice(0, 40))
    clf = PixelClassifier(n_estimators=8)
    clf.fit(cell.image[crop], simulated_strokes(cell.labels[crop], seed=1))
    assert clf.voxel_size_um is None
    sub = cell.image[100:170, :40, :40]
    np.testing.assert_array_equal(clf.predict(sub, voxel_size_um=0.54), clf.predict(sub))
