"""``napari-licell batch STUDY --out DIR``: analyse every scan of a study, then compare them.

Each scan goes through the same code path as ``napari-licell analyze``,
with the cell's current density, charge time and voltage file and the
scan's fill gas, gas pressure and voxel size taken from the study file.
Writes:

* ``DIR/<cell>/<scan>/`` - labels.tif, measurements.json, report.html (and
  the other analyze outputs), plus batch.json (job parameters) and
  measurements.pickle (for the study report);
* ``DIR/summary.csv`` - one row per scan: cell, process, state, gas, Li
  volume (um3), Li layer mean/std thickness (um), coverage, Li-in-SE share,
  max depth (um), Faraday thickness (um), verdict, status and error;
* ``DIR/summary.html`` - the study comparison report.

Every scan is one dask task: on the local scheduler by default (at most
--workers at once, fewer if --memory-limit says so), or on an existing
dask.distributed cluster with --scheduler tcp://host:port (the output folder
must be shared with its workers). Rerunning skips scans whose
measurements.json exists with unchanged input checksums and parameters.
Interrupting leaves only complete scan folders (each is written under a
temporary name and renamed when complete). Exit code 0 when every scan was
analysed, 2 when any failed (see the error column), 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from ..errors import EXIT_BAD_INPUT, LiCellInputError

__all__ = ["register"]


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "batch",
        help="analyse every scan of a study: per-scan folders, summary.csv, summary.html",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("study", metavar="STUDY", help="study file (.licell.yaml)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (created)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="dask.distributed scheduler, e.g. tcp://10.0.0.5:8786")
    p.add_argument("--workers", metavar="N", help="most scans at once (default: CPU count locally)")
    p.add_argument(
        "--memory-limit",
        metavar="GB",
        help="memory budget in GB for the scans running at once (limits how many run together)",
    )
    p.add_argument("--threads", action="store_true", help="local threads instead of worker processes")
    p.add_argument(
        "--model",
        metavar="MODEL",
        help="classify every scan with this pixel-classifier model (saved from the Paint dock)",
    )
    p.add_argument(
        "--labels-from-study",
        action="store_true",
        help="measure the study's label files instead of thresholding the scans",
    )
    p.add_argument("--force", action="store_true", help="analyse every scan again, even finished ones")
    p.set_defaults(func=_run)


def _positive(text: str | None, option: str, integer: bool = False) -> float | None:
    if text is None:
        return None
    try:
        value = int(text) if integer else float(text)
    except ValueError:
        raise LiCellInputError(None, f"{option} {text!r} is not a {'whole ' if integer else ''}number") from None
    if not math.isfinite(value) or value <= 0:
        raise LiCellInputError(None, f"{option} {text!r} must be positive")
    return value


def _run(args: argparse.Namespace) -> int:
    from ..batch import run_batch

    workers = _positive(args.workers, "--workers", integer=True)
    memory = _positive(args.memory_limit, "--memory-limit")
    result = run_batch(
        Path(args.study),
        Path(args.out),
        scheduler=args.scheduler,
        workers=int(workers) if workers else None,
        memory_limit_gb=memory,
        local_scheduler="threads" if args.threads else "processes",
        labels_from_study=args.labels_from_study,
        force=args.force,
        model=Path(args.model) if args.model else None,
        echo=lambda line: print(line, flush=True),
        warn=lambda line: print(line, file=sys.stderr, flush=True),
    )
    n = len(result.outcomes)
    skipped = sum(o.status == "skipped" for o in result.outcomes)
    print(f"summary: {result.summary_csv}" + (f", {result.summary_html}" if result.summary_html else ""))
    print(
        f"{n - result.n_failed} of {n} scans analysed ({skipped} skipped as already done), "
        f"{result.n_failed} failed, {result.seconds:.1f} s"
    )
    return EXIT_BAD_INPUT if result.n_failed else 0
