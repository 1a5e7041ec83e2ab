"""Benchmark: pixel-classifier training and prediction time per million voxels.

A synthetic Xe cell with known truth gets a few brush dabs per class (well
under 1 % of its voxels, as in ``tests/core/test_pixel_classifier.py``); the
classifier is trained on them and predicts the whole cell into a
``np.memmap`` (out of core, as big scans do). Printed per cell: painted
voxels, training time, prediction time per million voxels, feature time per
million voxels, Li Dice against the truth, and peak resident memory.

Run from the repository root::

    .venv/bin/python benchmarks/bench_classifier.py                     # noisy 200x96x96 + demo-size cell
    .venv/bin/python benchmarks/bench_classifier.py --shape 300 256 256 --trees 64
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from napari_licell.classes import LI  # noqa: E402
from napari_licell.classifier import FeatureSettings, PixelClassifier, slab_features  # noqa: E402
from napari_licell.phantoms import ImagingSettings, make_synthetic_cell, paper_cell  # noqa: E402
from napari_licell.phantoms.strokes import simulated_strokes  # noqa: E402


def run(shape: tuple[int, int, int], photons: float, trees: int, seed: int) -> dict:
    cell = make_synthetic_cell(
        paper_cell("none", shape=shape, seed=seed), imaging=ImagingSettings(detected_photons_per_pixel=photons)
    )
    image, truth = cell.image, cell.labels
    mvox = image.size / 1e6
    scribbles = simulated_strokes(truth, seed)
    settings = FeatureSettings()

    t0 = time.perf_counter()
    slab_features(image, 0, min(32, shape[0]), settings)
    feat_s_per_mvox = (time.perf_counter() - t0) / (min(32, shape[0]) * shape[1] * shape[2] / 1e6)

    clf = PixelClassifier(settings, n_estimators=trees)
    t0 = time.perf_counter()
    clf.fit(image, scribbles)
    train_s = time.perf_counter() - t0

    with tempfile.TemporaryDirectory() as tmp:
        labels = np.lib.format.open_memmap(os.path.join(tmp, "labels.npy"), "w+", np.uint8, shape)
        unc = np.lib.format.open_memmap(os.path.join(tmp, "uncertainty.npy"), "w+", np.float16, shape)
        t0 = time.perf_counter()
        clf.predict(image, labels_out=labels, uncertainty_out=unc)
        predict_s = time.perf_counter() - t0
        pred = np.array(labels)
        del labels, unc
    a, b = pred == LI.code, truth == LI.code
    return {
        "shape": shape,
        "mvox": mvox,
        "painted": int((scribbles > 0).sum()),
        "painted_pct": 100.0 * (scribbles > 0).mean(),
        "features": len(clf.feature_names),
        "train_s": train_s,
        "predict_s": predict_s,
        "predict_s_per_mvox": predict_s / mvox,
        "feature_s_per_mvox": feat_s_per_mvox,
        "li_dice": 2.0 * (a & b).sum() / (a.sum() + b.sum()),
        "accuracy": float((pred == truth).mean()),
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", type=int, nargs=3, action="append", help="cell shape z y x (repeatable)")
    parser.add_argument("--photons", type=float, default=3e6, help="detected photons per pixel (noise)")
    parser.add_argument("--trees", type=int, default=64)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args(argv)
    shapes = [tuple(s) for s in args.shape] if args.shape else [(200, 96, 96), (300, 128, 128)]
    print(f"cores: {os.cpu_count()}, trees: {args.trees}, photons/pixel: {args.photons:g}")
    header = (
        "| shape | Mvoxel | painted (%) | features | train (s) | predict (s) | predict s/Mvoxel "
        "| features s/Mvoxel | Li Dice | accuracy |"
    )
    print(header)
    print("| --- " * (header.count("|") - 1) + "|")
    for shape in shapes:
        r = run(shape, args.photons, args.trees, args.seed)
        print(
            f"| {'x'.join(map(str, r['shape']))} | {r['mvox']:.2f} | {r['painted']} ({r['painted_pct']:.3f}) "
            f"| {r['features']} | {r['train_s']:.1f} | {r['predict_s']:.1f} | {r['predict_s_per_mvox']:.2f} "
            f"| {r['feature_s_per_mvox']:.2f} | {r['li_dice']:.3f} | {r['accuracy']:.3f} |",
            flush=True,
        )
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
