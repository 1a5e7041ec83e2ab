"""Benchmark: the pixel classifier beside its peers, on the same strokes and the same volumes, in one run.

Strokes: ``simulated_strokes(truth, seed)`` on demo cell ``process1_after_Xe6``
(under 1,000 painted voxels, brush dabs inside each class). Every method is
trained on exactly those voxels and predicts the whole painted cell and two
demo cells it was never trained on (``process2_after_Xe6``, ``none_after_Xe6``).

Methods:

* ``ours``: :class:`napari_licell.classifier.PixelClassifier` as the Paint dock
  trains it by default (transferable features in 1/cm and noise units,
  boundary voxels by the partial-volume rule, 32 trees compiled for numba, gate);
* ``ours, no gate``: the same model, every voxel through the forest;
* ``before``: the previous default (multi-scale Gaussian/DoG/gradient/Hessian/
  local-std features in grey values, 64 scikit-learn trees of depth 20);
* ``skimage``: ``skimage.feature.multiscale_basic_features`` (sigma 1-4) + the
  same forest as ours, prediction with scikit-learn;
* ``APOC``: when ``apoc`` (pyopencl with pocl on the CPU) imports, e.g. from ``--extra-path``.

Printed: train time, predict M voxels/s on the painted cell (4.9 M voxels),
per-class Dice on each cell, the confusion matrix of ours on an unseen cell,
and the parts of ours (filters vs scipy.ndimage, the compiled forest vs
scikit-learn on the same rows). The machine is shared: read the ratios
between methods measured here, not only the absolute figures.

Run from the repository root::

    .venv/bin/python benchmarks/bench_classifier.py
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from napari_licell.classes import class_by_code  # noqa: E402
from napari_licell.classifier import FeatureSettings, PixelClassifier  # noqa: E402
from napari_licell.classifier.transfer import calibration_from_scan_metadata  # noqa: E402
from napari_licell.phantoms import load_demo_cell  # noqa: E402
from napari_licell.phantoms.strokes import simulated_strokes  # noqa: E402

TRAIN = "process1_after_Xe6"
CELLS = ("process1_after_Xe6", "process2_after_Xe6", "none_after_Xe6")


def dice(pred, truth, code) -> float:
    a, b = pred == code, truth == code
    s = a.sum() + b.sum()
    return float(2.0 * (a & b).sum() / s) if s else float("nan")


class Ours:
    def __init__(self, gate=True):
        self.name = "ours" if gate else "ours, no gate"
        self.gate = gate

    def fit(self, cell, strokes):
        self.clf = PixelClassifier(gate=self.gate)
        self.clf.fit(
            cell.image,
            strokes,
            calibration=calibration_from_scan_metadata(cell.metadata),
            voxel_size_um=cell.voxel_size_um,
        )

    def predict(self, cell):
        return self.clf.predict(
            cell.image, calibration=calibration_from_scan_metadata(cell.metadata), voxel_size_um=cell.voxel_size_um
        )


class Before:
    name = "before (multi-scale, 64 trees)"

    def fit(self, cell, strokes):
        self.clf = PixelClassifier(FeatureSettings(), n_estimators=64, max_depth=20)
        self.clf.fit(cell.image, strokes)

    def predict(self, cell):
        return self.clf.predict(cell.image)


class SkimageForest:
    name = "skimage features + same forest"

    def _features(self, image):
        from skimage.feature import multiscale_basic_features

        return multiscale_basic_features(
            image.astype(np.float32), sigma_min=1, sigma_max=4, num_sigma=3, channel_axis=None
        )

    def fit(self, cell, strokes):
        from sklearn.ensemble import RandomForestClassifier

        f = self._features(cell.image)
        painted = strokes > 0
        self.rf = RandomForestClassifier(32, max_depth=16, class_weight="balanced", random_state=0, n_jobs=-1)
        self.rf.fit(f[painted], strokes[painted])

    def predict(self, cell):
        f = self._features(cell.image)
        return self.rf.predict(f.reshape(-1, f.shape[-1])).reshape(cell.image.shape).astype(np.uint8)


class Apoc:
    name = "APOC (OpenCL)"

    def fit(self, cell, strokes):
        import apoc

        self.clf = apoc.PixelClassifier(opencl_filename=os.path.join(os.environ.get("TMPDIR", "/tmp"), "apoc.cl"))
        self.features = (
            "original gaussian_blur=1 gaussian_blur=2 gaussian_blur=4 sobel_of_gaussian_blur=1 "
            "laplace_box_of_gaussian_blur=1 laplace_box_of_gaussian_blur=2"
        )
        self.clf.train(self.features, strokes, cell.image)

    def predict(self, cell):
        return np.asarray(self.clf.predict(features=self.features, image=cell.image)).astype(np.uint8)


def parts(clf, cell) -> None:
    """Timings of the pieces of ours beside their scipy / scikit-learn counterparts on the same data."""
    from scipy import ndimage as ndi

    from napari_licell.classifier.filters import gaussian3

    x = cell.image.astype(np.float32)
    gaussian3(x[:8], 1.0)
    t0 = time.perf_counter()
    gaussian3(x, 1.0)
    t_ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    ndi.gaussian_filter(x, 1.0, truncate=3.0)
    t_sp = time.perf_counter() - t0
    mv = x.size / 1e6
    print(
        f"Gaussian sigma 1, float32, {mv:.1f} M voxels: numba {mv / t_ours:.0f} M voxels/s, "
        f"scipy.ndimage {mv / t_sp:.0f} M voxels/s (x{t_sp / t_ours:.1f})"
    )
    rng = np.random.default_rng(0)
    rows = rng.normal(size=(200_000, clf.compiled.n_features)).astype(np.float32)
    rows = rows * np.float32(5) + np.float32(1)
    clf.compiled.predict_proba(rows[:10])
    t0 = time.perf_counter()
    clf.compiled.predict_proba(rows)
    t_c = time.perf_counter() - t0
    t0 = time.perf_counter()
    clf.forest.predict_proba(rows)
    t_s = time.perf_counter() - t0
    print(
        f"forest on 0.2 M feature rows: compiled {0.2 / t_c:.2f} M rows/s, scikit-learn {0.2 / t_s:.2f} "
        f"M rows/s (x{t_s / t_c:.1f})"
    )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--skip", nargs="*", default=[], help="methods to skip: ours before skimage apoc nogate")
    parser.add_argument(
        "--extra-path",
        metavar="DIR",
        help="folder appended to sys.path for APOC (e.g. pip install --target DIR apoc pyopencl "
        "pocl-binary-distribution, kept out of the project environment)",
    )
    args = parser.parse_args(argv)
    if args.extra_path:
        sys.path.append(args.extra_path)
    cells = {n: load_demo_cell(n) for n in CELLS}
    train = cells[TRAIN]
    strokes = simulated_strokes(train.labels, args.seed)
    painted = {class_by_code(int(c)).key: int(n) for c, n in zip(*np.unique(strokes[strokes > 0], return_counts=True))}
    print(
        f"cores: {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}; trained on {TRAIN}: "
        f"{int((strokes > 0).sum())} painted voxels {painted}"
    )
    methods = [] if "ours" in args.skip else [Ours()]
    if "nogate" not in args.skip:
        methods.append(Ours(gate=False))
    if "before" not in args.skip:
        methods.append(Before())
    if "skimage" not in args.skip:
        methods.append(SkimageForest())
    if "apoc" not in args.skip:
        try:
            import apoc  # noqa: F401

            methods.append(Apoc())
        except Exception as exc:  # noqa: BLE001 - any import failure means: not available here
            print(f"APOC: not available ({type(exc).__name__}: {exc})")
    header = (
        "| method | train (s) | predict M voxels/s | "
        + " | ".join(f"{n.split('_')[0]} Li | {n.split('_')[0]} void" for n in CELLS)
        + " |"
    )
    print(header)
    print("| --- " * (header.count("|") - 1) + "|")
    confusion = None
    for m in methods:
        t0 = time.perf_counter()
        m.fit(train, strokes)
        t_train = time.perf_counter() - t0
        dices, speed = [], None
        for name, cell in cells.items():
            t0 = time.perf_counter()
            pred = m.predict(cell)
            dt = time.perf_counter() - t0
            if name == TRAIN:
                speed = cell.image.size / dt / 1e6
            dices += [dice(pred, cell.labels, 1), dice(pred, cell.labels, 2)]
            if isinstance(m, Ours) and m.gate and name == "process2_after_Xe6":
                codes = np.union1d(np.unique(cell.labels), np.unique(pred))
                confusion = (
                    codes,
                    np.array([[int(((cell.labels == a) & (pred == b)).sum()) for b in codes] for a in codes]),
                    m.clf.last_gate_fraction,
                )
                per_class = {class_by_code(int(c)).key: round(dice(pred, cell.labels, c), 3) for c in codes}
        print(f"| {m.name} | {t_train:.1f} | {speed:.2f} | " + " | ".join(f"{d:.3f}" for d in dices) + " |", flush=True)
        if isinstance(m, Ours) and m.gate:
            ours = m.clf
    if confusion is not None:
        codes, cm, gated = confusion
        keys = [class_by_code(int(c)).key for c in codes]
        print(
            f"\nours on process2_after_Xe6 (not trained on): per-class Dice {per_class}; "
            f"{100 * gated:.0f} % of voxels decided by the gate"
        )
        print("confusion (rows truth, columns predicted): " + " ".join(f"{k:>9}" for k in keys))
        for k, row in zip(keys, cm):
            print(f"{k:>42} " + " ".join(f"{v:9d}" for v in row))
    print()
    if "ours" not in args.skip:
        parts(ours, train)
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
