"""BioLogic EC-Lab files: binary .mpr (through galvani) and text .mpt.

EC-Lab names its columns the same way in both ("time/s", "Ewe/V", "I/mA",
"control/V/mA", "half cycle", "Ns"), so one function turns either into a
:class:`VoltageCurve`. Where no measured current was recorded (GCPL often
stores only the set point "control/V/mA"), the current is taken from the set
point in galvanostatic mode, 0 at rest, and left unknown (NaN) in
potentiostatic mode, where the set point is a voltage.
"""

from __future__ import annotations

import io
import os
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import LiCellInputError
from .curve_checks import checked_curve
from .cycler_formats import BIOLOGIC_MPR, BIOLOGIC_MPT
from .text_files import read_text_file, split_lines
from .voltage_curve import VoltageCurve

__all__ = ["read_biologic_mpr", "read_biologic_mpt"]

_VOLTAGE_COLUMNS = ("Ewe/V", "<Ewe>/V", "Ecell/V", "<Ecell>/V", "Ewe-Ece/V")
_MEASURED_CURRENT_COLUMNS = ("I/mA", "<I>/mA")
_SET_CURRENT_COLUMNS = ("control/mA", "control/V/mA")

# EC-Lab "mode": 1 galvanostatic (set point is a current), 2 potentiostatic
# (set point is a voltage), 3 rest (no current).
_MODE_GALVANO, _MODE_POTENTIO, _MODE_REST = 1, 2, 3

_NB_HEADER = re.compile(r"^Nb header lines\s*:\s*(\d+)\s*$")
_AREA = re.compile(r"^Electrode surface area\s*:\s*([-+0-9.,Ee]+)\s*cm", re.MULTILINE)
_ACQ_START = re.compile(r"^Acquisition started on\s*:\s*(.+?)\s*$", re.MULTILINE)


def _biologic_curve(
    path: Path,
    fmt: str,
    get: Callable[[str], np.ndarray | None],
    columns: tuple[str, ...],
    mode: np.ndarray | None,
    meta: dict[str, Any],
) -> VoltageCurve:
    """Pick time, voltage, current, cycle and step from EC-Lab columns."""
    listing = ", ".join(columns)
    time_s = get("time/s")
    if time_s is None:
        raise LiCellInputError(path, f"no time column found (columns: {listing})", "EC-Lab writes 'time/s'")
    voltage_name = next((name for name in _VOLTAGE_COLUMNS if name in columns), None)
    if voltage_name is None:
        raise LiCellInputError(path, f"no voltage column found (columns: {listing})", "expected Ewe/V or Ecell/V")
    meta["voltage_column"] = voltage_name

    current = None
    measured = next((name for name in _MEASURED_CURRENT_COLUMNS if name in columns), None)
    set_point = next((name for name in _SET_CURRENT_COLUMNS if name in columns), None)
    if measured is not None:
        current = np.asarray(get(measured), dtype=float)
        meta["current_column"] = measured
    elif set_point is not None and mode is not None:
        control = np.asarray(get(set_point), dtype=float)
        mode = np.asarray(mode)
        current = np.where(mode == _MODE_GALVANO, control, np.nan)
        current = np.where(mode == _MODE_REST, 0.0, current)
        meta["current_column"] = f"{set_point} (set point: galvanostatic rows; 0 at rest)"
        if np.any(mode == _MODE_POTENTIO):
            meta.setdefault("notes", []).append("no measured current: current unknown (NaN) in potentiostatic rows")

    cycle = None
    if "cycle number" in columns:
        cycle = get("cycle number")
    elif "half cycle" in columns:
        cycle = np.asarray(get("half cycle")) // 2
        meta["cycle_from"] = "half cycle // 2 (EC-Lab charge/discharge alternance)"
    step = get("Ns") if "Ns" in columns else None
    return checked_curve(path, fmt, time_s, get(voltage_name), current, cycle, step, meta)


#: Data column IDs of newer EC-Lab versions that galvani 0.5 does not know:
#: ID -> (column name, numpy dtype). The byte width is what matters for
#: reading the record; names follow EC-Lab's .mpt headers. Newer EC-Lab
#: writes the low byte of IDs that older files (and galvani's table) number
#: 256 higher (yadg reads every ID modulo 256 since its 2025 "MPR column id
#: modulo 256" change): 175-177 are galvani's 431-433, the impedance between
#: working and counter electrode of a PEIS/GEIS with Ece recorded (yadg's
#: mpr_columns: 175 "|Zwe-ce|" f4 in Ohm). Checked against EC-Lab's own .mpt
#: export of the same runs (tests/data/cycler/biologic_mb.issue_223 and
#: biologic_peis.issue_225.with_ece). Other unknown IDs below 256 take
#: galvani's entry for ID + 256, where it has one (:func:`_extra_ids`).
EXTRA_MPR_COLUMN_IDS: dict[int, tuple[str, str]] = {
    112: ("Energy we/W.h", "<f8"),
    115: ("Energy ce charge/W.h", "<f8"),
    116: ("Energy ce discharge/W.h", "<f8"),
    175: ("|Zwe-ce|/Ohm", "<f4"),
    176: ("Re(Zwe-ce)/Ohm", "<f4"),
    177: ("-Im(Zwe-ce)/Ohm", "<f4"),
    182: ("step time/s", "<f8"),
    185: ("<Ece>/V", "<f4"),
    215: ("<Ece>/V", "<f4"),
}

#: ID 174 is "<Ewe>/V" in galvani's table, but beside Ewe (6) or <Ewe> (77)
#: it is the phase of Zwe-ce (yadg's conflict_columns; EC-Lab's .mpt of the
#: same run has "Phase(Zwe-ce)/deg" there and one <Ewe>/V).
_ID_174_BESIDE_EWE = "Phase(Zwe-ce)/deg"


#: Low IDs where galvani's ID + 256 and yadg's table disagree on the width:
#: yadg reads 243-246 as |Ece h3|-|Ece h6| (4-byte floats), galvani's 499-502
#: are Q discharge, step time, Efficiency, Capacity (8-byte floats). Without a
#: file to tell which newer EC-Lab means, they stay unknown (the error names
#: the ID) rather than be read with a guessed width.
_NOT_BY_THE_256_RULE = frozenset({243, 244, 245, 246})


def _extra_ids(table: dict[int, Any]) -> dict[int, tuple[str, str]]:
    """IDs to add to galvani's table for one read: ours, then ID + 256 of galvani's for the rest below 256."""
    extra = {i: v for i, v in EXTRA_MPR_COLUMN_IDS.items() if i not in table}
    for high, entry in table.items():
        low = high - 256
        if 0 < low < 256 and low not in table and low not in extra and low not in _NOT_BY_THE_256_RULE:
            extra[low] = entry
    return extra


_UNKNOWN_ID = re.compile(r"Column ID (\d+) ")
_GALVANI_TABLE_LOCK = threading.Lock()


def _galvani_label() -> str:
    try:
        from importlib.metadata import version

        return f"galvani {version('galvani')}"
    except Exception:  # noqa: BLE001 - only for the report
        return "galvani"


def _parse_mpr(path: Path) -> tuple[Any, tuple[int, ...]]:
    """galvani's MPRfile; where it stops at a column ID it does not know and
    :data:`EXTRA_MPR_COLUMN_IDS` has it, parse again with those IDs added to
    galvani's table (removed again afterwards)."""
    from galvani import BioLogic

    try:
        with open(path, "rb") as handle:
            return BioLogic.MPRfile(handle), ()
    except NotImplementedError as exc:
        match = _UNKNOWN_ID.search(str(exc))
        if match is None or int(match.group(1)) not in _extra_ids(BioLogic.VMPdata_colID_dtype_map):
            raise
    table = BioLogic.VMPdata_colID_dtype_map
    with _GALVANI_TABLE_LOCK:
        extra = _extra_ids(table)
        added = tuple(extra)
        try:
            table.update(extra)
            with open(path, "rb") as handle:
                mpr = BioLogic.MPRfile(handle)
            used = {int(c) for c in np.asarray(getattr(mpr, "cols", []), dtype=np.int64).ravel()}
        finally:
            for i in added:
                table.pop(i, None)
    return mpr, tuple(i for i in added if not used or i in used)


def read_biologic_mpr(path: str | os.PathLike) -> VoltageCurve:
    """Read a BioLogic EC-Lab binary .mpr file with galvani.

    Parameters
    ----------
    path : str or PathLike
        The .mpr file.

    Returns
    -------
    VoltageCurve
        Time in minutes from the first point, voltage ``Ewe`` in V, current in
        mA, cycle from "half cycle" // 2, step from "Ns". ``metadata`` holds
        ``start_time`` (acquisition start from the LOG module, ISO text).

    Raises
    ------
    LiCellInputError
        Truncated or damaged file, or columns galvani does not know.
    """
    from galvani.BioLogic import MPR_MAGIC

    p = Path(path)
    content = p.read_bytes()
    if len(content) < len(MPR_MAGIC):
        raise LiCellInputError(p, "truncated BioLogic .mpr (the file ends inside its header)")
    if not content.startswith(MPR_MAGIC):
        raise LiCellInputError(p, "damaged BioLogic .mpr (the file header is not EC-Lab's)")
    if b"MODULEVMP data" not in content:
        raise LiCellInputError(
            p, "truncated BioLogic .mpr (no data module)", "copy the file again from the EC-Lab computer"
        )
    try:
        mpr, extra_ids = _parse_mpr(p)
    except OSError as exc:
        if "end of file" in str(exc).lower():
            raise LiCellInputError(
                p,
                "truncated BioLogic .mpr (the file ends inside one of its modules)",
                "copy the file again from the EC-Lab computer",
            ) from exc
        raise LiCellInputError(p, f"cannot be read ({exc})") from exc
    except NotImplementedError as exc:
        raise LiCellInputError(
            p,
            f"BioLogic .mpr with a column galvani does not know ({exc})",
            "export it from EC-Lab as .mpt text and read that",
        ) from exc
    except (ValueError, AssertionError, IndexError, KeyError, TypeError) as exc:
        raise LiCellInputError(
            p,
            f"damaged or unsupported BioLogic .mpr ({exc or type(exc).__name__})",
            "export it from EC-Lab as .mpt text and read that",
        ) from exc

    data = mpr.data
    ids = [int(c) for c in np.asarray(getattr(mpr, "cols", []), dtype=np.int64).ravel()]
    if 174 in ids and (6 in ids or 77 in ids):
        data = _rename_id_174(data, ids)
    columns = tuple(data.dtype.names or ())
    mode = mpr.get_flag("mode") if "mode" in mpr.flags_dict else None
    meta: dict[str, Any] = {"columns": list(columns), "mpr_version": int(mpr.version), "reader": _galvani_label()}
    if extra_ids:
        meta["reader"] += " + napari-licell column IDs " + ", ".join(str(i) for i in extra_ids)
        meta["extra_column_ids"] = list(extra_ids)
    timestamp = getattr(mpr, "timestamp", None)
    if timestamp is not None:
        meta["start_time"] = timestamp.isoformat()

    def get(name: str) -> np.ndarray | None:
        return np.asarray(data[name]) if name in columns else None

    return _biologic_curve(p, BIOLOGIC_MPR, get, columns, mode, meta)


def _rename_id_174(data: np.ndarray, ids: list[int]) -> np.ndarray:
    """Name column 174 as the phase of Zwe-ce where Ewe or <Ewe> is also recorded.

    galvani names fields in column order, flags first where a flag ID comes
    first, and a repeated name with " 2": the field of ID 174 is found by
    walking the IDs as galvani does.
    """
    from galvani import BioLogic

    names = list(data.dtype.names or ())
    table = {**_extra_ids(BioLogic.VMPdata_colID_dtype_map), **BioLogic.VMPdata_colID_dtype_map}
    counts: dict[str, int] = {}
    field_of: dict[int, str] = {}
    for col in ids:
        if col in BioLogic.VMPdata_colID_flag_map:
            continue
        entry = table.get(col)
        if entry is None:
            return data
        name = entry[0]
        counts[name] = counts.get(name, 0) + 1
        field_of[col] = name if counts[name] == 1 else f"{name} {counts[name]}"
    field = field_of.get(174)
    if field not in names or _ID_174_BESIDE_EWE in names:
        return data
    renamed = data.view(np.ndarray).copy()
    renamed.dtype.names = tuple(_ID_174_BESIDE_EWE if n == field else n for n in names)
    if field == "<Ewe>/V" and "<Ewe>/V 2" in names:
        # 77 came after 174: its values are the mean Ewe
        renamed.dtype.names = tuple("<Ewe>/V" if n == "<Ewe>/V 2" else n for n in renamed.dtype.names)
    return renamed


def read_biologic_mpt(path: str | os.PathLike) -> VoltageCurve:
    """Read a BioLogic EC-Lab text .mpt export.

    Handles both locales EC-Lab writes: decimal point or decimal comma
    ("3,4228721E+000"), UTF-8 or latin-1 ("µA").

    Parameters
    ----------
    path : str or PathLike
        The .mpt file.

    Returns
    -------
    VoltageCurve
        As :func:`read_biologic_mpr`; ``metadata`` also holds
        ``acquisition_start`` as written and ``electrode_area_cm2`` when set.

    Raises
    ------
    LiCellInputError
        No "Nb header lines" line, a header count beyond the file, no data
        rows, or missing time/voltage columns.
    """
    import pandas as pd

    p = Path(path)
    text, encoding = read_text_file(p)
    lines = split_lines(text)
    match = _NB_HEADER.match(lines[1].strip()) if len(lines) > 1 else None
    if match is None:
        raise LiCellInputError(
            p,
            "EC-Lab text file without a 'Nb header lines' line",
            "export again from EC-Lab with the header, or save the table as plain TSV",
        )
    n_header = int(match.group(1))
    if n_header < 3 or n_header > len(lines):
        raise LiCellInputError(p, f"truncated EC-Lab .mpt (header says {n_header} lines, file has {len(lines)})")
    header_text = "\n".join(lines[: n_header - 1])
    body = lines[n_header - 1 :]
    if len(body) < 2:
        raise LiCellInputError(p, "no data rows", "the EC-Lab file has a header but no measurements")
    first_row = body[1].split("\t")
    decimal = "," if any("," in field for field in first_row) else "."
    try:
        frame = pd.read_csv(io.StringIO("\n".join(body)), sep="\t", decimal=decimal, low_memory=False)
    except (ValueError, pd.errors.ParserError) as exc:
        raise LiCellInputError(p, f"malformed EC-Lab data table ({exc})") from exc
    frame = frame.loc[:, [c for c in frame.columns if not str(c).startswith("Unnamed:")]]
    frame.columns = [str(c).strip() for c in frame.columns]
    columns = tuple(frame.columns)

    meta: dict[str, Any] = {"columns": list(columns), "encoding": encoding, "decimal": decimal}
    started = _ACQ_START.search(header_text)
    if started:
        meta["acquisition_start"] = started.group(1)
    area = _AREA.search(header_text)
    if area:
        try:
            value = float(area.group(1).replace(",", "."))
        except ValueError:
            value = 0.0
        if value > 0:
            meta["electrode_area_cm2"] = value

    def get(name: str) -> np.ndarray | None:
        if name not in columns:
            return None
        return pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float, na_value=np.nan)

    mode = get("mode")
    return _biologic_curve(p, BIOLOGIC_MPT, get, columns, mode, meta)
