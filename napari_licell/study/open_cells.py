"""Open a study's cells: lazy scans with their voxel size, label volumes, voltage curves. Qt- and napari-free.

The napari adapter (:mod:`napari_licell._napari.study_layers`) turns an
:class:`OpenedCell` into layers; scripts use the volumes directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import LiCellInputError
from .study_file import CellRecord, Study

__all__ = ["OpenedScan", "OpenedCell", "open_cell", "open_study_cells", "cell_metadata"]


@dataclass
class OpenedScan:
    """One scan of a cell, opened lazily.

    Attributes
    ----------
    name : str
        Display name: the cell name, with ``[state]`` when the cell has several scans.
    volume : Volume
        The scan (lazy).
    labels : Volume or None
        Its label volume, when the study names one and it could be read.
    metadata : dict
        The scan's and its cell's metadata (gas, pressure, state, time, thresholds...).
    is_labels : bool
        The "scan" file itself holds class codes (shown as a labels layer).
    """

    name: str
    volume: Any
    labels: Any = None
    metadata: dict[str, Any] = field(default_factory=dict)
    is_labels: bool = False


@dataclass
class OpenedCell:
    """A cell ready to show: its scans, metadata, voltage curve and the problems met (one line each)."""

    name: str
    scans: list[OpenedScan] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    voltage: Any = None
    problems: list[str] = field(default_factory=list)


def cell_metadata(cell: CellRecord) -> dict[str, Any]:
    """The record's numbers under the keys of :class:`~napari_licell.cell_metadata.CellMetadata`."""
    meta: dict[str, Any] = {
        "cell": cell.name,
        "process": cell.bonding_process,
        "se_pressure_mpa": cell.se_pressure_mpa,
        "carbon_pressure_mpa": cell.carbon_pressure_mpa,
        "stack_pressure_mpa": cell.stack_pressure_mpa,
        "current_density_ma_cm2": cell.current_density_ma_cm2,
        "charge_minutes": cell.charge_minutes,
        "process_description": cell.notes,
        "voltage_file": str(cell.voltage_file) if cell.voltage_file is not None else None,
    }
    if cell.scans:
        scan = cell.scans[0]
        meta.update({"gas": scan.gas, "gas_pressure_atm": scan.gas_pressure_atm, "state": scan.state})
    meta["scan_times_min"] = [s.time_min for s in cell.scans]
    return meta


def open_cell(cell: CellRecord) -> OpenedCell:
    """Open every scan (lazily), its labels and the voltage file of one cell.

    A scan or voltage file that cannot be read is reported in ``problems``
    (one line naming the file) and left out; the rest still opens.
    """
    from ..echem.cycler_readers import read_voltage_curve
    from ..io.label_detection import looks_like_labels
    from ..io.read_volume import read_volume

    opened = OpenedCell(cell.name, metadata=cell_metadata(cell))
    for i, scan in enumerate(cell.scans):
        suffix = "" if len(cell.scans) == 1 else f" [{scan.state or i}]"
        try:
            volume = read_volume(scan.path, voxel_size_um=scan.voxel_size_um)
        except LiCellInputError as exc:
            opened.problems.append(exc.message)
            continue
        meta = {
            **opened.metadata,
            "cell": cell.name,
            "gas": scan.gas,
            "gas_pressure_atm": scan.gas_pressure_atm,
            "state": scan.state,
            "time_min": scan.time_min,
            "thresholds": dict(scan.thresholds),
        }
        labels = None
        if scan.labels_path is not None:
            try:
                labels = read_volume(scan.labels_path, voxel_size_um=volume.voxel_size_um)
            except LiCellInputError as exc:
                opened.problems.append(exc.message)
        opened.scans.append(OpenedScan(f"{cell.name}{suffix}", volume, labels, meta, looks_like_labels(volume)))
    if cell.voltage_file is not None:
        try:
            opened.voltage = read_voltage_curve(cell.voltage_file)
            if opened.voltage.current_density_ma_cm2 is None:
                opened.voltage.current_density_ma_cm2 = cell.current_density_ma_cm2
        except LiCellInputError as exc:
            opened.problems.append(exc.message)
    return opened


def open_study_cells(study: Study) -> list[OpenedCell]:
    """Open every cell of ``study`` (see :func:`open_cell`)."""
    return [open_cell(cell) for cell in study.cells]
