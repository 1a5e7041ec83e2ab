"""Out-of-core benchmark runner: real scan sizes, each step in a fresh process, one table.

Generates (once, plane by plane, never whole in memory) a demo cell scaled up
(stretched in z, tiled in y/x) to ``--gigabytes`` GB of uint16 as a TIFF (and a zarr store when
``--zarr``), then runs every step of :mod:`bench_steps` in its own Python
process and prints one Markdown table: wall time, throughput in voxels per
second and peak resident memory (``ru_maxrss`` of the child) of
napari-licell next to the naive baseline (``tifffile.imread`` + numpy).
The naive runs are skipped when the volume exceeds half the machine's
memory. While a step runs, its resident memory (anonymous and file-backed,
from ``/proc/PID/status``) is sampled every few seconds into the log, so a
step that grows can be pinned down.

Usage (from the repository root)::

    .venv/bin/python benchmarks/run_benchmarks.py                     # 2 GB, all steps
    .venv/bin/python benchmarks/run_benchmarks.py --gigabytes 36 --steps first_slice,analyze
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(HERE))

from large_cell_data import write_large_cell  # noqa: E402

#: Steps in table order: (step, naive counterpart or None, label, throughput shown).
ROWS: tuple[tuple[str, str | None, str, bool], ...] = (
    ("first_slice", "naive_first_slice", "time to first slice", False),
    ("histogram", "naive_histogram", "histogram", True),
    ("classify", "naive_classify", "classification (thresholds)", True),
    ("forest", None, "forest prediction (one slab)", True),
    ("measure", None, "measurement (measure_cell)", True),
    ("analyze", "naive_analyze", "end-to-end analyze", True),
)


def machine_memory_bytes() -> int:
    """Physical memory of the machine in bytes."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def machine_text() -> str:
    """One line describing the machine."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), cpu)
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores, {machine_memory_bytes() / 2**30:.1f} GiB RAM, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


def _status_mib(pid: int) -> dict[str, float]:
    out = {}
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                key = line.split(":", 1)[0]
                if key in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
                    out[key] = int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return out


def run_step(step: str, args: dict, log, poll_seconds: float = 1.0, log_every_s: float = 10.0) -> dict:
    """Run one step in a fresh process; returns its JSON result (or ``{"error": ...}``)."""
    cmd = [sys.executable, str(HERE / "bench_steps.py"), step, json.dumps(args)]
    env = {**os.environ, "TMPDIR": args["work"], "PYTHONUNBUFFERED": "1"}
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=REPO)
    lines: list[str] = []
    peak = {"RssAnon": 0.0, "RssFile": 0.0}
    last_log = 0.0
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
    reader.start()
    while True:
        try:
            proc.wait(timeout=poll_seconds)
            break
        except subprocess.TimeoutExpired:
            pass
        s = _status_mib(proc.pid)
        for k in peak:
            peak[k] = max(peak[k], s.get(k, 0.0))
        now = time.perf_counter() - t0
        if s and log is not None and now - last_log >= log_every_s:
            last_log = now
            log.write(
                f"{time.strftime('%H:%M:%S')} {step} t={time.perf_counter() - t0:7.0f}s "
                + " ".join(f"{k}={v:.0f}MiB" for k, v in s.items())
                + "\n"
            )
            log.flush()
    reader.join()
    wall = time.perf_counter() - t0
    result = next((json.loads(ln[7:]) for ln in lines if ln.startswith("RESULT ")), None)
    if result is None or proc.returncode != 0:
        tail = "".join(lines[-5:]).strip().replace("\n", " | ")
        return {"error": f"exit {proc.returncode}: {tail[-400:]}", "process_seconds": wall}
    result["process_seconds"] = wall
    result["peak_anon_mib"], result["peak_file_mib"] = peak["RssAnon"], peak["RssFile"]
    return result


def _fmt_rate(r: dict | None, show: bool) -> str:
    if not r or "error" in r:
        return "—"
    if not show:
        return "—"
    return f"{r['voxels'] / r['seconds'] / 1e6:.1f} M/s"


def _fmt_time(r: dict | None, why: str = "") -> str:
    if r is None:
        return why or "—"
    if "error" in r:
        return f"failed: {r['error'][:120]}"
    return f"{r['seconds']:.2f} s"


def _fmt_rss(r: dict | None) -> str:
    """ru_maxrss, and in brackets the largest sampled anonymous part (the rest is file-backed memmap pages)."""
    if not r or "error" in r:
        return "—"
    anon = r.get("peak_anon_mib") or 0.0
    return f"{r['peak_rss_mib']:.0f} MiB" + (f" ({anon:.0f} anon)" if anon else "")


def table(results: dict[str, dict], naive_note: str) -> str:
    """Markdown table of the results (napari-licell next to the naive baseline)."""
    head = (
        "| step | napari-licell time | throughput (voxels/s) | peak RSS (anon) "
        "| naive time | naive throughput | naive peak RSS (anon) |"
    )
    lines = [head, "| --- " * 7 + "|"]
    for step, naive, label, rate in ROWS:
        if step not in results and (naive is None or naive not in results):
            continue
        r, n = results.get(step), results.get(naive) if naive else None
        extra = ""
        if step == "forest" and r and "train_seconds" in r:
            extra = f" (train {r['train_seconds']:.1f} s)"
        naive_time = _fmt_time(n, naive_note if naive else "no naive counterpart")
        lines.append(
            f"| {label} | {_fmt_time(r)}{extra} | {_fmt_rate(r, rate)} | {_fmt_rss(r)} "
            f"| {naive_time} | {_fmt_rate(n, rate)} | {_fmt_rss(n)} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--gigabytes", type=float, default=2.0, help="volume size in GB of uint16 (default 2)")
    p.add_argument("--data", type=Path, default=HERE / "_data" / "large_cell", help="folder for generated data")
    p.add_argument(
        "--steps",
        default="all",
        help="comma-separated steps (default all: "
        + ",".join(s for s, *_ in ROWS)
        + "; also analyze_phases: analyze's calls one by one with memory)",
    )
    p.add_argument("--zarr", action="store_true", help="also write the zarr store and time first_slice on it")
    p.add_argument(
        "--input",
        choices=("tiff", "zarr"),
        default="tiff",
        help="format the steps read (zarr: compressed store only, no TIFF, no naive baseline; "
        "for sizes whose TIFF would not fit on disk beside the scratch files)",
    )
    p.add_argument("--log", type=Path, help="memory samples and progress go here (default: stderr)")
    p.add_argument("--keep-work", action="store_true", help="keep the labels and analyze outputs")
    args = p.parse_args(argv)

    log = open(args.log, "a") if args.log else sys.stderr
    ram = machine_memory_bytes()
    need = args.gigabytes * 1e9
    free = shutil.disk_usage(args.data.parent if not args.data.exists() else args.data).free
    steps = [s for s, *_ in ROWS] if args.steps == "all" else [s.strip() for s in args.steps.split(",")]
    # input + the labels (a compressed label store for big volumes; budget 1 byte/voxel to be safe)
    labels_bytes = need / 4
    use_zarr = args.zarr or args.input == "zarr"
    input_bytes = (need if args.input == "tiff" else 0) + (0.5 * need if use_zarr else 0)  # zarr: compressed
    disk_need = input_bytes + (2 * labels_bytes if ("analyze" in steps or "classify" in steps) else 0)
    if not (args.data.exists() and any(args.data.iterdir())) and disk_need > 0.9 * free:
        print(f"not enough disk: need about {disk_need / 1e9:.0f} GB, {free / 1e9:.0f} GB free on {args.data.parent}")
        return 1

    t0 = time.perf_counter()
    log.write(f"{time.strftime('%H:%M:%S')} generating {args.gigabytes:g} GB in {args.data}\n")
    log.flush()
    cell = write_large_cell(
        args.data / f"{args.gigabytes:g}GB", args.gigabytes, tiff=args.input == "tiff", zarr=use_zarr
    )
    log.write(f"{time.strftime('%H:%M:%S')} data ready in {time.perf_counter() - t0:.0f} s: {cell}\n")
    log.flush()

    work = args.data / f"work_{args.gigabytes:g}GB"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    naive_ok = cell.nbytes <= 0.5 * ram and args.input == "tiff"
    naive_note = (
        ""
        if naive_ok
        else (
            f"skipped: {cell.nbytes / 1e9:.1f} GB > 50 % of {ram / 1e9:.1f} GB RAM"
            if args.input == "tiff"
            else "skipped: input is zarr (naive reads TIFF)"
        )
    )
    source = cell.tiff if args.input == "tiff" else cell.zarr
    base = {"volume": str(source), "work": str(work), "truth": str(cell.truth)}
    results: dict[str, dict] = {}
    for step in steps:
        if step == "measure" and "labels_stream" not in " ".join(os.listdir(work)):
            results["classify"] = results.get("classify") or run_step("classify", base, log)
        if step in results:
            continue
        if step not in [r[0] for r in ROWS] + ["analyze_phases"]:
            print(f"unknown step {step!r}")
            return 1
        log.write(f"{time.strftime('%H:%M:%S')} step {step}\n")
        log.flush()
        results[step] = run_step(step, base, log)
        naive = next((n for s, n, *_ in ROWS if s == step), None)
        if naive and naive_ok:
            nargs = dict(base)
            if naive in ("naive_classify", "naive_analyze"):
                th = results.get("classify") or run_step("classify", base, log)
                results.setdefault("classify", th)
                nargs.update(thresholds=th.get("thresholds"), classes=th.get("classes"))
            results[naive] = run_step(naive, nargs, log)
    if args.zarr and args.input == "tiff" and cell.zarr is not None:
        results["first_slice_zarr"] = run_step("first_slice", {**base, "volume": str(cell.zarr)}, log)

    z, y, x = cell.shape
    print(f"machine: {machine_text()}")
    print(
        f"volume: {z} x {y} x {x} uint16 = {cell.nbytes / 1e9:.2f} GB ({cell.nbytes / ram:.2f} x RAM), "
        f"demo cell stretched {cell.stretch}x in z and tiled {cell.tile} x {cell.tile}, "
        f"voxel {cell.voxel_size_um[0]:.4g} x {cell.voxel_size_um[1]:g} x {cell.voxel_size_um[2]:g} um, read from {source}"
    )
    if not naive_ok:
        print(f"naive baseline {naive_note}")
    print(table(results, naive_note))
    if "first_slice_zarr" in results:
        print(
            f"time to first slice from the zarr store: {_fmt_time(results['first_slice_zarr'])}, "
            f"peak RSS {_fmt_rss(results['first_slice_zarr'])}"
        )
    phases = (results.get("analyze_phases") or {}).get("phases")
    if phases:
        print("\nanalyze, call by call (memory after each call; peak = VmHWM since the previous call):")
        print("| call | time | peak RSS | RSS after | anon | file-backed |")
        print("| --- " * 6 + "|")
        for ph in phases:
            print(
                f"| {ph['phase']} | {ph['seconds']:.1f} s | {ph['VmHWM']} MiB | {ph['VmRSS']} MiB "
                f"| {ph['RssAnon']} MiB | {ph['RssFile']} MiB |"
            )
    for step in ("measure", "analyze"):
        r = results.get(step)
        if r and "verdict" in r:
            print(f"{step}: verdict {r['verdict']}, Li layer {r['li_layer_mean_thickness_um']:.1f} um")
    print("RESULTS_JSON " + json.dumps(results))
    if not args.keep_work:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
