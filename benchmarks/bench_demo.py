"""Benchmark: generating the demo study, and the faithful (projection + FBP) acquisition mode.

Run: .venv/bin/python benchmarks/bench_demo.py [--faithful-slices N | --faithful-full]
Prints one table of figures; no assertion, figures are compared by people.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import tempfile
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--faithful-slices", type=int, default=16, help="slices to reconstruct in faithful mode")
    parser.add_argument("--faithful-full", action="store_true", help="reconstruct a whole default demo cell")
    args = parser.parse_args()
    os.environ["LICELL_CACHE_DIR"] = tempfile.mkdtemp(prefix="licell-bench-")

    from napari_licell.phantoms import ImagingSettings, attenuation_map, generate_cell_geometry, paper_cell
    from napari_licell.phantoms.demo_study import DEMO_CELL_NAMES, load_demo_study
    from napari_licell.phantoms.imaging import image_faithful

    rows = []
    t0 = time.perf_counter()
    cells = load_demo_study(use_cache=False)
    t_gen = time.perf_counter() - t0
    voxels = sum(c.image.size for c in cells)
    rows.append(("demo study generation (6 scans, no cache)", f"{t_gen:.2f} s", f"{voxels / 1e6:.1f} Mvoxel"))
    t0 = time.perf_counter()
    load_demo_study(use_cache=True)  # writes the cache
    t0 = time.perf_counter()
    load_demo_study(use_cache=True)
    rows.append(("demo study from cache", f"{time.perf_counter() - t0:.3f} s", f"{len(DEMO_CELL_NAMES)} scans"))

    spec = paper_cell("process3")
    geo = generate_cell_geometry(spec)
    mu = attenuation_map(geo.labels, geo.li_fraction, "Xe", 6.0)
    settings = ImagingSettings()
    n = spec.shape[0] if args.faithful_full else min(args.faithful_slices, spec.shape[0])
    t0 = time.perf_counter()
    image_faithful(mu[:n], spec.voxel_size_um, settings)
    t_f = time.perf_counter() - t0
    per_slice = t_f / n
    rows.append(
        (
            f"faithful acquisition, {settings.n_projections} projections, {spec.shape[1]}x{spec.shape[2]} slice",
            f"{per_slice:.3f} s/slice",
            f"whole {spec.shape} cell: {per_slice * spec.shape[0]:.0f} s"
            + ("" if args.faithful_full else " (extrapolated)"),
        )
    )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows.append(("peak resident memory", f"{peak_mb:.0f} MB", ""))

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    width = max(len(r[0]) for r in rows)
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:>14}  {note}")


if __name__ == "__main__":
    main()
