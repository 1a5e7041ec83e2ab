"""Steps of a cycler record and the charge step that matches a CT scan.

A cycler file holds many cycles and, in each, several steps (rest, charge,
discharge, CV hold, ...). The scan of an anode-less cell is taken after a
Li-plating charge, so the curve to compare with it is one charge step. This
module splits a :class:`VoltageCurve` into its steps and picks one:

* by default, the first charge step (the first Li plating);
* ``cycle=N``: the first charge step of cycle N;
* ``step=N``: the step the file numbers N (its first occurrence, or the one
  in ``cycle`` when both are given).

Steps follow the file's own step numbers where it has them (a new step where
the step or cycle number changes); otherwise they are runs of the same
current direction (charge, discharge, rest); without a current column the
whole record is one step of unknown kind.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..errors import LiCellInputError
from .voltage_curve import VoltageCurve

__all__ = ["CycleStep", "split_steps", "count_cycles", "select_charge", "REST_FRACTION"]

#: A current below this fraction of the largest |current| counts as rest.
REST_FRACTION = 1e-3


@dataclass(frozen=True)
class CycleStep:
    """One step of a record.

    Attributes
    ----------
    ordinal : int
        1-based position among all steps of the record.
    cycle, step : int or None
        The file's cycle and step numbers (None where it has none).
    kind : str
        "charge" (current > 0), "discharge" (< 0), "rest" (about 0) or
        "unknown" (no current in the file).
    start, stop : int
        Row slice of the step in the curve.
    start_min, end_min : float
        Time of its first and last point, minutes from the start of the record.
    """

    ordinal: int
    cycle: int | None
    step: int | None
    kind: str
    start: int
    stop: int
    start_min: float
    end_min: float

    @property
    def n_points(self) -> int:
        return self.stop - self.start

    def as_dict(self) -> dict[str, Any]:
        return {
            "ordinal": self.ordinal,
            "cycle": self.cycle,
            "step": self.step,
            "kind": self.kind,
            "n_points": self.n_points,
            "time_min": [self.start_min, self.end_min],
        }


def _label(values: np.ndarray | None, i: int) -> int | None:
    if values is None:
        return None
    value = values[i]
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return int(value) if np.isfinite(value) else None


def _direction(current: np.ndarray | None) -> np.ndarray | None:
    """+1 charge, -1 discharge, 0 rest per row (NaN current counts as rest)."""
    if current is None:
        return None
    finite = np.where(np.isfinite(current), current, 0.0)
    scale = float(np.max(np.abs(finite))) if finite.size else 0.0
    if scale == 0.0:
        return np.zeros(current.size, dtype=np.int8)
    direction = np.sign(finite).astype(np.int8)
    direction[np.abs(finite) < REST_FRACTION * scale] = 0
    return direction


def split_steps(curve: VoltageCurve) -> list[CycleStep]:
    """The steps of a record, in file order.

    Parameters
    ----------
    curve : VoltageCurve
        The record.

    Returns
    -------
    list of CycleStep
        Boundaries where the file's step or cycle number changes; without
        step numbers, where the current direction changes.
    """
    n = curve.n_points
    if n == 0:
        return []
    direction = _direction(curve.current_ma)
    keys: list[np.ndarray] = []
    if curve.step is not None:
        keys.append(np.asarray(curve.step, dtype=float))
        if curve.cycle is not None:
            keys.append(np.asarray(curve.cycle, dtype=float))
    elif direction is not None:
        keys.append(direction.astype(float))
    change = np.zeros(n, dtype=bool)
    change[0] = True
    for key in keys:
        key = np.nan_to_num(key, nan=-1.0)
        change[1:] |= key[1:] != key[:-1]
    starts = np.flatnonzero(change)
    stops = np.append(starts[1:], n)
    steps: list[CycleStep] = []
    for ordinal, (start, stop) in enumerate(zip(starts, stops), start=1):
        if direction is None:
            kind = "unknown"
        else:
            # The sign of the median current: a step that starts or ends at
            # zero current keeps its direction.
            moving = direction[start:stop]
            moving = moving[moving != 0]
            if moving.size < 0.5 * (stop - start):
                kind = "rest"
            else:
                kind = "charge" if np.median(moving) > 0 else "discharge"
        steps.append(
            CycleStep(
                ordinal=ordinal,
                cycle=_label(curve.cycle, int(start)),
                step=_label(curve.step, int(start)),
                kind=kind,
                start=int(start),
                stop=int(stop),
                start_min=float(curve.time_min[start]),
                end_min=float(curve.time_min[stop - 1]),
            )
        )
    return steps


def count_cycles(curve: VoltageCurve) -> int | None:
    """How many different cycle numbers the record has (None when it has none)."""
    if curve.cycle is None:
        return None
    values = np.asarray(curve.cycle, dtype=float)
    values = values[np.isfinite(values)]
    return int(np.unique(values).size)


def _describe(cycle: int | None, step: int | None) -> str:
    parts = []
    if cycle is not None:
        parts.append(f"cycle {cycle}")
    if step is not None:
        parts.append(f"step {step}")
    return " ".join(parts)


def select_charge(
    curve: VoltageCurve, cycle: int | None = None, step: int | None = None
) -> tuple[VoltageCurve, CycleStep, str]:
    """Pick the charge step that matches a scan.

    Parameters
    ----------
    curve : VoltageCurve
        The whole record.
    cycle : int, optional
        The file's cycle number: its first charge step (or its step ``step``).
    step : int, optional
        The file's step number (the 1-based step ordinal where the file has
        no step numbers).

    Returns
    -------
    charge, which, how : VoltageCurve, CycleStep, str
        The selected rows (time still counted from the start of the record;
        ``metadata["selected_step"]`` describes them), the step, and how it
        was chosen in words.

    Raises
    ------
    LiCellInputError
        No step matches, or the record has no charge step.
    """
    steps = split_steps(curve)
    if not steps:
        raise LiCellInputError(curve.source, "no data rows")
    if cycle is not None and curve.cycle is None:
        raise LiCellInputError(curve.source, f"cycle {cycle} asked for, but the file has no cycle numbers")
    candidates = steps
    if cycle is not None:
        candidates = [s for s in candidates if s.cycle == cycle]
        if not candidates:
            cycles = sorted({s.cycle for s in steps if s.cycle is not None})
            span = f"{cycles[0]}-{cycles[-1]}" if cycles else "none"
            raise LiCellInputError(curve.source, f"no cycle {cycle} in the file (cycles {span})")
    if step is not None:
        if curve.step is not None:
            matching = [s for s in candidates if s.step == step]
        else:
            matching = [s for s in candidates if s.ordinal == step]
        if not matching:
            where = f" of cycle {cycle}" if cycle is not None else ""
            raise LiCellInputError(curve.source, f"no step {step}{where} in the file ({len(steps)} steps)")
        chosen = matching[0]
        how = _describe(cycle, step)
        if chosen.kind not in ("charge", "unknown"):
            how += f" (a {chosen.kind} step)"
        if len(matching) > 1:
            how += f" (first of {len(matching)} steps numbered {step})"
    else:
        charges = [s for s in candidates if s.kind in ("charge", "unknown")]
        if not charges:
            where = f" in cycle {cycle}" if cycle is not None else ""
            raise LiCellInputError(
                curve.source, f"no charge step{where} (the current is never positive)", "pick the step with --step N"
            )
        chosen = charges[0]
        how = f"first charge step of cycle {cycle}" if cycle is not None else "first charge step (Li plating)"
        if chosen.kind == "unknown":
            how = "whole record (the file has no current to tell charge steps)"
    rows = slice(chosen.start, chosen.stop)

    def part(values: Any) -> Any:
        return None if values is None else values[rows]

    meta = dict(curve.metadata)
    meta["selected_step"] = {**chosen.as_dict(), "how": how}
    selected = replace(
        curve,
        time_min=curve.time_min[rows],
        voltage_v=curve.voltage_v[rows],
        current_ma=part(curve.current_ma),
        cycle=part(curve.cycle),
        step=part(curve.step),
        metadata=meta,
    )
    return selected, chosen, how
