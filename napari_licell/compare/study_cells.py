"""Cells of a user's study as the compare view needs them: scan, labels, voxel size, metadata, curve."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["ComparedCell", "LABEL_LAYER_SUFFIXES"]

#: Names (after the scan's name) of labels layers that hold a cell's classes, most trusted first:
#: painted/corrected, threshold result, labels opened from the study, synthetic truth.
LABEL_LAYER_SUFFIXES: tuple[str, ...] = (" classes", " labels", " truth")


@dataclass
class ComparedCell:
    """One cell to compare (same attributes as a synthetic cell, without the truth).

    Attributes
    ----------
    name : str
    image : array-like (z, y, x)
    labels : array-like (z, y, x) of class codes, or None
    voxel_size_um : float
        Voxel size in micrometres (the stack-axis one).
    metadata : dict
        Process, pressures, gas, current density (mA/cm2), charge time (min).
    voltage : VoltageCurve or None
    """

    name: str
    image: Any
    labels: Any
    voxel_size_um: float
    metadata: dict[str, Any] = field(default_factory=dict)
    voltage: Any = None
    truth: Any = None

    @property
    def scale(self) -> tuple[float, float, float]:
        return (self.voxel_size_um,) * 3
