"""Issue 20 item 4: ``measure_cell`` gives today's numbers, every field, on the demo cells.

``tests/data/issue20_measure_reference.json`` holds every field of
``CellMeasurements.to_dict()`` (provenance left out; cross sections by
SHA-256) computed at a890703, before the measurement was rewritten for
speed, for the six demo cells and the full-view phantom (float32, uint16):
measured from the labels ``analyze`` makes (partial-volume rules, carbon band),
from the truth labels with the scan, and from the truth labels alone.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from _issue20_cases import CASE_NAMES, case_cell, case_inputs, measurement_record

from napari_licell.measure import measure_cell
from napari_licell.segmentation import classify_volume

FROZEN = json.loads((Path(__file__).parents[1] / "data" / "issue20_measure_reference.json").read_text())


def _same(a, b, path="") -> list[str]:
    """Differences between two JSON trees; floats must agree to 1e-12 relative (summation order)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = [f"{path}: keys {sorted(set(a) ^ set(b))}"] if set(a) != set(b) else []
        for k in set(a) & set(b):
            out += _same(a[k], b[k], f"{path}.{k}")
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: length {len(a)} != {len(b)}"]
        out = []
        for i, (x, y) in enumerate(zip(a, b)):
            out += _same(x, y, f"{path}[{i}]")
        return out
    if isinstance(a, float) and isinstance(b, (int, float)) or isinstance(b, float) and isinstance(a, (int, float)):
        if math.isnan(a) and math.isnan(b):
            return []
        return [] if math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12) else [f"{path}: {a!r} != {b!r}"]
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


def _kwargs(cell) -> dict:
    spec = cell.spec
    if getattr(spec, "current_density_ma_cm2", None) is not None and spec.charge_minutes:
        return {"current_density_ma_cm2": spec.current_density_ma_cm2, "charge_minutes": spec.charge_minutes}
    return {}


@pytest.mark.parametrize("name", CASE_NAMES)
def test_measurements_equal_todays_on_every_field(name):
    cell = case_cell(name)
    image, ts, hist, region = case_inputs(name)
    kw = _kwargs(cell)
    labels = np.asarray(
        classify_volume(image, ts, histogram=hist, region=region, voxel_size_um=cell.voxel_size_um).labels
    )
    frozen = FROZEN[name]
    got = {
        "classified": measurement_record(measure_cell(labels, cell.voxel_size_um, image=image, name=name, **kw)),
        "truth": measurement_record(measure_cell(cell.labels, cell.voxel_size_um, image=image, name=name, **kw)),
        "truth_no_image": measurement_record(measure_cell(cell.labels, cell.voxel_size_um, name=name)),
    }
    for key, record in got.items():
        diff = _same(record, frozen[key], key)
        assert not diff, f"{name}: {len(diff)} fields differ, e.g. {diff[:5]}"
