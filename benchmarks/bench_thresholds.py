"""Speed of the thresholding core on 16-bit CT data.

Prints:

* threshold suggestion on the 65536-bin histogram (peaks and multi-Otsu)
  next to scikit-image ``threshold_multiotsu`` on the same full histogram
  (run once for real when its bounded estimate is under ``--skimage-budget``
  seconds, else the estimate, extrapolated from coarser histograms);
* live-preview update (``classify_slice``) per 2048 x 2048 slice;
* whole-volume classification throughput (plain lookup table, and the
  default with partial-volume rules and carbon band) next to ``numpy.digitize``;
* histogram throughput next to ``np.bincount``.

The volume is the process-1 demo cell tiled in y and x (real grey-value
statistics, any size). Run: ``python benchmarks/bench_thresholds.py``.
"""

from __future__ import annotations

import argparse
import os
import time

import numba
import numpy as np


def _best(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def _volume(shape_yx: int, depth: int) -> np.ndarray:
    from napari_licell.phantoms import load_demo_cell

    cell = load_demo_cell("process1_after_Xe6").image
    reps = int(np.ceil(shape_yx / cell.shape[1]))
    tiled = np.tile(cell, (1, reps, reps))[:, :shape_yx, :shape_yx]
    zreps = int(np.ceil(depth / tiled.shape[0]))
    return np.ascontiguousarray(np.concatenate([tiled] * zreps)[:depth])


def _skimage_full_histogram(hist, classes: int, budget_s: float) -> tuple[float, str]:
    """Time of skimage multi-Otsu on the full 65536-bin histogram: measured, or a bounded estimate."""
    from skimage.filters import _multiotsu  # the non-LUT search threshold_multiotsu falls back to at 16 bit

    prob_full = (hist.counts / hist.counts.sum()).astype(np.float32)
    # cost grows as nbins ** (classes - 1): time coarser histograms and extrapolate
    sizes, times = [], []
    for nbins in (1024, 2048, 4096):
        prob = prob_full.reshape(nbins, -1).sum(axis=1).astype(np.float32)
        t = time.perf_counter()
        _multiotsu._get_multiotsu_thresh_indices(prob, classes - 1)
        sizes.append(nbins)
        times.append(time.perf_counter() - t)
    slope = np.polyfit(np.log(sizes), np.log(times), 1)[0]
    estimate = times[-1] * (65536 / sizes[-1]) ** max(slope, classes - 1)
    if estimate <= budget_s:
        t = time.perf_counter()
        _multiotsu._get_multiotsu_thresh_indices(prob_full, classes - 1)
        return time.perf_counter() - t, "measured on the full 65536-bin histogram"
    return estimate, (
        f"bounded estimate (> {budget_s:.0f} s budget): 4096-bin time x (65536/4096)^{max(slope, classes - 1):.2f}"
    )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--yx", type=int, default=512, help="tiled volume size in y and x (default 512)")
    parser.add_argument("--depth", type=int, default=300, help="planes of the tiled volume (default 300)")
    parser.add_argument("--hist-depth", type=int, default=2400, help="planes for the histogram run (default 2400)")
    parser.add_argument("--skimage-budget", type=float, default=120.0, help="seconds skimage may run for real")
    args = parser.parse_args(argv)

    from napari_licell.segmentation import (
        classify_slice,
        classify_volume,
        estimate_noise_sigma,
        interior_histogram,
        multi_otsu,
        suggest_thresholds,
        volume_histogram,
    )

    print(f"threads: numba {numba.get_num_threads()}, cpus {os.cpu_count()}")
    volume = _volume(args.yx, args.depth)
    n = volume.size
    print(f"volume: {volume.shape} uint16 = {n / 1e6:.1f} Mvoxels (process-1 demo cell, tiled)")

    # -- suggestion --------------------------------------------------------------------------------
    hist = volume_histogram(volume)
    inner = interior_histogram(volume, estimate_noise_sigma(hist))
    suggest_thresholds(hist, interior=inner)  # warm-up (numba / imports)
    t_peaks = _best(lambda: suggest_thresholds(hist, interior=inner), 5)
    t_mo3 = _best(lambda: multi_otsu(hist, 3), 5)
    t_mo5 = _best(lambda: multi_otsu(hist, 5), 3)
    t_sk, how = _skimage_full_histogram(hist, 3, args.skimage_budget)
    print("\nthreshold suggestion on the 65536-bin histogram")
    print(f"  suggest_thresholds (peaks, 4 thresholds) : {t_peaks * 1e3:9.1f} ms   (given both histograms)")
    print(f"  multi_otsu 3 classes (256-bin + refine)  : {t_mo3 * 1e3:9.1f} ms")
    print(f"  multi_otsu 5 classes (256-bin + refine)  : {t_mo5 * 1e3:9.1f} ms")
    print(f"  skimage threshold_multiotsu, 3 classes   : {t_sk:9.1f} s   [{how}]")

    # -- preview -------------------------------------------------------------------------------------
    ts = suggest_thresholds(hist)
    sl = np.ascontiguousarray(np.tile(volume[volume.shape[0] // 3], (2048 // args.yx + 1,) * 2)[:2048, :2048])
    classify_slice(sl, ts)
    t_slice = _best(lambda: classify_slice(sl, ts), 20)
    t_dig = _best(lambda: np.asarray(ts.classes, np.uint8)[np.digitize(sl, ts.values)], 5)
    print("\nlive preview, one 2048 x 2048 uint16 slice")
    print(f"  classify_slice (lookup table)            : {t_slice * 1e3:9.2f} ms")
    print(f"  numpy.digitize + code lookup             : {t_dig * 1e3:9.2f} ms")

    # -- volume ----------------------------------------------------------------------------------------
    classify_volume(volume[:20], ts, histogram=hist)  # warm-up
    t_lut = _best(lambda: classify_volume(volume, ts, histogram=hist, partial_volume=False, carbon_band=False), 3)
    t_pv = _best(lambda: classify_volume(volume, ts, histogram=hist, carbon_band=False), 2)
    t_full = _best(lambda: classify_volume(volume, ts, histogram=hist), 2)
    t_np = _best(lambda: np.digitize(volume, ts.values), 2)
    print(f"\nwhole-volume classification, {n / 1e6:.1f} Mvoxels")
    print(f"  plain thresholds (lookup table)          : {n / t_lut / 1e6:9.1f} Mvoxel/s")
    print(f"  + partial-volume rules                   : {n / t_pv / 1e6:9.1f} Mvoxel/s")
    print(f"  + partial volume + carbon band (default) : {n / t_full / 1e6:9.1f} Mvoxel/s")
    print(f"  numpy.digitize                           : {n / t_np / 1e6:9.1f} Mvoxel/s")

    # -- histogram -----------------------------------------------------------------------------------------
    big = _volume(args.yx, args.hist_depth)
    volume_histogram(big[:4])
    t_h = _best(lambda: volume_histogram(big), 3)
    t_b = _best(lambda: np.bincount(big.ravel(), minlength=65536), 1)
    sigma = estimate_noise_sigma(hist)
    t_i = _best(lambda: interior_histogram(big, sigma, max_voxels=None), 2)
    t_is = _best(lambda: interior_histogram(big, sigma), 2)
    print(f"\nhistogram, {big.size / 1e9:.2f} Gvoxels uint16")
    print(f"  volume_histogram (numba, streamed)       : {big.size / t_h / 1e9:9.2f} Gvoxel/s")
    print(f"  np.bincount                              : {big.size / t_b / 1e9:9.2f} Gvoxel/s")
    print(f"  interior_histogram, every voxel          : {big.size / t_i / 1e9:9.2f} Gvoxel/s")
    print(f"  interior_histogram, default 2e8 sample   : {t_is:9.2f} s")


if __name__ == "__main__":
    main()
