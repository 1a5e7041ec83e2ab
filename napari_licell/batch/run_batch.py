"""Analyse every scan of a study: the engine behind ``napari-licell batch``.

:func:`run_batch` loads the study, makes one :class:`~.jobs.ScanJob` per
scan, runs them (see :mod:`.scheduling`) and writes ``summary.csv`` and
``summary.html`` into the output folder. Finished scans are skipped on a
rerun (see :func:`~.scan_task.is_complete`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from .jobs import ScanJob, jobs_from_study
from ..io.voxel_size import assumed_voxel_size_warning
from .memory_budget import concurrency_for_budget, plan_batch_memory
from .scan_task import ScanOutcome, clean_partial_folders
from .scheduling import run_distributed, run_local
from .summary import summary_row, write_summary_csv, write_summary_html

__all__ = ["BatchResult", "run_batch", "outcome_line"]


@dataclass
class BatchResult:
    """Outcome of a batch run.

    Attributes
    ----------
    outcomes : list of ScanOutcome
        One per scan, in study order.
    rows : list of dict
        The rows of ``summary.csv``.
    summary_csv, summary_html : Path or None
        Written files (no HTML when no scan finished).
    concurrency : int
        Scans run at the same time.
    seconds : float
        Wall time of the whole batch (s).
    """

    outcomes: list[ScanOutcome]
    rows: list[dict]
    summary_csv: Path
    summary_html: Path | None
    concurrency: int
    seconds: float
    notes: list[str] = field(default_factory=list)

    @property
    def n_failed(self) -> int:
        return sum(o.status not in ("done", "skipped") for o in self.outcomes)


def outcome_line(o: ScanOutcome) -> str:
    """One progress line for a finished scan."""
    if o.status == "skipped":
        return f"skipped {o.job.key}: already analysed ({o.reason})"
    if o.status == "done":
        verdict = (o.measurements or {}).get("verdict", "?")
        return f"done    {o.job.key} in {o.seconds:.1f} s: {verdict}"
    return f"{o.status:<7} {o.job.key}: {o.error}"


def run_batch(
    study_path: Path,
    out: Path,
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    memory_limit_gb: float | None = None,
    local_scheduler: str = "processes",
    labels_from_study: bool = False,
    model: Path | None = None,
    force: bool = False,
    echo: Callable[[str], None] = print,
    warn: Callable[[str], None] | None = None,
) -> BatchResult:
    """Analyse every scan of a study into ``out/<cell>/<scan>/`` and write the study summary.

    Parameters
    ----------
    study_path : Path
        The ``.licell.yaml`` study file.
    out : Path
        Output folder (created).
    scheduler : str, optional
        Address of a dask.distributed scheduler (``tcp://host:port``); default:
        dask's local scheduler.
    workers : int, optional
        Most scans at once (default: the CPU count locally; unlimited on a cluster).
    memory_limit_gb : float, optional
        Memory budget in GB (10**9 bytes) shared by the scans running at once;
        limits how many run together (see :mod:`.memory_budget`).
    local_scheduler : {"processes", "threads"}
        Kind of local dask scheduler when more than one scan runs at once.
    model : Path, optional
        Pixel-classifier model (saved from the Paint dock) that classifies every scan.
    labels_from_study : bool
        Measure the study's label files instead of thresholding.
    force : bool
        Analyse every scan again.
    echo : callable(str)
        Receives the progress lines.
    warn : callable(str), optional
        Receives the warning lines (default ``echo``): one per scan whose
        voxel size was assumed because the scan and the study hold none.

    Returns
    -------
    BatchResult

    Raises
    ------
    LiCellInputError
        Unreadable study file, an output path that is not a folder, unreachable scheduler.
    KeyboardInterrupt
        On Ctrl-C; finished scans stay, the running ones leave nothing.
    """
    from ..errors import LiCellInputError
    from ..study.study_file import load_study

    t0 = time.perf_counter()
    study = load_study(study_path)
    out = Path(out).absolute()
    if out.exists() and not out.is_dir():
        raise LiCellInputError(out, "exists and is not a folder", "give a folder for --out")
    out.mkdir(parents=True, exist_ok=True)
    if model is not None and labels_from_study:
        raise LiCellInputError(Path(model), "--model and --labels-from-study both give the classes", "give one of them")
    if model is not None and not Path(model).is_file():
        raise LiCellInputError(Path(model), "model file not found", "save the model from the Paint dock first")
    jobs: list[ScanJob] = jobs_from_study(study, out, labels_from_study=labels_from_study, model=model)
    notes = []
    for folder in {job.out.parent for job in jobs}:
        n = clean_partial_folders(folder)
        if n:
            notes.append(f"removed {n} unfinished scan folder(s) of an interrupted run in {folder}")

    budget = None if memory_limit_gb is None else int(float(memory_limit_gb) * 1e9)
    limit = workers if workers else (None if scheduler else os.cpu_count() or 1)
    concurrency = concurrency_for_budget([], limit or len(jobs) or 1, None)
    if budget:
        # every process the batch runs (this one, and its workers) stays within its share of the budget
        from ..memory_limit import ESTIMATED_BASELINE_BYTES, import_analysis_modules, resident_bytes

        import_analysis_modules()
        plan = plan_batch_memory(
            budget,
            limit or len(jobs) or 1,
            mode="distributed" if scheduler else local_scheduler,
            process_bytes=resident_bytes() or ESTIMATED_BASELINE_BYTES,
        )
        concurrency = plan.concurrency
        jobs = [
            replace(job, memory_limit_bytes=plan.scan_limit_bytes, memory_baseline_bytes=plan.scan_baseline_bytes)
            for job in jobs
        ]
        notes.append(
            f"memory limit {budget / 1e9:.1f} GB: {concurrency} scan(s) at a time, each within "
            f"{plan.scan_limit_bytes / 1e9:.2f} GB of peak resident memory"
        )
    where = scheduler or f"local {local_scheduler if concurrency > 1 else 'synchronous'} scheduler"
    echo(
        f"batch: {len(jobs)} scans of {len(study.cells)} cells from {study_path}, "
        f"{concurrency if (limit or budget) else 'all'} at a time on {where}"
    )
    for note in notes:
        echo(note)

    def on_outcome(o: ScanOutcome) -> None:
        echo(outcome_line(o))
        line = assumed_voxel_size_warning(
            o.job.volume, (o.measurements or {}).get("parameters"), (o.measurements or {}).get("voxel_size_um")
        )
        if line:
            (warn or echo)(line)

    if not jobs:
        outcomes: list[ScanOutcome] = []
    elif scheduler:
        outcomes = run_distributed(jobs, scheduler, concurrency if (limit or budget) else None, on_outcome, force=force)
    else:
        outcomes = run_local(jobs, concurrency, on_outcome, scheduler=local_scheduler, force=force)
    if any(o.status == "interrupted" for o in outcomes):
        raise KeyboardInterrupt
    rows = [summary_row(o, out) for o in outcomes]
    csv_path = write_summary_csv(out / "summary.csv", rows)
    html_path = write_summary_html(out / "summary.html", outcomes, study, title=f"{study.name}: batch summary")
    return BatchResult(outcomes, rows, csv_path, html_path, concurrency, time.perf_counter() - t0, notes)
