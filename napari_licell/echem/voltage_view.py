"""What the Voltage dock shows, without Qt: a cycler record, the step of it on show, its events and scan times.

The Voltage dock is a view of a :class:`VoltageView`: it draws
:attr:`VoltageView.curve` with its events and scan markers and lists
:meth:`VoltageView.step_choices`; the view decides which step is shown (by
default the first Li-plating charge of a record of many steps), finds the
events on it and reduces the points for display.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from psygnal import Signal

from .voltage_curve import VoltageCurve
from .voltage_events import VoltageEvents, decimate_for_display, find_voltage_events

__all__ = ["VoltageView", "scan_times_of", "nearest_scan_index", "step_rows"]


def scan_times_of(metadata: dict[str, Any]) -> np.ndarray:
    """Scan times of a cell in minutes: ``scan_times_min``, else the charge end of an "after" scan, else none."""
    if metadata.get("scan_times_min") is not None:
        return np.asarray(metadata["scan_times_min"], dtype=float).ravel()
    if metadata.get("state") == "after" and metadata.get("charge_minutes") is not None:
        return np.array([float(metadata["charge_minutes"])])
    return np.empty(0)


def nearest_scan_index(scan_times_min: np.ndarray, time_min: float) -> int:
    """Index of the scan closest in time to ``time_min`` (minutes)."""
    times = np.asarray(scan_times_min, dtype=float)
    if times.size == 0:
        raise ValueError("no scans")
    return int(np.argmin(np.abs(times - float(time_min))))


def step_rows(curve: VoltageCurve, step) -> VoltageCurve:
    """The rows of one step of ``curve`` (time still counted from the start of the record)."""
    from .charge_steps import select_charge

    if step.step is not None:
        return select_charge(curve, cycle=step.cycle, step=step.step)[0]
    return select_charge(curve, step=step.ordinal)[0]


class VoltageView:
    """A cycler record on show: the whole record or one of its charge steps, its events, the cell's scan times."""

    #: Emitted after what is shown changed (a new record or another step).
    changed = Signal()

    def __init__(self) -> None:
        self.record: VoltageCurve | None = None  # the whole record
        self.curve: VoltageCurve | None = None  # what is shown: the record, or one step of it
        self.steps: list = []
        self.step_ordinal: int | None = None
        self.cell_name = ""
        self.scan_times_min = np.empty(0)
        self.events: VoltageEvents | None = None
        self.linked_layer: str | None = None

    def set_record(
        self, curve: VoltageCurve | None, scan_times_min=None, name: str = "", linked_layer: str | None = None
    ) -> None:
        """Show ``curve`` (minutes, V) of cell ``name`` with scans at ``scan_times_min`` (minutes).

        A record of many steps opens on its first Li-plating charge.
        """
        from .charge_steps import split_steps

        self.record, self.cell_name, self.linked_layer = curve, name, linked_layer
        self.scan_times_min = np.empty(0) if scan_times_min is None else np.asarray(scan_times_min, float).ravel()
        self.steps = split_steps(curve) if curve is not None and curve.n_points else []
        self.show_step(self.default_step())

    def step_choices(self) -> list[tuple[str, int | None]]:
        """(text, ordinal) of every choice: the whole record (None), then each charge step."""
        choices: list[tuple[str, int | None]] = [("whole record", None)]
        for step in self.steps:
            if step.kind in ("charge", "unknown"):
                where = " ".join(f"{k} {v}" for k, v in (("cycle", step.cycle), ("step", step.step)) if v is not None)
                choices.append(
                    (
                        f"{where or f'step {step.ordinal}'}: {step.kind}, {step.start_min:.0f}-{step.end_min:.0f} min",
                        step.ordinal,
                    )
                )
        return choices

    def default_step(self) -> int | None:
        """The first Li-plating charge of a record with several steps (None: the whole record)."""
        if self.record is None or len(self.steps) <= 1:
            return None
        from ..errors import LiCellInputError
        from .charge_steps import select_charge

        try:
            _, step, _ = select_charge(self.record)
        except LiCellInputError:
            return None
        return step.ordinal

    def show_step(self, ordinal: int | None) -> None:
        """Show the step ``ordinal`` of the record (None: all of it), and find its events."""
        part = self.record
        if part is not None and ordinal is not None:
            part = step_rows(part, next(s for s in self.steps if s.ordinal == ordinal))
        self.step_ordinal, self.curve = ordinal, part
        self.events = find_voltage_events(part) if part is not None and part.n_points >= 10 else None
        self.changed.emit()

    def describe(self) -> str:
        """One line on what is shown: points and duration, plateau, steep rise, the linked time-lapse."""
        if self.curve is None:
            return f"{self.cell_name}: no voltage record." if self.cell_name else "No voltage record."
        c = self.curve
        parts = [f"{self.cell_name or 'curve'}: {c.n_points:,} points over {c.time_min[-1] - c.time_min[0]:.0f} min"]
        if self.events is not None and self.events.plateau_v is not None:
            parts.append(f"plateau {self.events.plateau_v:.3f} V")
        if self.events is not None and self.events.rise_onset_min is not None:
            parts.append(f"steep rise from {self.events.rise_onset_min:.0f} min")
        if self.linked_layer:
            parts.append(f"linked to the time slider of '{self.linked_layer}'")
        return "; ".join(parts)

    def displayed_points(
        self, n_bins: int, x0: float | None = None, x1: float | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The points plotted for the time range [x0, x1] (minutes; the whole record by default).

        At most two points per pixel column (its lowest and highest) of ``n_bins``
        columns; the exact raw points when the range holds fewer than that.
        """
        if self.curve is None:
            return np.empty(0), np.empty(0)
        t, v = self.curve.time_min, self.curve.voltage_v
        if x0 is not None and x1 is not None and t.size:
            a = max(int(np.searchsorted(t, x0, side="left")) - 1, 0)
            b = min(int(np.searchsorted(t, x1, side="right")) + 1, t.size)
            t, v = t[a:b], v[a:b]
        return decimate_for_display(t, v, n_bins)
