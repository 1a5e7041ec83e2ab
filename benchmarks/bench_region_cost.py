"""What the cell region and the artifact corrections cost, as a share of ``analyze``'s time.

``python benchmarks/bench_region_cost.py [--shape Z Y X] [--repeat N]``

A full-view phantom (the process-3 cell in its jig: PEEK tubes, 6 atm Xe
around them, zeros outside the reconstruction circle, rings, cupping and a
drift along the stack; float32 as a reconstruction writes it) is written as
a TIFF, then, in the same run:

* ``analyze`` end to end (:func:`napari_licell.pipeline.run_analysis`) with
  ``--roi auto`` (region found, rings, cupping and drift corrected) and, as
  the reference, with ``--roi none`` (the whole volume, no corrections; its
  numbers are wrong for a full view, its time is what the rest costs);
* the region finder (:func:`~napari_licell.pipeline.find_scan_region`) and
  the ring/cupping/drift estimate (:func:`~napari_licell.pipeline.correct_scan_rings`)
  on their own.

It prints each time (best of ``--repeat``) and the extra share
``(auto - none) / none``; the issue's target is under 15 %.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


CPU: dict[int, float] = {}  # CPU seconds (this process) of the run each best wall time came from


def _best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        times.append((time.perf_counter() - t0, time.process_time() - c0))
    wall, cpu = min(times)
    CPU[id(fn)] = cpu
    print(f"  (wall {wall:.2f} s, CPU {cpu:.2f} s, load {Path('/proc/loadavg').read_text().split()[0]})", flush=True)
    return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", type=int, nargs=3, default=(240, 320, 320), help="phantom shape (z y x)")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()

    from napari_licell import pipeline
    from napari_licell.io.writers import write_volume_tiff
    from napari_licell.io.read_volume import read_volume
    from napari_licell.phantoms import paper_cell
    from napari_licell.phantoms.full_view import JigView, make_full_view_cell

    shape, vox = tuple(args.shape), 0.54
    spec = paper_cell("process3", shape=shape, charge_minutes=2000.0, seed=3)
    jig = JigView.scaled_to_view(
        shape[1] * vox, centre_offset_um=(3.0, -2.0), tilt_deg=1.0, rings_per_cm=0.3, cupping=0.15, drift=0.15
    )
    cell = make_full_view_cell(spec, jig)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "full_view.tif"
        write_volume_tiff(path, cell.image.astype("float32"), (vox,) * 3)
        print(
            f"full-view phantom {shape} float32, {cell.image.size / 1e6:.1f} M voxels, truth Li layer "
            f"{cell.truth.li_layer_thickness_um:.1f} um"
        )
        results = {}
        for roi in ("none", "auto"):
            options = pipeline.AnalysisOptions(gas="Xe", gas_pressure_atm=6.0, voxel_size_um=(vox,) * 3, roi=roi)
            out = Path(tmp) / f"out_{roi}"

            def run(options=options, out=out):
                results[roi] = pipeline.run_analysis(path, out, options)[0]

            seconds = _best(run, args.repeat)
            layer = results[roi].li_layer.mean_thickness_um
            print(
                f"analyze --roi {roi:<5} {seconds:7.2f} s   Li layer {layer:5.1f} um   "
                f"verdict {results[roi].verdict.verdict}"
            )
            results[f"{roi}_s"] = seconds
        data = read_volume(path).data
        options = pipeline.AnalysisOptions(gas="Xe", gas_pressure_atm=6.0, roi="auto")
        region_s = _best(lambda: pipeline.find_scan_region(data, options), args.repeat)
        region = pipeline.find_scan_region(data, options)
        rings_s = _best(lambda: pipeline.correct_scan_rings(data, region), args.repeat)
        extra = (results["auto_s"] - results["none_s"]) / results["none_s"]
        print(f"find_scan_region {region_s:7.2f} s ({100 * region_s / results['auto_s']:.0f} % of analyze --roi auto)")
        print(
            f"correct_scan_rings (rings, cupping, drift) {rings_s:7.2f} s "
            f"({100 * rings_s / results['auto_s']:.0f} % of analyze --roi auto)"
        )
        print(
            f"extra time of the region and corrections: {100 * extra:+.0f} % of analyze --roi none (target: under 15 %)"
        )


if __name__ == "__main__":
    main()
