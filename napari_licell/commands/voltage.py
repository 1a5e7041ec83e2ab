"""``napari-licell voltage FILE [--json] [--cycle N] [--step N]``: read a cycler file and summarise it.

Prints the detected format, the reader that read it, the number of points,
cycles and steps, the time, voltage and current ranges of the whole record,
and the charge step that matches a scan (by default the first Li-plating
charge; ``--cycle N`` and ``--step N`` pick another) with its plateau voltage
and the onset of a steep rise or fluctuation. With ``--json`` it prints one
JSON object (for scripts)::

    {"file": ..., "format": "neware-nda", "reader": "NewareNDA 2026.6.11",
     "n_points": 6670, "n_cycles": 3, "n_steps": 13,
     "time_min": [first, last], "voltage_v": [min, max],
     "current_ma": [min, max] or null,
     "selected": {"how": "first charge step (Li plating)", "cycle": 1, "step": 2,
                  "kind": "charge", "n_points": ..., "time_min": [start, end],
                  "voltage_v": [min, max]},
     "plateau_v": float or null, "rise_onset_min": float or null, "notes": [...]}

``plateau_v`` and ``rise_onset_min`` are those of the selected step (minutes
from the start of the record); where the file has no charge step and none was
asked for, ``selected`` is null and they are those of the whole record. Bad input (missing, damaged or unsupported
file, a cycle or step that is not in it) ends in one line on stderr and exit
code 2, through :func:`napari_licell.cli.main`.
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


def _reader(curve: Any) -> str:
    reader = curve.metadata.get("reader")
    if reader:
        return str(reader)
    # Readers that do not name themselves: the library behind the format.
    try:
        from importlib.metadata import version

        if curve.format.startswith("neware"):
            return f"NewareNDA {version('NewareNDA')}"
        if curve.format == "arbin-res":
            return "mdbtools (mdb-export)"
    except Exception:  # noqa: BLE001 - only for the report
        pass
    return f"napari-licell {curve.format}"


def summarise(curve: Any, events: Any, selected: Any = None, steps: Any = None) -> dict[str, Any]:
    """The JSON summary of a :class:`VoltageCurve` and the :class:`VoltageEvents` of its selected step.

    Parameters
    ----------
    curve : VoltageCurve
        The whole record.
    events : VoltageEvents
        Events of ``selected`` (or of ``curve`` when nothing was selected).
    selected : VoltageCurve, optional
        The charge step from :func:`~napari_licell.echem.charge_steps.select_charge`.
    steps : list of CycleStep, optional
        All steps of the record.

    Units: time in minutes, voltage in V, current in mA.
    """
    from ..echem.charge_steps import count_cycles

    current = None
    if curve.current_ma is not None and np.any(np.isfinite(curve.current_ma)):
        current = [_float(np.nanmin(curve.current_ma)), _float(np.nanmax(curve.current_ma))]
    summary: dict[str, Any] = {
        "file": None if curve.source is None else str(curve.source),
        "format": curve.format,
        "reader": _reader(curve),
        "n_points": curve.n_points,
        "n_cycles": count_cycles(curve),
        "n_steps": None if steps is None else len(steps),
        "time_min": [_float(curve.time_min[0]), _float(curve.time_min[-1])],
        "voltage_v": [_float(np.min(curve.voltage_v)), _float(np.max(curve.voltage_v))],
        "current_ma": current,
        "selected": None,
        "plateau_v": _float(events.plateau_v),
        "rise_onset_min": _float(events.rise_onset_min),
        "notes": list(curve.metadata.get("notes", [])),
    }
    if selected is not None:
        info = dict(selected.metadata.get("selected_step", {}))
        info["voltage_v"] = [_float(np.min(selected.voltage_v)), _float(np.max(selected.voltage_v))]
        summary["selected"] = info
    return summary


def _human(summary: dict[str, Any]) -> str:
    t0, t1 = summary["time_min"]
    v0, v1 = summary["voltage_v"]
    cycles = summary["n_cycles"]
    lines = [
        f"{summary['file']}",
        f"  format          {summary['format']}",
        f"  reader          {summary['reader']}",
        f"  points          {summary['n_points']}",
        f"  cycles, steps   {cycles if cycles is not None else 'none numbered'}, {summary['n_steps']}",
        f"  time            {t0:.2f} - {t1:.2f} min ({t1 / 60:.2f} h)",
        f"  voltage         {v0:.5f} - {v1:.5f} V",
    ]
    if summary["current_ma"] is None:
        lines.append("  current         none in file")
    else:
        i0, i1 = summary["current_ma"]
        lines.append(f"  current         {i0:.6g} - {i1:.6g} mA")
    selected = summary["selected"]
    if selected is not None:
        s0, s1 = selected["time_min"]
        lines.append(
            f"  selected        {selected['how']}: {selected['n_points']} points, {s0:.2f} - {s1:.2f} min"
            + (f", cycle {selected['cycle']}" if selected.get("cycle") is not None else "")
            + (f", step {selected['step']}" if selected.get("step") is not None else "")
        )
    plateau = summary["plateau_v"]
    lines.append(f"  plateau         {plateau:.4f} V" if plateau is not None else "  plateau         none found")
    onset = summary["rise_onset_min"]
    lines.append(
        f"  rise onset      {onset:.1f} min"
        if onset is not None
        else "  rise onset      none (no steep rise or fluctuation)"
    )
    for note in summary["notes"]:
        lines.append(f"  note: {note}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Read ``args.file``, print the summary; return the exit code (0)."""
    from ..echem.charge_steps import select_charge, split_steps
    from ..echem.cycler_readers import read_voltage_curve
    from ..echem.voltage_events import find_voltage_events

    curve = read_voltage_curve(args.file)
    steps = split_steps(curve)
    asked = args.cycle is not None or args.step is not None
    if asked or any(step.kind in ("charge", "unknown") for step in steps):
        selected = select_charge(curve, cycle=args.cycle, step=args.step)[0]
    else:
        # A record without a charge (a discharge, a rest): summarise it whole.
        selected = None
    summary = summarise(curve, find_voltage_events(selected if selected is not None else curve), selected, steps)
    if selected is None:
        summary["notes"].append("no charge step in the file: plateau and rise onset are those of the whole record")
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
            "Arbin .res/.csv/.xlsx, Maccor text and raw files, Novonix CSV, Indigo .h5, LANHE and "
            "Neware .xlsx, Gamry .dta, CSV/TSV) and print its time, voltage and current ranges, "
            "its cycles and steps, and, for the charge step that matches the scan, the plateau "
            "voltage and the onset of a steep rise."
        ),
    )
    parser.add_argument("file", help="the cycler file")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    parser.add_argument(
        "--cycle",
        type=int,
        default=None,
        metavar="N",
        help="the cycle whose charge step matches the scan (default: the first Li-plating charge)",
    )
    parser.add_argument(
        "--step",
        type=int,
        default=None,
        metavar="N",
        help="the file's step number to use (with --cycle: in that cycle)",
    )
    parser.set_defaults(func=run)
