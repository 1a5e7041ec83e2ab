"""What the Study dock writes: a cell's row in the tree and its description.

Qt-free helpers kept apart from the dock so the dock only builds widgets.
"""

from __future__ import annotations

from typing import Any

__all__ = ["cell_row", "describe_cell"]


def _fmt(value: Any) -> str:
    return "" if value is None else f"{value:g}"


def cell_row(metadata: dict[str, Any], name: str) -> list[str]:
    """The tree row of a cell: name, process, gas, current density (mA/cm²), charge time (min)."""
    m = metadata
    gas = f"{m['gas']} {m.get('gas_pressure_atm') or 0:g} atm" if m.get("gas") else "?"
    process = m.get("process") or ("dummy" if m.get("dummy_cell") else "?")
    return [name, str(process), gas, _fmt(m.get("current_density_ma_cm2")), _fmt(m.get("charge_minutes"))]


def describe_cell(name: str, metadata: dict[str, Any]) -> str:
    """A few lines of rich text on the cell: process, gas, charge, voxel size (µm), origin."""
    m = metadata
    lines = [f"<b>{name}</b>"]
    if m.get("process_description"):
        lines.append(str(m["process_description"]))
    if m.get("dummy_cell"):
        lines.append("Dummy cell: Li metal and carbon in the jig, no electrolyte.")
    if m.get("gas"):
        lines.append(f"Fill gas: {m['gas']} at {m.get('gas_pressure_atm') or 0:g} atm")
    else:
        lines.append("Fill gas: unknown (set it under Cell metadata; Li and voids separate only in Xe)")
    if m.get("current_density_ma_cm2") is not None and m.get("charge_minutes") is not None:
        lines.append(f"Charged at {m['current_density_ma_cm2']:g} mA/cm² for {m['charge_minutes']:g} min")
    voxel = m.get("voxel_size_um")
    if voxel:
        assumed = " (assumed: the file has none)" if m.get("voxel_size_assumed") else ""
        if len(set(voxel)) == 1:
            lines.append(f"Voxel size {voxel[0]:g} µm{assumed}")
        else:
            lines.append("Voxel size " + " × ".join(f"{v:.4g}" for v in voxel) + f" µm (z × y × x){assumed}")
    if m.get("synthetic"):
        lines.append("Synthetic cell generated from physics (ground truth in the hidden 'truth' layer).")
    return "<br>".join(lines)
