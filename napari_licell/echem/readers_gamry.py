"""Gamry Framework .dta files: an EXPLAIN header of tagged parameters, then TABLE blocks.

A block starts with ``NAME<TAB>TABLE[<TAB>rows]``, then a column-name line,
a unit line and data lines, all three led by a tab::

    CURVE	TABLE	99999
        Pt	T	Vf	Im	...
        #	s	V vs. Ref.	A	...
        0	0.3	3.98788E-001	6.55358E-007	...

The voltage record is the CURVE table(s) (CURVE, or CURVE1, CURVE2, ... for
cycles, joined in order); files without one fall back to OCVCURVE, the open
circuit measured before the experiment. Time is ``T`` (s), voltage ``Vf``
(filtered, V vs. Ref.; ``Vm`` when Vf is missing), current ``Im`` (A).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import LiCellInputError
from .curve_checks import checked_curve
from .cycler_formats import GAMRY_DTA
from .text_files import read_text_file, split_lines
from .units import CURRENT_UNITS_MA, TIME_UNITS_S, VOLTAGE_UNITS_V, unit_factor
from .voltage_curve import VoltageCurve

__all__ = ["read_gamry_dta", "GamryTable", "parse_dta_tables"]

_CURVE_NAME = re.compile(r"^CURVE(\d*)$")
_HEADER_KINDS = {"LABEL", "QUANT", "IQUANT", "POTEN", "SELECTOR", "TOGGLE", "PSTAT", "TWOPARAM", "NOTES"}


@dataclass
class GamryTable:
    """One TABLE block: column names, units, and data rows as text fields."""

    name: str
    columns: list[str]
    units: list[str]
    rows: list[list[str]]

    def values(self, column: str) -> np.ndarray:
        """A column as float (decimal comma accepted); NaN where not a number."""
        import pandas as pd

        i = self.columns.index(column)
        text = pd.Series([row[i] if i < len(row) else "" for row in self.rows], dtype="string")
        text = text.str.strip().str.replace(",", ".", regex=False)
        return pd.to_numeric(text, errors="coerce").to_numpy(dtype=float, na_value=np.nan)

    def unit(self, column: str) -> str | None:
        i = self.columns.index(column)
        return self.units[i] if i < len(self.units) else None


def parse_dta_tables(lines: list[str]) -> tuple[dict[str, str], list[GamryTable]]:
    """Split .dta lines into header parameters and TABLE blocks.

    Returns
    -------
    header, tables : dict, list of GamryTable
        ``header`` maps tags (DATE, TIME, TAG, AREA, ...) to their value text.
    """
    header: dict[str, str] = {}
    tables: list[GamryTable] = []
    i = 0
    while i < len(lines):
        parts = lines[i].split("\t")
        if len(parts) >= 2 and parts[1].strip() == "TABLE" and parts[0].strip():
            name = parts[0].strip()
            columns = [c.strip() for c in lines[i + 1].split("\t")[1:]] if i + 1 < len(lines) else []
            units = [u.strip() for u in lines[i + 2].split("\t")[1:]] if i + 2 < len(lines) else []
            rows: list[list[str]] = []
            j = i + 3
            while j < len(lines) and lines[j].startswith("\t") and lines[j].strip():
                rows.append(lines[j].split("\t")[1:])
                j += 1
            tables.append(GamryTable(name, columns, units, rows))
            i = j
            continue
        if len(parts) >= 3 and parts[1].strip() in _HEADER_KINDS and parts[0].strip():
            header.setdefault(parts[0].strip(), parts[2].strip())
        elif len(parts) >= 2 and parts[0].strip() == "TAG":
            header["TAG"] = parts[1].strip()
        i += 1
    return header, tables


def _pick_tables(tables: list[GamryTable]) -> list[GamryTable]:
    curves = [t for t in tables if _CURVE_NAME.match(t.name)]
    if curves:
        return curves
    return [t for t in tables if t.name == "OCVCURVE"]


def read_gamry_dta(path: str | os.PathLike) -> VoltageCurve:
    """Read a Gamry .dta file.

    Parameters
    ----------
    path : str or PathLike
        The .dta file.

    Returns
    -------
    VoltageCurve
        Time in minutes from the first point, voltage in V (vs. the reference
        electrode), current in mA when the table has ``Im``; cycle = curve
        number when there are several CURVEn tables. ``metadata`` holds the
        experiment ``tag``, ``date``, ``time``, the ``tables`` used and the
        ``other_tables``, and ``area_cm2`` when set.

    Raises
    ------
    LiCellInputError
        No CURVE/OCVCURVE table, a table without T or Vf, or no data rows.
    """
    p = Path(path)
    text, encoding = read_text_file(p)
    header, tables = parse_dta_tables(split_lines(text))
    chosen = _pick_tables(tables)
    if not chosen:
        names = ", ".join(t.name for t in tables) or "none"
        raise LiCellInputError(p, f"no CURVE or OCVCURVE table in the Gamry file (tables: {names})")

    times, volts, amps, cycles = [], [], [], []
    has_current = all("Im" in t.columns for t in chosen)
    for number, table in enumerate(chosen, start=1):
        listing = ", ".join(table.columns)
        if "T" not in table.columns:
            raise LiCellInputError(p, f"no time column found in table {table.name} (columns: {listing})")
        v_name = "Vf" if "Vf" in table.columns else ("Vm" if "Vm" in table.columns else None)
        if v_name is None:
            raise LiCellInputError(p, f"no voltage column found in table {table.name} (columns: {listing})")
        t_factor = unit_factor(table.unit("T"), TIME_UNITS_S) or 1.0
        v_factor = unit_factor(table.unit(v_name), VOLTAGE_UNITS_V) or 1.0
        times.append(table.values("T") * t_factor)
        volts.append(table.values(v_name) * v_factor)
        if has_current:
            i_factor = unit_factor(table.unit("Im"), CURRENT_UNITS_MA) or 1e3
            amps.append(table.values("Im") * i_factor)
        cycles.append(np.full(len(table.rows), number))

    meta: dict[str, Any] = {
        "encoding": encoding,
        "tables": [t.name for t in chosen],
        "other_tables": [t.name for t in tables if all(t is not c for c in chosen)],
    }
    for key, name in (
        ("TAG", "tag"),
        ("TITLE", "title"),
        ("DATE", "date"),
        ("TIME", "time"),
        ("PSTAT", "potentiostat"),
    ):
        if key in header:
            meta[name] = header[key]
    if "AREA" in header:
        try:
            meta["area_cm2"] = float(header["AREA"].replace(",", "."))
        except ValueError:
            pass
    return checked_curve(
        p,
        GAMRY_DTA,
        np.concatenate(times),
        np.concatenate(volts),
        np.concatenate(amps) if has_current else None,
        np.concatenate(cycles) if len(chosen) > 1 else None,
        None,
        meta,
    )
