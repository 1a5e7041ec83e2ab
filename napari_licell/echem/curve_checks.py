"""The checks every cycler reader runs before handing back a :class:`VoltageCurve`.

Readers gather time (s), voltage (V) and current (mA) arrays and call
:func:`checked_curve`, which refuses what cannot be a voltage record (no rows,
missing or infinite voltages, shuffled time) with a
:class:`~napari_licell.errors.LiCellInputError`, and repairs what a cycler
legitimately writes: time that restarts at every step, a clock stepping back
a fraction of a second, an incomplete last row of a file still being written.
Each repair is noted in ``metadata["notes"]``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import LiCellInputError
from .voltage_curve import VoltageCurve

__all__ = ["checked_curve", "make_time_monotonic", "MAX_BACKWARD_FRACTION"]

#: More backward time steps than this fraction of all steps means rows out of order, not restarts.
MAX_BACKWARD_FRACTION = 0.25

# A time value below this fraction of the previous one is a restart from zero
# (per-step time); above it, the clock stepped back a little.
_RESTART_FRACTION = 0.5


def make_time_monotonic(time_s: np.ndarray) -> tuple[np.ndarray, int, int]:
    """Make a time axis non-decreasing by joining restarted segments end to end.

    Parameters
    ----------
    time_s : ndarray
        Finite times in seconds, as written in the file.

    Returns
    -------
    time_s, n_restarts, n_backsteps : ndarray, int, int
        The cumulative time in seconds; how many times the time restarted
        from (near) zero, e.g. Neware .ndax step time (the new segment is
        counted from the previous point); how many times it stepped back a
        little or to a negative value, e.g. a clock resynchronised (held at
        the previous point).
    """
    t = np.asarray(time_s, dtype=float)
    backward = np.flatnonzero(np.diff(t) < 0) + 1
    if backward.size == 0:
        return t.copy(), 0, 0
    offsets = np.zeros_like(t)
    offset = 0.0
    n_restarts = 0
    previous = 0
    for i in backward:
        offsets[previous:i] = offset
        before = t[i - 1] + offset  # cumulative time of the previous point
        if 0.0 <= t[i] < _RESTART_FRACTION * t[i - 1]:
            offset = before  # t[i] counts from the restart
            n_restarts += 1
        else:
            offset = before - t[i]  # hold the time at the previous point
        previous = i
    offsets[previous:] = offset
    # Adding offsets can round a held point a hair below the previous one.
    joined = np.maximum.accumulate(t + offsets)
    return joined, n_restarts, int(backward.size - n_restarts)


def _first_bad_row(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0]) + 1


def _as_labels(values: Any) -> np.ndarray | None:
    """Cycle/step numbers as int64 where all finite, else float."""
    if values is None:
        return None
    arr = np.asarray(values)
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64)
    try:
        arr = np.asarray(arr, dtype=float)
    except (TypeError, ValueError):
        return None
    if np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
        return arr.astype(np.int64)
    return arr


def checked_curve(
    path: str | os.PathLike | None,
    fmt: str,
    time_s: Any,
    voltage_v: Any,
    current_ma: Any = None,
    cycle: Any = None,
    step: Any = None,
    metadata: dict[str, Any] | None = None,
) -> VoltageCurve:
    """Validate and repair reader output, and build the :class:`VoltageCurve`.

    Parameters
    ----------
    path : str or PathLike or None
        The file the data came from (named in every error).
    fmt : str
        Format string for ``VoltageCurve.format``.
    time_s : array-like
        Time in seconds, any origin (file time, step time, Unix time).
    voltage_v : array-like
        Voltage in V.
    current_ma : array-like, optional
        Current in mA; NaN where unknown. Dropped when all NaN.
    cycle, step : array-like, optional
        Cycle and step numbers.
    metadata : dict, optional
        Reader metadata; ``notes`` (list of str), ``time_origin_s`` (the
        file's time of the first point, s) and ``n_rows_read`` are added.

    Returns
    -------
    VoltageCurve
        ``time_min`` starts at 0 and never decreases.

    Raises
    ------
    LiCellInputError
        No rows; no finite voltage; missing or infinite time or voltage
        inside the record; time out of order.
    """
    meta: dict[str, Any] = dict(metadata or {})
    notes: list[str] = list(meta.get("notes", []))
    try:
        t = np.asarray(time_s, dtype=float).ravel()
        v = np.asarray(voltage_v, dtype=float).ravel()
    except (TypeError, ValueError) as exc:
        raise LiCellInputError(path, f"time or voltage is not numeric ({exc})") from exc
    if t.size != v.size:
        raise LiCellInputError(path, f"time has {t.size} values but voltage has {v.size}")
    columns: dict[str, np.ndarray | None] = {}
    for name, values in (("current_ma", current_ma), ("cycle", cycle), ("step", step)):
        if values is None:
            columns[name] = None
            continue
        arr = np.asarray(values).ravel()
        if arr.size != t.size:
            raise LiCellInputError(path, f"{name} has {arr.size} values but time has {t.size}")
        columns[name] = arr
    meta["n_rows_read"] = int(t.size)

    if t.size == 0:
        raise LiCellInputError(path, "no data rows", "the file has a header but no measurements")
    if not np.any(np.isfinite(v)):
        raise LiCellInputError(path, "no finite voltage values (all missing, NaN or infinite)")
    if not np.any(np.isfinite(t)):
        raise LiCellInputError(path, "no finite time values (all missing, NaN or infinite)")

    # An incomplete last row (a file copied while the cycler was writing it).
    good = np.isfinite(t) & np.isfinite(v)
    last_good = int(np.flatnonzero(good)[-1])
    n_tail = t.size - 1 - last_good
    if n_tail:
        t, v = t[: last_good + 1], v[: last_good + 1]
        columns = {k: (None if a is None else a[: last_good + 1]) for k, a in columns.items()}
        notes.append(f"dropped {n_tail} incomplete row(s) at the end of the file")

    bad_v = ~np.isfinite(v)
    if bad_v.any():
        raise LiCellInputError(
            path,
            f"voltage is missing, NaN or infinite in {int(bad_v.sum())} row(s) "
            f"(first at data row {_first_bad_row(bad_v)})",
            "remove or fill those rows",
        )
    bad_t = ~np.isfinite(t)
    if bad_t.any():
        raise LiCellInputError(
            path,
            f"time is missing or not a number in {int(bad_t.sum())} row(s) (first at data row {_first_bad_row(bad_t)})",
            "remove or fill those rows",
        )

    n_backward = int(np.count_nonzero(np.diff(t) < 0))
    if n_backward:
        if n_backward > max(10, MAX_BACKWARD_FRACTION * (t.size - 1)):
            raise LiCellInputError(
                path, f"time is not in order ({n_backward} of {t.size - 1} steps go backwards)", "sort the rows by time"
            )
        t, n_restarts, n_backsteps = make_time_monotonic(t)
        if n_restarts:
            notes.append(
                f"time restarted {n_restarts} time(s) (per-step time or appended runs); segments joined end to end"
            )
        if n_backsteps:
            notes.append(f"time stepped back {n_backsteps} time(s) (clock adjustments); held at the previous point")
        meta["time_repaired"] = True

    current = columns["current_ma"]
    if current is not None:
        current = np.asarray(current, dtype=float)
        if not np.any(np.isfinite(current)):
            current = None
            notes.append("current column holds no numbers; current left out")

    time_min = (t - t[0]) / 60.0
    if not np.all(np.isfinite(time_min)):
        raise LiCellInputError(path, "time values are out of range (overflow when counted from the first point)")
    meta["time_origin_s"] = float(t[0])
    if notes:
        meta["notes"] = notes
    return VoltageCurve(
        time_min=time_min,
        voltage_v=v,
        current_ma=current,
        cycle=_as_labels(columns["cycle"]),
        step=_as_labels(columns["step"]),
        format=fmt,
        source=None if path is None else Path(path),
        metadata=meta,
    )
