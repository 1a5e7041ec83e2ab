"""``measure_cell`` throughput on uint8 labels beside plain one-pass references, in the same run (issue 20).

The labels are a demo cell's truth tiled in y and x (in memory). Printed in
M voxels/s, each with its ratio to ``np.bincount`` of the same labels:

* ``np.bincount`` of the labels (one pass, class counts only);
* a plain column count (numba, parallel: Li voxels per (y, x) column, one
  pass in plane order), the least a per-column measurement must do;
* ``np.bincount`` of the uint16 scan (the histogram peer quoted in
  docs/benchmarks.md);
* ``measure_cell`` on the labels alone, and with the grey scan (grey
  histograms per class, unmixing of SE + Li).

Run from the repository root::

    .venv/bin/python benchmarks/bench_measure_speed.py                      # process3, 300 x 1024 x 1024
    .venv/bin/python benchmarks/bench_measure_speed.py --cell none_after_Xe6 --yx 768
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numba
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


@numba.njit(parallel=True, cache=True, nogil=True)
def _column_count(labels, code, out):  # pragma: no cover - compiled
    nz, ny, nx = labels.shape
    for j in numba.prange(ny):
        for k in range(nz):
            row = labels[k, j]
            for i in range(nx):
                out[j, i] += row[i] == code


from timing_helpers import CPU_OF_BEST as _CPU  # noqa: E402 - after the path set-up
from timing_helpers import best_of as _best  # noqa: E402
from timing_helpers import load_average as _load  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    from napari_licell.measure import measure_cell
    from napari_licell.phantoms import load_demo_cell

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cell", default="process3_after_Xe6")
    p.add_argument("--yx", type=int, default=1024)
    p.add_argument("--repeat", type=int, default=3)
    a = p.parse_args(argv)

    cell = load_demo_cell(a.cell)
    reps = int(np.ceil(a.yx / cell.labels.shape[1]))
    labels = np.ascontiguousarray(np.tile(cell.labels.astype(np.uint8), (1, reps, reps))[:, : a.yx, : a.yx])
    image = np.ascontiguousarray(np.tile(cell.image, (1, reps, reps))[:, : a.yx, : a.yx])
    n = labels.size
    print(f"{a.cell}: labels {labels.shape} uint8, {n / 1e6:.0f} M voxels; load {_load()}")

    small = np.ascontiguousarray(labels[:, :64, :64])
    measure_cell(small, cell.voxel_size_um, image=np.ascontiguousarray(image[:, :64, :64]))  # warm-up
    out = np.zeros(labels.shape[1:], dtype=np.int64)
    _column_count(small, 1, out[:64, :64].copy())

    rows: list[tuple[str, float]] = []
    t_bc = _best(lambda: np.bincount(labels.reshape(-1), minlength=8), a.repeat)
    rows.append(("np.bincount of the labels (class counts only)", t_bc))
    rows.append(("plain column count (numba, Li per column)", _best(lambda: _column_count(labels, 1, out), a.repeat)))
    rows.append(
        (
            "np.bincount of the uint16 scan (histogram peer)",
            _best(lambda: np.bincount(image.reshape(-1), minlength=65536), a.repeat),
        )
    )
    vox = cell.voxel_size_um
    rows.append(("measure_cell, labels only", _best(lambda: measure_cell(labels, vox), a.repeat)))
    rows.append(("measure_cell, labels + grey scan", _best(lambda: measure_cell(labels, vox, image=image), a.repeat)))

    print(f"\nload average at the end: {_load()}")
    print("\n| step | wall (s) | CPU (s) | M voxels/s (wall) | vs np.bincount of the labels |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, t in rows:
        print(f"| {name} | {t:.3f} | {_CPU.get(t, float('nan')):.3f} | {n / t / 1e6:,.0f} | {t_bc / t:.2f} |")


if __name__ == "__main__":
    main()
