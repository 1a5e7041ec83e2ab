"""One table for every voltage curve: time in minutes, voltage in V, current in mA."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["VoltageCurve"]


@dataclass
class VoltageCurve:
    """A cell's voltage record, whatever file it came from.

    Attributes
    ----------
    time_min : ndarray
        Time since the start of the record in minutes (monotonic non-decreasing).
    voltage_v : ndarray
        Cell voltage in V.
    current_ma : ndarray or None
        Current in mA (positive = charge, where the file tells).
    cycle, step : ndarray or None
        Cycle and step numbers where the file has them.
    format : str
        What was detected ("biologic-mpr", "neware-nda", "csv", "synthetic", ...).
    source : Path or None
        The file.
    current_density_ma_cm2 : float or None
        Plating current density in mA/cm2 when known.
    metadata : dict
        Anything else.
    """

    time_min: np.ndarray
    voltage_v: np.ndarray
    current_ma: np.ndarray | None = None
    cycle: np.ndarray | None = None
    step: np.ndarray | None = None
    format: str = "unknown"
    source: Path | None = None
    current_density_ma_cm2: float | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.time_min = np.asarray(self.time_min, dtype=float)
        self.voltage_v = np.asarray(self.voltage_v, dtype=float)
        if self.time_min.shape != self.voltage_v.shape or self.time_min.ndim != 1:
            raise ValueError("time and voltage must be 1D arrays of the same length")
        for name in ("current_ma", "cycle", "step"):
            value = getattr(self, name)
            if value is not None:
                value = np.asarray(value)
                if value.shape != self.time_min.shape:
                    raise ValueError(f"{name} must have the same length as time")
                setattr(self, name, value)

    @property
    def n_points(self) -> int:
        return int(self.time_min.size)

    def to_frame(self):
        """The curve as a pandas DataFrame with unit-suffixed column names."""
        import pandas as pd

        cols: dict[str, Any] = {"time_min": self.time_min, "voltage_v": self.voltage_v}
        if self.current_ma is not None:
            cols["current_ma"] = self.current_ma
        if self.cycle is not None:
            cols["cycle"] = self.cycle
        if self.step is not None:
            cols["step"] = self.step
        return pd.DataFrame(cols)
