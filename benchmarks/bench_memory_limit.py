"""Peak resident memory of ``napari-licell analyze --memory-limit GB`` against the limit.

Each run is a child process (``python -m napari_licell.cli analyze``); its peak
resident memory is the child's ``VmHWM`` from ``/proc/PID/status`` (sampled
every 0.1 s while it runs, the last sample a moment before it exits) and
``ru_maxrss`` from ``os.wait4`` (exact; the runner is small, so the child does
not inherit a larger parent's peak). The phase samples (VmRSS, RssAnon,
RssFile) show where the memory goes.

Peer measured in the same run: the resident memory of a bare
``python -c "import numpy, dask.array, numba, scipy.ndimage, tifffile"`` (the
floor any process with those libraries has) and of ``python -m
napari_licell.cli --version`` (the imports of the command).

Volumes come from :mod:`large_cell_data` (the demo cell scaled up, written
plane by plane)::

    .venv/bin/python benchmarks/bench_memory_limit.py --gigabytes 1 3 --limits 1.5 2
    .venv/bin/python benchmarks/bench_memory_limit.py --gigabytes 39 --format zarr --limits 2
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

MIB = 2**20


def _status(pid: int) -> dict[str, int]:
    """VmRSS, VmHWM, RssAnon, RssFile of a process in bytes (empty once it has gone)."""
    out: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                key, _, rest = line.partition(":")
                if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
                    out[key] = int(rest.split()[0]) * 1024
    except OSError:
        pass
    return out


def run_child(argv: list[str], *, sample_s: float = 0.1, env: dict[str, str] | None = None) -> dict:
    """Run ``argv`` as a child process and follow its memory.

    Returns
    -------
    dict
        ``code`` (exit code), ``seconds``, ``peak_bytes`` (max of the last VmHWM sample and
        ``ru_maxrss``), ``vmhwm_bytes``, ``maxrss_bytes``, ``samples`` ((t, VmRSS, RssAnon, RssFile)
        every ``sample_s``), ``stdout``, ``stderr``.
    """
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    samples: list[tuple[float, int, int, int]] = []
    hwm = [0]

    def follow() -> None:
        while proc.returncode is None:
            st = _status(proc.pid)
            if not st:
                break
            hwm[0] = max(hwm[0], st.get("VmHWM", 0))
            samples.append((time.perf_counter() - t0, st.get("VmRSS", 0), st.get("RssAnon", 0), st.get("RssFile", 0)))
            time.sleep(sample_s)

    # stdout/stderr are read by threads so a chatty child never blocks on a full pipe
    chunks: dict[str, bytes] = {}

    def drain(name: str, stream) -> None:
        chunks[name] = stream.read()

    threads = [
        threading.Thread(target=follow, daemon=True),
        threading.Thread(target=drain, args=("out", proc.stdout), daemon=True),
        threading.Thread(target=drain, args=("err", proc.stderr), daemon=True),
    ]
    for t in threads:
        t.start()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - t0
    for t in threads:
        t.join(timeout=5)
    maxrss = int(usage.ru_maxrss) * 1024
    return {
        "code": proc.returncode,
        "seconds": seconds,
        "peak_bytes": max(hwm[0], maxrss),
        "vmhwm_bytes": hwm[0],
        "maxrss_bytes": maxrss,
        "samples": samples,
        "stdout": chunks.get("out", b"").decode(errors="replace"),
        "stderr": chunks.get("err", b"").decode(errors="replace"),
    }


def analyze_argv(volume: Path, out: Path, limit_gb: float, extra: list[str] | None = None) -> list[str]:
    """The ``analyze`` command line of one benchmark run (gas given: the demo cell is a 6 atm Xe cell)."""
    return [
        sys.executable,
        "-m",
        "napari_licell.cli",
        "analyze",
        str(volume),
        "--out",
        str(out),
        "--memory-limit",
        f"{limit_gb:g}",
        "--gas",
        "xe",
        *(extra or []),
    ]


def _peer_runs() -> dict[str, int]:
    bare = run_child([sys.executable, "-c", "import numpy, dask.array, numba, scipy.ndimage, tifffile"])
    cli = run_child([sys.executable, "-m", "napari_licell.cli", "--version"])
    return {"libraries": bare["peak_bytes"], "cli": cli["peak_bytes"]}


def _phase_table(samples: list[tuple[float, int, int, int]], rows: int = 12) -> list[str]:
    if not samples:
        return []
    step = max(1, len(samples) // rows)
    lines = ["| t (s) | VmRSS MiB | anon MiB | file MiB |", "| --- | --- | --- | --- |"]
    for t, rss, anon, file in samples[::step]:
        lines.append(f"| {t:.0f} | {rss / MIB:.0f} | {anon / MIB:.0f} | {file / MIB:.0f} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--gigabytes", type=float, nargs="+", default=[1.0, 3.0])
    p.add_argument("--limits", type=float, nargs="+", default=[2.0], help="--memory-limit values in GB")
    p.add_argument("--format", choices=("tiff", "zarr"), default="tiff")
    p.add_argument("--data", type=Path, default=HERE / "_data" / "large_cell", help="folder for generated data")
    p.add_argument("--phases", action="store_true", help="print the memory samples of each run")
    p.add_argument("--json", type=Path, help="also write the results here")
    args = p.parse_args(argv)

    from large_cell_data import write_large_cell

    peers = _peer_runs()
    print(
        f"peer: python with numpy, dask.array, numba, scipy.ndimage, tifffile imported: "
        f"{peers['libraries'] / MIB:.0f} MiB; `napari-licell --version`: {peers['cli'] / MIB:.0f} MiB"
    )
    print()
    print("| scan | limit | peak RSS (VmHWM) | peak / limit | time | exit | verdict / message |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    results = []
    for gb in args.gigabytes:
        cell = write_large_cell(args.data, gb, tiff=args.format == "tiff", zarr=args.format == "zarr")
        volume = cell.tiff if args.format == "tiff" else cell.zarr
        for limit in args.limits:
            out = Path(tempfile.mkdtemp(prefix="bench-memory-"))
            try:
                r = run_child(analyze_argv(volume, out / "result", limit))
            finally:
                shutil.rmtree(out, ignore_errors=True)
            limit_bytes = limit * 2**30
            said = (
                (r["stdout"].splitlines()[:1] or [""])[0] if r["code"] == 0 else r["stderr"].strip().splitlines()[-1:]
            )
            said = said if isinstance(said, str) else (said[0] if said else "")
            print(
                f"| {cell.nbytes / 1e9:.2f} GB {'x'.join(map(str, cell.shape))} | {limit:g} GB "
                f"| {r['peak_bytes'] / MIB:.0f} MiB | {r['peak_bytes'] / limit_bytes:.2f} | {r['seconds']:.0f} s "
                f"| {r['code']} | {said[:90]} |",
                flush=True,
            )
            if args.phases:
                print("\n".join(_phase_table(r["samples"])))
            results.append(
                {
                    "gigabytes": cell.nbytes / 1e9,
                    "shape": cell.shape,
                    "limit_gb": limit,
                    "peak_mib": r["peak_bytes"] / MIB,
                    "vmhwm_mib": r["vmhwm_bytes"] / MIB,
                    "maxrss_mib": r["maxrss_bytes"] / MIB,
                    "seconds": r["seconds"],
                    "code": r["code"],
                    "message": said,
                }
            )
    if args.json:
        args.json.write_text(
            json.dumps({"peers_mib": {k: v / MIB for k, v in peers.items()}, "runs": results}, indent=1)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
