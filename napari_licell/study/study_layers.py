"""Open a study's cells as napari layer data: lazy scans with their voxel size, labels, voltage curves.

Qt-free; napari is imported only for the labels colour map.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import LiCellInputError
from ..layers import labels_layer_tuple
from .study_file import CellRecord, Study

__all__ = ["OpenedCell", "open_cell", "open_study_cells", "cell_metadata"]


@dataclass
class OpenedCell:
    """A cell ready to show: its layers, metadata, voltage curve and the problems met."""

    name: str
    layers: list[tuple] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    voltage: Any = None
    problems: list[str] = field(default_factory=list)


def cell_metadata(cell: CellRecord) -> dict[str, Any]:
    """The record's numbers under the keys the docks show (process, gas, j, charge time)."""
    meta: dict[str, Any] = {
        "process": cell.bonding_process,
        "se_pressure_mpa": cell.se_pressure_mpa,
        "carbon_pressure_mpa": cell.carbon_pressure_mpa,
        "stack_pressure_mpa": cell.stack_pressure_mpa,
        "current_density_ma_cm2": cell.current_density_ma_cm2,
        "charge_minutes": cell.charge_minutes,
        "process_description": cell.notes,
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
    from .._napari_io import looks_like_labels
    from ..echem.cycler_readers import read_voltage_curve
    from ..io.read_volume import read_volume

    opened = OpenedCell(cell.name, metadata=cell_metadata(cell))
    for i, scan in enumerate(cell.scans):
        suffix = "" if len(cell.scans) == 1 else f" [{scan.state or i}]"
        try:
            volume = read_volume(scan.path, voxel_size_um=scan.voxel_size_um)
        except LiCellInputError as exc:
            opened.problems.append(exc.message)
            continue
        kwargs = volume.layer_kwargs()
        levels = kwargs["metadata"].pop("multiscale_levels", None)
        data = list(levels) if levels and len(levels) > 1 else volume.data
        if data is not volume.data:
            kwargs["multiscale"] = True
        kwargs["name"] = f"{cell.name}{suffix}"
        kwargs["metadata"].update(
            {"cell": cell.name, "gas": scan.gas, "gas_pressure_atm": scan.gas_pressure_atm,
             "state": scan.state, "time_min": scan.time_min, "thresholds": dict(scan.thresholds)}
        )
        kind = "labels" if looks_like_labels(volume) else "image"
        opened.layers.append((data, kwargs, kind))
        if scan.labels_path is not None:
            try:
                labels = read_volume(scan.labels_path, voxel_size_um=volume.voxel_size_um)
            except LiCellInputError as exc:
                opened.problems.append(exc.message)
            else:
                opened.layers.append(
                    labels_layer_tuple(labels.data, f"{cell.name}{suffix} labels", volume.voxel_size_um,
                                       {"cell": cell.name, "source": str(scan.labels_path)}, visible=False)
                )
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
