"""The study summary of a batch: ``summary.csv`` (one row per scan) and ``summary.html``.

Rows are made from each scan's ``measurements.json``, so a scan skipped on a
rerun gives exactly the numbers of the run that analysed it. Units are in
the column names: um, um3; shares (coverage, Li-in-SE fraction) are 0..1.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from .scan_task import ScanOutcome, load_measurements

__all__ = ["SUMMARY_COLUMNS", "summary_row", "write_summary_csv", "write_summary_html"]

#: Columns of ``summary.csv`` in order.
SUMMARY_COLUMNS: tuple[str, ...] = (
    "cell",
    "scan",
    "process",
    "state",
    "time_min",
    "gas",
    "gas_pressure_atm",
    "li_volume_um3",
    "li_layer_mean_thickness_um",
    "li_layer_std_thickness_um",
    "li_layer_coverage",
    "li_in_se_fraction_of_li",
    "li_in_se_fraction_including_se_li",
    "li_in_se_max_depth_um",
    "faraday_thickness_um",
    "verdict",
    "status",
    "error",
    "folder",
)


def _get(d: dict[str, Any] | None, *keys: str) -> Any:
    for k in keys:
        if not isinstance(d, dict):
            return None
        d = d.get(k)
    return d


def summary_row(outcome: ScanOutcome, root: Path) -> dict[str, Any]:
    """One summary row for a scan outcome; numbers are empty for a failed scan."""
    job, m = outcome.job, outcome.measurements
    try:
        folder = job.out.relative_to(root).as_posix()
    except ValueError:
        folder = str(job.out)
    return {
        "cell": job.cell,
        "scan": job.scan,
        "process": job.process,
        "state": job.state,
        "time_min": job.time_min,
        "gas": job.gas,
        "gas_pressure_atm": job.gas_pressure_atm,
        "li_volume_um3": _get(m, "li_volume_um3"),
        "li_layer_mean_thickness_um": _get(m, "li_layer", "mean_thickness_um"),
        "li_layer_std_thickness_um": _get(m, "li_layer", "std_thickness_um"),
        "li_layer_coverage": _get(m, "li_layer", "coverage"),
        "li_in_se_fraction_of_li": _get(m, "li_in_se", "fraction_of_li"),
        "li_in_se_fraction_including_se_li": _get(m, "li_in_se", "fraction_of_li_including_se_li"),
        "li_in_se_max_depth_um": _get(m, "li_in_se", "max_depth_um"),
        "faraday_thickness_um": _get(m, "faraday_thickness_um"),
        "verdict": _get(m, "verdict") if m else "",
        "status": outcome.status,
        "error": outcome.error,
        "folder": folder if m else "",
    }


def write_summary_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    """Write the rows as ``summary.csv`` (atomically)."""
    from ..io.writers import write_table_csv

    return write_table_csv(path, rows, columns=SUMMARY_COLUMNS)


def write_summary_html(path: Path, outcomes: list[ScanOutcome], study: Any, title: str) -> Path | None:
    """Write the study comparison (``study_report_html``) of the finished scans; None when none finished."""
    from ..io.atomic import atomic_write_text
    from ..report.html_report import study_report_html

    cells, voltages = [], {}
    for o in outcomes:
        if o.status not in ("done", "skipped"):
            continue
        m = copy.copy(load_measurements(o.job.out))
        m.name = o.job.key if len(study.cell(o.job.cell).scans) > 1 else o.job.cell
        cells.append(m)
        if o.job.voltage is not None:
            try:
                from ..echem.cycler_readers import read_voltage_curve

                voltages[m.name] = read_voltage_curve(o.job.voltage)
            except Exception:  # noqa: BLE001 - the per-scan report already has it; the comparison goes on
                pass
    if not cells:
        return None
    return atomic_write_text(path, study_report_html(cells, voltages=voltages, title=title))
