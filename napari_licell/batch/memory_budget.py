"""How many scans may run at once within a memory budget.

Each ``analyze`` run works within its own memory budget (``--memory-limit``,
default :data:`~napari_licell.pipeline.DEFAULT_MEMORY_LIMIT_GB`):
classification blocks are tiled to fit it (:mod:`napari_licell.segmentation.blocks`),
and labels are kept in RAM (1 byte per voxel) up to 512 M voxels and in a
label store on disk above. The batch enforces its ``--memory-limit`` by the
number of scans it runs at the same time: each scan is charged
:func:`scan_memory_estimate_bytes`, and no more scans run together than fit
in the budget (at least one).
"""

from __future__ import annotations

import math
from pathlib import Path

__all__ = ["PROCESS_BASE_BYTES", "ANALYZE_BUDGET_BYTES", "scan_shape", "scan_memory_estimate_bytes",
           "concurrency_for_budget"]

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
