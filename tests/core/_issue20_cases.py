"""Cases shared by the issue-20 exactness tests (fast classification, fused measurement).

The demo cells (four process cells and the Ar/Xe pair) as clean crops, and
the full-view phantom (process 3 in its jig) in float32 and uint16, each
classified as ``analyze`` runs it (suggested thresholds, partial-volume rules,
carbon band; the full view inside its cell region).
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache

import numpy as np

from napari_licell.phantoms import load_demo_cell, paper_cell
from napari_licell.phantoms.demo_study import DEMO_CELL_NAMES

FULL_VIEW_SHAPE = (130, 96, 96)
FULL_VIEW_VOX = 0.54
FULL_VIEW_KINDS = ("float32", "uint16")
CASE_NAMES = (*DEMO_CELL_NAMES, *(f"fullview_{k}" for k in FULL_VIEW_KINDS))


@lru_cache(maxsize=None)
def full_view_cell(kind: str):
    from napari_licell.phantoms.full_view import JigView, make_full_view_cell

    spec = paper_cell("process3", shape=FULL_VIEW_SHAPE, charge_minutes=4000.0 * 40.0 / 64.65, seed=4)
    jig = JigView.scaled_to_view(FULL_VIEW_SHAPE[1] * FULL_VIEW_VOX, centre_offset_um=(2.0, -3.0), tilt_deg=1.5)
    return make_full_view_cell(spec, jig, export=kind)


def case_cell(name: str):
    if name.startswith("fullview_"):
        return full_view_cell(name.split("_", 1)[1])
    return load_demo_cell(name)


@lru_cache(maxsize=None)
def case_inputs(name: str):
    """(image, thresholds with levels, histogram, region or None) as analyze would use them."""
    from napari_licell.segmentation import suggest_thresholds, volume_histogram
    from napari_licell.segmentation.classify import with_levels

    cell = case_cell(name)
    region = None
    if name.startswith("fullview_"):
        from napari_licell.segmentation.cell_region import find_cell_region

        region = np.asarray(find_cell_region(cell.image))
    hist = volume_histogram(cell.image, mask=region)
    ts = with_levels(suggest_thresholds(hist), hist)
    return cell.image, ts, hist, region


def digest(a: np.ndarray) -> str:
    a = np.ascontiguousarray(a)
    return hashlib.sha256(a.tobytes() + str(a.dtype).encode() + str(a.shape).encode()).hexdigest()


def measurement_record(m) -> dict:
    """Every field of a CellMeasurements, JSON-ready (arrays by digest); provenance timestamps left out."""
    d = m.to_dict()
    d.pop("provenance", None)
    d["cross_section_labels"] = None if m.cross_section_labels is None else digest(m.cross_section_labels)
    d["cross_section_image"] = None if m.cross_section_image is None else digest(m.cross_section_image)
    return json.loads(json.dumps(d))
