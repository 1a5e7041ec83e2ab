"""What a user edits of a cell's metadata in the Study dock: the values a scan file lacks. Qt-free.

:class:`CellEdits` is the single description of that form: each field carries
its label, unit, range and decimals in its dataclass metadata, and the dock's
form (:mod:`napari_licell._qt.cell_metadata_form`) is generated from it with
magicgui. ``None`` is "unknown" (the form shows "unknown" at a spin box's minimum).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from .study.study_file import BONDING_PROCESSES, GASES

__all__ = ["CellEdits", "FieldSpec", "field_spec"]


@dataclass(frozen=True)
class FieldSpec:
    """How one editable value is shown: label, unit, range (the minimum means unknown), decimals or choices."""

    label: str
    unit: str = ""
    minimum: float = 0.0
    maximum: float = 0.0
    decimals: int = 0
    choices: tuple[str, ...] = ()
    editable: bool = False


def _number(label: str, unit: str, minimum: float, maximum: float, decimals: int):
    return field(default=None, metadata={"spec": FieldSpec(label, unit, minimum, maximum, decimals)})


def _choice(label: str, choices: tuple[str, ...], editable: bool = False):
    return field(default=None, metadata={"spec": FieldSpec(label, choices=("unknown", *choices), editable=editable)})


@dataclass
class CellEdits:
    """The cell values a user sets by hand (None: unknown).

    Attributes
    ----------
    voxel_size_um : float or None
        Isotropic voxel size, µm.
    gas : {"Xe", "Ar", ...} or None
        Fill gas of the jig.
    gas_pressure_atm : float or None
        Fill-gas pressure, atm.
    process : str or None
        Bonding process (one of the known ones, or the user's own name).
    current_density_ma_cm2 : float or None
        Charge current density, mA/cm².
    charge_minutes : float or None
        Charge time, minutes.
    """

    voxel_size_um: float | None = _number("Voxel size", "µm", 0.0, 10000.0, 4)
    gas: str | None = _choice("Fill gas", tuple(GASES))
    gas_pressure_atm: float | None = _number("Gas pressure", "atm", -0.1, 50.0, 2)
    process: str | None = _choice("Bonding process", tuple(BONDING_PROCESSES), editable=True)
    current_density_ma_cm2: float | None = _number("Current density", "mA/cm²", -0.001, 100.0, 3)
    charge_minutes: float | None = _number("Charge time", "min", -1.0, 1e6, 1)

    @classmethod
    def from_metadata(cls, meta: dict[str, Any], voxel_size_um: float | None = None) -> CellEdits:
        """The editable values of a cell's metadata (keys as in the Study dock)."""
        return cls(
            voxel_size_um=voxel_size_um,
            gas=meta.get("gas") or None,
            gas_pressure_atm=meta.get("gas_pressure_atm"),
            process=meta.get("process") or None,
            current_density_ma_cm2=meta.get("current_density_ma_cm2"),
            charge_minutes=meta.get("charge_minutes"),
        )

    def to_values(self) -> dict[str, Any]:
        """The values as the Study dock applies them (``voxel_size_um`` included)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def field_spec(name: str) -> FieldSpec:
    """The :class:`FieldSpec` of :class:`CellEdits` field ``name``."""
    return next(f.metadata["spec"] for f in fields(CellEdits) if f.name == name)
