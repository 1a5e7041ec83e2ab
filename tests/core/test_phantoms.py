"""Synthetic cells against physics and their own ground truth."""

import numpy as np
import pytest
from scipy import ndimage

from napari_licell.classes import CARBON, LI, METAL, SE, SE_LI, VOID
from napari_licell.phantoms import (
    BondingProcess,
    GreyScale,
    ImagingSettings,
    attenuation_map,
    generate_cell_geometry,
    image_faithful,
    make_dummy_cell,
    make_synthetic_cell,
    paper_cell,
    synthetic_voltage_curve,
)
from napari_licell.phantoms.imaging import fbp_noise_sigma_per_cm

SMALL = (200, 48, 48)


def _core(mask, iterations=2):
    return ndimage.binary_erosion(mask, iterations=iterations)


def _cnr(image, labels):
    li = image[_core(labels == LI.code)].astype(float)
    void = image[_core(labels == VOID.code)].astype(float)
    return abs(void.mean() - li.mean()) / np.sqrt((li.var() + void.var()) / 2)


def test_process3_layer_thickness_follows_faraday():
    spec = paper_cell("process3", shape=SMALL)
    geo = generate_cell_geometry(spec)
    truth = geo.truth
    assert truth.faraday_thickness_um == pytest.approx(64.65, abs=0.1)
    # the drawn layer, counted in voxels per column, matches the truth and Faraday's law
    li_per_column = (geo.labels == LI.code).sum(axis=0) * spec.voxel_size_um
    assert li_per_column.mean() == pytest.approx(truth.li_layer_thickness_um, abs=2 * spec.voxel_size_um)
    assert truth.li_layer_thickness_um == pytest.approx(truth.faraday_thickness_um, rel=0.03)
    assert truth.li_in_se_volume_um3 == 0
    # stack order along z: metal, Li, carbon, SE
    column = geo.labels[:, 10, 10]
    order = [c for i, c in enumerate(column) if i == 0 or c != column[i - 1]]
    assert order[:4] == [METAL.code, LI.code, CARBON.code, SE.code]


@pytest.mark.parametrize("process", ["none", "process1", "process2"])
def test_non_uniform_cells_put_li_inside_the_electrolyte(process):
    geo = generate_cell_geometry(paper_cell(process, shape=SMALL))
    t = geo.truth
    assert t.li_volume_um3 > 0
    assert t.li_in_se_volume_um3 / t.li_volume_um3 > 0.95
    assert t.li_layer_thickness_um == 0
    assert (geo.labels == SE_LI.code).any()
    mixed = geo.labels == SE_LI.code
    assert 0.25 <= geo.li_fraction[mixed].min() and geo.li_fraction[mixed].max() <= 0.65
    has_carbon = (geo.labels == CARBON.code).any()
    assert has_carbon == (process != "none")
    if has_carbon:  # carbon stays on the collector: directly above the metal
        column = geo.labels[:, 5, 5]
        first_non_metal = column[np.argmax(column != METAL.code)]
        assert first_non_metal == CARBON.code


def test_before_charging_has_no_lithium():
    geo = generate_cell_geometry(paper_cell("process3", state="before", shape=SMALL))
    assert not (geo.labels == LI.code).any()
    assert geo.truth.faraday_thickness_um == 0


def test_same_seed_same_cell_other_seed_other_cell():
    spec = paper_cell("none", shape=(120, 40, 40), seed=5)
    a = make_synthetic_cell(spec)
    b = make_synthetic_cell(spec)
    c = make_synthetic_cell(spec.with_(seed=6))
    assert np.array_equal(a.image, b.image) and np.array_equal(a.labels, b.labels)
    assert not np.array_equal(a.labels, c.labels)


def test_grey_values_follow_the_stated_scale():
    cell = make_synthetic_cell(paper_cell("process3", shape=SMALL))
    grey = GreyScale(cell.metadata["grey_offset"], cell.metadata["grey_per_inv_cm"])
    se_core = _core(cell.labels == SE.code, 3)
    assert grey.to_mu(np.median(cell.image[se_core])) == pytest.approx(61.0, rel=0.02)
    li_core = _core(cell.labels == LI.code, 3)
    assert grey.to_mu(np.median(cell.image[li_core])) == pytest.approx(0.106, abs=0.05)
    assert cell.image.dtype == np.uint16


def test_li_and_voids_separable_in_xenon_not_in_argon():
    xe = make_dummy_cell("Xe", 6.0, shape=(100, 64, 64))
    ar = make_dummy_cell("Ar", 1.0, shape=(100, 64, 64))
    assert np.array_equal(xe.labels, ar.labels)
    assert _cnr(xe.image, xe.labels) > 3.0
    assert _cnr(ar.image, ar.labels) < 1.0


def test_noise_follows_exposure():
    low = fbp_noise_sigma_per_cm(1e6, 1000, 0.54)
    high = fbp_noise_sigma_per_cm(4e6, 1000, 0.54)
    assert low == pytest.approx(2 * high)
    spec = paper_cell("process3", shape=(60, 40, 40))
    noisy = make_synthetic_cell(spec, imaging=ImagingSettings(detected_photons_per_pixel=1e6))
    quiet = make_synthetic_cell(spec, imaging=ImagingSettings(detected_photons_per_pixel=1e8))
    core = _core(noisy.labels == LI.code, 2)
    assert core.sum() > 1000
    assert noisy.image[core].std() > 5 * quiet.image[core].std()


def test_faithful_acquisition_reconstructs_the_attenuation():
    spec = paper_cell("process3", shape=(40, 48, 48))
    geo = generate_cell_geometry(spec)
    mu = attenuation_map(geo.labels, geo.li_fraction, "Xe", 6.0)
    settings = ImagingSettings(n_projections=180, detected_photons_per_pixel=1e9)
    image = image_faithful(mu[25:27], spec.voxel_size_um, settings)
    grey = settings.grey
    labels = geo.labels[25:27]
    in_plane = np.ones((1, 3, 3), bool)
    li = ndimage.binary_erosion(labels == LI.code, in_plane, iterations=3)
    assert li.sum() > 1000
    assert grey.to_mu(np.median(image[li])) == pytest.approx(0.106, abs=1.0)
    # the reconstruction is not a copy of the input: it has noise
    assert image[li].std() > 0


def test_voltage_curves_match_the_paper():
    none = synthetic_voltage_curve(paper_cell("none"))
    p3 = synthetic_voltage_curve(paper_cell("process3"))
    assert none.time_min[-1] == pytest.approx(3500)
    assert p3.time_min[-1] == pytest.approx(4000)
    early = none.voltage_v[(none.time_min > 200) & (none.time_min < 2500)]
    assert np.median(early) == pytest.approx(0.622, abs=0.01)
    late = none.voltage_v[none.time_min > 2700]
    assert np.median(late) > 0.69 and late.std() > 0.01
    assert p3.voltage_v[-50:].mean() - np.median(p3.voltage_v[200:400]) < 0.02
    assert p3.current_density_ma_cm2 == 0.2
    assert p3.current_ma is not None and p3.current_ma[0] > 0


def test_processes_have_distinct_labels():
    assert {p.value for p in BondingProcess} == {"none", "process1", "process2", "process3"}
