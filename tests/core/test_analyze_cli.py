"""``napari-licell analyze`` end to end on the demo study written by ``napari-licell demo --out``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import tifffile

from napari_licell.cli import main
from napari_licell.phantoms import load_demo_cell

EXPECTED_VERDICT = {
    "none_after_Xe6": "non-uniform",
    "process1_after_Xe6": "non-uniform",
    "process2_after_Xe6": "non-uniform",
    "process3_after_Xe6": "uniform",
}


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    assert main(["demo", "--out", str(out)]) == 0
    return out


def _write_imagej(path: Path, data: np.ndarray) -> Path:
    """A (z, y, x) ImageJ TIFF with a 0.54 um voxel size."""
    tifffile.imwrite(
        path,
        np.ascontiguousarray(data),
        imagej=True,
        resolution=(1 / 0.54, 1 / 0.54),
        metadata={"spacing": 0.54, "unit": "um", "axes": "ZYX"},
    )
    return path


def _analyze(*argv: str) -> int:
    return main(["analyze", *argv])


def _one_error_line(capsys, *needles: str) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    for needle in needles:
        assert needle in err, err
    return err


@pytest.mark.parametrize("name", list(EXPECTED_VERDICT))
def test_analyze_a_demo_cell_end_to_end(demo_dir, tmp_path, capsys, name):
    cell = load_demo_cell(name)
    out = tmp_path / "out"
    rc = _analyze(
        str(demo_dir / f"{name}.tif"),
        "--out",
        str(out),
        "--gas",
        "xe",
        "--gas-pressure-atm",
        "6",
        "--current-density",
        "0.2",
        "--charge-minutes",
        str(cell.spec.charge_minutes),
        "--voltage",
        str(demo_dir / f"{name}_voltage.csv"),
    )
    assert rc == 0
    stdout = capsys.readouterr().out
    assert f"verdict: {EXPECTED_VERDICT[name]}" in stdout
    for fname in (
        "labels.tif",
        "report.html",
        "measurements.json",
        "measurements.csv",
        "depth_profiles.csv",
        "sensitivity.csv",
        "li_thickness_map_um.tif",
    ):
        assert (out / fname).is_file(), fname

    d = json.loads((out / "measurements.json").read_text())
    assert d["voxel_size_um"] == pytest.approx([0.54, 0.54, 0.54])
    assert set(d["fractions"]) == {"li", "void", "se_li", "se", "carbon", "metal"}
    assert sum(d["fractions"].values()) == pytest.approx(1.0)
    assert d["li_volume_um3"] > 0
    assert {"mean_thickness_um", "std_thickness_um", "coverage"} <= set(d["li_layer"])
    assert {"volume_um3", "fraction_of_li", "max_depth_um"} <= set(d["li_in_se"])
    assert d["faraday_thickness_um"] == pytest.approx(cell.truth.faraday_thickness_um)
    assert d["contrast"]["separable"] is True and d["contrast"]["li_void_cnr"] > 3.0
    assert "physics" in d["contrast"]["source"]
    assert d["verdict"] == EXPECTED_VERDICT[name] and d["verdict_reason"]
    prov = d["provenance"]
    assert prov["thresholds"]["values"] and prov["software"]["napari-licell"]
    assert prov["inputs"][0]["path"].endswith(f"{name}.tif") and len(prov["inputs"][0]["sha256"]) == 64
    assert set(d["sensitivity"]["largest_change"]) == set(
        prov["thresholds"]["class_keys"][i] + "|" + prov["thresholds"]["class_keys"][i + 1]
        for i in range(len(prov["thresholds"]["values"]))
    )
    if EXPECTED_VERDICT[name] == "uniform":
        assert abs(d["li_layer"]["mean_thickness_um"] / d["faraday_thickness_um"] - 1) < 0.10
        assert d["li_in_se"]["fraction_of_li"] < 0.1
    else:
        assert d["li_in_se"]["fraction_of_li"] > 0.8
        assert d["li_in_se"]["masses"]["count"] > 0

    with tifffile.TiffFile(out / "labels.tif") as tif:
        labels = tif.asarray()
        assert tif.imagej_metadata["spacing"] == pytest.approx(0.54)
        assert tif.imagej_metadata["unit"] in ("um", "micron", "\\u00B5m")
        x_res = tif.pages[0].tags["XResolution"].value
        assert x_res[1] / x_res[0] == pytest.approx(0.54)
    assert labels.dtype == np.uint8 and labels.shape == cell.labels.shape
    assert labels.max() <= 6
    # thresholded labels agree with the truth on most voxels
    assert np.mean(labels == cell.labels) > 0.95

    html = (out / "report.html").read_text(encoding="utf-8")
    assert "data:image/png;base64," in html and EXPECTED_VERDICT[name] in html


def test_analyze_with_given_labels_and_no_gas(demo_dir, tmp_path, capsys):
    name = "process3_after_Xe6"
    out = tmp_path / "out"
    rc = _analyze(str(demo_dir / f"{name}.tif"), "--out", str(out), "--labels", str(demo_dir / f"{name}_labels.tif"))
    assert rc == 0
    d = json.loads((out / "measurements.json").read_text())
    assert d["verdict"] == "uniform"
    assert d["faraday_thickness_um"] is None
    # no gas given: xenon is recognised from the grey values calibrated on the SE and steel peaks (issue 17)
    assert d["contrast"]["source"] == "histogram peaks and Xe 5.5 atm physics (gas inferred from the data)"
    assert d["contrast"]["gas_inference"]["gas"] == "Xe"
    assert d["provenance"]["thresholds"] is None and d["sensitivity"] is None
    assert d["li_layer"]["mean_thickness_um"] == pytest.approx(
        load_demo_cell(name).truth.li_layer_thickness_um, abs=2 * 0.54
    )
    assert np.array_equal(tifffile.imread(out / "labels.tif"), load_demo_cell(name).labels)
    assert len(d["provenance"]["inputs"]) == 2


def test_analyze_argon_dummy_cell_is_undetermined(demo_dir, tmp_path, capsys):
    out = tmp_path / "out"
    assert _analyze(str(demo_dir / "dummy_Ar1.tif"), "--out", str(out), "--gas", "ar") == 0
    d = json.loads((out / "measurements.json").read_text())
    assert d["contrast"]["separable"] is False
    assert d["verdict"] == "undetermined"
    assert "cannot be told apart" in d["verdict_reason"]


def test_stack_axis_and_collector_end_options(demo_dir, tmp_path, capsys):
    name = "process3_after_Xe6"
    flipped = _write_imagej(tmp_path / "flipped.tif", tifffile.imread(demo_dir / f"{name}.tif")[::-1])
    out = tmp_path / "out"
    assert (
        _analyze(
            str(flipped),
            "--out",
            str(out),
            "--stack-axis",
            "0",
            "--collector-end",
            "end",
            "--labels",
            str(_flipped_labels(demo_dir, name, tmp_path)),
        )
        == 0
    )
    d = json.loads((out / "measurements.json").read_text())
    assert d["stack"] == {**d["stack"], "axis": 0, "collector_at_start": False, "detected": False}
    assert d["verdict"] == "uniform"


def _flipped_labels(demo_dir: Path, name: str, tmp_path: Path) -> Path:
    return _write_imagej(tmp_path / "flipped_labels.tif", tifffile.imread(demo_dir / f"{name}_labels.tif")[::-1])


# --- bad input: exit code 2 and one line naming the file -------------------------------------------


def test_missing_volume(tmp_path, capsys):
    missing = tmp_path / "nope.tif"
    assert _analyze(str(missing), "--out", str(tmp_path / "out")) == 2
    _one_error_line(capsys, "nope.tif", "does not exist")


def test_2d_image(tmp_path, capsys):
    flat = tmp_path / "slice.tif"
    tifffile.imwrite(flat, np.zeros((64, 64), np.uint16))
    assert _analyze(str(flat), "--out", str(tmp_path / "out")) == 2
    _one_error_line(capsys, "slice.tif", "2D")


def test_labels_shape_mismatch(demo_dir, tmp_path, capsys):
    small = _write_imagej(tmp_path / "small_labels.tif", np.zeros((10, 128, 128), np.uint8))
    assert (
        _analyze(str(demo_dir / "process3_after_Xe6.tif"), "--out", str(tmp_path / "out"), "--labels", str(small)) == 2
    )
    _one_error_line(capsys, "small_labels.tif", "shape")


def test_labels_with_codes_outside_the_class_table(demo_dir, tmp_path, capsys):
    labels = tifffile.imread(demo_dir / "process3_after_Xe6_labels.tif")
    labels[0, 0, 0] = 9
    bad = _write_imagej(tmp_path / "bad_labels.tif", labels)
    assert _analyze(str(demo_dir / "process3_after_Xe6.tif"), "--out", str(tmp_path / "out"), "--labels", str(bad)) == 2
    _one_error_line(capsys, "bad_labels.tif", "outside the class table")


@pytest.mark.parametrize("value", ["-1", "0", "abc", "nan"])
def test_bad_voxel_size(demo_dir, tmp_path, capsys, value):
    assert (
        _analyze(str(demo_dir / "process3_after_Xe6.tif"), "--out", str(tmp_path / "out"), "--voxel-size-um", value)
        == 2
    )
    _one_error_line(capsys, "process3_after_Xe6.tif", "voxel size")


@pytest.mark.parametrize(
    "extra,needle",
    [
        (["--gas-pressure-atm", "6"], "--gas-pressure-atm needs --gas"),
        (["--gas", "he"], "--gas 'he'"),
        (["--current-density", "0.2"], "--current-density and --charge-minutes"),
        (["--charge-minutes", "-5", "--current-density", "0.2"], "--charge-minutes"),
        (["--stack-axis", "3"], "--stack-axis"),
        (["--collector-end", "middle"], "--collector-end"),
        (["--memory-limit", "lots"], "--memory-limit 'lots' is not a number"),
        (["--memory-limit", "0.01"], "below 0.25 GB"),
    ],
)
def test_bad_options(demo_dir, tmp_path, capsys, extra, needle):
    assert _analyze(str(demo_dir / "process3_after_Xe6.tif"), "--out", str(tmp_path / "out"), *extra) == 2
    _one_error_line(capsys, needle)


def test_big_scans_get_their_labels_in_a_store_on_disk(demo_dir, tmp_path, capsys, monkeypatch):
    """Above the in-memory size the labels go to labels.zarr, slab by slab, with the same numbers."""
    from napari_licell import pipeline
    from napari_licell.io.read_volume import read_volume

    scan = str(demo_dir / "process3_after_Xe6.tif")
    assert _analyze(scan, "--out", str(tmp_path / "small"), "--gas", "xe") == 0
    monkeypatch.setattr(pipeline, "IN_MEMORY_LABEL_VOXELS", 1000)
    # a small budget tiles the classification in y and x as well (the whole 0.25 GB for the work: the
    # limit's process rule, tested in test_memory_limit.py, would refuse it in this big test process)
    from napari_licell import memory_limit

    monkeypatch.setattr(memory_limit, "RESERVE_BYTES", 0)
    monkeypatch.setattr(memory_limit, "resident_bytes", lambda: 0)
    assert _analyze(scan, "--out", str(tmp_path / "big"), "--gas", "xe", "--memory-limit", "0.25") == 0
    capsys.readouterr()
    assert not (tmp_path / "big" / "labels.tif").exists()
    store = read_volume(tmp_path / "big" / "labels.zarr")
    assert store.voxel_size_um == (0.54, 0.54, 0.54) and store.metadata["licell"]["kind"] == "labels"
    assert "thresholds" in store.metadata["licell"]["metadata"]
    levels = store.metadata["multiscale_levels"]  # a pyramid for zoomed-out views: every second voxel
    assert [lv.shape for lv in levels] == [(300, 128, 128), (150, 64, 64)]
    np.testing.assert_array_equal(np.asarray(levels[1]), np.asarray(store.data)[::2, ::2, ::2])
    from napari_licell._napari.readers import read_volume_layers

    [(data, kwargs, kind)] = read_volume_layers(str(tmp_path / "big" / "labels.zarr"))
    assert kind == "labels" and kwargs["multiscale"] and len(data) == 2  # napari opens it as a pyramid
    np.testing.assert_array_equal(np.asarray(store.data), tifffile.imread(tmp_path / "small" / "labels.tif"))
    small = json.loads((tmp_path / "small" / "measurements.json").read_text())
    big = json.loads((tmp_path / "big" / "measurements.json").read_text())
    assert big["li_layer"] == small["li_layer"] and big["verdict"] == small["verdict"]
    assert not [p.name for p in (tmp_path / "big").iterdir() if p.name.startswith(".")]  # scratch removed
    # rerun small into the same folder: one labels file, not both
    monkeypatch.setattr(pipeline, "IN_MEMORY_LABEL_VOXELS", 512 * 2**20)
    assert _analyze(scan, "--out", str(tmp_path / "big"), "--gas", "xe") == 0
    assert (tmp_path / "big" / "labels.tif").exists() and not (tmp_path / "big" / "labels.zarr").exists()


def test_a_pixel_classifier_model_trained_on_a_crop_classifies_the_whole_scan(demo_dir, tmp_path, capsys):
    """Paint-dock workflow: strokes on a crop train a model; analyze --model applies it to the whole scan."""
    from napari_licell.classes import LI
    from napari_licell.classifier import PixelClassifier
    from napari_licell.phantoms.strokes import simulated_strokes

    cell = load_demo_cell("process3_after_Xe6")
    crop = (slice(None), slice(0, 48), slice(0, 48))
    model = PixelClassifier(n_estimators=24)
    model.fit(cell.image[crop], simulated_strokes(cell.labels[crop], seed=1))
    path = model.save(tmp_path / "model.joblib")
    out = tmp_path / "out"
    assert (
        _analyze(str(demo_dir / "process3_after_Xe6.tif"), "--out", str(out), "--gas", "xe", "--model", str(path)) == 0
    )
    assert "verdict: uniform" in capsys.readouterr().out
    labels = tifffile.imread(out / "labels.tif")
    li, truth = labels == LI.code, cell.labels == LI.code
    assert 2 * (li & truth).sum() / (li.sum() + truth.sum()) > 0.9  # the whole scan, not just the crop
    m = json.loads((out / "measurements.json").read_text())
    assert m["provenance"]["parameters"]["model"] == str(path)
    assert str(path) in json.dumps(m["provenance"]["inputs"])
    # a forest from a few strokes misses part of the one-voxel interface shells: within 10 % of the 64.5 um truth
    assert m["li_layer"]["mean_thickness_um"] == pytest.approx(64.5, rel=0.1)


def test_bad_model_file_and_model_with_labels(demo_dir, tmp_path, capsys):
    scan = str(demo_dir / "process3_after_Xe6.tif")
    bad = tmp_path / "model.joblib"
    bad.write_bytes(b"not a model")
    assert _analyze(scan, "--out", str(tmp_path / "out"), "--model", str(bad)) == 2
    _one_error_line(capsys, "model.joblib")
    assert _analyze(scan, "--out", str(tmp_path / "out"), "--model", str(bad), "--labels", scan) == 2
    _one_error_line(capsys, "--model and --labels")


def test_missing_voltage_file(demo_dir, tmp_path, capsys):
    assert (
        _analyze(
            str(demo_dir / "process3_after_Xe6.tif"),
            "--out",
            str(tmp_path / "out"),
            "--voltage",
            str(tmp_path / "curve.csv"),
        )
        == 2
    )
    _one_error_line(capsys, "curve.csv")


def test_out_is_a_file(demo_dir, tmp_path, capsys):
    target = tmp_path / "taken"
    target.write_text("x")
    assert _analyze(str(demo_dir / "process3_after_Xe6.tif"), "--out", str(target)) == 2
    _one_error_line(capsys, "taken", "not a folder")


def _multi_charge_cycler_file() -> Path | None:
    """A real cycler file from tests/data/cycler whose record holds two or more charge steps."""
    from napari_licell.echem.charge_steps import split_steps
    from napari_licell.echem.cycler_readers import read_voltage_curve

    folder = Path(__file__).resolve().parents[1] / "data" / "cycler"
    for path in sorted(folder.glob("*")) if folder.exists() else []:
        if path.suffix.lower() not in (".csv", ".txt", ".ndax", ".mpr"):
            continue
        try:
            if sum(s.kind == "charge" for s in split_steps(read_voltage_curve(path))) >= 2:
                return path
        except Exception:  # noqa: BLE001 - only a readable multi-step file is wanted
            continue
    return None


def test_voltage_cycle_and_step_pick_the_charge_that_matches_the_scan(demo_dir, tmp_path, capsys):
    from napari_licell.echem.charge_steps import select_charge, split_steps
    from napari_licell.echem.cycler_readers import read_voltage_curve
    from napari_licell.pipeline import charge_for_scan

    path = _multi_charge_cycler_file()
    if path is None:
        pytest.skip("no real multi-step cycler file in tests/data/cycler")
    record = read_voltage_curve(path)
    first = charge_for_scan(record)
    assert first.n_points == select_charge(record)[0].n_points < record.n_points  # not the whole record
    last = [s for s in split_steps(record) if s.kind == "charge"][-1]
    picked = (
        charge_for_scan(record, cycle=last.cycle, step=last.step)
        if last.step is not None
        else charge_for_scan(record, step=last.ordinal)
    )
    assert picked.time_min[0] == pytest.approx(record.time_min[last.start])

    scan = str(demo_dir / "process3_after_Xe6.tif")
    assert (
        _analyze(
            scan,
            "--out",
            str(tmp_path / "a"),
            "--labels",
            str(demo_dir / "process3_after_Xe6_labels.tif"),
            "--voltage",
            str(path),
        )
        == 0
    )
    capsys.readouterr()
    assert _analyze(scan, "--out", str(tmp_path / "b"), "--voltage", str(path), "--step", "99999") == 2
    _one_error_line(capsys, path.name, "step 99999")
    assert _analyze(scan, "--out", str(tmp_path / "c"), "--cycle", "2") == 2
    _one_error_line(capsys, "--voltage")
