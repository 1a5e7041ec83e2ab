"""How many scans may run at once within a memory budget, and each one's share.

Each ``analyze`` run keeps the peak resident memory of its process within
its ``--memory-limit`` (default :data:`~napari_licell.pipeline.DEFAULT_MEMORY_LIMIT_GB`),
imports and libraries included (:mod:`napari_licell.memory_limit`). With
``--memory-limit`` the batch shares its budget out (:func:`plan_batch_memory`):
worker processes get ``(budget - this process) / n`` each, with ``n`` as many
scans as fit at analyze's default limit (at most ``--workers``; one scan at a
time runs in this process with the whole budget); threads of this process
share the budget above its own memory; cluster workers get ``budget / n``.
A budget below what one scan's process needs is refused in one line.
:func:`scan_memory_estimate_bytes` and :func:`concurrency_for_budget` are the
earlier per-scan estimates (process + analyze's budget + in-RAM labels), kept
for callers that plan without a process limit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "PROCESS_BASE_BYTES",
    "ANALYZE_BUDGET_BYTES",
    "scan_shape",
    "scan_memory_estimate_bytes",
    "concurrency_for_budget",
    "BatchMemoryPlan",
    "plan_batch_memory",
]

#: Resident memory of a worker with napari_licell, numpy, dask, numba, scipy imported (measured ~0.55 GB).
PROCESS_BASE_BYTES = 600 * 2**20
#: Memory budget of one analyze run's streamed steps (its default ``--memory-limit``).
ANALYZE_BUDGET_BYTES = 2 * 2**30
#: Labels above this many voxels go to a label store on disk in ``analyze`` (mirrors its threshold).
IN_MEMORY_LABEL_VOXELS = 512 * 2**20


def scan_shape(path: Path) -> tuple[int, ...] | None:
    """Shape of a scan from its header (lazy open); None when it cannot be opened (the task reports why)."""
    try:
        from ..io.read_volume import read_volume

        return tuple(int(s) for s in read_volume(path).shape)
    except Exception:  # noqa: BLE001 - the task reports the bad file
        return None


def scan_memory_estimate_bytes(shape: tuple[int, ...] | None) -> int:
    """Peak resident memory of one ``analyze`` run in bytes (worker base + its budget + in-RAM labels).

    Parameters
    ----------
    shape : tuple of int or None
        (z, y, x) voxels of the scan; None charges the base and slab work only.
    """
    if not shape:
        return PROCESS_BASE_BYTES + ANALYZE_BUDGET_BYTES
    labels = min(math.prod(shape), IN_MEMORY_LABEL_VOXELS)
    return PROCESS_BASE_BYTES + ANALYZE_BUDGET_BYTES + labels


def concurrency_for_budget(estimates_bytes: list[int], workers: int, budget_bytes: int | None) -> int:
    """Scans to run at once: at most ``workers``, and as many of the largest scans as fit in the budget (>= 1)."""
    workers = max(1, int(workers))
    if budget_bytes is None or not estimates_bytes:
        return workers
    largest = max(estimates_bytes)
    return max(1, min(workers, int(budget_bytes // max(largest, 1))))


@dataclass(frozen=True)
class BatchMemoryPlan:
    """How a batch's ``--memory-limit`` is shared.

    Attributes
    ----------
    concurrency : int
        Scans run at once.
    scan_limit_bytes : int or None
        Limit on the peak resident memory of each scan's process (None: analyze's default).
    scan_baseline_bytes : int or None
        Resident memory of the process shared by scans run in threads (their baseline), else None
        (each worker process measures its own).
    """

    concurrency: int
    scan_limit_bytes: int | None
    scan_baseline_bytes: int | None = None


def plan_batch_memory(budget_bytes: int | None, workers: int, *, mode: str, process_bytes: int) -> BatchMemoryPlan:
    """Scans at once and each scan's process limit so that the batch's processes stay within ``budget_bytes``.

    Parameters
    ----------
    budget_bytes : int or None
        The batch's ``--memory-limit`` in bytes; None: no batch limit (each scan keeps analyze's default).
    workers : int
        Most scans at once.
    mode : {"processes", "threads", "distributed"}
        Where the scans run: worker processes beside this one, threads of this process, or
        a cluster's workers (their own machines; this process does not count).
    process_bytes : int
        Resident memory of this process with the analysis imported (also a worker's baseline).

    Raises
    ------
    LiCellInputError
        The budget is below what one scan's process needs.
    """
    from ..errors import LiCellInputError
    from ..memory_limit import smallest_limit_bytes

    workers = max(1, int(workers))
    if budget_bytes is None:
        return BatchMemoryPlan(workers, None)
    budget = int(budget_bytes)
    smallest = smallest_limit_bytes(process_bytes)
    if budget < smallest:
        need = math.ceil(smallest / 1e9 * 10) / 10
        raise LiCellInputError(
            None,
            f"--memory-limit {budget / 1e9:.2f} GB is below what one scan needs: a process takes "
            f"{process_bytes / 1e9:.2f} GB (Python and its libraries) and its work at least "
            f"{(smallest - process_bytes) / 1e9:.2f} GB more",
            f"give --memory-limit {need:g} or more",
        )
    preferred = max(ANALYZE_BUDGET_BYTES, smallest)  # analyze's default limit per scan, when the budget allows
    if mode == "distributed":
        n = max(1, min(workers, budget // preferred))
        return BatchMemoryPlan(n, budget // n)
    if mode == "threads":
        share = budget - process_bytes  # the scans' work shares one process
        n = max(1, min(workers, share // (preferred - process_bytes)))
        if n == 1:
            return BatchMemoryPlan(1, budget)
        return BatchMemoryPlan(n, process_bytes + share // n, process_bytes)
    # worker processes: this process plus n workers, each at most its limit
    n = max(1, min(workers, (budget - process_bytes) // preferred))
    if n == 1:  # one scan at a time runs in this process (dask's synchronous scheduler)
        return BatchMemoryPlan(1, budget)
    return BatchMemoryPlan(n, (budget - process_bytes) // n)
