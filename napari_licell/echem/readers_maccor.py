"""Maccor text exports: a short preamble, then a tab-separated table.

The header line names ``Rec#``, ``Cyc#``, ``Step``, ``TestTime``, ``Amps``,
``Volts`` and ``State``. Test time is written as "2d 02:52:51.57" (days, then
a clock) or, in other export templates, as seconds. Amps are unsigned; the
direction is in State: C = charge (+), D = discharge (-), R = rest (0).
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import LiCellInputError
from .curve_checks import checked_curve
from .cycler_formats import MACCOR_TXT, is_maccor_header
from .readers_table import decimal_mark
from .text_files import read_text_file, split_lines
from .units import CURRENT_UNITS_MA, TIME_UNITS_S, VOLTAGE_UNITS_V, parse_durations_s, split_name_unit, unit_factor
from .voltage_curve import VoltageCurve

__all__ = ["read_maccor_txt", "STATE_SIGNS"]

#: Sign of the current for each Maccor State letter.
STATE_SIGNS: dict[str, float] = {"C": 1.0, "D": -1.0, "R": 0.0}

# Column headers as Maccor's export templates write them, compared on the
# base name of :func:`split_name_unit` ("Test (Sec)" -> "test", unit "Sec").
_TIME_BASES = ("testtime", "test time", "test")
_VOLT_BASES = ("volts", "voltage", "mvolts")
_AMP_BASES = ("amps", "current", "mamps")
_STATE_BASES = ("state", "md")
_CYCLE_BASES = ("cyc#", "cycle c", "cycle", "cycle p")
_DATE_BASES = ("dpt time", "dpttime")

# Candidate units of a bare numeric TestTime, tried against the DPt Time clock.
_BARE_TIME_FACTORS = {"s": 1.0, "min": 60.0, "h": 3600.0}


def _find(columns: list[str], bases: tuple[str, ...]) -> str | None:
    """The first column (in the order of ``bases``) whose base name matches."""
    by_base: dict[str, str] = {}
    for column in columns:
        base, _ = split_name_unit(column)
        by_base.setdefault(base, column)
    for base in bases:
        if base in by_base:
            return by_base[base]
    return None


def _decimal(rows: list[str], sep: str) -> str:
    """ "," when the data rows write decimal commas (tab-separated exports only)."""
    return decimal_mark(rows, sep) if sep == "\t" else "."


def _clock_span_s(values: Any) -> float | None:
    """Seconds between the first and the last readable DPt Time stamps, or None.

    Only the first and last rows are parsed: the span is all the unit check
    needs, and parsing every stamp of a 250,000-row file takes seconds.
    """
    import pandas as pd

    values = np.asarray(values, dtype=object)
    if values.size < 2:
        return None
    edge = min(20, values.size // 2)
    text = pd.Series(np.concatenate([values[:edge], values[-edge:]])).astype("string").str.strip()
    stamps = pd.to_datetime(text, errors="coerce", format="mixed")
    first, last = stamps.iloc[:edge].dropna(), stamps.iloc[edge:].dropna()
    if first.empty or last.empty:
        return None
    return float((last.iloc[-1] - first.iloc[0]).total_seconds())


def _time_seconds(values: Any, name: str, clock: Any, notes: list[str]) -> tuple[np.ndarray, str]:
    import pandas as pd

    numeric = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    if np.mean(np.isfinite(numeric)) < 0.9:
        return parse_durations_s(np.asarray(values, dtype=object)), f"{name} (d hh:mm:ss)"
    _, unit = split_name_unit(name)
    factor = unit_factor(unit, TIME_UNITS_S)
    if factor is not None:
        return numeric * factor, f"{name} (numbers x {factor:g} s)"
    # A bare number: Maccor templates write seconds, minutes or hours. The
    # DPt Time clock beside it tells which (whole seconds, so long spans only).
    finite = numeric[np.isfinite(numeric)]
    span = float(finite[-1] - finite[0]) if finite.size else 0.0
    clock_span = _clock_span_s(clock) if clock is not None and span > 0 else None
    if clock_span is not None:
        if clock_span >= 60.0:
            label, factor = min(_BARE_TIME_FACTORS.items(), key=lambda item: abs(np.log(span * item[1] / clock_span)))
            if 0.8 < span * factor / clock_span < 1.25:
                notes.append(f"time column '{name}' has no unit; the DPt Time clock says {label}")
                return numeric * factor, f"{name} (numbers x {factor:g} s, unit from DPt Time)"
    notes.append(f"time column '{name}' has no unit; assumed seconds")
    return numeric, f"{name} (numbers, assumed s)"


def read_maccor_txt(path: str | os.PathLike) -> VoltageCurve:
    """Read a Maccor tab-separated text export.

    Parameters
    ----------
    path : str or PathLike
        The export (.txt, or the numbered extension Maccor gives).

    Returns
    -------
    VoltageCurve
        Time in minutes from the first record, voltage in V, current in mA
        signed by State (C +, D -, R 0; other states keep 0 A as 0 and an
        unknown direction as NaN), cycle from ``Cyc#``, step from ``Step``.
        When the export already holds negative Amps, they are taken as signed.
        ``metadata`` holds the preamble lines and ``state_counts``.

    Raises
    ------
    LiCellInputError
        No Maccor header line, missing columns, malformed rows.
    """
    import pandas as pd

    p = Path(path)
    text, encoding = read_text_file(p)
    lines = split_lines(text)
    header_at = next((i for i, line in enumerate(lines[:200]) if is_maccor_header(line)), None)
    if header_at is None:
        raise LiCellInputError(p, "no Maccor header line (Rec#, Cyc#, ..., Volts) in the first 200 lines")
    sep = "\t" if "\t" in lines[header_at] else ","
    decimal = _decimal(lines[header_at + 1 : header_at + 30], sep)
    try:
        # index_col=False: rows ending with a tab have one field more than the
        # header, which pandas would otherwise take for a row index.
        frame = pd.read_csv(io.StringIO("\n".join(lines[header_at:])), sep=sep, index_col=False, low_memory=False)
    except (ValueError, pd.errors.ParserError) as exc:
        raise LiCellInputError(p, f"malformed Maccor table ({exc})") from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    # Exports whose rows end with a tab have one more, nameless column.
    frame = frame.loc[:, [c for c in frame.columns if c and not c.startswith("Unnamed:")]]
    if len(frame) == 0:
        raise LiCellInputError(p, "no data rows", "the Maccor export has a header but no records")
    columns = list(frame.columns)
    listing = ", ".join(columns[:20]) + (", ..." if len(columns) > 20 else "")

    time_name = _find(columns, _TIME_BASES)
    if time_name is None:
        raise LiCellInputError(p, f"no time column found (columns: {listing})", "Maccor writes TestTime or Test (Sec)")
    volt_name = _find(columns, _VOLT_BASES)
    if volt_name is None:
        raise LiCellInputError(p, f"no voltage column found (columns: {listing})", "Maccor writes Volts")

    notes: list[str] = []
    meta: dict[str, Any] = {
        "preamble": [line for line in lines[:header_at] if line.strip()],
        "encoding": encoding,
        "columns": columns,
        "reader": "napari-licell Maccor text (pandas)",
    }
    if decimal == ",":
        notes.append("decimal commas")
    date_name = _find(columns, _DATE_BASES)
    clock = frame[date_name].to_numpy(dtype=object) if date_name is not None else None
    time_values = frame[time_name]
    if decimal == ",":
        time_values = time_values.astype("string").str.replace(",", ".", regex=False)
    time_s, meta["time_column"] = _time_seconds(time_values.to_numpy(dtype=object), time_name, clock, notes)

    def numbers(name: str) -> np.ndarray:
        series = frame[name]
        if decimal == ",":
            series = series.astype("string").str.replace(",", ".", regex=False)
        return pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan)

    voltage = numbers(volt_name)
    v_base, v_unit = split_name_unit(volt_name)
    v_factor = unit_factor(v_unit, VOLTAGE_UNITS_V)
    if v_factor is None:
        v_factor = 1e-3 if v_base == "mvolts" else 1.0
        finite = voltage[np.isfinite(voltage)]
        if v_factor == 1.0 and finite.size and np.max(np.abs(finite)) > 50.0:
            v_factor = 1e-3
            notes.append(f"voltage column '{volt_name}' holds values above 50: taken as mV")
    voltage = voltage * v_factor

    current = None
    amp_name = _find(columns, _AMP_BASES)
    if amp_name is not None:
        a_base, a_unit = split_name_unit(amp_name)
        a_factor = unit_factor(a_unit, CURRENT_UNITS_MA)
        if a_factor is None:
            a_factor = 1.0 if a_base == "mamps" else 1e3
        amps = numbers(amp_name)
        state_name = _find(columns, _STATE_BASES)
        if np.nanmin(amps, initial=0.0) < 0 or state_name is None:
            current = amps * a_factor
            meta["current_sign"] = "as written"
        else:
            states = frame[state_name].astype("string").str.strip().str.upper().fillna("")
            sign = np.array(states.map(STATE_SIGNS).to_numpy(dtype=float, na_value=np.nan))
            unknown = np.isnan(sign)
            sign[unknown & (amps == 0)] = 0.0
            current = np.abs(amps) * sign * a_factor
            meta["current_sign"] = f"from {state_name} (C +, D -, R 0)"
            meta["state_counts"] = {str(k): int(v) for k, v in states.value_counts().items()}
    if notes:
        meta["notes"] = notes

    def labels(bases: tuple[str, ...]) -> np.ndarray | None:
        name = _find(columns, bases)
        if name is None:
            return None
        return pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float, na_value=np.nan)

    return checked_curve(p, MACCOR_TXT, time_s, voltage, current, labels(_CYCLE_BASES), labels(("step",)), meta)
