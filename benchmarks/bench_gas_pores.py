"""Cost of the gas-pore step (segmentation/gas_pores.py) beside its peers, measured in the same run.

Run from the repository root:  python benchmarks/bench_gas_pores.py [--scale N]
On a uniform cell with small Xe pores in its SE (the issue 17 item 5 case), tiled N times along y:
prints the time of the pore step, of the classification it follows (classify_volume) and of one
scipy.ndimage.label of the whole volume's dark classes (the core of the step), and their ratios.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy import ndimage

from napari_licell.classes import LI, SE_LI, VOID
from napari_licell.phantoms import make_synthetic_cell, paper_cell
from napari_licell.pipeline import AnalysisOptions, prepare_scan, suggest_scan_thresholds
from napari_licell.segmentation import classify_volume
from napari_licell.segmentation.gas_pores import resolve_gas_pores


def best_of(n, fn):
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=int, default=2, help="tile the cell this many times along y")
    args = ap.parse_args()
    spec = paper_cell(
        "process3",
        shape=(200, 96, 96),
        charge_minutes=4000 * 40 / 64.65,
        seed=4,
        se_porosity=0.035,
        se_pore_radius_um=(0.6, 1.4),
    )
    image = np.ascontiguousarray(np.tile(make_synthetic_cell(spec).image, (1, args.scale, 1)))
    opts = AnalysisOptions(gas="xe")
    prep = prepare_scan(image, opts)
    thr = suggest_scan_thresholds(prep.histograms, opts)
    t_cls, res = best_of(3, lambda: classify_volume(image, thr, histogram=prep.histograms.full))
    labels = np.asarray(res.labels)
    t_label, _ = best_of(3, lambda: ndimage.label(np.isin(labels, (LI.code, SE_LI.code, VOID.code))))
    t_pores, pores = best_of(
        3,
        lambda: resolve_gas_pores(
            labels.copy(), image, res.thresholds, (0.54,) * 3, stack_axis=0, collector_at_start=True
        ),
    )
    mvox = image.size / 1e6
    print(f"volume {image.shape} ({mvox:.1f} Mvoxel), {pores.n_pores} pores")
    print(f"classify_volume        {t_cls:7.3f} s  ({mvox / t_cls:6.1f} Mvox/s)")
    print(f"ndimage.label (peer)   {t_label:7.3f} s  ({mvox / t_label:6.1f} Mvox/s)")
    print(f"gas-pore step          {t_pores:7.3f} s  ({mvox / t_pores:6.1f} Mvox/s)")
    print(f"ratio pore step / classification {t_pores / t_cls:.2f}, / one ndimage.label {t_pores / t_label:.2f}")


if __name__ == "__main__":
    main()
