"""Arbin .res files (a Microsoft Jet/Access database) through mdbtools' ``mdb-export``.

The measurements are in the table ``Channel_Normal_Table``: Test_Time (s),
Voltage (V), Current (A), Cycle_Index, Step_Index, one row per Data_Point.
mdbtools is a system package (Debian/Ubuntu ``apt install mdbtools``,
macOS ``brew install mdbtools``); without it .res files cannot be read here.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import LiCellInputError
from .curve_checks import checked_curve
from .cycler_formats import ARBIN_RES
from .voltage_curve import VoltageCurve

__all__ = ["read_arbin_res", "DATA_TABLE", "MDB_EXPORT_TIMEOUT_S"]

#: The Arbin table holding the measurements.
DATA_TABLE = "Channel_Normal_Table"

#: mdb-export is killed after this many seconds (a damaged database can make it spin).
MDB_EXPORT_TIMEOUT_S = 300

_INSTALL_HINT = "install mdbtools (apt install mdbtools, brew install mdbtools) to read Arbin .res files"

# Jet 3 databases use 2 KiB pages, Jet 4 / ACE 4 KiB pages (version byte at offset 0x14).
_JET3_VERSION = 0


def _page_size(path: Path) -> int:
    with open(path, "rb") as handle:
        head = handle.read(0x15)
    return 2048 if len(head) > 0x14 and head[0x14] == _JET3_VERSION else 4096


def _mdb(path: Path, *args: str) -> str:
    """Run an mdbtools program and return its stdout; errors become LiCellInputError."""
    program = args[0]
    exe = shutil.which(program)
    if exe is None:
        raise LiCellInputError(path, f"cannot read Arbin .res: '{program}' (mdbtools) is not installed", _INSTALL_HINT)
    try:
        done = subprocess.run([exe, *args[1:]], capture_output=True, timeout=MDB_EXPORT_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired as exc:
        raise LiCellInputError(
            path, f"{program} took longer than {MDB_EXPORT_TIMEOUT_S} s (damaged database?)"
        ) from exc
    except OSError as exc:
        raise LiCellInputError(path, f"cannot run {program} ({exc})", _INSTALL_HINT) from exc
    stderr = done.stderr.decode("utf-8", errors="replace")
    if "beyond EOF" in stderr:
        raise LiCellInputError(
            path,
            "truncated Arbin .res (the database ends before its last page)",
            "copy the file again from the cycler computer",
        )
    if done.returncode != 0:
        detail = stderr.strip().splitlines()[-1] if stderr.strip() else f"exit code {done.returncode}"
        raise LiCellInputError(path, f"damaged or unsupported Arbin .res ({program}: {detail})")
    return done.stdout.decode("utf-8", errors="replace")


def read_arbin_res(path: str | os.PathLike) -> VoltageCurve:
    """Read an Arbin .res file.

    Parameters
    ----------
    path : str or PathLike
        The .res file.

    Returns
    -------
    VoltageCurve
        Time in minutes from the first data point (Test_Time), voltage in V,
        current in mA (Arbin stores A), Cycle_Index and Step_Index. Rows are in
        Data_Point order. If the database holds several tests, the first
        Test_ID is read and the others are listed in ``metadata["other_test_ids"]``.

    Raises
    ------
    LiCellInputError
        mdbtools missing, truncated database, no ``Channel_Normal_Table``,
        or missing columns.
    """
    import pandas as pd

    p = Path(path)
    size = p.stat().st_size
    page = _page_size(p)
    if size % page:
        raise LiCellInputError(
            p,
            f"truncated Arbin .res ({size} bytes is not a whole number of {page}-byte database pages)",
            "copy the file again from the cycler computer",
        )
    tables = [t.strip() for t in _mdb(p, "mdb-tables", "-1", str(p)).splitlines() if t.strip()]
    if DATA_TABLE not in tables:
        raise LiCellInputError(
            p, f"an Access database without Arbin's {DATA_TABLE} (tables: {', '.join(tables) or 'none'})"
        )
    text = _mdb(p, "mdb-export", str(p), DATA_TABLE)
    if not text.strip():
        raise LiCellInputError(p, f"{DATA_TABLE} is empty", "the test has no data points")
    try:
        frame = pd.read_csv(io.StringIO(text), low_memory=False)
    except (ValueError, pd.errors.ParserError) as exc:
        raise LiCellInputError(p, f"unreadable {DATA_TABLE} export ({exc})") from exc

    listing = ", ".join(map(str, frame.columns))
    for name, what in (("Test_Time", "time"), ("Voltage", "voltage")):
        if name not in frame.columns:
            raise LiCellInputError(p, f"no {what} column found ({DATA_TABLE} columns: {listing})")

    meta: dict[str, Any] = {"columns": [str(c) for c in frame.columns], "table": DATA_TABLE}
    if "Test_ID" in frame.columns:
        test_ids = pd.to_numeric(frame["Test_ID"], errors="coerce")
        ids = [int(i) for i in pd.unique(test_ids.dropna())]
        if len(ids) > 1:
            frame = frame[(test_ids == ids[0]).to_numpy()]
            meta["test_id"] = ids[0]
            meta["other_test_ids"] = ids[1:]
            meta.setdefault("notes", []).append(f"the database holds {len(ids)} tests; read Test_ID {ids[0]}")
    if "Data_Point" in frame.columns:
        frame = frame.sort_values("Data_Point", kind="stable")
    if "DateTime" in frame.columns and len(frame):
        # OLE automation date: days since 1899-12-30.
        first = pd.to_numeric(frame["DateTime"].iloc[:1], errors="coerce").iloc[0]
        if np.isfinite(first):
            start = pd.Timestamp("1899-12-30") + pd.to_timedelta(first, unit="D")
            meta["start_time"] = start.round("ms").isoformat()

    def column(name: str, scale: float = 1.0) -> np.ndarray | None:
        if name not in frame.columns:
            return None
        return pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float, na_value=np.nan) * scale

    return checked_curve(
        p,
        ARBIN_RES,
        column("Test_Time"),
        column("Voltage"),
        column("Current", 1e3),
        column("Cycle_Index"),
        column("Step_Index"),
        meta,
    )
