"""``napari-licell voltage FILE [--json]``: read a cycler file and summarise its voltage curve.

Prints the detected format, the number of points, the time, voltage and
current ranges, the plateau voltage and the onset of a steep rise or
fluctuation. With ``--json`` it prints one JSON object (for scripts)::

    {"file": ..., "format": "neware-nda", "n_points": 6670,
     "time_min": [first, last], "voltage_v": [min, max],
     "current_ma": [min, max] or null, "plateau_v": float or null,
     "rise_onset_min": float or null, "notes": [...]}

Bad input (missing, damaged or unsupported file) ends in one line on stderr
and exit code 2, through :func:`napari_licell.cli.main`.
"""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

import numpy as np

__all__ = ["register", "run", "summarise"]


def _float(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def summarise(curve: Any, events: Any) -> dict[str, Any]:
    """The JSON summary of a :class:`VoltageCurve` and its :class:`VoltageEvents`.

    Units: time in minutes, voltage in V, current in mA.
    """
    current = None
    if curve.current_ma is not None and np.any(np.isfinite(curve.current_ma)):
        current = [_float(np.nanmin(curve.current_ma)), _float(np.nanmax(curve.current_ma))]
    return {
        "file": None if curve.source is None else str(curve.source),
        "format": curve.format,
        "n_points": curve.n_points,
        "time_min": [_float(curve.time_min[0]), _float(curve.time_min[-1])],
        "voltage_v": [_float(np.min(curve.voltage_v)), _float(np.max(curve.voltage_v))],
        "current_ma": current,
        "plateau_v": _float(events.plateau_v),
        "rise_onset_min": _float(events.rise_onset_min),
        "notes": list(curve.metadata.get("notes", [])),
    }


def _human(summary: dict[str, Any]) -> str:
    t0, t1 = summary["time_min"]
    v0, v1 = summary["voltage_v"]
    lines = [
        f"{summary['file']}",
        f"  format          {summary['format']}",
        f"  points          {summary['n_points']}",
        f"  time            {t0:.2f} - {t1:.2f} min ({t1 / 60:.2f} h)",
        f"  voltage         {v0:.5f} - {v1:.5f} V",
    ]
    if summary["current_ma"] is None:
        lines.append("  current         none in file")
    else:
        i0, i1 = summary["current_ma"]
        lines.append(f"  current         {i0:.6g} - {i1:.6g} mA")
    plateau = summary["plateau_v"]
    lines.append(f"  plateau         {plateau:.4f} V" if plateau is not None else "  plateau         none found")
    onset = summary["rise_onset_min"]
    lines.append(
        f"  rise onset      {onset:.1f} min" if onset is not None else "  rise onset      none (no steep rise or fluctuation)"
    )
    for note in summary["notes"]:
        lines.append(f"  note: {note}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Read ``args.file``, print the summary; return the exit code (0)."""
    from ..echem.cycler_readers import read_voltage_curve
    from ..echem.voltage_events import find_voltage_events

    curve = read_voltage_curve(args.file)
    summary = summarise(curve, find_voltage_events(curve))
    if args.json:
        print(json.dumps(summary))
    else:
        print(_human(summary))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``voltage`` subcommand."""
    parser = subparsers.add_parser(
        "voltage",
        help="read a cycler/potentiostat file and summarise its voltage curve",
        description=(
            "Read a battery cycler or potentiostat file (BioLogic .mpr/.mpt, Neware .nda/.ndax, "
            "Arbin .res, Maccor text, Gamry .dta, CSV/TSV) and print its time, voltage and "
            "current ranges, the plateau voltage and the onset of a steep rise."
        ),
    )
    parser.add_argument("file", help="the cycler file")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    parser.set_defaults(func=run)
