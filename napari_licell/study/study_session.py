"""The state of the Study dock without Qt: the cells on show, the open study file, edits and their autosave.

The Study dock is a view of a :class:`StudySession`: it lists the session's
cells (:attr:`StudySession.entries`), forwards the user's edits
(:meth:`StudySession.apply_values`) and shows what the session says. The
session keeps the study file's records in step with the edits, autosaves an
edited study beside its file (:mod:`napari_licell.autosave.study`) and
restores such an autosave.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from psygnal import Signal

from ..errors import LiCellInputError

__all__ = ["StudyCellEntry", "StudySession", "update_record", "voltage_for_scan"]


@dataclass
class StudyCellEntry:
    """One cell as the dock shows it: its layers, metadata and voltage curve."""

    name: str
    layer_names: list[str]
    metadata: dict[str, Any] = field(default_factory=dict)
    voltage: Any = None


class StudySession:
    """The cells on show, the open study file (if any), and the edits made to them."""

    #: A cell was added or changed (its :class:`StudyCellEntry`).
    entry_changed = Signal(object)

    def __init__(self) -> None:
        self.entries: dict[str, StudyCellEntry] = {}
        self.study = None  # napari_licell.study.Study when a study file is open
        self.study_path: Path | None = None

    # ------------------------------------------------------------------ cells
    def add(self, entry: StudyCellEntry) -> None:
        """Add (or replace) a cell."""
        self.entries[entry.name] = entry
        self.entry_changed.emit(entry)

    def known_layers(self) -> set[str]:
        """Names of every layer that belongs to a cell."""
        return {name for entry in self.entries.values() for name in entry.layer_names}

    def cell_of(self, layer_name: str, scan: str | None = None) -> str | None:
        """The cell a layer (or the scan it was made from) belongs to (None: no cell's)."""
        for name, entry in self.entries.items():
            if scan in entry.layer_names or layer_name in entry.layer_names:
                return name
        return None

    def free_name(self, wanted: str, fallback: str) -> str:
        """``wanted`` as a cell name, or ``fallback`` when a cell is called so already."""
        return fallback if wanted in self.entries else wanted

    # ------------------------------------------------------------------ the study file
    def open(self, path: str | Path):
        """Read a study file and make it the open study.

        Raises
        ------
        LiCellInputError
            The file is missing or not a valid study.
        """
        from .study_file import load_study

        self.study, self.study_path = load_study(path), Path(path)
        return self.study

    def apply_values(self, name: str, values: dict[str, Any]) -> tuple[float, float, float] | None:
        """Use edited values (process, j, charge time, gas, ``voxel_size_um``) for cell ``name``.

        The cell's metadata and the open study's record take them; an edited
        study is autosaved. Returns the voxel size (µm, z y x) to give its
        layers (None: unchanged).
        """
        if name not in self.entries:
            raise LiCellInputError(None, "no cell selected", "open a scan or a study and pick a cell")
        entry = self.entries[name]
        values = dict(values)
        voxel = values.pop("voxel_size_um", None)
        entry.metadata.update(values)
        if voxel is not None:
            entry.metadata["voxel_size_um"] = [voxel] * 3
            entry.metadata["voxel_size_assumed"] = False
        if self.study is not None:
            update_record(self.study, name, values, voxel)
            self.autosave()
        self.entry_changed.emit(entry)
        return (voxel,) * 3 if voxel is not None else None

    def autosave(self) -> None:
        """Autosave the edited study beside its file (never an error: the user's work goes on)."""
        from ..autosave.study import autosave_study

        try:
            autosave_study(self.study, self.study_path)
        except (OSError, LiCellInputError):
            pass

    def recoverable_autosave(self) -> Path | None:
        """An autosave of the open study with changes never saved (None: none)."""
        from ..autosave.study import recoverable_study_autosave

        return recoverable_study_autosave(self.study_path) if self.study_path is not None else None

    def restore_autosave(self) -> list[tuple[StudyCellEntry, tuple[float, float, float] | None]] | None:
        """Apply the autosaved study over the open one; returns each changed cell with its voxel size (µm).

        None when there is no autosave to restore.
        """
        from .open_cells import cell_metadata
        from .study_file import load_study

        auto = self.recoverable_autosave()
        if auto is None:
            return None
        self.study = load_study(auto)
        changed = []
        for cell in self.study.cells:
            entry = self.entries.get(cell.name)
            if entry is None:
                continue
            entry.metadata.update(cell_metadata(cell))
            voxel = cell.scans[0].voxel_size_um if cell.scans else None
            if voxel is not None:
                entry.metadata["voxel_size_um"] = list(voxel)
            changed.append((entry, voxel))
            self.entry_changed.emit(entry)
        return changed

    def save(self, path: str | Path | None = None) -> Path:
        """Save the open study (atomically) to ``path`` or its own file; its autosave is then retired.

        Raises
        ------
        LiCellInputError
            No study file is open (the demo study lives in memory), or it cannot be written.
        """
        from ..autosave.study import discard_study_autosave
        from .study_file import save_study

        if self.study is None:
            raise LiCellInputError(
                None,
                "the demo study lives in memory",
                "write it to disk with `napari-licell demo --out DIR` and open that study to edit and save it",
            )
        saved = save_study(self.study, Path(path) if path is not None else self.study_path)
        if self.study_path is not None:
            discard_study_autosave(self.study_path)
        self.study_path = saved
        return saved


def update_record(study: Any, name: str, values: dict[str, Any], voxel: float | None) -> None:
    """Write edited cell values (process, j, charge time, gas, voxel size in µm) into the study's record."""
    try:
        record = study.cell(name)
    except KeyError:
        return
    if values.get("process") is not None:
        record.bonding_process = values["process"]
    record.current_density_ma_cm2 = values.get("current_density_ma_cm2")
    record.charge_minutes = values.get("charge_minutes")
    for scan in record.scans:
        scan.gas = values.get("gas")
        scan.gas_pressure_atm = values.get("gas_pressure_atm")
        if voxel is not None:
            scan.voxel_size_um = (voxel,) * 3


def voltage_for_scan(voltage_file: str | None, synthetic: bool, name: str):
    """The voltage curve of a scan that joined without a study: its cycler file, or a demo cell's curve.

    Raises
    ------
    LiCellInputError
        The cycler file cannot be read.
    """
    if voltage_file:
        from ..echem.cycler_readers import read_voltage_curve

        return read_voltage_curve(voltage_file)
    if synthetic:
        from ..phantoms.demo_study import DEMO_CELL_NAMES, load_demo_cell

        if name in DEMO_CELL_NAMES:
            return load_demo_cell(name).voltage
    return None
