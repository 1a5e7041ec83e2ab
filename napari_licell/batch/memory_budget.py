"""How many scans may run at once within a memory budget.

``analyze`` exposes no memory option, and its streamed steps use slab sizes
of their own: histogram ~128 MB of input per slab, measurement ~32 M voxels
per slab, classification ~64 MB of input per slab but never less than one
whole (y, x) plane, read with a halo of 4 planes on each side for the
partial-volume rules (``segmentation.partial_volume.pv_halo(3)``), and about
9 bytes of work arrays per voxel of that block. Labels are kept in RAM
(1 byte per voxel) up to 512 M voxels and in memmaps on disk above. The
batch therefore enforces ``--memory-limit`` by the number of scans it runs
at the same time: each scan is charged :func:`scan_memory_estimate_bytes`,
and no more scans run together than fit in the budget (at least one).
"""

from __future__ import annotations

import math
from pathlib import Path

__all__ = ["PROCESS_BASE_BYTES", "SLAB_WORK_BYTES", "CLASSIFY_BLOCK_PLANES", "CLASSIFY_BYTES_PER_VOXEL",
           "scan_shape", "scan_memory_estimate_bytes", "concurrency_for_budget"]

#: Resident memory of a worker with napari_licell, numpy, dask, numba, scipy imported (measured ~0.55 GB).
PROCESS_BASE_BYTES = 600 * 2**20
#: Working arrays of the streamed slab steps for scans with small planes.
SLAB_WORK_BYTES = 512 * 2**20
#: Planes in one classification block at the least: one slab plane plus a 4-plane halo on each side.
CLASSIFY_BLOCK_PLANES = 9
#: Bytes per voxel of a classification block: the uint16 grey values plus ~7 uint8 work arrays.
CLASSIFY_BYTES_PER_VOXEL = 9
#: Labels above this many voxels go to a memmap in ``analyze`` (mirrors its threshold).
IN_MEMORY_LABEL_VOXELS = 512 * 2**20


def scan_shape(path: Path) -> tuple[int, ...] | None:
    """Shape of a scan from its header (lazy open); None when it cannot be opened (the task reports why)."""
    try:
        from ..io.read_volume import read_volume

        return tuple(int(s) for s in read_volume(path).shape)
    except Exception:  # noqa: BLE001 - the task reports the bad file
        return None


def scan_memory_estimate_bytes(shape: tuple[int, ...] | None) -> int:
    """Peak resident memory of one ``analyze`` run in bytes (worker base + slab work + in-RAM labels).

    Parameters
    ----------
    shape : tuple of int or None
        (z, y, x) voxels of the scan; None charges the base and slab work only.
    """
    if not shape:
        return PROCESS_BASE_BYTES + SLAB_WORK_BYTES
    plane = math.prod(shape[1:])
    block = min(int(shape[0]), CLASSIFY_BLOCK_PLANES) * plane * CLASSIFY_BYTES_PER_VOXEL
    labels = min(math.prod(shape), IN_MEMORY_LABEL_VOXELS)
    return PROCESS_BASE_BYTES + max(SLAB_WORK_BYTES, block) + labels


def concurrency_for_budget(estimates_bytes: list[int], workers: int, budget_bytes: int | None) -> int:
    """Scans to run at once: at most ``workers``, and as many of the largest scans as fit in the budget (>= 1)."""
    workers = max(1, int(workers))
    if budget_bytes is None or not estimates_bytes:
        return workers
    largest = max(estimates_bytes)
    return max(1, min(workers, int(budget_bytes // max(largest, 1))))
