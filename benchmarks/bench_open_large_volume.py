"""Benchmark: open a CT volume larger than half the machine's memory and show two slices.

Generates (once, chunk by chunk, never whole in memory) a uint16 ImageJ TIFF
of the requested size, drops it from the page cache, then in a fresh Python
process measures with :func:`napari_licell.io.read_volume.read_volume`:

* the time to open the file (header parse + check of first/middle/last slice),
* the time to first slice (open + materialise slice 0) and to the middle slice,
* the peak resident memory of that process (``resource.getrusage().ru_maxrss``).

For small sizes (``--naive-max-gigabytes``, default 4 GiB, and never more than
a third of the machine's memory) it also runs the naive baseline
``tifffile.imread(path)`` (whole volume into memory) in its own process.

Usage::

    python benchmarks/bench_open_large_volume.py --gigabytes 2
    python benchmarks/bench_open_large_volume.py            # 13 GiB, > half of 24 GB
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

_PEAK = r"""
def vm_hwm_mib():
    # peak resident set of this process image (reset by exec, unlike ru_maxrss)
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")
"""

_CHILD_READ_VOLUME = (
    _PEAK
    + r"""
import json, resource, sys, time
t0 = time.perf_counter()
import numpy as np, dask.array, tifffile
from napari_licell.io.read_volume import read_volume
t_import = time.perf_counter()
rss_import = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
vol = read_volume(sys.argv[1])
t_open = time.perf_counter()
first = np.asarray(vol.data[0])
t_first = time.perf_counter()
middle = np.asarray(vol.data[vol.shape[0] // 2])
t_middle = time.perf_counter()
print(json.dumps({
    "shape": list(vol.shape), "dtype": str(vol.dtype), "lazy": vol.metadata.get("lazy"),
    "voxel_size_um": list(vol.voxel_size_um),
    "import_s": t_import - t0, "open_s": t_open - t_import,
    "first_slice_s": t_first - t_import, "middle_slice_s": t_middle - t_first,
    "checksum": int(first[::64, ::64].sum()) + int(middle[::64, ::64].sum()),
    "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "rss_after_import_mib": rss_import / 1024, "vm_hwm_mib": vm_hwm_mib(),
}))
"""
)

_CHILD_NAIVE = (
    _PEAK
    + r"""
import json, resource, sys, time
t0 = time.perf_counter()
import numpy as np, tifffile
t_import = time.perf_counter()
rss_import = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
data = tifffile.imread(sys.argv[1])
t_open = time.perf_counter()
first = np.asarray(data[0]); middle = np.asarray(data[data.shape[0] // 2])
t_middle = time.perf_counter()
print(json.dumps({
    "shape": list(data.shape), "import_s": t_import - t0, "open_s": t_open - t_import,
    "first_slice_s": t_open - t_import, "middle_slice_s": t_middle - t_open,
    "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "rss_after_import_mib": rss_import / 1024, "vm_hwm_mib": vm_hwm_mib(),
}))
"""
)

_CHILD_GENERATE = r"""
import json, sys
sys.path.insert(0, sys.argv[2])
from bench_open_large_volume import generate_volume
print(json.dumps(generate_volume(__import__("pathlib").Path(sys.argv[1]), float(sys.argv[3]),
                                (int(sys.argv[4]), int(sys.argv[5])), sys.argv[6] if sys.argv[6] != "none" else None)))
"""


def machine_memory_bytes() -> int:
    """Physical memory of this machine in bytes."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def drop_from_page_cache(path: Path) -> bool:
    """Ask the kernel to forget the file's cached pages (so the read is cold). True if it could."""
    if not hasattr(os, "posix_fadvise"):
        return False
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def generate_volume(path: Path, gigabytes: float, yx: tuple[int, int], compression: str | None = None) -> dict:
    """Write a uint16 ImageJ TIFF of about ``gigabytes`` GiB, one block of slices at a time."""
    import resource

    import dask.array as da
    import numpy as np

    from napari_licell.io.writers import write_volume_tiff

    ny, nx = yx
    slice_bytes = ny * nx * 2
    nz = max(2, int(round(gigabytes * 2**30 / slice_bytes)))
    depth = max(1, (64 * 2**20) // slice_bytes)

    base = ((np.arange(ny, dtype=np.uint32)[:, None] * 7 + np.arange(nx, dtype=np.uint32)[None, :] * 3) % 4096).astype(
        np.uint16
    )

    def block(b, block_info=None):
        z0 = block_info[None]["array-location"][0][0]
        out = np.empty(b.shape, np.uint16)
        for i in range(b.shape[0]):
            np.add(base, (z0 + i) * 11 % 4096, out=out[i])
            out[i] &= 4095
        return out

    lazy = da.zeros((nz, ny, nx), dtype=np.uint16, chunks=(depth, ny, nx)).map_blocks(block, dtype=np.uint16)
    t0 = time.perf_counter()
    write_volume_tiff(path, lazy, 0.54, metadata={"benchmark": "bench_open_large_volume"}, compression=compression)
    seconds = time.perf_counter() - t0
    return {
        "shape": [nz, ny, nx],
        "bytes": nz * slice_bytes,
        "write_s": seconds,
        "writer_peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def run_child(code: str, *args: object) -> dict:
    """Run ``code`` in a fresh interpreter with ``args``; its last stdout line is JSON.

    Every measurement runs in its own process: the peak RSS of one step
    (ru_maxrss is inherited through fork/exec) must not leak into the next.
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run(
        [sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True, env=env, check=False
    )
    if out.returncode != 0:
        raise RuntimeError(f"child failed ({out.returncode}):\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", type=Path, default=REPO / "benchmarks" / "_data", help="where to write the volume")
    parser.add_argument("--gigabytes", type=float, default=13.0, help="volume size in GiB (default 13)")
    parser.add_argument("--yx", type=int, nargs=2, default=(2048, 2048), metavar=("Y", "X"), help="slice size")
    parser.add_argument(
        "--naive-max-gigabytes",
        type=float,
        default=4.0,
        help="run the naive tifffile.imread baseline only up to this size",
    )
    parser.add_argument(
        "--compression",
        default="none",
        help="tifffile compression of the generated file (none, zlib, zstd, lzw); "
        "compressed files are read through tifffile's zarr store instead of a memmap",
    )
    parser.add_argument("--keep", action="store_true", help="keep the generated file (reused on the next run)")
    args = parser.parse_args(argv)

    memory = machine_memory_bytes()
    target = int(args.gigabytes * 2**30)
    args.dir.mkdir(parents=True, exist_ok=True)
    tag = "" if args.compression == "none" else f"_{args.compression}"
    path = args.dir / f"bench_{args.gigabytes:g}GiB_{args.yx[0]}x{args.yx[1]}_u16{tag}.tif"
    print(
        f"machine memory: {memory / 2**30:.1f} GiB; volume: {target / 2**30:.1f} GiB "
        f"({100 * target / memory:.0f}% of memory)"
    )
    generated = None
    if not path.exists():
        free = shutil.disk_usage(args.dir).free
        if free < target * 1.05 + 2**30:
            print(f"not enough disk space in {args.dir}: {free / 2**30:.1f} GiB free, need {target / 2**30:.1f} GiB")
            return 1
        generated = run_child(_CHILD_GENERATE, path, Path(__file__).parent, args.gigabytes, *args.yx, args.compression)
        print(
            f"wrote {path.name}: shape {generated['shape']}, {generated['bytes'] / 2**30:.2f} GiB in "
            f"{generated['write_s']:.1f} s ({generated['bytes'] / 2**20 / generated['write_s']:.0f} MiB/s), "
            f"writer peak RSS {generated['writer_peak_rss_mib']:.0f} MiB"
        )
    try:
        cold = drop_from_page_cache(path)
        ours = run_child(_CHILD_READ_VOLUME, path)
        warm = run_child(_CHILD_READ_VOLUME, path)
        rows = [("read_volume (cold cache)" if cold else "read_volume", ours), ("read_volume (warm cache)", warm)]
        if generated is not None:
            generated["path"] = str(path)
        size = path.stat().st_size
        if size <= args.naive_max_gigabytes * 2**30 and size < memory / 3:
            drop_from_page_cache(path)
            rows.append(
                ("tifffile.imread (naive, cold)" if cold else "tifffile.imread (naive)", run_child(_CHILD_NAIVE, path))
            )
        else:
            print(
                f"naive tifffile.imread baseline skipped: {size / 2**30:.1f} GiB "
                f"> {min(args.naive_max_gigabytes, memory / 3 / 2**30):.1f} GiB"
            )
        print(f"\nvolume {ours['shape']} {ours['dtype']} ({size / 2**30:.2f} GiB on disk), backend: {ours['lazy']}")
        print(
            f"{'method':32s} {'open s':>8s} {'1st slice s':>12s} {'mid slice s':>12s} "
            f"{'peak RSS MiB':>13s} {'(VmHWM MiB)':>12s} {'RSS after imports':>18s}"
        )
        for label, r in rows:
            print(
                f"{label:32s} {r['open_s']:8.3f} {r['first_slice_s']:12.3f} {r['middle_slice_s']:12.3f} "
                f"{r['peak_rss_mib']:13.0f} {r['vm_hwm_mib']:12.0f} {r['rss_after_import_mib']:18.0f}"
            )
        print(
            "\n('1st slice' = open + materialise slice 0, timed after imports of numpy, dask, tifffile and "
            "napari_licell; peak RSS = ru_maxrss of that process)"
        )
        print(json.dumps({"generated": generated, "results": dict(rows)}, default=str))
    finally:
        if not args.keep:
            path.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
