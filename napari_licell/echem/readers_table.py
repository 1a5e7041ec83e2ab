"""Generic CSV/TSV voltage tables: find the header, map columns by name, convert units.

Handles what cycler and logger exports put in plain tables:

* a preamble before the header (the header is the first line naming a time
  and a voltage column);
* separators ``,`` ``;`` tab ``|`` (or runs of spaces, as a last resort) and
  decimal commas ("3,42" with ``;``, tab or spaces);
* units in the header ("Voltage(V)", "Ewe/V", "time_s", "Current [uA]") or
  in a second header row;
* time as numbers (s, ms, min, h, d), as cumulative clock text ("144:02:18",
  "1d 02:03:04"), or as dates ("2022-05-18 16:27:52");
* voltage in V or mV, current in A, mA, uA or nA.

Preferred time column: a test/total/cumulative/elapsed time, then a plain
"time", then a per-step time (restarts are joined), then a date column.
"""

from __future__ import annotations

import csv
import io
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import LiCellInputError
from .curve_checks import checked_curve
from .cycler_formats import CSV, TSV
from .text_files import read_text_file, split_lines
from .units import (
    CURRENT_UNITS_MA,
    TIME_UNITS_S,
    VOLTAGE_UNITS_V,
    looks_like_durations,
    parse_durations_s,
    split_name_unit,
    unit_factor,
)
from .voltage_curve import VoltageCurve

__all__ = ["read_table", "column_role", "ColumnRole", "HEADER_SEARCH_LINES", "find_header", "curve_from_table"]

#: How many lines from the top are searched for the header line.
HEADER_SEARCH_LINES = 500

_DELIMITERS = ("\t", ";", ",", "|")
#: Runs of spaces as the separator: tried only where no other separator gives a header.
_WHITESPACE = " "

_TIME_BY_RANK: tuple[frozenset[str], ...] = (
    frozenset({
        "test time", "testtime", "total time", "total test time", "cumulative time", "elapsed time",
        "time elapsed", "elapsed", "run time", "runtime", "experiment time", "relative time",
        "total elapsed time", "test time elapsed", "program time", "total time elapsed",
    }),
    frozenset({"time", "t", "times"}),
    frozenset({"step time", "steptime", "step time elapsed"}),
    frozenset({
        "date", "datetime", "date time", "date/time", "timestamp", "time stamp", "realtime",
        "real time", "absolute time", "abs time", "system time", "clock time", "local time",
        "dpt time", "unix time",
    }),
)  # fmt: skip
_ABSOLUTE_TIME_RANK = 3

_VOLTAGE_EXACT = frozenset({
    "voltage", "volts", "volt", "ewe", "ecell", "e cell", "cell voltage", "cell potential",
    "potential", "u", "v", "vf", "e", "battery voltage", "voltage measured", "measured voltage",
})  # fmt: skip
_CURRENT_EXACT = frozenset({"current", "cur", "i", "amps", "amp", "im", "cell current", "measured current"})
_CYCLE_EXACT = frozenset({
    "cycle", "cycles", "cycle index", "cycle number", "cycle no", "cycle no.", "cyc#", "cycle #",
    "cycle id", "cycle c", "cycle count",
})  # fmt: skip
_STEP_EXACT = frozenset({"step", "step index", "step number", "step no", "step no.", "ns", "step #", "step id"})
_STATE_EXACT = frozenset({"step type", "status", "state", "md", "step mode", "step status", "step name"})

_VOLTAGE_EXCLUDE = (
    "aux", "capacity", "energy", "dv", "dq", "control", "power", "set", "limit", "range", "start",
    "end", "ece", "max", "min", "cutoff", "step", "rate",
)  # fmt: skip
_CURRENT_EXCLUDE = ("density", "control", "set", "range", "limit", "max", "min", "cutoff", "aux", "rate")

_COMMA_NUMBER = re.compile(r"^[-+]?\d+,\d+(?:[eE][-+]?\d+)?$")
_DOT_NUMBER = re.compile(r"^[-+]?\d*\.\d+(?:[eE][-+]?\d+)?$")


@dataclass(frozen=True)
class ColumnRole:
    """What a column holds: role ("time", "voltage", "current", "cycle", "step"), rank (0 best), unit."""

    role: str
    rank: int
    unit: str | None


def column_role(name: str) -> ColumnRole | None:
    """Tell what a column holds from its header.

    Parameters
    ----------
    name : str
        Header text ("Cumulative Time", "Voltage(V)", "<I>/mA", "Cycle_Index").

    Returns
    -------
    ColumnRole or None
        None for columns the voltage curve does not use.
    """
    base, unit = split_name_unit(name)
    if not base:
        return None
    for rank, names in enumerate(_TIME_BY_RANK):
        if base in names:
            return ColumnRole("time", rank, unit)
    if base in _VOLTAGE_EXACT:
        return ColumnRole("voltage", 0, unit)
    if base in _CURRENT_EXACT:
        return ColumnRole("current", 0, unit)
    if base in _CYCLE_EXACT:
        return ColumnRole("cycle", 0, unit)
    if base in _STEP_EXACT:
        return ColumnRole("step", 0, unit)
    if base in _STATE_EXACT:
        return ColumnRole("state", 0, unit)
    words = base
    if ("voltage" in words or "potential" in words) and not any(x in words for x in _VOLTAGE_EXCLUDE):
        return ColumnRole("voltage", 1, unit)
    if "current" in words and not any(x in words for x in _CURRENT_EXCLUDE):
        return ColumnRole("current", 1, unit)
    if unit is not None and base not in ("", "control") and unit_factor(unit, TIME_UNITS_S) and "time" in words:
        return ColumnRole("time", 1 if "step" not in words else 2, unit)
    return None


def _split(line: str, delimiter: str) -> list[str]:
    if delimiter == _WHITESPACE:
        return line.split()
    try:
        return next(csv.reader([line], delimiter=delimiter))
    except (csv.Error, StopIteration):
        return line.split(delimiter)


@dataclass
class _Header:
    index: int
    delimiter: str
    fields: list[str]
    roles: list[ColumnRole | None]


def find_header(lines: list[str], delimiters: tuple[str, ...] | None = None) -> tuple[_Header | None, _Header | None]:
    """The first line naming time and voltage; else the first naming either (for the error).

    Parameters
    ----------
    lines : list of str
        The first lines of a table.
    delimiters : tuple of str, optional
        Separators to try (default: tab, ``;``, ``,``, ``|``, then runs of spaces).

    Returns
    -------
    header, partial
        The header found (``index``, ``delimiter``, ``fields``, ``roles``) or
        None; the first line naming only one of the two, for the error message.
    """
    partial: _Header | None = None
    for index, line in enumerate(lines[:HEADER_SEARCH_LINES]):
        if not line.strip():
            continue
        best: _Header | None = None
        for delimiter in delimiters or (*_DELIMITERS, _WHITESPACE):
            if delimiter == _WHITESPACE and (best is not None or any(d in line for d in _DELIMITERS)):
                # Runs of spaces separate columns only in lines without a real separator.
                break
            if delimiter not in line:
                continue
            fields = _split(line, delimiter)
            if len(fields) < 2:
                continue
            roles = [column_role(f) for f in fields]
            kinds = {r.role for r in roles if r is not None}
            header = _Header(index, delimiter, fields, roles)
            if "time" in kinds and "voltage" in kinds:
                if best is None or len(fields) > len(best.fields):
                    best = header
            elif partial is None and kinds & {"time", "voltage"}:
                partial = header
        if best is not None:
            return best, partial
    return None, partial


def _prefer_clock_over_restarts(
    path: Path, time_s: np.ndarray, columns: dict, names: dict, roles: dict, decimal: str, notes: list[str]
) -> np.ndarray:
    """The date/clock column's time where the chosen time column restarts and the clock never goes back."""
    finite = time_s[np.isfinite(time_s)]
    if finite.size < 2 or not np.any(np.diff(finite) < 0):
        return time_s
    try:
        clock = _time_seconds(
            path, columns["absolute_time"], names["absolute_time"], roles["absolute_time"], decimal, []
        )
    except LiCellInputError:
        return time_s
    if not np.all(np.isfinite(clock)) or np.any(np.diff(clock) < 0):
        return time_s
    notes.append(f"time from '{names['absolute_time']}': '{names['time']}' restarts at every step")
    return clock


def _charge_positive(current: np.ndarray, states: Any, name: str, notes: list[str]) -> np.ndarray:
    """Flip the current where the file writes charge as negative, as its step types tell.

    Battery Data Format files from some writers (and a few cycler exports)
    count discharge as positive; :class:`VoltageCurve` counts charge as positive.
    """
    text = states.astype("string").str.strip().str.lower().fillna("")
    discharge = text.str.contains("dis|dchg|^d$", regex=True).to_numpy(dtype=bool, na_value=False)
    charge = (text.str.contains("charge|chg|^c$", regex=True).to_numpy(dtype=bool, na_value=False)) & ~discharge
    finite = np.isfinite(current)
    on_charge, on_discharge = current[charge & finite], current[discharge & finite]
    if on_charge.size and on_discharge.size and np.median(on_charge) < 0 < np.median(on_discharge):
        notes.append(f"current sign flipped: the file counts charge as negative (column '{name}')")
        return -current
    return current


def _unquote_lines(lines: list[str]) -> tuple[list[str], bool]:
    """Remove the double quotes around whole lines, where most lines have them.

    Novonix writes every line of its CSV as one quoted field
    (``"2022-04-11 10:58:08 AM,1,0,0.0003111,..."``), which a CSV parser
    reads as a single column.
    """

    def quoted(line: str) -> bool:
        return len(line) >= 2 and line[0] == '"' and line[-1] == '"' and '"' not in line[1:-1]

    sample = [line.strip() for line in lines[: HEADER_SEARCH_LINES + 50] if line.strip()]
    if not sample or sum(quoted(line) for line in sample) < 0.5 * len(sample):
        return lines, False
    return [line.strip()[1:-1] if quoted(line.strip()) else line for line in lines], True


_ARBIN_COLUMNS = frozenset({"data point", "test time", "step index", "cycle index"})


def _maker(preamble: list[str], fields: list[str]) -> str | None:
    """The cycler maker, where the preamble or the column names tell it."""
    text = " ".join(preamble[:40]).lower()
    if "novonix" in text:
        return "Novonix"
    bases = {split_name_unit(field)[0] for field in fields}
    if _ARBIN_COLUMNS <= bases:
        return "Arbin"
    return None


def decimal_mark(lines: list[str], delimiter: str) -> str:
    """ "," when the first 50 data lines write more decimal-comma numbers than decimal-point ones, else "."."""
    if delimiter == ",":
        return "."
    commas = dots = 0
    for line in lines[:50]:
        for field in _split(line, delimiter) if delimiter == _WHITESPACE else line.split(delimiter):
            field = field.strip()
            if _COMMA_NUMBER.match(field):
                commas += 1
            elif _DOT_NUMBER.match(field):
                dots += 1
    return "," if commas > dots else "."


def _is_number_column(series: Any) -> bool:
    """True when the CSV parser already read the column as numbers (the fast path)."""
    kind = getattr(series.dtype, "kind", "O")
    return kind in "iuf"


def _numeric(series: Any, decimal: str = ".") -> np.ndarray:
    import pandas as pd

    if _is_number_column(series):
        return series.to_numpy(dtype=float, na_value=np.nan)
    if decimal == ",":
        series = series.astype("string").str.replace(",", ".", regex=False)
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _nonempty(series: Any) -> np.ndarray:
    if _is_number_column(series) or getattr(series.dtype, "kind", "O") in "Mm":
        return series.notna().to_numpy(dtype=bool)
    return (series.notna() & (series.astype("string").str.strip() != "")).to_numpy(dtype=bool, na_value=False)


def _example(series: Any, mask: np.ndarray) -> str:
    values = series[mask]
    return repr(str(values.iloc[0]))[:40] if len(values) else "''"


def _time_seconds(path: Path, series: Any, name: str, role: ColumnRole, decimal: str, notes: list[str]) -> np.ndarray:
    import pandas as pd

    filled = _nonempty(series)
    if not filled.any():
        return np.full(len(series), np.nan)  # checked_curve: "no finite time values"
    kind = getattr(series.dtype, "kind", "O")
    if kind == "m":  # durations (a spreadsheet's elapsed time)
        return series.dt.total_seconds().to_numpy(dtype=float, na_value=np.nan)
    if kind == "M":  # dates read as dates (a spreadsheet's date cells)
        seconds = (series - series[series.notna()].iloc[0]).dt.total_seconds()
        notes.append(f"time from the dates in '{name}'")
        return seconds.to_numpy(dtype=float, na_value=np.nan)
    if role.rank != _ABSOLUTE_TIME_RANK or unit_factor(role.unit, TIME_UNITS_S) is not None:
        # (an absolute time with a unit is a number: "Unix Time / s")
        numbers = _numeric(series, decimal)
        if filled.any() and np.isfinite(numbers[filled]).mean() >= 0.9:
            factor = unit_factor(role.unit, TIME_UNITS_S)
            if factor is None:
                factor = 1.0
                if role.unit:
                    notes.append(f"time unit '{role.unit}' not understood; assumed seconds")
                else:
                    notes.append(f"time column '{name}' has no unit; assumed seconds")
            return numbers * factor
        values = series.to_numpy(dtype=object)
        if looks_like_durations(values[filled]):
            return parse_durations_s(values)
    text = series.astype("string").str.strip()
    stamps = pd.to_datetime(text, errors="coerce", format="mixed")
    if filled.any() and stamps[filled].notna().mean() >= 0.9:
        seconds = (stamps - stamps[stamps.notna()].iloc[0]).dt.total_seconds()
        notes.append(f"time from the dates in '{name}'")
        return seconds.to_numpy(dtype=float, na_value=np.nan)
    raise LiCellInputError(
        path, f"time column '{name}' holds neither numbers, durations nor dates (e.g. {_example(series, filled)})"
    )


def _unit_row(columns: dict[str, Any]) -> dict[str, str] | None:
    """Units written in the first data row (a second header line), if that is what it is."""
    tables = {"time": TIME_UNITS_S, "voltage": VOLTAGE_UNITS_V, "current": CURRENT_UNITS_MA}
    units: dict[str, str] = {}
    for role, series in columns.items():
        if role in tables and len(series):
            cell = str(series.iloc[0]).strip()
            if unit_factor(cell, tables[role]) is not None:
                units[role] = cell
    return units if {"time", "voltage"} <= set(units) else None


def read_table(path: str | os.PathLike, fmt: str | None = None) -> VoltageCurve:
    """Read a CSV/TSV voltage table.

    Parameters
    ----------
    path : str or PathLike
        The file.
    fmt : str, optional
        Detected format ("csv" or "tsv"); the delimiter actually found decides.

    Returns
    -------
    VoltageCurve
        Time in minutes from the first row, voltage in V, current in mA when a
        current column exists, cycle and step when named. ``metadata`` holds
        ``columns_used`` (role -> header), ``delimiter``, ``decimal``,
        ``header_line`` (1-based) and ``notes`` on any assumed unit.

    Raises
    ------
    LiCellInputError
        No header with a time and a voltage column ("no time column found
        (columns: ...)"), unparsable rows, non-numeric voltage.
    """
    import pandas as pd

    p = Path(path)
    text, encoding = read_text_file(p)
    lines = split_lines(text)
    notes: list[str] = []
    lines, unquoted = _unquote_lines(lines)
    if unquoted:
        notes.append("every line was wrapped in double quotes (as Novonix writes); quotes removed")
    header, partial = find_header(lines)
    if header is None:
        if partial is not None:
            kinds = {r.role for r in partial.roles if r is not None}
            missing = "time" if "time" not in kinds else "voltage"
            listing = ", ".join(f.strip() for f in partial.fields)
            hint = (
                "name it e.g. 'time_s', 'Test Time (h)' or 'Cumulative Time'"
                if missing == "time"
                else "name it e.g. 'voltage_v', 'Voltage(V)' or 'Ewe/V'"
            )
            raise LiCellInputError(p, f"no {missing} column found (columns: {listing})", hint)
        raise LiCellInputError(
            p,
            f"no header line naming a time and a voltage column in the first {HEADER_SEARCH_LINES} lines",
            "a table needs a header such as 'time_s,voltage_v,current_ma'",
        )

    body = lines[header.index :]
    lead = _leading_empty_fields(header.fields)
    if lead and header.delimiter != _WHITESPACE:
        # Neware's nested export: cycle rows, step rows (one separator in
        # front) and record rows (two in front), each level with its header.
        # The record level is the voltage curve.
        prefix = header.delimiter * lead
        records = [
            line for line in body[1:] if line.startswith(prefix) and not line.startswith(prefix + header.delimiter)
        ]
        # (A table written with a nameless index column also starts with an
        # empty field, but its rows do not: it is left as it is.)
        if len(records) >= 0.5 * (len(body) - 1) and len(records) < len(body) - 1:
            notes.append(
                f"nested export: {len(records)} record rows read, {len(body) - 1 - len(records)} "
                "cycle/step summary rows skipped"
            )
            body = [body[0], *records]
    decimal = decimal_mark(body[1:], header.delimiter)
    positions = sorted(position for position, _, _ in _picks(header).values())
    try:
        frame = pd.read_csv(
            io.StringIO("\n".join(body)),
            sep=r"\s+" if header.delimiter == _WHITESPACE else header.delimiter,
            header=0,
            names=[f"c{i}" for i in range(len(header.fields))],
            usecols=positions,
            index_col=False,
            # Numbers are parsed by the C parser (fast); columns holding text
            # (dates, clock durations, "N/A") stay text and are handled below.
            keep_default_na=False,
            na_values=[""],
            decimal=decimal if header.delimiter not in (",", _WHITESPACE) else ".",
            skipinitialspace=True,
            low_memory=False,
        )
    except (ValueError, IndexError, csv.Error, pd.errors.ParserError) as exc:
        message = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise LiCellInputError(p, f"malformed table ({message})") from exc
    if len(frame) == 0:
        raise LiCellInputError(p, "no data rows", "the table has a header but no measurements")
    meta: dict[str, Any] = {"reader": "napari-licell table (pandas)", "encoding": encoding}
    if header.index:
        meta["preamble"] = [line for line in lines[: min(header.index, 50)] if line.strip()]
    return curve_from_table(
        p, TSV if header.delimiter == "\t" else CSV, header, frame, lines[: header.index], decimal, meta, notes
    )


def _leading_empty_fields(fields: list[str]) -> int:
    """How many empty fields the header line starts with (the level of a nested export)."""
    count = 0
    for field in fields:
        if field.strip():
            break
        count += 1
    return count if count < len(fields) else 0


def _picks(header: _Header) -> dict[str, tuple[int, str, ColumnRole]]:
    """Columns to use, by role: (position in the header line, name, role); the best rank wins."""
    picks: dict[str, tuple[int, str, ColumnRole]] = {}
    for position, (field, role) in enumerate(zip(header.fields, header.roles)):
        if role is None:
            continue
        if role.role not in picks or role.rank < picks[role.role][2].rank:
            picks[role.role] = (position, field.strip(), role)
    # A date/clock column besides a relative one: the fallback where the
    # relative time restarts at every step (Neware's "Relative Time").
    if "time" in picks and picks["time"][2].rank != _ABSOLUTE_TIME_RANK:
        for position, (field, role) in enumerate(zip(header.fields, header.roles)):
            if role is not None and role.role == "time" and role.rank == _ABSOLUTE_TIME_RANK:
                picks["absolute_time"] = (position, field.strip(), role)
                break
    return picks


def curve_from_table(
    path: Path,
    fmt: str,
    header: _Header,
    frame: Any,
    preamble: list[str],
    decimal: str,
    meta: dict[str, Any],
    notes: list[str],
) -> VoltageCurve:
    """Turn the columns of a table (CSV text or a spreadsheet) into a :class:`VoltageCurve`.

    Parameters
    ----------
    path : Path
        The file (for errors).
    fmt : str
        Format string of the curve.
    header : header from :func:`find_header`
        Names and roles of the columns.
    frame : pandas.DataFrame
        The data rows, column ``c<i>`` for the i-th header field (text, or
        the cell values of a spreadsheet).
    preamble : list of str
        Lines above the header (they may name the maker).
    decimal : str
        "." or ",".
    meta, notes
        Reader metadata and notes so far; completed here.
    """
    p = path
    picks = _picks(header)
    columns = {role: frame[f"c{position}"] for role, (position, _, _) in picks.items()}
    names = {role: name for role, (_, name, _) in picks.items()}
    roles = {role: r for role, (_, _, r) in picks.items()}

    maker = _maker(preamble, header.fields)
    if maker == "Arbin":
        # Arbin's CSV exports name Test_Time, Current and Voltage without
        # units: they are s, A and V.
        for role, unit in (("time", "s"), ("current", "A"), ("voltage", "V")):
            if role in roles and roles[role].unit is None:
                roles[role] = ColumnRole(roles[role].role, roles[role].rank, unit)
        notes.append("Arbin CSV export: Test_Time in s, Current in A, Voltage in V (Arbin's units)")
    units = _unit_row(columns)
    if units is not None:
        columns = {role: series.iloc[1:].reset_index(drop=True) for role, series in columns.items()}
        roles = {role: ColumnRole(r.role, r.rank, r.unit or units.get(role)) for role, r in roles.items()}
        notes.append("units read from the second header row")

    time_s = _time_seconds(p, columns["time"], names["time"], roles["time"], decimal, notes)
    if "absolute_time" in columns:
        time_s = _prefer_clock_over_restarts(p, time_s, columns, names, roles, decimal, notes)
        for mapping in (columns, names, roles):
            mapping.pop("absolute_time", None)

    voltage = _numeric(columns["voltage"], decimal)
    filled = _nonempty(columns["voltage"])
    if _is_number_column(columns["voltage"]):
        is_number = np.ones(voltage.size, dtype=bool)
    else:
        spelled_nan = columns["voltage"].astype("string").str.strip().str.lower().isin(["nan", "+nan", "-nan"])
        is_number = ~np.isnan(voltage) | spelled_nan.to_numpy(dtype=bool, na_value=False)
    if filled.any() and is_number[filled].mean() < 0.5:
        raise LiCellInputError(
            p, f"voltage column '{names['voltage']}' holds no numbers (e.g. {_example(columns['voltage'], filled)})"
        )
    v_factor = unit_factor(roles["voltage"].unit, VOLTAGE_UNITS_V)
    if v_factor is None:
        finite = voltage[np.isfinite(voltage)]
        if finite.size and np.max(np.abs(finite)) > 50.0:
            v_factor = 1e-3
            notes.append(f"voltage column '{names['voltage']}' has no unit and values above 50: taken as mV")
        else:
            v_factor = 1.0
            notes.append(f"voltage column '{names['voltage']}' has no unit; assumed V")
    voltage = voltage * v_factor

    current = None
    if "current" in columns:
        c_factor = unit_factor(roles["current"].unit, CURRENT_UNITS_MA)
        if c_factor is None:
            c_factor = 1.0
            notes.append(f"current column '{names['current']}' has no unit; assumed mA")
        current = _numeric(columns["current"], decimal) * c_factor

    if current is not None and "state" in columns:
        current = _charge_positive(current, columns["state"], names["state"], notes)

    meta = {
        **meta,
        "columns_used": names,
        "columns": [f.strip() for f in header.fields],
        "delimiter": header.delimiter,
        "decimal": decimal,
        "header_line": header.index + 1,
        "notes": notes,
    }
    if maker is not None:
        meta["maker"] = maker
    return checked_curve(
        p,
        fmt,
        time_s,
        voltage,
        current,
        _numeric(columns["cycle"], decimal) if "cycle" in columns else None,
        _numeric(columns["step"], decimal) if "step" in columns else None,
        meta,
    )
