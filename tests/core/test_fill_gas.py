"""The fill gas read from the calibrated grey values when nobody says which it is."""

from __future__ import annotations

import pytest

from napari_licell.io.volume import Volume
from napari_licell.phantoms import make_synthetic_cell, paper_cell
from napari_licell.phantoms.full_view import JigView, make_full_view_cell
from napari_licell.pipeline import AnalysisOptions, analyze_scan, resolve_fill_gas, scan_histograms
from napari_licell.segmentation.fill_gas import infer_fill_gas
from napari_licell.segmentation.thresholds import find_phases

SHAPE = (200, 48, 48)


@pytest.fixture(scope="module")
def xe_cell():
    return make_synthetic_cell(paper_cell("process3", shape=SHAPE, seed=4))


@pytest.fixture(scope="module")
def ar_cell():
    return make_synthetic_cell(paper_cell("process3", gas="Ar", gas_pressure_atm=1.0, shape=SHAPE, seed=4))


def _inference(cell):
    h = scan_histograms(cell.image)
    return infer_fill_gas(find_phases(h.full, h.interior))


def test_xenon_is_recognised_with_its_pressure(xe_cell):
    inf = _inference(xe_cell)
    assert inf.gas == "Xe" and not inf.light_gas
    assert 4.5 <= inf.pressure_atm <= 7.0
    assert min(inf.dark_mu) == pytest.approx(0.106, abs=0.1)  # Li, in 1/cm from the SE and steel peaks


def test_argon_is_light_and_undecided(ar_cell):
    inf = _inference(ar_cell)
    assert inf.gas is None and inf.light_gas
    assert "cannot be told apart" in inf.reason


def test_without_se_and_metal_it_cannot_tell(xe_cell):
    h = scan_histograms(xe_cell.image[40:, :, :])  # no collector in view: no steel peak
    inf = infer_fill_gas(find_phases(h.full, h.interior))
    assert inf.gas is None and not inf.light_gas and "not inferable" in inf.reason


def test_blind_argon_cell_is_undetermined_and_blind_xenon_cell_is_judged(ar_cell, xe_cell, tmp_path):
    ar = analyze_scan(Volume(ar_cell.image, (0.54,) * 3, name="ar"), AnalysisOptions(), tmp_path, sensitivity=False)
    assert ar.contrast["separable"] is False
    assert ar.measurements.verdict.verdict == "undetermined"
    assert ar.contrast["gas_inference"]["light_gas"] is True
    xe = analyze_scan(Volume(xe_cell.image, (0.54,) * 3, name="xe"), AnalysisOptions(), tmp_path, sensitivity=False)
    assert xe.extras["options"].gas == "Xe"
    assert xe.measurements.verdict.verdict == "uniform"
    assert xe.measurements.li_layer.mean_thickness_um == pytest.approx(xe_cell.truth.li_layer_thickness_um, abs=2.0)


def test_given_gas_is_never_overruled(ar_cell):
    h = scan_histograms(ar_cell.image)
    options, inference = resolve_fill_gas(h, AnalysisOptions(gas="xe"))
    assert options.gas == "Xe" and inference is None


def test_blind_full_view_argon_cell_is_undetermined(tmp_path):
    n = 96
    spec = paper_cell("process3", gas="Ar", gas_pressure_atm=1.0, shape=(130, n, n), charge_minutes=2474, seed=4)
    cell = make_full_view_cell(spec, JigView.scaled_to_view(n * 0.54))
    res = analyze_scan(Volume(cell.image, (0.54,) * 3, name="ar"), AnalysisOptions(), tmp_path, sensitivity=False)
    assert res.region is not None
    assert res.measurements.verdict.verdict == "undetermined"
