"""Synthetic charging curves of the paper's cells (InLi counter electrode vs plated Li).

All cells sit near 0.622 V, the InLi/Li potential difference. Without an
interlayer the voltage rises steeply at ~2600 min and fluctuates after it
(dendrites into the SE); processes 1-3 rise only slightly up to 4000 min.
"""

from __future__ import annotations

import numpy as np

from ..echem.voltage_curve import VoltageCurve
from .cell_spec import BondingProcess, CellSpec

__all__ = ["INLI_VS_LI_V", "synthetic_voltage_curve"]

#: Potential difference between InLi and Li metal, volts.
INLI_VS_LI_V = 0.622

#: Slight rise over the charge for processes 1-3 (V at the end of 4000 min).
_SLIGHT_RISE_V = {BondingProcess.PROCESS1: 0.012, BondingProcess.PROCESS2: 0.009, BondingProcess.PROCESS3: 0.006}


def synthetic_voltage_curve(
    spec: CellSpec,
    step_min: float = 1.0,
    noise_v: float = 0.0008,
    rise_onset_min: float = 2600.0,
    electrode_area_cm2: float = np.pi * 0.05**2,
) -> VoltageCurve:
    """Charging curve of a synthetic cell.

    Parameters
    ----------
    spec : CellSpec
        The cell (process, current density in mA/cm2, charge time in minutes, seed).
    step_min : float
        Sampling interval in minutes.
    noise_v : float
        Standard deviation of the measurement noise in V.
    rise_onset_min : float
        For the no-interlayer cell, when the steep rise starts (minutes).
    electrode_area_cm2 : float
        Electrode area (1 mm diameter by default) to turn current density into mA.

    Returns
    -------
    VoltageCurve
        Time in minutes, voltage in V, current in mA, ``format="synthetic"``.
    """
    rng = np.random.default_rng(spec.seed + 7919)
    t = np.arange(0.0, spec.charge_minutes + step_min / 2, step_min)
    v = np.full_like(t, INLI_VS_LI_V)
    # a small polarisation build-up at the start
    v += 0.004 * (1 - np.exp(-t / 30.0))
    if spec.process is BondingProcess.NONE:
        after = t >= rise_onset_min
        dt = t[after] - rise_onset_min
        steep = 0.12 * (1 - np.exp(-dt / 25.0))
        walk = np.cumsum(rng.normal(0, 0.004, after.sum()))
        walk -= np.linspace(0, walk[-1] if walk.size else 0, walk.size)
        spikes = 0.05 * np.sin(dt / 17.0) * rng.uniform(0.5, 1.0, after.sum())
        v[after] += steep + walk + spikes
    else:
        v += _SLIGHT_RISE_V[spec.process] * (t / max(spec.charge_minutes, 1.0)) ** 2
    v += rng.normal(0, noise_v, t.size)
    current_ma = np.full_like(t, spec.current_density_ma_cm2 * electrode_area_cm2)
    return VoltageCurve(
        time_min=t,
        voltage_v=v,
        current_ma=current_ma,
        format="synthetic",
        current_density_ma_cm2=spec.current_density_ma_cm2,
        metadata={"cell": spec.name, "electrode_area_cm2": electrode_area_cm2},
    )
