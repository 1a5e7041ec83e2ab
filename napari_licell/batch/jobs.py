"""One batch job per scan of a study: where it comes from, its parameters and its output folder.

A :class:`ScanJob` is a plain, picklable record (it travels to dask worker
processes and to a dask.distributed cluster); it holds everything
``napari-licell analyze`` needs for one scan, taken from the study file:
the cell's current density (mA/cm2), charge time (minutes) and voltage file,
and the scan's fill gas, gas pressure (atm) and voxel size (micrometres).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..pipeline import AnalysisOptions

__all__ = ["ScanJob", "jobs_from_study", "scan_folder_name", "analysis_options"]

_SUFFIXES = (".ome.zarr", ".zarr", ".ome.tiff", ".ome.tif", ".tiff", ".tif", ".h5", ".hdf5", ".raw", ".npy")


@dataclass(frozen=True)
class ScanJob:
    """Everything needed to analyse one scan of a study.

    Attributes
    ----------
    cell : str
        Cell name (first level of the output folder).
    scan : str
        Scan name, unique within the cell (second level of the output folder).
    volume : Path
        Scan file or folder.
    out : Path
        Output folder ``DIR/<cell>/<scan>``.
    process : str or None
        Bonding process of the cell.
    state : str or None
        "before", "after" or "during" charging.
    time_min : float or None
        Charge time at the scan in minutes.
    gas : str or None
        "Xe" or "Ar".
    gas_pressure_atm : float or None
        Fill-gas pressure in atm.
    voxel_size_um : tuple of float or None
        (z, y, x) voxel size in micrometres from the study (None: from the file).
    current_density_ma_cm2 : float or None
        Plating current density in mA/cm2.
    charge_minutes : float or None
        Charge time of the cell in minutes.
    voltage : Path or None
        Cycler file of the cell.
    labels : Path or None
        Given class labels (only with ``labels_from_study``), else thresholded.
    model : Path or None
        Pixel-classifier model that classifies the scan instead of thresholds.
    memory_limit_bytes : int or None
        Limit on the peak resident memory of the scan's process (the batch's
        ``--memory-limit`` shared out, :func:`~.memory_budget.plan_batch_memory`);
        None: analyze's default. Not an analysis parameter (the numbers do not depend on it).
    memory_baseline_bytes : int or None
        The process's own memory when scans share it (threads), else measured by the scan.
    before_scan : Path or None
        The cell's scan before charging (for every other scan of the cell): its gas
        pores are not taken for lithium.
    """

    cell: str
    scan: str
    volume: Path
    out: Path
    process: str | None = None
    state: str | None = None
    time_min: float | None = None
    gas: str | None = None
    gas_pressure_atm: float | None = None
    voxel_size_um: tuple[float, float, float] | None = None
    current_density_ma_cm2: float | None = None
    charge_minutes: float | None = None
    voltage: Path | None = None
    labels: Path | None = None
    model: Path | None = None
    memory_limit_bytes: int | None = None
    memory_baseline_bytes: int | None = None
    before_scan: Path | None = None

    @property
    def key(self) -> str:
        """``cell/scan``."""
        return f"{self.cell}/{self.scan}"

    def parameters(self) -> dict[str, Any]:
        """The analysis parameters (units in the names); a changed value means the scan is analysed again."""
        return {
            "volume": str(self.volume),
            "gas": self.gas,
            "gas_pressure_atm": self.gas_pressure_atm,
            "voxel_size_um": list(self.voxel_size_um) if self.voxel_size_um else None,
            "current_density_ma_cm2": self.current_density_ma_cm2,
            "charge_minutes": self.charge_minutes,
            "voltage": str(self.voltage) if self.voltage else None,
            "labels": str(self.labels) if self.labels else None,
            "model": str(self.model) if self.model else None,
            "before_scan": str(self.before_scan) if self.before_scan else None,
        }


def _safe(name: str) -> str:
    """A folder name: path separators and control characters replaced by '_'."""
    text = re.sub(r"[\\/:*?\"<>|\x00-\x1f]+", "_", str(name)).strip().strip(".")
    return text or "scan"


def scan_folder_name(path: Path) -> str:
    """Folder name for a scan: its file name without the volume suffix."""
    name = Path(path).name
    for suffix in _SUFFIXES:
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
            break
    return _safe(name)


def jobs_from_study(
    study: Any, out: Path, *, labels_from_study: bool = False, model: Path | None = None
) -> list[ScanJob]:
    """One job per scan of every cell, in study order.

    Parameters
    ----------
    study : Study
        Loaded study (paths absolute).
    out : Path
        Batch output folder; scan ``s`` of cell ``c`` goes to ``out/c/s``.
    labels_from_study : bool
        Measure the scans' ``labels_path`` instead of thresholding.
    model : Path, optional
        Classify every scan with this pixel-classifier model instead of thresholding.

    Returns
    -------
    list of ScanJob
    """
    jobs = []
    for cell in study.cells:
        used: set[str] = set()
        before = next((Path(s.path) for s in cell.scans if s.state == "before"), None)
        for i, scan in enumerate(cell.scans):
            name = scan_folder_name(scan.path)
            if name in used:
                name = f"{name}_{i + 1}"
            used.add(name)
            jobs.append(
                ScanJob(
                    cell=cell.name,
                    scan=name,
                    volume=Path(scan.path),
                    out=Path(out) / _safe(cell.name) / name,
                    process=cell.bonding_process,
                    state=scan.state,
                    time_min=scan.time_min,
                    gas=scan.gas,
                    gas_pressure_atm=scan.gas_pressure_atm,
                    voxel_size_um=tuple(float(v) for v in scan.voxel_size_um) if scan.voxel_size_um else None,
                    current_density_ma_cm2=cell.current_density_ma_cm2,
                    charge_minutes=cell.charge_minutes,
                    voltage=cell.voltage_file,
                    labels=scan.labels_path if labels_from_study else None,
                    model=Path(model) if model is not None and not labels_from_study else None,
                    before_scan=before if before is not None and scan.state != "before" else None,
                )
            )
    return jobs


def analysis_options(job: ScanJob, memory_limit_bytes: int | None = None) -> AnalysisOptions:
    """The :class:`~napari_licell.pipeline.AnalysisOptions` of a job (what ``analyze`` would be given)."""
    if memory_limit_bytes is None:
        memory_limit_bytes = job.memory_limit_bytes
    extra = (
        {}
        if memory_limit_bytes is None
        else {"memory_limit_bytes": int(memory_limit_bytes), "memory_limit_given": True}
    )
    return AnalysisOptions(
        gas=job.gas,
        gas_pressure_atm=job.gas_pressure_atm if job.gas else None,
        voxel_size_um=job.voxel_size_um,
        current_density_ma_cm2=job.current_density_ma_cm2,
        charge_minutes=job.charge_minutes if job.current_density_ma_cm2 is not None else None,
        labels=job.labels,
        model=job.model,
        voltage=job.voltage,
        before_scan=job.before_scan,
        **extra,
    )
