"""Batch analysis of a whole study (Qt-free): every scan through ``analyze``, a study summary.

Typical use::

    from napari_licell.batch import run_batch
    result = run_batch(Path("study.licell.yaml"), Path("results"), workers=2, memory_limit_gb=8)
    result.rows          # the rows of results/summary.csv
"""

from .jobs import ScanJob, analysis_options, jobs_from_study
from .memory_budget import concurrency_for_budget, scan_memory_estimate_bytes
from .run_batch import BatchResult, outcome_line, run_batch
from .scan_task import ScanOutcome, is_complete, load_measurements, run_scan_job
from .summary import SUMMARY_COLUMNS, summary_row

__all__ = [
    "BatchResult",
    "SUMMARY_COLUMNS",
    "ScanJob",
    "ScanOutcome",
    "analysis_options",
    "concurrency_for_budget",
    "is_complete",
    "jobs_from_study",
    "load_measurements",
    "outcome_line",
    "run_batch",
    "run_scan_job",
    "scan_memory_estimate_bytes",
    "summary_row",
]
