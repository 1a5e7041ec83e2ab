"""Running the scan tasks: dask's local scheduler or an existing dask.distributed cluster.

Every scan is one task (:func:`~napari_licell.batch.scan_task.run_scan_job`).
``on_outcome`` is called in the calling process as each task finishes, so
progress lines appear as scans complete.

* ``concurrency == 1``: dask's synchronous scheduler, in this process.
* local, ``concurrency > 1``: dask's ``processes`` scheduler on a process pool
  of ``concurrency`` workers (spawned; Ctrl-C ignored between tasks), or the
  ``threads`` scheduler.
* ``address``: ``distributed.Client(address)``; at most ``concurrency`` tasks
  are in flight when a limit is given. Output folders must be on a file
  system the workers share with this machine.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor

from .jobs import ScanJob
from .scan_task import ScanOutcome, run_scan_job, worker_initializer

__all__ = ["run_local", "run_distributed", "LOCAL_SCHEDULERS"]

#: Local dask schedulers the batch can use.
LOCAL_SCHEDULERS = ("processes", "threads")

OutcomeCallback = Callable[[ScanOutcome], None]


def _task_key(i: int) -> str:
    return f"licell-scan-{i:05d}"


def _interrupt_workers(pool: ProcessPoolExecutor) -> None:
    """Pass Ctrl-C on to the worker processes: their running scan stops and removes its temporary folder."""
    import os
    import signal

    for pid in list(getattr(pool, "_processes", None) or {}):
        try:
            os.kill(pid, signal.SIGINT)
        except OSError:
            pass


def run_local(
    jobs: Sequence[ScanJob],
    concurrency: int,
    on_outcome: OutcomeCallback,
    *,
    scheduler: str = "processes",
    force: bool = False,
) -> list[ScanOutcome]:
    """Run the jobs on dask's local scheduler; returns the outcomes in job order."""
    import dask
    from dask.callbacks import Callback

    keys = {_task_key(i): i for i in range(len(jobs))}
    graph = {key: (run_scan_job, jobs[i], force) for key, i in keys.items()}

    def posttask(key, result, dsk, state, worker_id):
        if key in keys:
            on_outcome(result)

    with Callback(posttask=posttask):
        if concurrency <= 1:
            results = dask.get(graph, list(keys))
        elif scheduler == "threads":
            from dask.threaded import get

            results = get(graph, list(keys), num_workers=concurrency)
        else:
            from dask.multiprocessing import get

            pool = ProcessPoolExecutor(
                concurrency, mp_context=multiprocessing.get_context("spawn"), initializer=worker_initializer
            )
            try:
                results = get(graph, list(keys), pool=pool, num_workers=concurrency, chunksize=1)
            except KeyboardInterrupt:
                _interrupt_workers(pool)
                raise
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
    return list(results)


def _refused(address: str, timeout_s: float = 5.0) -> str | None:
    """For a ``tcp://host:port`` address: why a plain TCP connection fails at once (refused, unknown host,
    no route), else None. Lets a wrong address fail in seconds instead of after the client's timeout."""
    import socket
    from urllib.parse import urlsplit

    if not address.startswith("tcp://"):
        return None
    try:
        parts = urlsplit(address)
        host, port = parts.hostname, parts.port
    except ValueError as exc:
        return f"not a host:port address ({exc})"
    if not host or not port:
        return "not a host:port address"
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return None
    except socket.timeout:
        return None  # slow, not refused: leave it to the client's own timeout
    except OSError as exc:
        return exc.strerror or str(exc)


def run_distributed(
    jobs: Sequence[ScanJob],
    address: str,
    concurrency: int | None,
    on_outcome: OutcomeCallback,
    *,
    force: bool = False,
    timeout_s: float = 30.0,
) -> list[ScanOutcome]:
    """Run the jobs on the dask.distributed scheduler at ``address`` (``tcp://host:port``)."""
    from distributed import Client, as_completed

    from ..errors import LiCellInputError

    hint = "start one with 'dask scheduler' and workers, or leave out --scheduler"
    refused = _refused(address)
    if refused:
        raise LiCellInputError(None, f"cannot reach the dask scheduler at {address}: {refused}", hint)
    try:
        client = Client(address, timeout=timeout_s)
    except (OSError, TimeoutError) as exc:
        raise LiCellInputError(None, f"cannot reach the dask scheduler at {address}: {exc}", hint) from None
    outcomes: list[ScanOutcome | None] = [None] * len(jobs)
    try:
        limit = len(jobs) if not concurrency else max(1, int(concurrency))
        pending = list(enumerate(jobs))
        index: dict[str, int] = {}
        futures = []

        def submit_next(ac=None):
            i, job = pending.pop(0)
            fut = client.submit(run_scan_job, job, force, key=f"{_task_key(i)}-{job.cell}-{job.scan}", pure=False)
            index[fut.key] = i
            futures.append(fut)
            if ac is not None:
                ac.add(fut)
            return fut

        first = [submit_next() for _ in range(min(limit, len(pending)))]
        ac = as_completed(first)
        for fut in ac:
            outcome = fut.result()
            outcomes[index[fut.key]] = outcome
            on_outcome(outcome)
            if pending:
                submit_next(ac)
    except KeyboardInterrupt:
        client.cancel(futures)
        raise
    finally:
        client.close()
    return [o for o in outcomes if o is not None]
