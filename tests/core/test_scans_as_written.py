"""Scans as instruments write them (issue 17): NaN outside the reconstruction circle, no voxel size stored.

* A float32 full-view scan with NaN where the reconstruction has no data opens
  and is analysed like the same scan with zeros there.
* When the voxel size was assumed, ``analyze`` and ``batch`` say so in one
  warning line and the report says so at its top.
"""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

from napari_licell.cli import main
from napari_licell.io.read_volume import read_volume
from napari_licell.io.writers import write_volume_tiff
from napari_licell.phantoms import paper_cell
from napari_licell.phantoms.full_view import JigView, make_full_view_cell

SHAPE = (130, 96, 96)
VOX = 0.54
LAYER_UM = 40.0


def _nan_full_view():
    spec = paper_cell("process3", shape=SHAPE, charge_minutes=4000.0 * LAYER_UM / 64.65, seed=4)
    jig = JigView.scaled_to_view(SHAPE[1] * VOX, centre_offset_um=(2.0, -3.0), tilt_deg=1.5, no_data=float("nan"))
    return make_full_view_cell(spec, jig, export="float32")


def test_nan_in_a_float_scan_opens_as_no_data(tmp_path):
    data = np.random.default_rng(3).normal(size=(5, 8, 8)).astype("f4")
    data[0, 0, :3] = np.nan
    data[2, 3, 3] = np.inf
    path = write_volume_tiff(tmp_path / "nan.tif", data, 0.54)
    vol = read_volume(path)  # instruments write NaN outside the reconstruction circle: not an error
    assert vol.metadata["non_finite_in_first_slice"] == 3
    np.testing.assert_array_equal(np.asarray(vol.data), data)  # kept as they are: the steps treat them as no data
    raw = tmp_path / "nan.raw"
    raw.write_bytes(data.tobytes())
    assert read_volume(raw, raw_shape=data.shape, raw_dtype="float32").shape == data.shape


def test_full_view_scan_with_nan_outside_the_circle_is_analysed(tmp_path, capsys):
    cell = _nan_full_view()
    image = cell.image
    assert image.dtype == np.float32 and np.isnan(image).mean() > 0.1  # the corners hold no data
    scan = write_volume_tiff(tmp_path / "nan_view.tif", image, VOX)
    out = tmp_path / "out"
    assert main(["analyze", str(scan), "--out", str(out), "--gas", "xe"]) == 0
    captured = capsys.readouterr()
    assert "warning" not in captured.err  # the voxel size is in the file
    import json

    m = json.loads((out / "measurements.json").read_text())
    assert m["verdict"] == "uniform", m.get("verdict_reason")
    assert m["li_layer"]["mean_thickness_um"] == pytest.approx(cell.truth.li_layer_thickness_um, abs=2.0)
    assert (out / "cell_region.json").exists()  # the bore was found with NaN around it
    labels = tifffile.imread(out / "labels.tif")
    assert np.all(labels[np.isnan(image)] == 0)  # no data is background


def test_assumed_voxel_size_is_said_on_the_command_line_and_at_the_top_of_the_report(tmp_path, capsys):
    from napari_licell.phantoms import load_demo_cell

    cell = load_demo_cell("process3_after_Xe6")
    bare = tmp_path / "bare.tif"
    tifffile.imwrite(bare, np.asarray(cell.image))  # no voxel size in the file
    assert main(["analyze", str(bare), "--out", str(tmp_path / "a"), "--gas", "xe"]) == 0
    err = capsys.readouterr().err
    assert err.count("warning:") == 1 and "assumed 0.54 µm" in err
    html = (tmp_path / "a" / "report.html").read_text(encoding="utf-8")
    warning_at = html.find("Voxel size assumed")
    assert 0 < warning_at < html.find("Verdict:")  # above the verdict, at the top
    # typed in: no warning, no line in the report
    assert main(["analyze", str(bare), "--out", str(tmp_path / "b"), "--gas", "xe", "--voxel-size-um", "0.54"]) == 0
    assert "warning" not in capsys.readouterr().err
    assert "Voxel size assumed" not in (tmp_path / "b" / "report.html").read_text(encoding="utf-8")


def test_batch_warns_once_per_scan_whose_voxel_size_was_assumed(tmp_path, capsys):
    from napari_licell.commands.demo import write_demo_study
    from napari_licell.study.study_file import load_study, save_study

    study = load_study(write_demo_study(tmp_path / "study"))
    study.cells = [c for c in study.cells if c.name in ("process3_after_Xe6", "dummy_Xe6")]
    bare = study.cell("process3_after_Xe6").scans[0]
    image = read_volume(bare.path).data
    bare_path = tmp_path / "bare_scan.tif"
    tifffile.imwrite(bare_path, np.asarray(image))
    bare.path, bare.voxel_size_um = bare_path, None
    path = save_study(study, tmp_path / "two.licell.yaml")
    capsys.readouterr()
    assert main(["batch", str(path), "--out", str(tmp_path / "out"), "--workers", "1"]) == 0
    captured = capsys.readouterr()
    warnings = [line for line in captured.err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and str(bare_path) in warnings[0] and "assumed 0.54 µm" in warnings[0], captured.err
    report = next((tmp_path / "out" / "process3_after_Xe6").glob("*/report.html")).read_text(encoding="utf-8")
    assert "Voxel size assumed" in report
