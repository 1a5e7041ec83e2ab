"""Excel workbooks that cyclers export (Arbin, Neware, LANHE/Landt), read with python-calamine.

Arbin's MITS/DataWatcher export puts a ``Global_Info`` sheet first and the
record in ``Channel_<n>_1`` (continued in ``Channel_<n>_2`` ... past Excel's
row limit); Neware BTSDA puts ``Info``/``Cycle``/``Statis`` sheets before the
``Detail``/``record`` sheet; LANHE puts ``Cycle-Tab``/``Step-Tab`` before
``Record-Tab``. Whatever the names, the record is the sheet (or run of
sheets with the same header) whose header names a time and a voltage column
and that holds the most rows; its columns are then mapped by name and unit
exactly as for CSV tables (:mod:`.readers_table`).

python-calamine (Rust calamine) reads .xlsx and old .xls alike, several
times faster than openpyxl.
"""

from __future__ import annotations

import datetime as _dt
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import LiCellInputError
from .readers_table import HEADER_SEARCH_LINES, _picks, curve_from_table, find_header
from .units import parse_durations_s
from .voltage_curve import VoltageCurve
from .xlsx_fast import NotFast, SheetHead, fastexcel_version, load_columns, sheet_heads

__all__ = ["read_excel", "cell_text"]


def cell_text(value: Any) -> str:
    """A cell as the text a CSV export would hold (for finding the header line)."""
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, _dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (_dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, _dt.timedelta):
        total = value.total_seconds()
        hours, rest = divmod(total, 3600.0)
        minutes, seconds = divmod(rest, 60.0)
        return f"{int(hours)}:{int(minutes):02d}:{seconds:09.6f}"
    return str(value).replace("\t", " ").replace("\r", " ").replace("\n", " ")


def _cell_value(value: Any) -> Any:
    """Cells as the table reader takes them: clock times and durations as "H:MM:SS" text.

    Neware writes its "Total Time" as Excel times of day (datetime.time), past
    24 h as durations; both are elapsed time, not a date.
    """
    if isinstance(value, (_dt.time, _dt.timedelta)):
        return cell_text(value)
    return value


def _goes_back(previous: Any, first: Any) -> bool:
    """True when a sheet's first time value lies before the previous sheet's last one."""
    if previous is None:
        return False
    try:
        return float(first) < float(previous)
    except (TypeError, ValueError):
        pass
    if isinstance(first, str) and isinstance(previous, str):
        before, after = parse_durations_s([previous, first])  # clock text: "25:03:10"
        return bool(np.isfinite(before) and np.isfinite(after) and after < before)
    if isinstance(first, _dt.datetime) and isinstance(previous, _dt.datetime):
        return first < previous
    if isinstance(first, _dt.timedelta) and isinstance(previous, _dt.timedelta):
        return first < previous
    return False


def _calamine_version() -> str:
    try:
        from importlib.metadata import version

        return version("python-calamine")
    except Exception:  # noqa: BLE001 - only for the report
        return "?"


def read_excel(path: str | os.PathLike, fmt: str) -> VoltageCurve:
    """Read the record sheet of a cycler's Excel export.

    Parameters
    ----------
    path : str or PathLike
        The .xlsx/.xlsm/.xls workbook.
    fmt : str
        The detected format ("excel-xlsx" or "excel-xls").

    Returns
    -------
    VoltageCurve
        As :func:`~napari_licell.echem.readers_table.read_table`;
        ``metadata["sheets"]`` names the sheet(s) read,
        ``metadata["other_sheets"]`` the others and ``metadata["reader"]``
        the library that read the cells: fastexcel (only the used columns,
        as Arrow arrays; .xlsx) or python-calamine (every cell; .xls, and
        .xlsx that the fast path cannot vouch for).

    Raises
    ------
    LiCellInputError
        A damaged workbook, or no sheet with a time and a voltage column.
    """
    p = Path(path)
    fallback_note = None
    if fmt == "excel-xlsx":
        try:
            return _read_xlsx_fast(p, fmt)
        except LiCellInputError as exc:
            # the cell-by-cell read decides: its error, or its curve with a note
            fallback_note = f"read cell by cell with python-calamine (the column read said: {exc.problem})"
        except NotFast as exc:
            fallback_note = f"read cell by cell with python-calamine ({exc})"
        except Exception as exc:  # noqa: BLE001 - fastexcel raises its own errors on odd workbooks
            fallback_note = f"read cell by cell with python-calamine (fastexcel: {type(exc).__name__}: {exc})"
    curve = _read_calamine(p, fmt)
    if fallback_note is not None:
        curve.metadata.setdefault("notes", []).append(fallback_note)
    return curve


def _read_xlsx_fast(p: Path, fmt: str) -> VoltageCurve:
    """The record's used columns through fastexcel (see :mod:`.xlsx_fast`)."""
    import pandas as pd

    names, heads = sheet_heads(p)
    if not heads:
        raise NotFast("no sheet names a time and a voltage column")
    groups: dict[tuple[str, ...], list[SheetHead]] = {}
    for head in heads:
        groups.setdefault(tuple(f.strip() for f in head.header.fields), []).append(head)
    group = max(groups.values(), key=lambda g: sum(h.n_rows_estimate for h in g))
    header = group[0].header
    time_at = _picks(header)["time"][0]
    used: list[str] = []
    notes: list[str] = []
    parts = []
    last_time: Any = None
    for name, frame in load_columns(p, group):
        if frame.empty:
            continue
        times = frame[f"c{time_at}"]
        if used and _goes_back(last_time, times.iloc[0]):
            skipped = [h.name for h in group if h.name not in used]
            notes.append(
                f"sheets {', '.join(skipped)} have the same columns but their time starts again "
                "(another channel or test): not read"
            )
            break
        parts.append(frame)
        used.append(name)
        last_time = times.iloc[-1]
    if not parts:
        raise LiCellInputError(p, "no data rows", f"sheet '{group[0].name}' has a header but no measurements")
    frame = parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)
    meta = {
        "reader": f"fastexcel {fastexcel_version()}",
        "sheets": used,
        "other_sheets": [name for name in names if name not in used],
    }
    return curve_from_table(p, fmt, header, frame, preamble=[], decimal=".", meta=meta, notes=notes)


def _read_calamine(p: Path, fmt: str) -> VoltageCurve:
    """Every cell of the workbook through python-calamine (.xls, and the .xlsx fallback)."""
    import pandas as pd
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(p))
        names = list(workbook.sheet_names)
    except Exception as exc:
        raise LiCellInputError(
            p,
            f"damaged or unsupported Excel workbook ({type(exc).__name__}: {exc})",
            "save it again from Excel, or export the record sheet as CSV",
        ) from exc

    # Sheets whose header names time and voltage, grouped by that header.
    found: list[tuple[str, Any, Any]] = []
    partial = None
    for name in names:
        try:
            sheet = workbook.get_sheet_by_name(name)
            head = sheet.to_python(skip_empty_area=False, nrows=HEADER_SEARCH_LINES)
        except Exception as exc:
            raise LiCellInputError(p, f"sheet '{name}' cannot be read ({type(exc).__name__}: {exc})") from exc
        lines = ["\t".join(cell_text(v) for v in row) for row in head]
        header, near = find_header(lines, delimiters=("\t",))
        if header is not None:
            found.append((name, sheet, header))
        elif partial is None and near is not None:
            partial = (name, near)
    if not found:
        detail = f"sheets: {', '.join(names) or 'none'}"
        if partial is not None:
            detail += f"; sheet '{partial[0]}' has columns {', '.join(f.strip() for f in partial[1].fields[:15])}"
        raise LiCellInputError(
            p,
            f"no sheet with a time and a voltage column ({detail})",
            "the record sheet needs a header such as 'Test_Time(s)', 'Voltage(V)'",
        )

    groups: dict[tuple[str, ...], list[tuple[str, Any, Any]]] = {}
    for name, sheet, header in found:
        groups.setdefault(tuple(f.strip() for f in header.fields), []).append((name, sheet, header))

    def n_rows(group: list[tuple[str, Any, Any]]) -> int:
        return sum(max(int(sheet.height) - header.index - 1, 0) for _, sheet, header in group)

    group = max(groups.values(), key=n_rows)
    header = group[0][2]
    n_fields = len(header.fields)
    time_at = _picks(header)["time"][0]
    rows: list[list[Any]] = []
    used: list[str] = []
    notes: list[str] = []
    last_time: Any = None
    for name, sheet, sheet_header in group:
        data = [
            [_cell_value(v) for v in row[:n_fields]] + [""] * (n_fields - len(row))
            for row in sheet.to_python(skip_empty_area=False)[sheet_header.index + 1 :]
            if any(v != "" for v in row)
        ]
        if not data:
            continue
        # A sheet with the same columns continues the record (Arbin's
        # Channel_1_1, Channel_1_2 past Excel's row limit) only if its time
        # goes on; otherwise it is another channel or test, not read.
        if used and _goes_back(last_time, data[0][time_at]):
            skipped = [n for n, _, _ in group if n not in used]
            notes.append(
                f"sheets {', '.join(skipped)} have the same columns but their time starts again "
                "(another channel or test): not read"
            )
            break
        rows.extend(data)
        used.append(name)
        last_time = data[-1][time_at]
    if not rows:
        raise LiCellInputError(p, "no data rows", f"sheet '{group[0][0]}' has a header but no measurements")
    frame = pd.DataFrame(rows, columns=[f"c{i}" for i in range(n_fields)], dtype=object)
    meta = {
        "reader": f"python-calamine {_calamine_version()}",
        "sheets": used,
        "other_sheets": [name for name in names if name not in used],
    }
    return curve_from_table(p, fmt, header, frame, preamble=[], decimal=".", meta=meta, notes=notes)
