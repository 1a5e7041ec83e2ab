"""napari sample-data contributions: the demo study's cells, one entry each, and the Ar/Xe pair."""

from __future__ import annotations

from ..phantoms.demo_study import load_demo_cell
from .layers import synthetic_cell_layers

__all__ = ["sample_none", "sample_process1", "sample_process2", "sample_process3", "sample_dummy_pair"]


def _cell(name: str) -> list[tuple]:
    """The cell's layers; its scan carries the charge curve, so the Voltage dock shows it without a study."""
    cell = load_demo_cell(name)
    layers = synthetic_cell_layers(cell)
    if getattr(cell, "voltage", None) is not None:
        layers[0][1]["metadata"]["voltage_curve"] = cell.voltage
    return layers


def sample_none() -> list[tuple]:
    """No-interlayer cell after 3500 min at 0.2 mA/cm2, 6 atm Xe."""
    return _cell("none_after_Xe6")


def sample_process1() -> list[tuple]:
    """Process 1 (carbon pressed weakly at 3 MPa) after 4000 min, 6 atm Xe."""
    return _cell("process1_after_Xe6")


def sample_process2() -> list[tuple]:
    """Process 2 (carbon pressed at 400 MPa onto a finished SE) after 4000 min, 6 atm Xe."""
    return _cell("process2_after_Xe6")


def sample_process3() -> list[tuple]:
    """Process 3 (SE and carbon pressed together) after 4000 min, 6 atm Xe."""
    return _cell("process3_after_Xe6")


def sample_dummy_pair() -> list[tuple]:
    """The Li + carbon dummy cell in 1 atm Ar and in 6 atm Xe, shown with the same contrast limits."""
    layers = _cell("dummy_Ar1") + _cell("dummy_Xe6")
    images = [kwargs for _, kwargs, kind in layers if kind == "image"]
    lo = min(k["contrast_limits"][0] for k in images)
    hi = max(k["contrast_limits"][1] for k in images)
    for kwargs in images:
        kwargs["contrast_limits"] = (lo, hi)
    return layers
