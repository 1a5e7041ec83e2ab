"""Whole-volume classification as ``analyze`` runs it, beside its references in the same run (issue 20).

Prints, for one in-memory volume (a demo cell tiled in y and x, optionally
stretched along the stack), throughput in M voxels/s and the ratio to the
plain lookup table measured in the same run:

* ``numpy.digitize`` + code lookup (the naive classification);
* own lookup table (``_apply_lut`` into a preallocated array; and
  ``classify_slice``, which allocates its output);
* partial-volume rules on one block: the fast path (only where a voxel's
  class is in doubt) and the reference (every voxel);
* ``classify_volume`` as ``analyze`` runs it (partial-volume rules + carbon
  band, blocks under the default 2 GiB budget): fast path and reference;
* the carbon band alone (plane sweep and the reference's column tiles).

The fast and reference labels are compared voxel for voxel in the same run.
The machine may be shared: the ratios matter more than the absolute figures.

Run from the repository root::

    .venv/bin/python benchmarks/bench_classify.py                       # process3, 300 x 1024 x 1024
    .venv/bin/python benchmarks/bench_classify.py --cell process1_after_Xe6 --yx 768 --stretch 2
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from timing_helpers import CPU_OF_BEST as _CPU  # noqa: E402 - after the path set-up
from timing_helpers import best_of as _best  # noqa: E402
from timing_helpers import load_average as _load  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    from napari_licell.phantoms import load_demo_cell
    from napari_licell.segmentation import classify_volume, suggest_thresholds, volume_histogram
    from napari_licell.segmentation.carbon_band import label_carbon_band
    from napari_licell.segmentation.classify import _apply_lut, _lut_for, classify_block, classify_slice, with_levels
    from napari_licell.segmentation.partial_volume_fast import PvScratch

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cell", default="process3_after_Xe6")
    p.add_argument("--yx", type=int, default=1024, help="side of the tiled slice (voxels)")
    p.add_argument("--stretch", type=int, default=1, help="repeats of each plane along the stack")
    p.add_argument("--repeat", type=int, default=3)
    a = p.parse_args(argv)

    cell = load_demo_cell(a.cell)
    img = cell.image
    reps = int(np.ceil(a.yx / img.shape[1]))
    volume = np.ascontiguousarray(np.repeat(np.tile(img, (1, reps, reps))[:, : a.yx, : a.yx], a.stretch, axis=0))
    n = volume.size
    hist = volume_histogram(img)
    ts = with_levels(suggest_thresholds(hist), hist)
    print(f"{a.cell}: {volume.shape} {volume.dtype}, {n / 1e6:.0f} M voxels; thresholds {ts.values}; load {_load()}")

    # warm-up (compilation)
    small = np.ascontiguousarray(img[:40])
    classify_block(small, ts)
    classify_block(small, ts, reference=True)
    classify_volume(small, ts, histogram=hist)

    lut = _lut_for(ts, volume.dtype)
    flat = volume.reshape(-1)
    pre = np.empty(n, dtype=np.uint8)
    codes = np.asarray(ts.classes, dtype=np.uint8)
    rows: list[tuple[str, float]] = []
    t_lut = _best(lambda: _apply_lut(flat, lut, pre), a.repeat)
    rows.append(("own lookup table (_apply_lut, output preallocated)", t_lut))
    rows.append(("own lookup table (classify_slice, allocates)", _best(lambda: classify_slice(volume, ts), a.repeat)))
    rows.append(("numpy.digitize + code lookup", _best(lambda: codes[np.digitize(volume, ts.values)], 1)))

    scratch = PvScratch()
    out = np.empty(volume.shape, dtype=np.uint8)
    stats: dict = {}
    from napari_licell.segmentation.partial_volume_fast import partial_volume_classify_fast

    li, vo = 1, 2
    args = (ts.values, ts.classes, li, vo, ts.level_of(li), ts.level_of(vo), 3)
    t_fast_block = _best(
        lambda: partial_volume_classify_fast(volume, *args, out=out, scratch=scratch, stats=stats), a.repeat
    )
    rows.append(("partial-volume rules, one block, fast path (out + scratch reused)", t_fast_block))
    t0, c0 = time.perf_counter(), time.process_time()
    ref_block = classify_block(volume, ts, reference=True)
    t_ref = time.perf_counter() - t0
    _CPU[t_ref] = time.process_time() - c0
    rows.append(("partial-volume rules, one block, reference (every voxel)", t_ref))
    same_block = bool(np.array_equal(ref_block, out))
    del ref_block

    res = {}

    def run(reference: bool):
        res[reference] = classify_volume(
            volume, ts, histogram=hist, reference=reference, voxel_size_um=cell.voxel_size_um
        )

    rows.append(
        (
            "classify_volume as analyze runs it (rules + carbon band), fast path",
            _best(lambda: run(False), max(1, a.repeat - 1)),
        )
    )
    rows.append(("classify_volume as analyze runs it, reference", _best(lambda: run(True), 1)))
    same_volume = bool(np.array_equal(res[False].labels, res[True].labels)) and (
        res[False].carbon_band == res[True].carbon_band
    )
    labels = np.asarray(res[True].labels)
    res.clear()
    plain = classify_block(volume, ts)

    def band(reference: bool):
        lab = plain.copy()
        t, c = time.perf_counter(), time.process_time()
        label_carbon_band(lab, reference=reference, voxel_size_um=cell.voxel_size_um)
        t = time.perf_counter() - t
        _CPU[t] = time.process_time() - c
        return t

    rows.append(("carbon band alone (find + label), row sweep", min(band(False) for _ in range(a.repeat))))
    rows.append(("carbon band alone, reference column tiles", band(True)))

    print("\nrow kinds of the fast path (share of (z, y) rows): " + ", ".join(f"{k} {v:.3f}" for k, v in stats.items()))
    print(f"\nload average at the end: {_load()}")
    print("\n| step | wall (s) | CPU (s) | M voxels/s (wall) | vs own LUT (preallocated) |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, t in rows:
        print(f"| {name} | {t:.3f} | {_CPU.get(t, float('nan')):.3f} | {n / t / 1e6:,.0f} | {t_lut / t:.2f} |")
    print(
        f"\nfast and reference labels identical: one block {same_block}, classify_volume {same_volume}"
        f" (Li voxels {int(np.count_nonzero(labels == 1)):,})"
    )


if __name__ == "__main__":
    main()
