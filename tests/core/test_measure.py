"""Measurement core on the demo cells' ground-truth labels (and tilted, transposed, chunked variants)."""

from __future__ import annotations

import hashlib
import json
from types import SimpleNamespace

import numpy as np
import pytest

from napari_licell.classes import CARBON, LI, METAL, SE, SE_LI, VOID, class_keys
from napari_licell.errors import LiCellInputError
from napari_licell.measure import (
    MeasurementCancelled,
    faraday_check,
    find_stack_axis,
    make_provenance,
    measure_cell,
    sha256_file,
    threshold_sensitivity,
    unmix_li_share,
)
from napari_licell.phantoms import load_demo_cell, make_synthetic_cell, paper_cell

NON_UNIFORM = ("none_after_Xe6", "process1_after_Xe6", "process2_after_Xe6")
PAPER_CELLS = (*NON_UNIFORM, "process3_after_Xe6")


@pytest.fixture(scope="module")
def cells():
    return {name: load_demo_cell(name) for name in (*PAPER_CELLS, "dummy_Ar1", "dummy_Xe6")}


@pytest.fixture(scope="module")
def measured(cells):
    """Every paper cell measured from its truth labels and its scan."""
    out = {}
    for name in PAPER_CELLS:
        c = cells[name]
        out[name] = measure_cell(
            c.labels,
            c.voxel_size_um,
            image=c.image,
            current_density_ma_cm2=c.spec.current_density_ma_cm2,
            charge_minutes=c.spec.charge_minutes,
            name=name,
        )
    return out


@pytest.fixture(scope="module")
def tilted():
    return make_synthetic_cell(paper_cell("process3", tilt_deg=3.0))


def _comparable(d: dict) -> dict:
    d = dict(d)
    d.pop("provenance", None)
    d.pop("parameters", None)
    return d


# --- Li layer -------------------------------------------------------------------------------


def test_process3_layer_thickness_matches_truth_and_faraday(cells, measured):
    c, m = cells["process3_after_Xe6"], measured["process3_after_Xe6"]
    assert abs(m.li_layer.mean_thickness_um - c.truth.li_layer_thickness_um) <= 2 * c.voxel_size_um
    assert m.faraday_thickness_um == pytest.approx(c.truth.faraday_thickness_um)
    assert abs(m.li_layer.mean_thickness_um / m.faraday_thickness_um - 1.0) <= 0.10
    assert m.faraday.layer_over_expected == pytest.approx(m.li_layer.mean_thickness_um / m.faraday_thickness_um)
    assert m.li_layer.coverage > 0.99
    assert 0.9 < m.li_layer.uniformity <= 1.0
    assert m.li_layer.p5_thickness_um < m.li_layer.mean_thickness_um < m.li_layer.p95_thickness_um
    assert m.li_layer.thickness_map_um.shape == c.labels.shape[1:]


def test_tilted_process3_layer_thickness_along_the_normal(tilted):
    truth = tilted.truth
    m = measure_cell(tilted.labels, tilted.voxel_size_um, current_density_ma_cm2=0.2, charge_minutes=4000.0)
    # the generator's thickness is vertical; along the normal it is cos(3 deg) of that
    normal_truth = truth.li_layer_thickness_um * np.cos(np.radians(3.0))
    assert abs(m.li_layer.mean_thickness_um - normal_truth) <= 2 * tilted.voxel_size_um
    assert abs(m.li_layer.mean_thickness_um - truth.li_layer_thickness_um) <= 2 * tilted.voxel_size_um
    assert abs(m.li_layer.mean_thickness_um / truth.faraday_thickness_um - 1.0) <= 0.10
    assert m.interfaces.collector_top.plane.tilt_deg == pytest.approx(3.0, abs=0.5)
    assert m.verdict.verdict == "uniform"


def test_strong_tilt_is_corrected_not_counted_vertically():
    c = make_synthetic_cell(paper_cell("process3", tilt_deg=12.0, shape=(330, 96, 96)))
    m = measure_cell(c.labels, c.voxel_size_um)
    vertical = c.truth.li_layer_thickness_um
    assert m.li_layer.mean_thickness_um == pytest.approx(vertical * np.cos(np.radians(12.0)), abs=2 * c.voxel_size_um)
    assert m.li_layer.mean_thickness_um < vertical - 1.0


# --- Li inside the SE -------------------------------------------------------------------------


@pytest.mark.parametrize("name", NON_UNIFORM)
def test_li_in_se_share_high_for_non_uniform_cells(cells, measured, name):
    m, truth = measured[name], cells[name].truth
    assert m.li_in_se.fraction_of_li > 0.8
    assert m.li_in_se.volume_um3 == pytest.approx(truth.li_in_se_volume_um3, rel=0.05)
    assert m.li_in_se.max_depth_um > 10.0
    assert m.li_in_se.masses.count > 0
    assert m.li_in_se.masses.largest_um3 == pytest.approx(m.li_in_se.masses.sizes_um3.max())
    assert m.li_in_se.masses.n_touching_interface > 0


def test_li_in_se_share_low_for_process3(measured):
    m = measured["process3_after_Xe6"]
    assert m.li_in_se.fraction_of_li < 0.1
    assert m.li_in_se.masses.count == 0
    assert m.li_in_se.path.short_circuit_risk is False


def test_li_volume_equals_truth(cells, measured):
    for name in PAPER_CELLS:
        assert measured[name].li_volume_um3 == pytest.approx(cells[name].truth.li_volume_um3, rel=1e-9)


def test_path_reaching_the_far_end_flags_short_circuit_risk(cells):
    cell = cells["none_after_Xe6"]
    labels = cell.labels.copy()
    z0 = int(np.ceil(cell.truth.collector_top_vox[60:64, 60:64].max()))
    labels[z0:, 60:64, 60:64] = LI.code  # a Li filament from the SE's lower face to the end of the crop
    m = measure_cell(labels, 0.54)
    assert m.li_in_se.path.li_reaches_far_end
    assert m.li_in_se.path.short_circuit_risk
    assert m.li_in_se.path.li_reach_um == pytest.approx(m.li_in_se.path.se_thickness_in_view_um, abs=3.0)


# --- verdicts -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name,expected", [(n, "non-uniform") for n in NON_UNIFORM] + [("process3_after_Xe6", "uniform")]
)
def test_verdicts_of_the_paper_cells(measured, name, expected):
    assert measured[name].verdict.verdict == expected
    assert measured[name].verdict.reason


def test_undetermined_when_contrast_says_not_separable(cells):
    ar = cells["dummy_Ar1"]
    contrast = SimpleNamespace(li_void_cnr=0.3, separable=False, reason="argon: Li and gas attenuate alike")
    m = measure_cell(ar.labels, ar.voxel_size_um, contrast=contrast)
    assert m.verdict.verdict == "undetermined"
    assert "cannot be told apart" in m.verdict.reason and "argon" in m.verdict.reason
    # the same holds for an otherwise clear cell whose scan could not separate Li from voids
    p3 = cells["process3_after_Xe6"]
    m3 = measure_cell(
        p3.labels, p3.voxel_size_um, contrast={"li_void_cnr": 0.4, "separable": False, "reason": "Ar 1 atm"}
    )
    assert m3.verdict.verdict == "undetermined"
    assert m3.to_dict()["contrast"]["separable"] is False


def test_contrast_judged_from_labelled_grey_values_without_a_verdict(cells):
    ar, xe = cells["dummy_Ar1"], cells["dummy_Xe6"]
    m_ar = measure_cell(ar.labels, ar.voxel_size_um, image=ar.image)
    m_xe = measure_cell(xe.labels, xe.voxel_size_um, image=xe.image)
    assert m_ar.contrast["separable"] is False and m_ar.contrast["li_void_cnr"] < 1.0
    assert m_xe.contrast["separable"] is True and m_xe.contrast["li_void_cnr"] > 3.0
    assert m_ar.verdict.verdict == "undetermined"


def test_undetermined_without_lithium(cells):
    labels = cells["process3_after_Xe6"].labels.copy()
    labels[labels == LI.code] = VOID.code
    m = measure_cell(labels, 0.54)
    assert m.verdict.verdict == "undetermined"
    assert "no lithium" in m.verdict.reason


# --- fractions and depth profiles --------------------------------------------------------------


@pytest.mark.parametrize("name", PAPER_CELLS)
def test_fractions_sum_to_one_and_match_counts(cells, measured, name):
    m, labels = measured[name], cells[name].labels
    fr = m.fractions.fractions
    assert sorted(fr) == sorted(class_keys())
    assert sum(fr.values()) == pytest.approx(1.0)
    counts = np.bincount(labels.ravel(), minlength=7)
    for code, key in (
        (LI.code, "li"),
        (VOID.code, "void"),
        (SE_LI.code, "se_li"),
        (SE.code, "se"),
        (CARBON.code, "carbon"),
        (METAL.code, "metal"),
    ):
        assert fr[key] == pytest.approx(counts[code] / counts[1:].sum())
    assert 0.0 <= m.fractions.se_porosity < 0.1
    assert m.fractions.se_li_volume_um3 == pytest.approx(counts[SE_LI.code] * 0.54**3)


def test_depth_profile_shapes(cells, measured):
    c, m = cells["process3_after_Xe6"], measured["process3_after_Xe6"]
    nz = c.labels.shape[0]
    assert m.depth.z_um.shape == (nz,)
    assert np.allclose(np.diff(m.depth.z_um), c.voxel_size_um)
    assert set(m.depth.area_fraction) == set(class_keys())
    for frac in m.depth.area_fraction.values():
        assert frac.shape == (nz,)
    total = sum(m.depth.area_fraction.values())
    assert np.allclose(total, 1.0)
    # process 3: the slices between collector top and Li top are all Li; the first slices all metal
    mid = int((c.truth.collector_top_vox.max() + c.truth.li_top_vox.min()) / 2)
    assert m.depth.area_fraction["li"][mid] == pytest.approx(1.0)
    assert m.depth.area_fraction["metal"][0] == pytest.approx(1.0)
    assert m.depth.area_fraction["li"][-1] == 0.0


# --- unmixing -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NON_UNIFORM)
def test_unmixing_recovers_the_li_fraction_of_se_li_voxels(cells, measured, name):
    c, m = cells[name], measured[name]
    truth = float(c.li_fraction[c.labels == SE_LI.code].mean())
    assert m.unmixing is not None
    assert m.unmixing.n_voxels == int(np.count_nonzero(c.labels == SE_LI.code))
    assert abs(m.unmixing.mean_li_share - truth) < 0.1
    assert m.unmixing.reference_source == "labelled-medians"
    assert m.unmixing.li_volume_um3 == pytest.approx(m.unmixing.mean_li_share * m.fractions.se_li_volume_um3, rel=1e-6)


def test_unmix_li_share_is_linear_and_clipped():
    share = unmix_li_share(np.array([900.0, 1000.0, 2500.0, 7000.0, 8000.0]), 1000.0, 7000.0)
    assert share.tolist() == pytest.approx([1.0, 1.0, 0.75, 0.0, 0.0])


# --- chunking, orientation, array types ----------------------------------------------------------


def test_chunked_results_equal_whole_array_results(cells):
    c = cells["process1_after_Xe6"]
    whole = _comparable(measure_cell(c.labels, 0.54, image=c.image, slab_slices=c.labels.shape[0]).to_dict())
    for slices in (1, 7, 64):
        chunked = _comparable(measure_cell(c.labels, 0.54, image=c.image, slab_slices=slices).to_dict())
        assert chunked == whole, f"slab of {slices} slices differs"


def test_memmap_and_dask_inputs_give_the_same_numbers(cells, tmp_path):
    import dask.array as da

    c = cells["none_after_Xe6"]
    mm = np.lib.format.open_memmap(tmp_path / "labels.npy", mode="w+", dtype=np.uint8, shape=c.labels.shape)
    mm[:] = c.labels
    mm.flush()
    ref = _comparable(measure_cell(c.labels, 0.54).to_dict())
    from_memmap = _comparable(measure_cell(np.load(tmp_path / "labels.npy", mmap_mode="r"), 0.54).to_dict())
    from_dask = _comparable(measure_cell(da.from_array(c.labels, chunks=(50, 64, 64)), 0.54).to_dict())
    assert from_memmap == ref
    assert from_dask == ref


@pytest.mark.parametrize("axis", [0, 1, 2])
@pytest.mark.parametrize("flip", [False, True])
def test_stack_axis_and_collector_end_are_found(cells, axis, flip):
    c = cells["process3_after_Xe6"]
    labels = np.moveaxis(c.labels, 0, axis)
    if flip:
        labels = np.flip(labels, axis)
    o = find_stack_axis(labels)
    assert (o.axis, o.collector_at_start) == (axis, not flip)
    m = measure_cell(labels, 0.54)
    assert m.li_layer.mean_thickness_um == pytest.approx(
        measure_cell(c.labels, 0.54).li_layer.mean_thickness_um, rel=1e-9
    )


def test_stack_axis_override(cells):
    c = cells["process3_after_Xe6"]
    flipped = c.labels[::-1]
    o = find_stack_axis(flipped, stack_axis=0, collector_at_start=True)
    assert not o.detected and o.reason == "given"
    wrong = measure_cell(flipped, 0.54, stack_axis=0, collector_at_start=True)
    right = measure_cell(flipped, 0.54, stack_axis=0, collector_at_start=False)
    assert right.li_layer.mean_thickness_um == pytest.approx(measure_cell(c.labels, 0.54).li_layer.mean_thickness_um)
    assert wrong.li_layer.coverage < 0.5  # measured from the SE side there is no layer on a collector


def test_anisotropic_voxels_scale_thickness(cells):
    c = cells["process3_after_Xe6"]
    m = measure_cell(c.labels, (1.08, 0.54, 0.54))
    assert m.li_layer.mean_thickness_um == pytest.approx(2 * c.truth.li_layer_thickness_um, abs=4 * 0.54)


# --- progress, cancel, bad input -------------------------------------------------------------------


def test_progress_and_cancel(cells):
    c = cells["process3_after_Xe6"]
    calls = []
    measure_cell(c.labels, 0.54, slab_slices=100, progress=lambda d, t: calls.append((d, t)))
    assert calls[-1] == (6, 6) and len(calls) == 6
    with pytest.raises(MeasurementCancelled):
        measure_cell(c.labels, 0.54, cancel=lambda: True)


def test_bad_inputs_raise_input_errors(cells):
    c = cells["process3_after_Xe6"]
    with pytest.raises(LiCellInputError, match="3D"):
        measure_cell(c.labels[0], 0.54)
    with pytest.raises(LiCellInputError, match="image shape"):
        measure_cell(c.labels, 0.54, image=c.image[:-1])
    with pytest.raises(LiCellInputError, match="voxel size"):
        measure_cell(c.labels, -1.0)
    bad = c.labels.copy()
    bad[0, 0, 0] = 9
    with pytest.raises(LiCellInputError, match="outside the class table"):
        measure_cell(bad, 0.54)
    with pytest.raises(LiCellInputError, match="integer"):
        measure_cell(c.labels.astype(np.float32), 0.54)


# --- Faraday, sensitivity, provenance, JSON -----------------------------------------------------------


def test_faraday_check_numbers():
    f = faraday_check(0.2, 4000.0, 64.5, li_volume_um3=64.7 * 1000.0, cell_area_um2=1000.0)
    assert f.expected_thickness_um == pytest.approx(64.7, abs=0.05)
    assert f.layer_over_expected == pytest.approx(64.5 / f.expected_thickness_um)
    assert f.li_equivalent_thickness_um == pytest.approx(64.7)


def _toy_classifier(image: np.ndarray, th) -> np.ndarray:
    """Grey-value thresholds only (no carbon by position): enough to exercise the sensitivity loop."""
    out = np.full(image.shape, METAL.code, dtype=np.uint8)
    out[image < th["se_metal"]] = SE.code
    out[image < th["se_li_se"]] = SE_LI.code
    out[image < th["void_se_li"]] = VOID.code
    out[image < th["li_void"]] = LI.code
    return out


def test_threshold_sensitivity_moves_li_volume_the_right_way(cells):
    c = cells["process3_after_Xe6"]
    thresholds = {"li_void": 1065.0, "void_se_li": 2500.0, "se_li_se": 6000.0, "se_metal": 15000.0}
    calls = []
    s = threshold_sensitivity(
        c.image, thresholds, _toy_classifier, 0.54, n_sections=8, progress=lambda d, t: calls.append((d, t))
    )
    assert s.n_sections == 8 and s.sampled_fraction == pytest.approx(8 / 128)
    assert len(s.rows) == 2 * len(thresholds) and calls[-1] == (9, 9)
    down, up = [r for r in s.rows if r.threshold == "li_void"]
    assert down.delta < 0 < up.delta
    assert down.values["li_volume_um3"] < s.baseline["li_volume_um3"] < up.values["li_volume_um3"]
    assert s.baseline["li_layer_mean_thickness_um"] == pytest.approx(c.truth.li_layer_thickness_um, abs=3.0)
    change = s.largest_change()
    assert set(change) == set(thresholds)
    assert change["li_void"]["li_volume_um3"] == pytest.approx(
        max(abs(r.values["li_volume_um3"] / s.baseline["li_volume_um3"] - 1) for r in (down, up))
    )
    assert 0.0 <= change["li_void"]["li_in_se_fraction_of_li"] <= 1.0
    json.dumps(s.to_dict())


def test_measure_cell_records_thresholds_and_input_checksums(cells, tmp_path):
    c = cells["process3_after_Xe6"]
    f = tmp_path / "labels.npy"
    np.save(f, c.labels)
    m = measure_cell(np.load(f, mmap_mode="r"), 0.54, thresholds={"li|void": 1065.0}, input_paths=(f,))
    d = m.to_dict()["provenance"]
    assert d["thresholds"] == {"li|void": 1065.0}
    assert d["inputs"][0]["sha256"] == sha256_file(f)


def test_provenance_records_checksums_versions_and_parameters(tmp_path):
    f = tmp_path / "scan.bin"
    f.write_bytes(b"x" * (9 * 1024 * 1024 + 5))
    assert sha256_file(f) == hashlib.sha256(f.read_bytes()).hexdigest()
    p = make_provenance({"voxel_size_um": 0.54}, thresholds={"li_void": 1065.0}, input_paths=[f], command=["analyze"])
    d = p.to_dict()
    assert d["inputs"][0]["sha256"] == sha256_file(f) and d["inputs"][0]["size_bytes"] == f.stat().st_size
    assert d["software"]["numpy"] == np.__version__ and d["software"]["napari-licell"]
    assert d["parameters"] == {"voxel_size_um": 0.54} and d["thresholds"] == {"li_void": 1065.0}
    assert d["created_utc"].endswith("+00:00")
    json.dumps(d)


def test_to_dict_matches_the_json_contract(measured):
    m = measured["process3_after_Xe6"]
    d = json.loads(json.dumps(m.to_dict(), allow_nan=False))
    assert d["voxel_size_um"] == [0.54, 0.54, 0.54]
    assert set(d["fractions"]) == {"li", "void", "se_li", "se", "carbon", "metal"}
    for key in ("mean_thickness_um", "std_thickness_um", "coverage"):
        assert isinstance(d["li_layer"][key], float)
    for key in ("volume_um3", "fraction_of_li", "max_depth_um"):
        assert key in d["li_in_se"]
    assert d["li_volume_um3"] == pytest.approx(m.li_volume_um3)
    assert d["faraday_thickness_um"] == pytest.approx(64.65, abs=0.01)
    assert set(d["contrast"]) >= {"li_void_cnr", "separable"}
    assert d["verdict"] == "uniform" and d["verdict_reason"]
    assert d["provenance"]["software"]["numpy"] == np.__version__
    assert d["provenance"]["parameters"]["voxel_size_um"] == [0.54, 0.54, 0.54]
    assert d["provenance"]["parameters"]["charge_minutes"] == 4000.0


def test_faraday_is_null_without_current_and_time(cells):
    c = cells["process3_after_Xe6"]
    d = measure_cell(c.labels, 0.54).to_dict()
    assert d["faraday_thickness_um"] is None and d["faraday"] is None


# --- reports ---------------------------------------------------------------------------------


def test_cell_and_study_reports_are_self_contained(cells, measured, tmp_path):
    from napari_licell.report import write_cell_report, write_measurement_tables, write_study_report

    m = measured["none_after_Xe6"]
    path = write_cell_report(m, tmp_path / "cell.html", voltage=cells["none_after_Xe6"].voltage)
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "non-uniform" in text
    assert text.count("data:image/png;base64,") >= 5
    assert "src='http" not in text and 'src="http' not in text
    files = write_measurement_tables(m, tmp_path)
    assert files["numbers"].read_text().startswith("key,value,unit")
    assert "li_layer.mean_thickness_um" in files["numbers"].read_text()
    assert len(files["depth_profiles"].read_text().splitlines()) == cells["none_after_Xe6"].labels.shape[0] + 1
    study = write_study_report(list(measured.values()), tmp_path / "study.html")
    s = study.read_text(encoding="utf-8")
    assert all(name in s for name in PAPER_CELLS)
    assert (tmp_path / "study.csv").read_text().count("\n") == len(PAPER_CELLS) + 1


def test_measure_report_and_analyze_import_without_qt():
    import subprocess
    import sys

    code = (
        "import json, sys\n"
        "import napari_licell.measure, napari_licell.report, napari_licell.commands.analyze\n"
        "bad = sorted(m for m in sys.modules if m == 'matplotlib.pyplot' or m.split('.')[0] in "
        "('qtpy', 'PyQt5', 'PyQt6', 'PySide2', 'PySide6', 'napari', 'vispy', 'magicgui'))\n"
        "print(json.dumps(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
