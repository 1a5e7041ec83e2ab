"""The metadata of a cell's scan, typed: what the docks read from and write to a layer.

A scan layer's ``metadata`` dict holds plain keys (so it survives saving and
other plugins); :class:`CellMetadata` is the one place that knows those keys.
Docks call :meth:`CellMetadata.from_layer` to read and :meth:`CellMetadata.to_layer`
to write; the latter announces the change on :data:`metadata_changed`, so a
gas set in the Study dock reaches the Thresholds dock at once.

Qt-free (psygnal signals, as napari's own models use).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from psygnal import Signal

__all__ = ["CellMetadata", "metadata_changed", "METADATA_EVENTS"]


class _MetadataEvents:
    """Holder of the project-wide signal ``changed(layer_name)``."""

    changed = Signal(str)


#: Emits ``changed(layer_name)`` after :meth:`CellMetadata.to_layer` wrote into a layer.
METADATA_EVENTS = _MetadataEvents()
metadata_changed = METADATA_EVENTS.changed


def _float(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


@dataclass
class CellMetadata:
    """What is known of one scanned cell (None = unknown).

    Attributes
    ----------
    cell : str or None
        Cell name (the study's).
    process : str or None
        Bonding process of the carbon interlayer ("none", "process1".."process3", "dummy", free text).
    process_description : str or None
        The process in words.
    se_pressure_mpa, carbon_pressure_mpa, stack_pressure_mpa : float or None
        Pressures of the cell's making and of the stack during charge, MPa.
    gas : {"Xe", "Ar"} or None
        Fill gas of the jig.
    gas_pressure_atm : float or None
        Fill-gas pressure, atm.
    current_density_ma_cm2 : float or None
        Plating current density, mA/cm².
    charge_minutes : float or None
        Charge time of the cell, minutes.
    state : {"before", "during", "after"} or None
        When the scan was taken.
    time_min : float or None
        Charge time at the scan, minutes.
    scan_times_min : list of float or None
        Times of all the cell's scans, minutes.
    voxel_size_um : list of float or None
        (z, y, x) voxel size, µm.
    voxel_size_assumed : bool
        The file held no voxel size (a default was used).
    voltage_file : str or None
        The cell's cycler file.
    synthetic : bool
        A demo cell generated from physics.
    dummy_cell : bool
        The Li + carbon dummy cell (no electrolyte).
    """

    cell: str | None = None
    process: str | None = None
    process_description: str | None = None
    se_pressure_mpa: float | None = None
    carbon_pressure_mpa: float | None = None
    stack_pressure_mpa: float | None = None
    gas: str | None = None
    gas_pressure_atm: float | None = None
    current_density_ma_cm2: float | None = None
    charge_minutes: float | None = None
    state: str | None = None
    time_min: float | None = None
    scan_times_min: list[float] | None = None
    voxel_size_um: list[float] | None = None
    voxel_size_assumed: bool = False
    voltage_file: str | None = None
    synthetic: bool = False
    dummy_cell: bool = False

    _NUMBERS = (
        "se_pressure_mpa",
        "carbon_pressure_mpa",
        "stack_pressure_mpa",
        "gas_pressure_atm",
        "current_density_ma_cm2",
        "charge_minutes",
        "time_min",
    )

    @classmethod
    def from_dict(cls, metadata: dict[str, Any] | None) -> CellMetadata:
        """Read the known keys of a metadata dict (unknown keys are ignored, bad numbers become None)."""
        meta = metadata or {}
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name in meta:
                values[f.name] = meta[f.name]
        for name in cls._NUMBERS:
            if name in values:
                values[name] = _float(values[name])
        gas = values.get("gas")
        if gas is not None:
            from .pipeline import normalise_gas

            values["gas"] = normalise_gas(gas, strict=False)
        if values.get("gas") is None:
            values["gas_pressure_atm"] = None
        for name in ("scan_times_min", "voxel_size_um"):
            if values.get(name) is not None:
                try:
                    values[name] = [float(v) for v in values[name]]
                except (TypeError, ValueError):
                    values[name] = None
        for name in ("voxel_size_assumed", "synthetic", "dummy_cell"):
            values[name] = bool(values.get(name, False))
        for name in ("cell", "process", "process_description", "state", "voltage_file"):
            if values.get(name) is not None:
                values[name] = str(values[name])
        return cls(**values)

    @classmethod
    def from_layer(cls, layer: Any) -> CellMetadata:
        """The metadata of a napari layer (or anything with a ``metadata`` dict)."""
        meta = getattr(layer, "metadata", None)
        return cls.from_dict(meta if isinstance(meta, dict) else {})

    def to_dict(self) -> dict[str, Any]:
        """Plain keys for ``layer.metadata`` (unknown values included as None)."""
        return asdict(self)

    def to_layer(self, layer: Any) -> None:
        """Write into ``layer.metadata`` (other keys kept) and announce it on :data:`metadata_changed`."""
        layer.metadata.update(self.to_dict())
        metadata_changed.emit(str(getattr(layer, "name", "")))

    def gas_text(self) -> str:
        """E.g. "Xe 6 atm"; "unknown" when no gas is known."""
        if self.gas is None:
            return "unknown"
        return f"{self.gas} {self.gas_pressure_atm:g} atm" if self.gas_pressure_atm is not None else self.gas

    def analysis_options(self, **overrides: Any):
        """The :class:`~napari_licell.pipeline.AnalysisOptions` this metadata implies."""
        from .pipeline import AnalysisOptions

        return AnalysisOptions.from_metadata(self.to_dict(), **overrides)
