"""Units of cycler columns: time to seconds, voltage to volts, current to milliamps.

Also parses the clock-style durations cycler exports write instead of numbers
("144:02:18", Maccor's "2d 02:52:51.57", pandas' "1 days 02:03:04").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "TIME_UNITS_S",
    "VOLTAGE_UNITS_V",
    "CURRENT_UNITS_MA",
    "unit_factor",
    "split_name_unit",
    "parse_durations_s",
    "looks_like_durations",
]

#: Seconds per time unit (keys lower case).
TIME_UNITS_S: dict[str, float] = {
    "s": 1.0, "sec": 1.0, "secs": 1.0, "second": 1.0, "seconds": 1.0,
    "ms": 1e-3,
    "min": 60.0, "mins": 60.0, "minute": 60.0, "minutes": 60.0,
    "h": 3600.0, "hr": 3600.0, "hrs": 3600.0, "hour": 3600.0, "hours": 3600.0,
    "d": 86400.0, "day": 86400.0, "days": 86400.0,
}  # fmt: skip

#: Volts per voltage unit.
VOLTAGE_UNITS_V: dict[str, float] = {
    "v": 1.0, "mv": 1e-3, "uv": 1e-6, "µv": 1e-6, "μv": 1e-6,
    # Battery Data Format machine names: "voltage_volt".
    "volt": 1.0, "volts": 1.0, "millivolt": 1e-3, "millivolts": 1e-3,
}  # fmt: skip

#: Milliamps per current unit.
CURRENT_UNITS_MA: dict[str, float] = {
    "a": 1e3, "ma": 1.0, "ua": 1e-3, "µa": 1e-3, "μa": 1e-3, "na": 1e-6,
    # Battery Data Format machine names: "current_ampere".
    "ampere": 1e3, "amperes": 1e3, "milliampere": 1.0, "milliamperes": 1.0,
}  # fmt: skip

_ALL_UNITS = set(TIME_UNITS_S) | set(VOLTAGE_UNITS_V) | set(CURRENT_UNITS_MA)

# "Voltage(V)", "Voltage [V]", "Voltage {V}", "Ewe/V", "Voltage / V".
_BRACKET_UNIT = re.compile(r"^(?P<base>.*?)\s*[\(\[\{]\s*(?P<unit>[^\)\]\}]*?)\s*[\)\]\}]\s*$")
_SLASH_UNIT = re.compile(r"^(?P<base>.+?)\s*/\s*(?P<unit>[^/]+?)\s*$")
# "time_s", "voltage_mV", "Current mA".
_SUFFIX_UNIT = re.compile(r"^(?P<base>.+?)[\s_](?P<unit>[A-Za-zµμ]+)\s*$")

_DURATION = re.compile(
    r"^\s*(?:(?P<d>\d+)\s*d(?:ays?)?[\s,]*)?"
    r"(?P<h>\d+):(?P<m>\d{1,2}):(?P<s>\d{1,2}(?:[.,]\d*)?)\s*$"
)


def _clean_unit(unit: str) -> str:
    unit = unit.strip().lower().replace(" ", "")
    # Gamry writes "V vs. Ref."; keep the unit before the reference.
    unit = unit.split("vs", 1)[0]
    return unit.rstrip(".")


def unit_factor(unit: str | None, table: dict[str, float]) -> float | None:
    """Factor that converts a value in ``unit`` to the table's base unit.

    Parameters
    ----------
    unit : str or None
        Unit as written in the file ("mA", "µA", "V vs. Ref.", "h").
    table : dict
        One of :data:`TIME_UNITS_S`, :data:`VOLTAGE_UNITS_V`, :data:`CURRENT_UNITS_MA`.

    Returns
    -------
    float or None
        None when the unit is missing or not in the table.
    """
    if not unit:
        return None
    return table.get(_clean_unit(unit))


def split_name_unit(name: str) -> tuple[str, str | None]:
    """Split a column header into a normalised base name and its unit.

    Parameters
    ----------
    name : str
        Header as written ("Current(A)", "Ewe/V", "<I>/mA", "Test_Time(s)", "time_s").

    Returns
    -------
    base, unit : str, str or None
        ``base`` lower case, with "_" as space and "<>" dropped
        ("current", "ewe", "i", "test time", "time"); ``unit`` as written, or None.
    """
    text = str(name).strip().strip('"').strip("'").strip()
    unit: str | None = None
    match = _BRACKET_UNIT.match(text)
    if match and match.group("base"):
        text, unit = match.group("base"), match.group("unit")
    else:
        match = _SLASH_UNIT.match(text)
        if match and _clean_unit(match.group("unit")) in _ALL_UNITS:
            text, unit = match.group("base"), match.group("unit")
        elif match and match.group("unit").strip() == "1":
            # Battery Data Format writes dimensionless columns as "Cycle Count / 1".
            text = match.group("base")
        else:
            match = _SUFFIX_UNIT.match(text)
            if match and _clean_unit(match.group("unit")) in _ALL_UNITS:
                text, unit = match.group("base"), match.group("unit")
    base = text.replace("<", "").replace(">", "").replace("_", " ").lower()
    base = " ".join(base.split())
    return base, unit


def parse_durations_s(values: Sequence[Any] | np.ndarray) -> np.ndarray:
    """Parse clock-style durations into seconds.

    Parameters
    ----------
    values : sequence of str
        "HH:MM:SS[.f]" with any number of hours ("144:02:18"), optionally led
        by days ("2d 02:52:51.57", "1 day, 02:03:04", "1 days 02:03:04").

    Returns
    -------
    ndarray of float
        Seconds; NaN where a value does not parse.
    """
    import pandas as pd

    text = pd.Series(np.asarray(values, dtype=object)).astype("string")
    parts = text.str.extract(_DURATION)
    days = pd.to_numeric(parts["d"], errors="coerce").fillna(0.0)
    hours = pd.to_numeric(parts["h"], errors="coerce")
    minutes = pd.to_numeric(parts["m"], errors="coerce")
    seconds = pd.to_numeric(parts["s"].str.replace(",", ".", regex=False), errors="coerce")
    total = days * 86400.0 + hours * 3600.0 + minutes * 60.0 + seconds
    return total.to_numpy(dtype=float, na_value=np.nan)


def looks_like_durations(values: Sequence[Any] | np.ndarray, min_fraction: float = 0.9) -> bool:
    """True when most non-empty values are clock-style durations."""
    sample = [v for v in list(values[:200]) if isinstance(v, str) and v.strip()]
    if not sample:
        return False
    parsed = parse_durations_s(sample)
    return bool(np.mean(np.isfinite(parsed)) >= min_fraction)
