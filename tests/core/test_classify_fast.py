"""Issue 20 item 3: the fast classification path gives the reference's labels, voxel for voxel.

The partial-volume rules done only where a voxel's class is in doubt
(:mod:`napari_licell.segmentation.partial_volume_fast`) and the carbon band
swept plane by plane are compared with the reference implementation
(``reference=True``: the rules on every voxel, the band column tile by column
tile) on the demo cells (the four process cells and the Ar/Xe pair) and the
full-view phantom (float32 and uint16), and with the labels' SHA-256 frozen
before the change (``tests/data/issue20_measure_reference.json``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from _issue20_cases import CASE_NAMES, case_cell, case_inputs, digest

from napari_licell.segmentation import classify_volume
from napari_licell.segmentation.carbon_band import find_carbon_band
from napari_licell.segmentation.classify import classify_block
from napari_licell.segmentation.partial_volume_fast import PvScratch

FROZEN = json.loads((Path(__file__).parents[1] / "data" / "issue20_measure_reference.json").read_text())


def _classify(name: str, image=None, **kwargs):
    cell = case_cell(name)
    img, ts, hist, region = case_inputs(name)
    return classify_volume(
        img if image is None else image, ts, histogram=hist, region=region, voxel_size_um=cell.voxel_size_um, **kwargs
    )


@pytest.mark.parametrize("name", CASE_NAMES)
def test_fast_labels_equal_the_reference_and_the_frozen_labels(name):
    fast = _classify(name)
    ref = _classify(name, reference=True)
    np.testing.assert_array_equal(fast.labels, ref.labels)
    assert fast.carbon_band == ref.carbon_band
    assert digest(np.asarray(fast.labels)) == FROZEN[name]["labels_sha256"]


@pytest.mark.parametrize("name", ["process1_after_Xe6", "process3_after_Xe6"])
def test_collector_at_the_far_end_and_small_blocks(name):
    """Reversed stack (the band's sweep runs backwards) and slabs of 17 planes (scratch reused, last slab short)."""
    img = np.ascontiguousarray(case_inputs(name)[0][::-1])
    fast = _classify(name, image=img, slab_depth=17)
    ref = _classify(name, image=img, reference=True)
    np.testing.assert_array_equal(fast.labels, ref.labels)
    assert fast.carbon_band == ref.carbon_band and fast.carbon_band.found
    assert fast.carbon_band.collector_at_start is False


@pytest.mark.parametrize("kind", ["float32", "float64", "int16", "uint8"])
def test_every_number_type_gives_the_reference_blocks(kind):
    img, ts, _, _ = case_inputs("process2_after_Xe6")
    if kind == "uint8":  # a coarser scan: grey / 128, thresholds alike
        from dataclasses import replace

        block = (img // 128).astype(np.uint8)
        ts = replace(
            ts,
            values=tuple(v / 128 for v in ts.values),
            levels=tuple(v / 128 for v in ts.levels) if ts.levels else None,
        )
    elif kind == "int16":
        from dataclasses import replace

        block = (img.astype(np.int32) - 20000).astype(np.int16)
        ts = replace(
            ts,
            values=tuple(v - 20000 for v in ts.values),
            levels=tuple(v - 20000 for v in ts.levels) if ts.levels else None,
        )
    else:
        block = img.astype(kind)
        block[5, 60:64, 10:20] = np.nan  # no number: the rules must treat it as the reference does
    fast = classify_block(block, ts)
    np.testing.assert_array_equal(fast, classify_block(block, ts, reference=True))


@pytest.mark.parametrize("n_iter", [0, 1, 5])
def test_growth_passes_and_scratch_reuse(n_iter):
    img, ts, _, _ = case_inputs("none_after_Xe6")
    scratch = PvScratch()
    for sub in (img, img[:40], img[100:260, 7:, :90]):  # big, then smaller blocks in the same scratch
        sub = np.ascontiguousarray(sub)
        np.testing.assert_array_equal(
            classify_block(sub, ts, n_iter=n_iter, scratch=scratch),
            classify_block(sub, ts, n_iter=n_iter, reference=True),
        )


def test_carbon_band_maps_equal_the_column_tiles():
    """The plane sweep gives the column scan's maps (collector top, both runs, SE face), both ends."""
    for name in ("process1_after_Xe6", "process3_after_Xe6", "none_after_Xe6", "fullview_uint16"):
        labels = np.asarray(_classify(name, carbon_band=False).labels)
        for lab in (labels, np.ascontiguousarray(labels[::-1])):
            fast_maps: dict = {}
            ref_maps: dict = {}
            fast = find_carbon_band(lab, _maps=fast_maps)
            ref = find_carbon_band(lab, reference=True, _maps=ref_maps)
            assert fast == ref
            assert fast_maps.keys() == ref_maps.keys()
            for key in ref_maps:
                np.testing.assert_array_equal(fast_maps[key], ref_maps[key], err_msg=f"{name}: {key}")


def test_tiles_of_a_small_memory_budget_give_the_reference():
    """A 6 MiB budget tiles the slabs in (y, x) (each tile with its halo): same labels as the reference."""
    fast = _classify("process1_after_Xe6", memory_limit_bytes=6 * 2**20)
    np.testing.assert_array_equal(fast.labels, _classify("process1_after_Xe6", reference=True).labels)


@pytest.mark.parametrize("given_out", [False, True])
def test_whole_plane_sub_slabs_give_the_reference(given_out):
    """A 12 MiB budget cuts each slab into sub-slabs of whole planes (views, codes written in place).

    With an ``out`` array larger than a quarter of the budget the codes go
    through the on-disk label store (sub-slabs gathered per slab first).
    """
    from napari_licell.segmentation.blocks import plan_blocks
    from napari_licell.segmentation.classify import _sub_depth, work_bytes_per_voxel
    from napari_licell.segmentation.partial_volume import pv_halo

    img = case_inputs("process1_after_Xe6")[0]
    limit = 12 * 2**20
    plan = plan_blocks(img.shape, img.dtype.itemsize, pv_halo(3), limit, work_bytes_per_voxel(True, "none"))
    assert len(plan.tiles()) > 1 and 0 < _sub_depth(plan, limit) < min(plan.depth, img.shape[0])
    out = np.full(img.shape, 99, dtype=np.uint8) if given_out else None
    fast = _classify("process1_after_Xe6", memory_limit_bytes=limit, out=out)
    ref = _classify("process1_after_Xe6", reference=True)
    np.testing.assert_array_equal(fast.labels, ref.labels)
    assert fast.carbon_band == ref.carbon_band
