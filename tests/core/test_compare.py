"""Qt-free comparison core: titles, key-numbers table, per-process statistics, figure export, time-lapse stacks."""

from __future__ import annotations

import json
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from matplotlib.image import imread

from napari_licell.classes import LI, METAL, SE
from napari_licell.compare import (
    before_after_timelapse,
    cell_title,
    charge_series_timelapse,
    comparison_figure,
    export_comparison_figure,
    key_numbers_table,
    process_statistics,
    short_title,
    truth_numbers,
)
from napari_licell._napari.layers import timelapse_layers
from napari_licell.compare.figure import cross_section, labels_rgba
from napari_licell.compare.grouping import boxplot_groups, ordered_processes
from napari_licell.compare.table import KEY_COLUMNS, LI_IN_SE, THICKNESS, pick
from napari_licell.echem.voltage_curve import VoltageCurve
from napari_licell.phantoms import load_demo_cell
from napari_licell.physics.faraday import faraday_thickness_um

PAPER_CELLS = ("none_after_Xe6", "process1_after_Xe6", "process2_after_Xe6", "process3_after_Xe6")


@pytest.fixture(scope="module")
def demo_cells(tmp_path_factory):
    import os

    os.environ.setdefault("LICELL_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    return [load_demo_cell(name) for name in PAPER_CELLS]


def _meta(process, se=400.0, carbon=None, **extra):
    return {
        "process": process,
        "se_pressure_mpa": se,
        "carbon_pressure_mpa": carbon,
        "current_density_ma_cm2": 0.2,
        "charge_minutes": 4000.0,
        "state": "after",
        **extra,
    }


def _fake(name, process, thickness, share, **meta):
    return SimpleNamespace(name=name, metadata=_meta(process, **meta), numbers=(thickness, share))


def _nested_measure(cell):
    thickness, share = cell.numbers
    return {
        "li_layer": {"mean_thickness_um": thickness},
        "li_in_se": {"fraction_of_li": share},
        "verdict": "uniform" if share < 0.2 else "non-uniform",
    }


# --- titles -------------------------------------------------------------------


def test_titles_name_process_and_pressures():
    assert cell_title("a", _meta("process1", carbon=3.0)) == "process1 | SE 400 MPa, C 3 MPa"
    assert cell_title("a", _meta("process2", carbon=400.0)) == "process2 | SE 400 MPa, C 400 MPa"
    assert cell_title("a", _meta("none")) == "none | SE 400 MPa, no C"
    # process 3 ends at the same pressures as process 2 but is not the same process
    assert cell_title("a", _meta("process3", carbon=400.0)) == "process3 | SE 100 MPa, then SE + C 400 MPa"
    assert cell_title("dummy_Xe6", {"dummy_cell": True}) == "dummy_Xe6"
    assert short_title("a", _meta("process1", carbon=3.0)) == "P1 | SE 400, C 3 MPa"
    assert short_title("a", _meta("none")) == "none | SE 400 MPa, no C"


# --- table --------------------------------------------------------------------


def test_pick_reads_nested_and_flat_keys():
    assert pick({"li_layer": {"mean_thickness_um": 3.0}}, "li_layer.mean_thickness_um") == 3.0
    assert pick({"li_layer.mean_thickness_um": 4.0}, "li_layer.mean_thickness_um") == 4.0
    assert pick({"li_layer": 5}, "li_layer.mean_thickness_um") is None


def test_table_takes_numbers_from_any_measure():
    cells = [_fake("a", "process3", 64.0, 0.01, carbon=400.0), _fake("b", "process1", 0.5, 0.97, carbon=3.0)]
    table = key_numbers_table(cells, _nested_measure)
    assert list(table.columns) == list(KEY_COLUMNS)
    assert table[THICKNESS].tolist() == [64.0, 0.5]
    assert table[LI_IN_SE].tolist() == [0.01, 0.97]
    assert table["verdict"].tolist() == ["uniform", "non-uniform"]
    assert table["faraday_thickness_um"].iloc[0] == pytest.approx(faraday_thickness_um(0.2, 4000.0))
    assert table["pressures"].tolist() == ["SE 100 MPa, then SE + C 400 MPa", "SE 400 MPa, C 3 MPa"]
    # a flat dict, and a measure that knows nothing: NaN, not a crash
    flat = key_numbers_table(cells[:1], lambda c: {"li_layer.mean_thickness_um": 2.0, "verdict": "x"})
    assert flat[THICKNESS].iloc[0] == 2.0 and np.isnan(flat[LI_IN_SE].iloc[0])
    empty = key_numbers_table(cells[:1], lambda c: {})
    assert np.isnan(empty[THICKNESS].iloc[0]) and empty["verdict"].iloc[0] == ""


def test_before_scan_expects_no_lithium():
    cell = SimpleNamespace(name="b", metadata=_meta("process3", state="before"), numbers=(0.0, 0.0))
    assert key_numbers_table([cell], _nested_measure)["faraday_thickness_um"].iloc[0] == 0.0


def test_truth_numbers_separate_process3_from_the_others(demo_cells):
    table = key_numbers_table(demo_cells, truth_numbers)
    by_cell = table.set_index("cell")
    p3 = by_cell.loc["process3_after_Xe6"]
    assert p3[THICKNESS] == pytest.approx(p3["faraday_thickness_um"], rel=0.05)
    assert p3[LI_IN_SE] < 0.05 and p3["verdict"] == "uniform Li layer"
    for name in PAPER_CELLS[:3]:
        assert by_cell.loc[name, LI_IN_SE] > 0.5
        assert by_cell.loc[name, "verdict"] == "Li grew into SE"
    assert (table["source"] == "ground truth").all()
    with pytest.raises(ValueError):
        truth_numbers(SimpleNamespace(name="x", truth=None))


# --- grouping -----------------------------------------------------------------


def test_statistics_per_process_with_replicates():
    cells = [
        _fake("p3a", "process3", 60.0, 0.00),
        _fake("p3b", "process3", 64.0, 0.02),
        _fake("p3c", "process3", 68.0, 0.04),
        _fake("p1a", "process1", 1.0, 0.90),
        _fake("p1b", "process1", 3.0, 0.98),
        _fake("n", "none", 0.0, 1.00),
    ]
    table = key_numbers_table(cells, _nested_measure)
    stats = process_statistics(table)
    assert stats["process"].drop_duplicates().tolist() == ["none", "process1", "process3"]
    p3 = stats[(stats.process == "process3") & (stats.quantity == THICKNESS)].iloc[0]
    assert p3["n"] == 3 and p3["mean"] == pytest.approx(64.0) and p3["std"] == pytest.approx(4.0)
    assert p3["median"] == 64.0 and p3["min"] == 60.0 and p3["max"] == 68.0
    single = stats[(stats.process == "none") & (stats.quantity == LI_IN_SE)].iloc[0]
    assert single["n"] == 1 and np.isnan(single["std"]) and single["mean"] == 1.0
    labels, data = boxplot_groups(table, LI_IN_SE)
    assert labels == ["none", "process1", "process3"]
    np.testing.assert_allclose(data[1], [0.90, 0.98])


def test_process_order_puts_the_paper_first():
    assert ordered_processes(["zeta", "process3", "none", "alpha", "process3"]) == ["none", "process3", "alpha", "zeta"]


def test_statistics_skip_missing_values():
    table = pd.DataFrame({"process": ["none", "none"], THICKNESS: [1.0, np.nan], LI_IN_SE: [np.nan, np.nan]})
    stats = process_statistics(table).set_index("quantity")
    assert stats.loc[THICKNESS, "n"] == 1 and stats.loc[LI_IN_SE, "n"] == 0 and np.isnan(stats.loc[LI_IN_SE, "mean"])


# --- figure -------------------------------------------------------------------


def test_cross_section_and_label_colours():
    volume = np.arange(4 * 5 * 6).reshape(4, 5, 6)
    np.testing.assert_array_equal(cross_section(volume), volume[:, 2, :])
    np.testing.assert_array_equal(cross_section(volume, 99), volume[:, 4, :])
    with pytest.raises(ValueError):
        cross_section(volume[0])
    rgba = labels_rgba(np.array([[0, LI.code, METAL.code]]), alpha=0.5)
    assert rgba[0, 0, 3] == 0.0
    np.testing.assert_allclose(rgba[0, 1], LI.rgba[:3] + (0.5,))
    np.testing.assert_allclose(rgba[0, 2], METAL.rgba[:3] + (0.5,))


def test_comparison_figure_has_a_column_per_cell(demo_cells):
    table = key_numbers_table(demo_cells, truth_numbers)
    fig = comparison_figure(demo_cells, table)
    sections = [ax for ax in fig.axes if ax.get_xlabel() == "x (µm)"]
    curves = [ax for ax in fig.axes if ax.get_xlabel() == "time (min)"]
    assert len(sections) == len(curves) == 4
    assert sections[1].get_title() == "process1\nSE 400 MPa, C 3 MPa"
    # shared voltage axis so the curves compare; the no-interlayer rise is annotated
    assert len({ax.get_ylim() for ax in curves}) == 1
    assert any(t.get_text().startswith("rise") for t in curves[0].texts)
    # the collector is at the bottom: the lowest row of the section is steel
    section = sections[3].images[1].get_array()
    z0 = sections[3].images[0].get_extent()[2]
    assert z0 == 0.0
    np.testing.assert_allclose(section[0, :, :3].mean(axis=0), METAL.rgba[:3], atol=0.02)
    # the table lists every cell
    tables = [child for ax in fig.axes for child in ax.tables]
    texts = {cell.get_text().get_text() for cell in tables[0].get_celld().values()}
    assert set(PAPER_CELLS) <= texts and "Li layer (µm)" in texts


def test_export_png_svg(demo_cells, tmp_path):
    table = key_numbers_table(demo_cells[2:], truth_numbers)
    png = export_comparison_figure(demo_cells[2:], tmp_path / "out" / "cmp.png", table=table, dpi=80)
    assert png.stat().st_size > 5000
    pixels = imread(png)[..., :3]
    assert pixels.std() > 0.05
    # the labels overlay is there: process 3's Li layer shows as Li yellow blended over the dark Li grey
    r, g, b = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    yellow = (r > 0.3) & (g > 0.25) & (b < 0.2) & (np.abs(r - g) < 0.15)
    assert yellow.mean() > 0.005
    svg = export_comparison_figure(demo_cells[2:], tmp_path / "cmp.svg", table=None)
    assert "<svg" in svg.read_text()
    with pytest.raises(ValueError):
        export_comparison_figure(demo_cells[2:], tmp_path / "cmp.bmp")
    with pytest.raises(ValueError):
        comparison_figure([])


def test_figure_copes_with_a_cell_without_curve_or_image():
    labels = np.full((20, 6, 10), SE.code, dtype=np.uint8)
    labels[:3] = METAL.code
    cell = SimpleNamespace(name="bare", metadata={}, labels=labels, image=None, voxel_size_um=0.5, voltage=None)
    fig = comparison_figure([cell])
    assert any(t.get_text() == "no voltage record" for ax in fig.axes for t in ax.texts)


# --- time-lapse -----------------------------------------------------------------


def test_charge_series_is_one_cell_growing_lithium():
    series = charge_series_timelapse("process3", (2000.0, 1000.0), shape=(120, 32, 32), seed=5)
    assert series.image.shape == (3, 120, 32, 32) and series.labels.shape == series.image.shape
    assert series.image.dtype == np.uint16
    np.testing.assert_array_equal(series.scan_times_min, [0.0, 1000.0, 2000.0])
    li = [(series.labels[i] == LI.code).sum() for i in range(series.n_scans)]
    assert li[0] == 0 and 0 < li[1] < li[2]
    assert 1.5 < li[2] / li[1] < 2.5  # twice the charge, about twice the lithium
    # same seed: the collector is the same in every scan
    for i in range(1, series.n_scans):
        np.testing.assert_array_equal(series.labels[i, :3] == METAL.code, series.labels[0, :3] == METAL.code)
    assert isinstance(series.voltage, VoltageCurve)
    assert series.voltage.time_min[-1] == pytest.approx(2000.0)
    assert series.metadata["scan_times_min"] == [0.0, 1000.0, 2000.0]


def test_before_after_pair_and_layers():
    pair = before_after_timelapse("none", shape=(100, 24, 24))
    np.testing.assert_array_equal(pair.scan_times_min, [0.0, 3500.0])
    layers = timelapse_layers(pair)
    (data, kwargs, kind), (ldata, lkwargs, lkind) = layers
    assert kind == "image" and lkind == "labels" and data.ndim == 4
    assert kwargs["scale"] == (1.0, pair.voxel_size_um, pair.voxel_size_um, pair.voxel_size_um)
    assert kwargs["metadata"]["scan_times_min"] == [0.0, 3500.0]
    assert kwargs["metadata"]["voltage_curve"] is pair.voltage
    assert lkwargs["visible"] is False and lkwargs["metadata"]["ground_truth"]
    with pytest.raises(ValueError):
        charge_series_timelapse("process3", (0.0,))


def test_compare_core_imports_without_qt():
    code = (
        "import json, sys\n"
        "import napari_licell.compare, napari_licell.compare.figure, napari_licell.compare.timelapse\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('qtpy', 'PyQt5', 'PyQt6', 'PySide2', "
        "'PySide6', 'napari', 'vispy'))\n"
        "print(json.dumps(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
