"""Time-lapse stacks of synthetic cells: several scans over one charge as a (t, z, y, x) volume.

The paper imaged each cell only before and after charging and named
time-lapse CT with the voltage curve linked to each scan as future work.
These builders make such a series from the phantoms: the same cell (same
seed, so the same collector, SE and pores) imaged before charging and after
1000, 2000, 3000 and 4000 minutes, with the voltage curve of the whole charge.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..echem.voltage_curve import VoltageCurve
from ..phantoms.cell_spec import BondingProcess, CellState, paper_cell
from ..phantoms.synthetic_cell import make_synthetic_cell
from ..phantoms.voltage_curves import synthetic_voltage_curve

__all__ = ["TimeLapse", "charge_series_timelapse", "before_after_timelapse", "DEFAULT_CHARGE_MINUTES"]

#: Charge times of the default series, minutes.
DEFAULT_CHARGE_MINUTES: tuple[float, ...] = (1000.0, 2000.0, 3000.0, 4000.0)


@dataclass
class TimeLapse:
    """Scans of one cell at several times of its charge.

    Attributes
    ----------
    name : str
        Display name.
    image : ndarray of uint16, shape (t, z, y, x)
        One reconstruction per scan; z is the stack axis (z = 0 the collector).
    labels : ndarray of uint8, shape (t, z, y, x)
        Ground-truth class codes per scan.
    scan_times_min : ndarray of float, shape (t,)
        Time of each scan since the start of the charge, minutes (increasing).
    voxel_size_um : float
        Cubic voxel size, µm.
    voltage : VoltageCurve
        Voltage of the whole charge (time in minutes, voltage in V).
    metadata : dict
        Process, gas, current density and pressures of the cell.
    """

    name: str
    image: np.ndarray
    labels: np.ndarray
    scan_times_min: np.ndarray
    voxel_size_um: float
    voltage: VoltageCurve
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def n_scans(self) -> int:
        return int(self.scan_times_min.size)


def charge_series_timelapse(
    process: BondingProcess | str = BondingProcess.PROCESS3,
    charge_minutes: Sequence[float] = DEFAULT_CHARGE_MINUTES,
    include_before: bool = True,
    seed: int = 4,
    **spec_changes: Any,
) -> TimeLapse:
    """The same synthetic cell scanned at several charge times, stacked as (t, z, y, x).

    Parameters
    ----------
    process : BondingProcess or str
        Carbon-interlayer bonding process.
    charge_minutes : sequence of float
        Times of the scans after the start of charging, minutes (sorted here).
    include_before : bool
        Add a scan before charging at 0 min first.
    seed : int
        Seed shared by every scan, so only the plated lithium changes.
    **spec_changes
        Other :class:`~napari_licell.phantoms.CellSpec` fields (``shape``,
        ``gas``, ``current_density_ma_cm2``...).

    Returns
    -------
    TimeLapse
    """
    minutes = sorted(float(m) for m in charge_minutes)
    if not minutes or minutes[0] <= 0:
        raise ValueError("charge times must be positive minutes")
    base = paper_cell(process, seed=seed, **spec_changes)
    specs = [base.with_(state=CellState.BEFORE, charge_minutes=minutes[-1])] if include_before else []
    specs += [base.with_(state=CellState.AFTER, charge_minutes=m) for m in minutes]
    cells = [make_synthetic_cell(spec) for spec in specs]
    times = np.array(([0.0] if include_before else []) + minutes)
    full = base.with_(state=CellState.AFTER, charge_minutes=minutes[-1])
    last = cells[-1]
    meta = {k: v for k, v in last.metadata.items() if k not in ("state", "charge_minutes")}
    meta.update({"charge_minutes": minutes[-1], "scan_times_min": times.tolist(), "timelapse": True})
    return TimeLapse(
        name=f"{full.process.value}_timelapse_{full.gas}{full.gas_pressure_atm:g}",
        image=np.stack([c.image for c in cells]),
        labels=np.stack([c.labels for c in cells]),
        scan_times_min=times,
        voxel_size_um=full.voxel_size_um,
        voltage=synthetic_voltage_curve(full),
        metadata=meta,
    )


def before_after_timelapse(
    process: BondingProcess | str = BondingProcess.PROCESS3, seed: int = 4, **spec_changes: Any
) -> TimeLapse:
    """The paper's pair: the cell before charging (0 min) and after the full charge, as (2, z, y, x)."""
    minutes = paper_cell(process, **spec_changes).charge_minutes
    return charge_series_timelapse(process, (minutes,), include_before=True, seed=seed, **spec_changes)
