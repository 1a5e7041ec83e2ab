"""How a cell is named in comparisons: its bonding process and bonding pressures (MPa)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["process_of", "pressures_text", "cell_title", "short_title"]


def process_of(metadata: Mapping[str, Any]) -> str:
    """The bonding process of a cell (``"none"``, ``"process1"``...), ``"dummy"`` or ``"?"``."""
    if metadata.get("dummy_cell"):
        return "dummy"
    return str(metadata.get("process", "?"))


def pressures_text(metadata: Mapping[str, Any]) -> str:
    """Bonding pressures in MPa, e.g. ``"SE 400 MPa, C 3 MPa"`` or ``"SE 400 MPa, no C"``.

    Process 3 (SE pre-pressed at 100 MPa, then SE and carbon pressed together
    at 400 MPa) is spelled out, since its final pressures equal process 2's.
    """
    if process_of(metadata) == "process3":
        # SE and carbon pressed together after a 100 MPa pre-press: not the same as process 2
        return "SE 100 MPa, then SE + C 400 MPa"
    se = metadata.get("se_pressure_mpa")
    carbon = metadata.get("carbon_pressure_mpa")
    parts = []
    if se is not None:
        parts.append(f"SE {se:g} MPa")
    if carbon is not None:
        parts.append(f"C {carbon:g} MPa")
    elif process_of(metadata) == "none":
        parts.append("no C")
    return ", ".join(parts)


def cell_title(name: str, metadata: Mapping[str, Any]) -> str:
    """One-line title: process and pressures, falling back to the cell name.

    Examples
    --------
    >>> cell_title("p1", {"process": "process1", "se_pressure_mpa": 400.0, "carbon_pressure_mpa": 3.0})
    'process1 | SE 400 MPa, C 3 MPa'
    """
    process = process_of(metadata)
    if process in ("?", "dummy"):
        return name
    pressures = pressures_text(metadata)
    return f"{process} | {pressures}" if pressures else process


#: Short process names for narrow places (grid viewbox labels).
_SHORT_PROCESS = {"none": "none", "process1": "P1", "process2": "P2", "process3": "P3"}


def short_title(name: str, metadata: Mapping[str, Any]) -> str:
    """A title short enough for a narrow grid viewbox, e.g. ``"P1 | SE 400, C 3 MPa"``.

    Examples
    --------
    >>> short_title("x", {"process": "process3"})
    'P3 | SE 100, SE+C 400 MPa'
    """
    process = process_of(metadata)
    if process in ("?", "dummy"):
        return name
    short = _SHORT_PROCESS.get(process, process)
    if process == "process3":
        return f"{short} | SE 100, SE+C 400 MPa"
    se, carbon = metadata.get("se_pressure_mpa"), metadata.get("carbon_pressure_mpa")
    if se is None:
        return short
    if carbon is None:
        return f"{short} | SE {se:g} MPa" + (", no C" if process == "none" else "")
    return f"{short} | SE {se:g}, C {carbon:g} MPa"
