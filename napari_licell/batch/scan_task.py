"""The batch task: analyse one scan into its own folder, atomically, or skip it when already done.

:func:`run_scan_job` is what dask runs, once per scan (local processes,
threads, or a dask.distributed worker). It

1. skips the scan when ``<out>/measurements.json`` exists, the parameters
   recorded in ``<out>/batch.json`` equal the job's, and the SHA-256 of every
   input recorded in the measurements' provenance equals that of the file
   now (the scan, the voltage file, given labels, a classifier model);
2. otherwise runs :func:`napari_licell.pipeline.run_analysis` - the same
   code path as ``napari-licell analyze`` - into a hidden temporary folder
   beside the final one (``.<scan>.partial-XXXX``), adds ``batch.json`` and
   ``measurements.pickle`` (the measurement object, for the study report) and
   renames the folder into place in one step. An interrupted or failed scan
   leaves no folder under its final name.

Errors never escape as tracebacks: a bad scan comes back as a failed
:class:`ScanOutcome` with one line naming the file.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import signal
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import __version__
from ..errors import LiCellInputError
from .jobs import ScanJob, analysis_options

__all__ = [
    "ScanOutcome",
    "run_scan_job",
    "is_complete",
    "clean_partial_folders",
    "load_measurements",
    "BATCH_FILE",
    "PICKLE_FILE",
    "worker_initializer",
]

#: File in every finished scan folder recording the job parameters and software version.
BATCH_FILE = "batch.json"
#: The :class:`~napari_licell.measure.CellMeasurements` of the scan (for the study report).
PICKLE_FILE = "measurements.pickle"
_PARTIAL = ".partial-"
_OLD = ".old-"
#: Set in dask worker processes started by the batch, where SIGINT is ignored between tasks.
_IN_BATCH_WORKER = False
#: Set in such a worker once Ctrl-C reached it: later tasks return "interrupted" at once.
_STOPPED = False


@dataclass
class ScanOutcome:
    """What happened to one scan.

    Attributes
    ----------
    job : ScanJob
    status : {"done", "skipped", "failed", "interrupted"}
    seconds : float
        Wall time of the task (s).
    measurements : dict or None
        The scan's ``measurements.json`` (done or skipped).
    error : str
        One line naming the file and the problem (failed scans).
    reason : str
        Why the scan was run again or skipped.
    """

    job: ScanJob
    status: str
    seconds: float = 0.0
    measurements: dict[str, Any] | None = None
    error: str = ""
    reason: str = ""


def worker_initializer() -> None:
    """Initializer of batch worker processes: ignore Ctrl-C between tasks (a task handles it itself)."""
    global _IN_BATCH_WORKER
    _IN_BATCH_WORKER = True
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _recorded_inputs(measurements: dict[str, Any]) -> dict[str, str]:
    prov = measurements.get("provenance") or {}
    return {str(rec.get("path")): str(rec.get("sha256")) for rec in prov.get("inputs") or []}


def _job_inputs(job: ScanJob) -> list[Path]:
    return [p for p in (job.volume, job.labels, job.model, job.voltage) if p is not None]


def is_complete(job: ScanJob) -> tuple[bool, str]:
    """Whether ``job.out`` holds a finished analysis of exactly this job's inputs and parameters.

    Returns
    -------
    complete : bool
    reason : str
        Why not (or "inputs and parameters unchanged").
    """
    from ..measure.provenance import input_record

    out = job.out
    measurements = _read_json(out / "measurements.json")
    if measurements is None:
        return False, "no measurements.json"
    record = _read_json(out / BATCH_FILE)
    if record is None or not (out / PICKLE_FILE).is_file():
        return False, f"no {BATCH_FILE}"
    if record.get("parameters") != json.loads(json.dumps(job.parameters())):
        return False, "parameters changed"
    if record.get("software") != __version__:
        return False, f"made by napari-licell {record.get('software')}, this is {__version__}"
    recorded = _recorded_inputs(measurements)
    for path in _job_inputs(job):
        if not path.exists():
            return False, f"{path} is missing"
        if recorded.get(str(path)) != input_record(path)["sha256"]:
            return False, f"{path.name} changed (SHA-256 differs)"
    return True, "inputs and parameters unchanged"


def clean_partial_folders(cell_folder: Path) -> int:
    """Remove temporary scan folders left by a killed run in ``cell_folder``; returns how many."""
    n = 0
    if cell_folder.is_dir():
        for p in cell_folder.iterdir():
            if p.is_dir() and p.name.startswith(".") and (_PARTIAL in p.name or _OLD in p.name):
                shutil.rmtree(p, ignore_errors=True)
                n += 1
    return n


def load_measurements(folder: Path) -> Any:
    """The :class:`~napari_licell.measure.CellMeasurements` saved in a finished scan folder."""
    with (Path(folder) / PICKLE_FILE).open("rb") as fh:
        return pickle.load(fh)


def _error_line(job: ScanJob, exc: BaseException) -> str:
    if isinstance(exc, LiCellInputError):
        text = exc.message if exc.path is not None else f"{job.volume}: {exc.message}"
    else:
        text = f"{job.volume}: {type(exc).__name__}: {exc}"
    return " ".join(text.split())


def _put_in_place(tmp: Path, final: Path) -> None:
    """Rename ``tmp`` to ``final``; an older ``final`` is moved aside first and removed after."""
    old = None
    if final.exists():
        old = final.parent / f".{final.name}{_OLD}{os.getpid()}-{time.monotonic_ns()}"
        os.replace(final, old)
    os.replace(tmp, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _analyze_into(job: ScanJob, tmp: Path) -> None:
    from .. import pipeline
    from ..io.atomic import atomic_write_bytes, atomic_write_text

    m, _files = pipeline.run_analysis(
        job.volume,
        tmp,
        analysis_options(job),
        command=["napari-licell", "batch", f"({job.key})"],
        memory_baseline_bytes=job.memory_baseline_bytes,
    )
    record = {"parameters": job.parameters(), "software": __version__, "cell": job.cell, "scan": job.scan}
    atomic_write_text(tmp / BATCH_FILE, json.dumps(record, indent=2))
    atomic_write_bytes(tmp / PICKLE_FILE, pickle.dumps(m, protocol=pickle.HIGHEST_PROTOCOL))


def run_scan_job(job: ScanJob, force: bool = False) -> ScanOutcome:
    """Analyse one scan (or skip it when finished); never raises for a bad scan.

    Parameters
    ----------
    job : ScanJob
    force : bool
        Analyse again even when the folder is complete.

    Returns
    -------
    ScanOutcome
        ``status`` "done", "skipped" or "failed"; "interrupted" when a batch
        worker process got Ctrl-C. In the calling process itself Ctrl-C
        (KeyboardInterrupt) propagates after the temporary folder is removed.
    """
    global _STOPPED
    t0 = time.perf_counter()
    if _STOPPED:
        return ScanOutcome(job, "interrupted", 0.0, error=f"{job.volume}: interrupted")
    restore = None
    if _IN_BATCH_WORKER and threading.current_thread() is threading.main_thread():
        restore = signal.signal(signal.SIGINT, signal.default_int_handler)
    tmp: Path | None = None
    try:
        if not force:
            done, reason = is_complete(job)
            if done:
                return ScanOutcome(
                    job, "skipped", time.perf_counter() - t0, _read_json(job.out / "measurements.json"), reason=reason
                )
        else:
            reason = "forced"
        job.out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{job.out.name}{_PARTIAL}", dir=job.out.parent))
        os.chmod(tmp, job.out.parent.stat().st_mode & 0o777)  # mkdtemp makes it private
        _analyze_into(job, tmp)
        _put_in_place(tmp, job.out)
        tmp = None
        return ScanOutcome(
            job, "done", time.perf_counter() - t0, _read_json(job.out / "measurements.json"), reason=reason
        )
    except KeyboardInterrupt:
        if restore is None:
            raise
        _STOPPED = True
        return ScanOutcome(job, "interrupted", time.perf_counter() - t0, error=f"{job.volume}: interrupted")
    except Exception as exc:  # noqa: BLE001 - one bad scan must not stop the batch
        return ScanOutcome(job, "failed", time.perf_counter() - t0, error=_error_line(job, exc))
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        if restore is not None:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
