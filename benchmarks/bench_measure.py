"""Benchmark: measuring a 1-gigavoxel label volume, time and peak memory.

The volume is a demo cell's ground-truth labels tiled across (y, x) until it
holds at least ``--gigavoxels`` x 1e9 voxels, written slab by slab to disk
(never a second copy in RAM) as

* a ``np.memmap`` (``.npy``) - fastest; note that pages of a memory-mapped
  file that were read count in the process's resident set, so its peak RSS
  includes up to the whole file while the mapping is open;
* a zarr array (zlib-compressed chunks of a few slices) - every chunk is
  decoded into a fresh buffer, so its peak RSS is the measurement's own
  working memory.

Each measurement runs in a fresh subprocess that reports wall time and
``resource.getrusage(RUSAGE_SELF).ru_maxrss``. Run from the repository root::

    .venv/bin/python benchmarks/bench_measure.py                # none_after_Xe6, 1 GV, memmap + zarr
    .venv/bin/python benchmarks/bench_measure.py --cell process3_after_Xe6 --backend memmap
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "benchmarks" / "_data"

_CHILD = r"""
import json, resource, sys, time
import numpy as np
kind, path, cell = sys.argv[1], sys.argv[2], sys.argv[3]
if kind == "memmap":
    labels = np.load(path, mmap_mode="r")
else:
    import zarr
    labels = zarr.open_array(path, mode="r")
from napari_licell.measure import measure_cell
r0 = resource.getrusage(resource.RUSAGE_SELF)
t0 = time.perf_counter()
m = measure_cell(labels, 0.54)
t1 = time.perf_counter()
r1 = resource.getrusage(resource.RUSAGE_SELF)
rss0, rss = r0.ru_maxrss, r1.ru_maxrss
cpu = (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)
print(json.dumps({
    "backend": kind, "cell": cell, "shape": list(labels.shape), "voxels": int(np.prod(labels.shape)),
    "seconds": t1 - t0, "cpu_seconds": cpu, "peak_rss_mb": rss / 1024.0, "rss_before_mb": rss0 / 1024.0,
    "verdict": m.verdict.verdict, "li_in_se_fraction": m.li_in_se.fraction_of_li,
    "layer_mean_thickness_um": m.li_layer.mean_thickness_um,
    "n_masses": m.li_in_se.masses.count if m.li_in_se.masses else None,
}))
"""


def tiles_for(shape: tuple[int, int, int], gigavoxels: float) -> int:
    """Tiles per lateral axis so that the tiled volume holds at least ``gigavoxels`` x 1e9 voxels."""
    nz, ny, nx = shape
    return int(math.ceil(math.sqrt(gigavoxels * 1e9 / (nz * ny * nx))))


def build_memmap(labels: np.ndarray, k: int, path: Path) -> Path:
    """Write ``labels`` tiled k x k across (y, x) into a ``.npy`` memmap, slice by slice."""
    nz, ny, nx = labels.shape
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=(nz, ny * k, nx * k))
    for z in range(nz):
        out[z] = np.tile(labels[z], (k, k))
    out.flush()
    del out
    return path


def build_zarr(labels: np.ndarray, k: int, path: Path, slices_per_chunk: int = 4) -> Path:
    """Write ``labels`` tiled k x k across (y, x) into a zlib-compressed zarr array, a few slices at a time."""
    import zarr
    from zarr.codecs import BytesCodec, ZstdCodec

    nz, ny, nx = labels.shape
    shape = (nz, ny * k, nx * k)
    arr = zarr.create_array(
        str(path),
        shape=shape,
        chunks=(slices_per_chunk, shape[1], shape[2]),
        dtype="u1",
        serializer=BytesCodec(),
        compressors=ZstdCodec(level=1),
        overwrite=True,
    )
    for z0 in range(0, nz, slices_per_chunk):
        z1 = min(z0 + slices_per_chunk, nz)
        arr[z0:z1] = np.tile(labels[z0:z1], (1, k, k))
    return path


_BUILD = r"""
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[4])
from bench_measure import build_memmap, build_zarr
from napari_licell.phantoms import load_demo_cell
kind, path, cell, _, k = sys.argv[1:6]
labels = load_demo_cell(cell).labels
(build_memmap if kind == "memmap" else build_zarr)(labels, int(k), Path(path))
"""


def _python(code: str, *args: str) -> str:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=REPO)
    if out.returncode:
        raise RuntimeError(out.stderr)
    return out.stdout


def run_child(kind: str, path: Path, cell: str) -> dict:
    """Measure in a fresh interpreter; returns its JSON report.

    On Linux a child's ``ru_maxrss`` starts from its parent's resident set at
    ``exec``, so the parent stays small: the data are built in another child.
    """
    return json.loads(_python(_CHILD, kind, str(path), cell).strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cell", default="none_after_Xe6", help="demo cell whose labels are tiled")
    parser.add_argument("--gigavoxels", type=float, default=1.0, help="size of the tiled volume, 1e9 voxels")
    parser.add_argument("--backend", choices=("memmap", "zarr", "both"), default="both")
    parser.add_argument(
        "--repeat", type=int, default=2, help="measurements per backend (the first loads numba's cache)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the files in benchmarks/_data")
    args = parser.parse_args(argv)

    shape = tuple(
        json.loads(
            _python(
                "import json, sys; from napari_licell.phantoms import load_demo_cell; "
                "print(json.dumps(load_demo_cell(sys.argv[1]).labels.shape))",
                args.cell,
            )
        )
    )
    k = tiles_for(shape, args.gigavoxels)
    DATA.mkdir(parents=True, exist_ok=True)
    backends = ("memmap", "zarr") if args.backend == "both" else (args.backend,)
    results = []
    for kind in backends:
        path = DATA / f"{args.cell}_x{k}.{'npy' if kind == 'memmap' else 'zarr'}"
        t0 = time.perf_counter()
        if not path.exists():
            _python(_BUILD, kind, str(path), args.cell, str(Path(__file__).parent), str(k))
        build_s = time.perf_counter() - t0
        for _ in range(args.repeat):
            r = run_child(kind, path, args.cell)
            r["build_seconds"] = build_s
            results.append(r)
            print(
                f"{kind:6s} {r['shape']} {r['voxels'] / 1e9:.2f} GV: {r['seconds']:.1f} s wall "
                f"({r['cpu_seconds']:.1f} s CPU), "
                f"peak RSS {r['peak_rss_mb']:.0f} MB (interpreter + imports {r['rss_before_mb']:.0f} MB); "
                f"verdict {r['verdict']}, Li in SE {r['li_in_se_fraction']:.3f}, masses {r['n_masses']}",
                flush=True,
            )
        if not args.keep:
            import shutil

            shutil.rmtree(path) if path.is_dir() else path.unlink()
    print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
