"""The memory limit of a process: what the process itself takes, and what is left for the work.

``--memory-limit GB`` (``analyze``, ``batch``) and the GUI setting bound the
peak resident memory of the whole process (its ``VmHWM``), Python and the
libraries included, not only the work arrays. :func:`process_budget` measures
the process's own resident memory at the start of the work (after the
imports), keeps a reserve for what the libraries allocate on their own
(numba loading its cached kernels, dask graphs, decode buffers of tifffile and
zarr, the report's figures), and gives the rest to the streamed steps, which
size their slabs, tiles and in-memory labels from it. When the limit leaves
less than :data:`MIN_WORK_BYTES` for the work, it says so in one line
(:class:`~napari_licell.errors.LiCellInputError`) with the smallest limit that
would do. Qt-free; Linux reads ``/proc/self/status``, other systems fall back
to ``resource``/``psutil`` or to an estimate.
"""

from __future__ import annotations

import functools
import math
import os
from dataclasses import dataclass

from .errors import LiCellInputError

__all__ = [
    "MemoryBudget",
    "process_budget",
    "resident_bytes",
    "peak_resident_bytes",
    "RESERVE_BYTES",
    "MIN_WORK_BYTES",
    "ESTIMATED_BASELINE_BYTES",
    "import_analysis_modules",
    "smallest_limit_bytes",
]

#: Memory kept free for allocations the budget does not size: numba's cached kernels and LLVM, dask
#: graphs, tifffile/zarr decode buffers, matplotlib figures of the report, Python's own arenas.
RESERVE_BYTES = 320 * 2**20
#: Smallest work budget the streamed steps are run with (a slab of a few planes of a 2700-wide scan).
MIN_WORK_BYTES = 256 * 2**20
#: Resident memory of a process with the analysis imported, when it cannot be measured (Linux: ~0.35 GB).
ESTIMATED_BASELINE_BYTES = 400 * 2**20


def _status_bytes(key: str) -> int | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def resident_bytes() -> int | None:
    """Resident memory of this process now (``VmRSS``), None when it cannot be read."""
    value = _status_bytes("VmRSS")
    if value is not None:
        return value
    try:  # macOS, Windows
        import psutil

        return int(psutil.Process(os.getpid()).memory_info().rss)
    except Exception:  # noqa: BLE001 - no way to measure: the caller estimates
        return None


def peak_resident_bytes() -> int | None:
    """Peak resident memory of this process so far (``VmHWM``), None when it cannot be read."""
    value = _status_bytes("VmHWM")
    if value is not None:
        return value
    try:
        import resource
        import sys

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return int(peak) if sys.platform == "darwin" else int(peak) * 1024
    except Exception:  # noqa: BLE001
        return None


def release_free_memory() -> bool:
    """Give the C heap's free pages back to the system, so memory already freed stops counting as resident.

    glibc serves arrays of up to 32 MB (a 2688 x 2688 float32 map) from its
    heap and keeps the pages of freed ones: after the measurement of a wide
    scan ~0.7 GB stayed resident that no array held, and the next step's
    allocations came on top of it. ``malloc_trim(0)`` returns them (glibc
    only; elsewhere nothing is done). Called between the analysis steps.

    Returns
    -------
    bool
        True when the C library was asked to trim.
    """
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


@functools.cache
def _malloc_trim():
    """glibc's ``malloc_trim``, None where the C library is not glibc (macOS, Windows, musl)."""
    try:
        import ctypes

        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


def import_analysis_modules() -> None:
    """Import what an analysis uses, so the baseline measured after it includes the libraries."""
    from . import measure, report, segmentation  # noqa: F401
    from .io import label_store, read_volume  # noqa: F401


def smallest_limit_bytes(baseline_bytes: int) -> int:
    """The smallest limit a process of ``baseline_bytes`` can work within."""
    return int(baseline_bytes) + RESERVE_BYTES + MIN_WORK_BYTES


@dataclass(frozen=True)
class MemoryBudget:
    """How a memory limit is split.

    Attributes
    ----------
    limit_bytes : int
        The limit on the process's peak resident memory.
    baseline_bytes : int
        The process's resident memory at the start of the work (imports included).
    reserve_bytes : int
        Kept free for allocations the budget does not size.
    work_bytes : int
        What the streamed steps may hold at once: ``limit - baseline - reserve``.
    measured : bool
        The baseline was measured (False: estimated).
    """

    limit_bytes: int
    baseline_bytes: int
    reserve_bytes: int
    work_bytes: int
    measured: bool = True

    def to_dict(self) -> dict[str, float | bool]:
        """The split in GB (2**30 bytes), for the provenance."""
        gb = 2.0**30
        return {
            "limit_gb": round(self.limit_bytes / gb, 3),
            "process_baseline_gb": round(self.baseline_bytes / gb, 3),
            "reserve_gb": round(self.reserve_bytes / gb, 3),
            "work_gb": round(self.work_bytes / gb, 3),
            "baseline_measured": self.measured,
        }


def _gb(n: float) -> str:
    return f"{n / 2**30:.2f}"


def process_budget(
    limit_bytes: int,
    *,
    baseline_bytes: int | None = None,
    option: str = "--memory-limit",
    path=None,
    strict: bool = True,
) -> MemoryBudget:
    """Split a limit on the process's peak resident memory into the process's own part and the work's.

    Parameters
    ----------
    limit_bytes : int
        The limit (``--memory-limit`` or the GUI setting) in bytes.
    baseline_bytes : int, optional
        The process's own resident memory; measured now when not given.
    option : str
        How the user gave the limit (for the message).
    path : path-like, optional
        The file the work is for (for the message).
    strict : bool
        Raise when the limit is too small. False (a default limit the user did
        not set, a GUI that already holds more): work with
        :data:`MIN_WORK_BYTES` (or the limit itself when smaller).

    Returns
    -------
    MemoryBudget

    Raises
    ------
    LiCellInputError
        The limit leaves less than :data:`MIN_WORK_BYTES` for the work.
    """
    limit = int(limit_bytes)
    measured = True
    if baseline_bytes is None:
        baseline_bytes = resident_bytes()
        if baseline_bytes is None:
            baseline_bytes, measured = ESTIMATED_BASELINE_BYTES, False
    baseline = int(baseline_bytes)
    work = limit - baseline - RESERVE_BYTES
    if work < MIN_WORK_BYTES and not strict:
        return MemoryBudget(limit, baseline, RESERVE_BYTES, min(limit, MIN_WORK_BYTES), measured)
    if work < MIN_WORK_BYTES:
        need = math.ceil(smallest_limit_bytes(baseline) / 2**30 * 10) / 10
        raise LiCellInputError(
            path,
            f"{option} {_gb(limit)} GB is below what napari-licell needs: the process itself takes "
            f"{_gb(baseline)} GB (Python and its libraries) and the work at least "
            f"{_gb(RESERVE_BYTES + MIN_WORK_BYTES)} GB more",
            f"give {option} {need:g} or more",
        )
    return MemoryBudget(limit, baseline, RESERVE_BYTES, work, measured)
