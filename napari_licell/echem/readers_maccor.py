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
from .text_files import read_text_file, split_lines
from .units import TIME_UNITS_S, parse_durations_s, split_name_unit, unit_factor
from .voltage_curve import VoltageCurve

__all__ = ["read_maccor_txt", "STATE_SIGNS"]

#: Sign of the current for each Maccor State letter.
STATE_SIGNS: dict[str, float] = {"C": 1.0, "D": -1.0, "R": 0.0}

_TIME_NAMES = ("testtime", "test time", "test time (sec)", "test time (hr)", "test time (s)")
_VOLT_NAMES = ("volts", "voltage", "voltage (v)")
_AMP_NAMES = ("amps", "current", "current (a)")


def _find(columns: list[str], names: tuple[str, ...]) -> str | None:
    lowered = {c.strip().lower(): c for c in columns}
    for name in names:
        if name in lowered:
            return lowered[name]
    return None


def _time_seconds(values: Any, name: str) -> tuple[np.ndarray, str]:
    import pandas as pd

    numeric = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    if np.mean(np.isfinite(numeric)) >= 0.9:
        _, unit = split_name_unit(name)
        factor = unit_factor(unit, TIME_UNITS_S)
        if factor is None:
            low = name.lower()
            factor = 3600.0 if "hr" in low else 1.0
        return numeric * factor, f"{name} (numbers x {factor:g} s)"
    return parse_durations_s(np.asarray(values, dtype=object)), f"{name} (d hh:mm:ss)"


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
    try:
        frame = pd.read_csv(io.StringIO("\n".join(lines[header_at:])), sep=sep, low_memory=False)
    except (ValueError, pd.errors.ParserError) as exc:
        raise LiCellInputError(p, f"malformed Maccor table ({exc})") from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    if len(frame) == 0:
        raise LiCellInputError(p, "no data rows", "the Maccor export has a header but no records")
    columns = list(frame.columns)
    listing = ", ".join(columns[:20]) + (", ..." if len(columns) > 20 else "")

    time_name = _find(columns, _TIME_NAMES)
    if time_name is None:
        raise LiCellInputError(p, f"no time column found (columns: {listing})", "Maccor writes TestTime")
    volt_name = _find(columns, _VOLT_NAMES)
    if volt_name is None:
        raise LiCellInputError(p, f"no voltage column found (columns: {listing})", "Maccor writes Volts")

    meta: dict[str, Any] = {
        "preamble": [line for line in lines[:header_at] if line.strip()],
        "encoding": encoding,
        "columns": columns,
    }
    time_s, meta["time_column"] = _time_seconds(frame[time_name].to_numpy(dtype=object), time_name)
    voltage = pd.to_numeric(frame[volt_name], errors="coerce").to_numpy(dtype=float, na_value=np.nan)

    current = None
    amp_name = _find(columns, _AMP_NAMES)
    if amp_name is not None:
        amps = pd.to_numeric(frame[amp_name], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        state_name = _find(columns, ("state", "md"))
        if np.nanmin(amps, initial=0.0) < 0 or state_name is None:
            current = amps * 1e3
            meta["current_sign"] = "as written"
        else:
            states = frame[state_name].astype("string").str.strip().str.upper().fillna("")
            sign = states.map(STATE_SIGNS).to_numpy(dtype=float, na_value=np.nan)
            unknown = np.isnan(sign)
            sign[unknown & (amps == 0)] = 0.0
            current = np.abs(amps) * sign * 1e3
            meta["current_sign"] = "from State (C +, D -, R 0)"
            meta["state_counts"] = {str(k): int(v) for k, v in states.value_counts().items()}

    def labels(names: tuple[str, ...]) -> np.ndarray | None:
        name = _find(columns, names)
        if name is None:
            return None
        return pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float, na_value=np.nan)

    return checked_curve(
        p,
        MACCOR_TXT,
        time_s,
        voltage,
        current,
        labels(("cyc#", "cycle", "cycle c", "cycle p")),
        labels(("step",)),
        meta,
    )
