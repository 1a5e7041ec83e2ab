"""A random-forest pixel classifier trained on painted voxels (scribbles), applied slab by slab.

Scribbles are a label volume of the scan's shape: 0 where nothing was
painted, a class code of :mod:`napari_licell.classes` elsewhere. Training
reads features only in blocks holding painted voxels; prediction walks the
volume block by block (near-cubic blocks for the transferable features, read
in order and computed by one worker thread each) and writes class codes
(uint8) and, on request, the uncertainty ``1 - max(probability)`` (float16 or
float32) and per-class probabilities into arrays the caller provides (numpy,
``np.memmap`` or zarr), so big scans never sit in memory as features; staging
of outputs above 1 GB goes to chunked zarr arrays on disk.

Model files (``save``/``load``) hold the forest, the feature settings and
the class codes in one joblib file with a format version. Loading runs
pickle: only open model files from a source you trust.
"""

from __future__ import annotations

from typing import Any

import math
import os
import tempfile
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from numba import njit

from ..classes import CARBON, LABEL_DTYPE, METAL, SE, VOID, class_by_code
from ..errors import LiCellInputError
from .band_position import carbon_band_by_position
from .band_samples import band_samples
from .compiled import CompiledForest, compile_forest
from .features import (
    FeatureSettings,
    block_features,
    default_block_shape,
    feature_halo,
    feature_names,
    iter_blocks,
    region_features,
)
from .filters import gaussian_kernel
from .transfer import (
    ScanContext,
    transfer_columns,
    TransferSettings,
    scan_context,
    transfer_feature_names,
    transfer_features,
    transfer_halo,
    transfer_stage1,
)

__all__ = [
    "MODEL_FORMAT",
    "MODEL_FORMAT_VERSION",
    "PixelClassifier",
    "PredictionCancelled",
    "TrainingSummary",
    "predict_block_shape",
]

#: Identifies a napari-licell pixel-classifier file.
MODEL_FORMAT = "napari-licell-pixel-classifier"
#: Bump when the file layout changes; files of another version are refused.
from ..cancellation import Cancelled

MODEL_FORMAT_VERSION = 2

Progress = Callable[[int, int], None]
Cancel = Callable[[], bool]


#: Raised by :meth:`PixelClassifier.predict` / ``fit`` when ``cancel`` said stop (the project's one ``Cancelled``).
PredictionCancelled = Cancelled


@dataclass(frozen=True)
class TrainingSummary:
    """What a training run used.

    Attributes
    ----------
    class_codes : tuple of int
        Classes found in the scribbles.
    painted_voxels : dict of int to int
        Painted voxels per class code.
    training_voxels : dict of int to int
        Voxels per class actually used (after the per-class cap).
    seconds : float
        Wall time of feature extraction and fitting, s.
    boundary_voxels : dict of int to int
        Unpainted boundary voxels per class labelled by the partial-volume rule
        and added to the training set (transfer features; see ``boundary_samples``).
    band_voxels : dict of int to int
        Unpainted voxels per class placed by position and added to the training
        set: carbon in the carbon band found on the training scan, void for the
        gas outside it (transfer features; see :mod:`.band_samples`).
    """

    class_codes: tuple[int, ...]
    painted_voxels: dict[int, int]
    training_voxels: dict[int, int]
    seconds: float
    boundary_voxels: dict[int, int] = field(default_factory=dict)
    band_voxels: dict[int, int] = field(default_factory=dict)


def _is_cancelled(cancel) -> bool:
    if cancel is None:
        return False
    if hasattr(cancel, "is_set"):
        return bool(cancel.is_set())
    return bool(cancel())


class PixelClassifier:
    """Random forest on multi-scale voxel features.

    Parameters
    ----------
    feature_settings : FeatureSettings, optional
        Features and scales (voxels).
    n_estimators : int
        Trees in the forest.
    max_depth : int or None
        Depth limit of each tree (None grows until leaves are pure).
    max_leaf_nodes : int or None
        Leaf limit of each tree (grown best split first); 64 keeps every tree
        within the bit-mask evaluator of :mod:`.compiled` (larger trees fall back
        to the tree walk, about 13x slower per voxel). None: no limit.
    max_samples_per_class : int
        Cap on training voxels per class; larger scribbles are subsampled
        at random (reproducibly), which keeps training time bounded.
    class_weight : str or None
        Passed to :class:`sklearn.ensemble.RandomForestClassifier`;
        ``"balanced"`` stops a heavily painted class from dominating.
    random_state : int
        Seed of the forest and the subsampling.
    n_jobs : int
        Threads for fitting and prediction (-1: all cores).
    """

    def __init__(
        self,
        feature_settings: FeatureSettings | TransferSettings | None = None,
        n_estimators: int = 32,
        max_depth: int | None = 16,
        max_leaf_nodes: int | None = 64,
        max_samples_per_class: int = 40_000,
        class_weight: str | None = "balanced",
        random_state: int = 0,
        n_jobs: int = -1,
        gate: bool = True,
        boundary_samples: int = 4000,
    ) -> None:
        self.feature_settings = feature_settings or TransferSettings()
        self.n_estimators = int(n_estimators)
        self.max_depth = max_depth
        self.max_leaf_nodes = max_leaf_nodes
        self.max_samples_per_class = int(max_samples_per_class)
        self.class_weight = class_weight
        self.random_state = int(random_state)
        self.n_jobs = int(n_jobs)
        self.gate = bool(gate)
        self.boundary_samples = int(boundary_samples)
        self.forest = None
        self.class_codes: tuple[int, ...] = ()
        self.summary: TrainingSummary | None = None
        #: per painted class: median ``g1`` (1/cm or grey), spread in noise units (transfer features only)
        self.levels: dict[int, dict[str, float]] = {}
        #: ``mu`` above which a voxel is metal (collector map), or None
        self.metal_threshold: float | None = None
        #: ``mu`` below which a voxel counts as dark in the per-plane dark fraction, or None
        self.dark_threshold: float | None = None
        #: voxel size (um) of the training scan, None when heights were learnt in voxels
        self.voxel_size_um: float | None = None
        #: True when the model was trained on grey values calibrated to 1/cm
        self.calibrated: bool = False
        self._compiled: CompiledForest | None = None
        #: share of the voxels of the last :meth:`predict` decided by the gate (transfer features)
        self.last_gate_fraction: float | None = None
        self.last_band = None  # the carbon band found by position in the last prediction (CarbonBand or None)

    # --- state -----------------------------------------------------------------
    @property
    def is_trained(self) -> bool:
        """True once :meth:`fit` (or :meth:`load`) gave the classifier a forest."""
        return self.forest is not None

    @property
    def transfer(self) -> bool:
        """The model uses the transferable feature set (:mod:`.transfer`)."""
        return isinstance(self.feature_settings, TransferSettings)

    @property
    def feature_names(self) -> list[str]:
        """Names of the features the forest sees, in column order."""
        if self.transfer:
            return transfer_feature_names(self.feature_settings)
        return feature_names(self.feature_settings)

    def __repr__(self) -> str:
        classes = ", ".join(class_by_code(c).key for c in self.class_codes) or "untrained"
        return f"PixelClassifier({classes}; {len(self.feature_names)} features, {self.n_estimators} trees)"

    @property
    def compiled(self) -> CompiledForest:
        """The forest flattened for the numba tree walker (built on first use)."""
        if self._compiled is None:
            if self.forest is None:
                raise RuntimeError("the classifier is not trained; call fit() or load() first")
            self._compiled = compile_forest(self.forest)
        return self._compiled

    # --- per-scan context --------------------------------------------------------
    def _halo(self) -> int:
        return transfer_halo(self.feature_settings) if self.transfer else feature_halo(self.feature_settings)

    def scan_context(self, volume, calibration=None, voxel_size_um: float | None = None) -> ScanContext | None:
        """Calibration, noise and collector map of ``volume`` as this model's features need them."""
        if not self.transfer:
            return None
        if self.is_trained and self.calibrated and calibration is None:
            raise LiCellInputError(
                None,
                "this classifier was trained on grey values calibrated to 1/cm, and the scan has no calibration",
                "open the scan with its grey scale (grey_offset, grey_per_inv_cm) or calibrate it first",
            )
        if self.is_trained and not self.calibrated:
            calibration = None  # a grey-unit model reads grey units
        if self.is_trained:
            # heights in the units the model learnt: voxels when trained without a voxel size, else um
            # (a scan without a voxel size is taken to have the training scan's)
            voxel_size_um = None if self.voxel_size_um is None else (voxel_size_um or self.voxel_size_um)
        return scan_context(
            volume, self.feature_settings, calibration, voxel_size_um, self.metal_threshold, self.dark_threshold
        )

    # --- training --------------------------------------------------------------
    def fit(
        self,
        volume,
        scribbles,
        progress: Progress | None = None,
        cancel: Cancel | None = None,
        slab_depth: int | None = None,
        calibration=None,
        voxel_size_um: float | None = None,
    ) -> TrainingSummary:
        """Train on the painted voxels of ``scribbles``.

        Parameters
        ----------
        volume : array-like (z, y, x)
            Grey values.
        scribbles : array-like (z, y, x) of int
            0 = unpainted, class codes elsewhere; same shape as ``volume``.
        progress : callable(done, total), optional
            Called after each slab with features extracted (the fit itself is the last step).
        cancel : callable() -> bool or threading.Event, optional
            Checked between slabs; when set, raises :class:`PredictionCancelled`
            and the classifier keeps its previous forest.
        slab_depth : int, optional
            Slab thickness in voxels (default: blocks of about 2 million voxels,
            see :func:`~napari_licell.classifier.features.default_block_shape`).
        calibration : GreyCalibration, optional
            Grey -> 1/cm map of the scan (transfer features are then in 1/cm and
            the model can be applied to any calibrated scan).
        voxel_size_um : float, optional
            Voxel size (heights above the collector in micrometres).

        Returns
        -------
        TrainingSummary

        Raises
        ------
        LiCellInputError
            Shapes differ, or fewer than two classes are painted.
        """
        from sklearn.ensemble import RandomForestClassifier

        t0 = time.perf_counter()
        if tuple(volume.shape) != tuple(scribbles.shape) or len(volume.shape) != 3:
            raise LiCellInputError(
                None, f"scribbles of shape {tuple(scribbles.shape)} do not match the scan {tuple(volume.shape)}"
            )
        shape = tuple(volume.shape)
        blocks = [
            region
            for region in iter_blocks(shape, default_block_shape(shape, slab_depth=slab_depth))
            if np.any(np.asarray(scribbles[region]))
        ]
        # painted codes and (transfer features) the painted grey levels, before any feature is computed
        painted_codes: list[np.ndarray] = []
        painted_grey: list[np.ndarray] = []
        for region in blocks:
            s = np.asarray(scribbles[region])
            painted = s != 0
            painted_codes.append(s[painted].astype(np.int64))
            painted_grey.append(np.asarray(volume[region])[painted].astype(np.float64))
        y_all = np.concatenate(painted_codes) if painted_codes else np.zeros(0, np.int64)
        codes, counts = np.unique(y_all, return_counts=True)
        if codes.size < 2:
            raise LiCellInputError(
                None,
                f"painted voxels hold {codes.size} class(es); the classifier needs at least two",
                "paint a few strokes of every phase you want found",
            )
        for c in codes:
            class_by_code(int(c))  # unknown codes are an error, not a silent class
        ctx = None
        metal_threshold = None
        settings = self.feature_settings
        if self.transfer:
            cal = calibration
            offset, per = (0.0, 1.0) if cal is None else (float(cal.offset), float(cal.per_inv_cm))
            probe = ScanContext(offset, per, cal is not None, 1.0, 1.0, shape)
            mu = probe.to_mu(np.concatenate(painted_grey)).astype(np.float64)
            med = {int(c): float(np.median(mu[y_all == c])) for c in codes}
            if METAL.code in med and settings.position:
                others = [m for c, m in med.items() if c != METAL.code and m < med[METAL.code]]
                if others:
                    metal_threshold = 0.5 * (med[METAL.code] + max(others))
            if settings.position and metal_threshold is None:
                settings = replace(settings, position=False)  # no metal stroke: no collector map
            dark_threshold = 0.5 * med[SE.code] if SE.code in med else None
            ctx = scan_context(volume, settings, cal, voxel_size_um, metal_threshold, dark_threshold)
        xs, ys = [], []
        total = len(blocks) + 1
        for i, region in enumerate(blocks):
            if _is_cancelled(cancel):
                raise PredictionCancelled("training cancelled")
            s = np.asarray(scribbles[region])
            painted = s != 0
            if ctx is None:
                feats = region_features(volume, region, settings)
            else:
                block, crop, origin = _read_with_halo(volume, region, transfer_halo(settings))
                feats = transfer_features(block, ctx, settings, origin, crop)
            xs.append(feats[painted])
            ys.append(s[painted].astype(np.int64))
            if progress is not None:
                progress(i + 1, total)
        y = np.concatenate(ys)
        X = np.concatenate(xs)
        rng = np.random.default_rng(self.random_state)
        keep = []
        used = {}
        for c in codes:
            idx = np.flatnonzero(y == c)
            if idx.size > self.max_samples_per_class:
                idx = np.sort(rng.choice(idx, self.max_samples_per_class, replace=False))
            keep.append(idx)
            used[int(c)] = int(idx.size)
        keep_idx = np.concatenate(keep)
        X, y = X[keep_idx], y[keep_idx]
        weight = np.ones(y.size)
        levels: dict[int, dict[str, float]] = {}
        boundary: dict[int, int] = {}
        band: dict[int, int] = {}
        if ctx is not None:
            levels = _painted_levels(X, y, codes, ctx.noise)
            bx, by, boundary, band = self._placed_samples(
                volume, scribbles, blocks, ctx, settings, levels, codes, rng, voxel_size_um, cancel
            )
            if by:
                yb = np.concatenate(by)
                X = np.concatenate([X, np.concatenate(bx)])
                y = np.concatenate([y, yb])
                weight = np.concatenate([np.full(weight.size, PAINTED_WEIGHT), np.ones(yb.size)])
        if _is_cancelled(cancel):
            raise PredictionCancelled("training cancelled")
        forest = RandomForestClassifier(
            n_estimators=self.n_estimators,
            max_depth=self.max_depth,
            max_leaf_nodes=self.max_leaf_nodes,
            class_weight=self.class_weight,
            random_state=self.random_state,
            n_jobs=self.n_jobs,
        )
        forest.fit(X, y, sample_weight=weight)
        self.forest = forest
        self._compiled = None
        self.feature_settings = settings
        self.class_codes = tuple(int(c) for c in forest.classes_)
        if ctx is not None:
            self.calibrated = ctx.calibrated
            self.metal_threshold = metal_threshold
            self.dark_threshold = dark_threshold
            self.voxel_size_um = None if voxel_size_um is None else float(voxel_size_um)
            self.levels = levels
        self.summary = TrainingSummary(
            class_codes=self.class_codes,
            painted_voxels={int(c): int(n) for c, n in zip(codes, counts)},
            training_voxels=used,
            seconds=time.perf_counter() - t0,
            boundary_voxels=boundary,
            band_voxels=band,
        )
        if progress is not None:
            progress(total, total)
        return self.summary

    def _placed_samples(
        self,
        volume,
        scribbles,
        blocks,
        ctx: ScanContext,
        settings: TransferSettings,
        levels: dict,
        codes,
        rng,
        voxel_size_um: float | None,
        cancel,
    ) -> tuple[list[np.ndarray], list[np.ndarray], dict[int, int], dict[int, int]]:
        """Unpainted training voxels labelled by rule: ``(rows, codes, boundary counts, band counts)``.

        Boundary voxels by the partial-volume rule next to the plateaus the
        thresholds are sure of, then (with a carbon stroke) carbon in the carbon
        band found by position and void for the gas outside it (:mod:`.band_samples`,
        at most :data:`BAND_SAMPLES` per class).
        """
        bx: list[np.ndarray] = []
        by: list[np.ndarray] = []
        boundary: dict[int, int] = {}
        band: dict[int, int] = {}
        if not self.boundary_samples:
            return bx, by, boundary, band
        intervals = self.gate_intervals(ctx, levels)
        if intervals:
            cap = max(1, self.boundary_samples // len(blocks))
            for region in blocks:
                if _is_cancelled(cancel):
                    raise PredictionCancelled("training cancelled")
                block, crop, origin = _read_with_halo(volume, region, transfer_halo(settings))
                feats = transfer_features(block, ctx, settings, origin, crop)
                pseudo = _boundary_labels(feats, intervals, levels, ctx.noise, settings)
                pseudo[np.asarray(scribbles[region]) != 0] = 0
                for c in np.unique(pseudo[pseudo > 0]):
                    idx = np.flatnonzero(pseudo.reshape(-1) == c)
                    if idx.size > cap:
                        idx = np.sort(rng.choice(idx, cap, replace=False))
                    bx.append(feats.reshape(-1, feats.shape[-1])[idx])
                    by.append(np.full(idx.size, int(c), np.int64))
                del feats, pseudo, block
            if by:
                yb = np.concatenate(by)
                boundary = {int(c): int((yb == c).sum()) for c in np.unique(yb)}
        if CARBON.code in levels:
            # the carbon interlayer found by position (its top planes are never painted) and the voids outside it
            if _is_cancelled(cancel):
                raise PredictionCancelled("training cancelled")
            placed = band_samples(
                volume,
                scribbles,
                blocks,
                ctx,
                settings,
                levels,
                cap=BAND_SAMPLES,
                rng=rng,
                g1_halfwidth=5.0 * ctx.noise * _g1_noise_factor(settings),
                voxel_size_um=voxel_size_um,
                cancel=cancel,
            )
            for code, rows in placed.items():
                if code in codes:  # no class the user did not paint
                    bx.append(rows)
                    by.append(np.full(rows.shape[0], code, np.int64))
                    band[int(code)] = int(rows.shape[0])
        return bx, by, boundary, band

    # --- prediction --------------------------------------------------------------
    def predict_proba_features(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities (n, n_classes) of feature rows.

        Walks the forest compiled to flat arrays (:mod:`.compiled`) with numba,
        trees summed in a fixed order, so the same model always gives
        bit-identical probabilities (a saved and re-loaded model reproduces
        its prediction exactly); equal to scikit-learn's ``predict_proba`` up
        to float rounding.
        """
        if self.forest is None:
            raise RuntimeError("the classifier is not trained; call fit() or load() first")
        return self.compiled.predict_proba(X)

    def _block_results(self, volume, blocks, ctx, gate_table, want_proba: bool, cancel):
        """``(region, codes, uncertainty, probabilities or None, gated voxels)`` per block, in block order.

        The blocks are read here, in the calling thread (readers of files need
        not be thread-safe), and computed by :attr:`n_jobs` worker threads (the
        numba kernels release the GIL), at most two blocks per thread ahead.
        """
        halo = self._halo()

        def compute(region, read):
            if ctx is None:
                block, crop, _ = read
                feats = block_features(block, self.feature_settings, crop=crop)
                proba = self.predict_proba_features(feats.reshape(-1, feats.shape[-1]))
                best = np.argmax(proba, axis=1)
                codes = np.asarray(self.class_codes, dtype=LABEL_DTYPE)
                return region, codes[best], 1.0 - proba[np.arange(proba.shape[0]), best], proba, 0
            return (region, *self._predict_transfer_block(read, ctx, gate_table, want_proba))

        threads = _threads(self.n_jobs)
        if threads == 1 or len(blocks) == 1:
            for region in blocks:
                yield compute(region, _read_with_halo(volume, region, halo))
            return
        pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="licell-predict")
        pending: deque = deque()
        try:
            for region in blocks:
                while len(pending) >= 2 * threads:
                    yield pending.popleft().result()
                if _is_cancelled(cancel):
                    break
                pending.append(pool.submit(compute, region, _read_with_halo(volume, region, halo)))
            while pending:
                yield pending.popleft().result()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def _predict_transfer_block(self, read, ctx: ScanContext, gate_table, want_proba: bool):
        """Codes, uncertainty (float32), probabilities (or None) and gated count of one block (transfer features).

        ``read`` is ``(block, crop, origin)`` as :func:`_read_with_halo` gives it.

        The gate runs on ``g1`` and its gradient (the cheap stage); only the
        voxels it leaves in doubt get the full features (as columns) and the forest.
        """
        codes = np.asarray(self.class_codes, dtype=LABEL_DTYPE)
        block, crop, origin = read
        s1 = transfer_stage1(block, ctx, self.feature_settings, crop)
        cshape = tuple(c.stop - c.start for c in crop)
        lab = np.empty(cshape, dtype=LABEL_DTYPE)
        _gate(s1[1], s1[2], np.asarray([c.start for c in crop], np.int64), *gate_table, lab)
        lab = lab.reshape(-1)
        doubt = np.flatnonzero(lab == 0)
        unc = np.zeros(lab.size, np.float32)
        proba = None
        if want_proba:
            proba = np.zeros((lab.size, len(codes)), np.float64)
            for k, c in enumerate(codes):
                proba[lab == c, k] = 1.0
        if doubt.size:
            cols = transfer_columns(block, ctx, self.feature_settings, origin, crop, stage1=s1, index=doubt)
            del block, s1
            found = self.compiled.predict_best(cols, proba=want_proba)
            lab[doubt] = codes[found[0]]
            unc[doubt] = np.float32(1.0) - found[1]
            if want_proba:
                proba[doubt] = found[2]
        return lab, unc, proba, lab.size - doubt.size

    def gate_intervals(self, ctx: ScanContext, levels: dict | None = None) -> list[tuple[int, float, float]]:
        """Classes the thresholds decide without the forest: ``(code, lo, hi)`` on ``g1``.

        A painted class gets an interval ``median g1 +- 5 sd(g1)`` (sd of the
        noise after the sigma-1 smoothing, of the scan being classified) when
        its painted voxels are flat (spread under 2 noise sd) and the interval
        overlaps no other class's interval nor the inter-quartile range of
        another class's painted ``g1``. A voxel whose ``g1`` lies in such an
        interval and whose gradient is within noise takes that class; every
        other voxel goes to the forest.
        """
        levels = self.levels if levels is None else levels
        if not self.transfer or not levels:
            return []
        sd = ctx.noise * _g1_noise_factor(self.feature_settings)
        hw = 5.0 * sd
        flat = {c: lv for c, lv in levels.items() if lv["spread_per_noise"] < 2.0}
        out = []
        for c, lv in flat.items():
            lo, hi = lv["g1"] - hw, lv["g1"] + hw
            clash = False
            for d, other in levels.items():
                if d == c:
                    continue
                if d in flat:
                    olo, ohi = other["g1"] - hw, other["g1"] + hw
                else:
                    olo, ohi = other["g1_q25"], other["g1_q75"]
                if lo <= ohi and olo <= hi:
                    clash = True
                    break
            if not clash:
                out.append((int(c), float(lo), float(hi)))
        return out

    def predict(
        self,
        volume,
        labels_out=None,
        uncertainty_out=None,
        probabilities_out=None,
        scribbles=None,
        progress: Progress | None = None,
        cancel: Cancel | None = None,
        slab_depth: int | None = None,
        calibration=None,
        voxel_size_um: float | None = None,
        direct: bool = False,
        gate: bool | None = None,
        band_by_position: bool = True,
    ):
        """Classify every voxel, block by block.

        Parameters
        ----------
        volume : array-like (z, y, x)
            Grey values.
        labels_out : array-like (z, y, x) of uint8, optional
            Receives class codes; allocated (numpy) when None.
        uncertainty_out : array-like (z, y, x) of float16 or float32, optional
            Receives ``1 - max probability`` (0 = sure, 1 - 1/n_classes = guessing).
        probabilities_out : array-like (n_classes, z, y, x) of float16, optional
            Receives the probability of each class in :attr:`class_codes` order.
        scribbles : array-like (z, y, x), optional
            Painted voxels (non-zero) keep their painted code, with uncertainty 0
            and probability 1 for that code.
        progress : callable(done, total), optional
            Called after each block.
        cancel : callable() -> bool or threading.Event, optional
            Checked between blocks; when set, raises :class:`PredictionCancelled`.
            Unless ``direct``, results are staged in scratch memory and copied
            into the outputs only after the last block, so a cancelled run
            leaves them untouched.
        slab_depth : int, optional
            Slab thickness in voxels (default: blocks of about 2 million voxels;
            large planes are tiled in y and x as well).
        calibration : GreyCalibration, optional
            Grey -> 1/cm map of this scan; required for a model trained in 1/cm.
        voxel_size_um : float, optional
            Voxel size of this scan (heights above the collector).
        direct : bool
            Write each block straight into the outputs (zarr, memmap, ...): no
            staging copy, so scans larger than memory and than the scratch
            disk are classified within the memory of one block; a cancelled run
            leaves the blocks done so far written.
        gate : bool, optional
            Decide the voxels the thresholds leave in no doubt without the
            forest (see :meth:`gate_intervals`; they get uncertainty 0).
            Default: the model's :attr:`gate`.
        band_by_position : bool
            Where the carbon interlayer is found by position (with carbon and
            void as one gas-like phase), its voxels called void become carbon
            (:func:`.band_position.carbon_band_by_position`; result in
            :attr:`last_band`). Only for models that know both classes.

        Returns
        -------
        array-like
            ``labels_out`` (or the new uint8 array).
        """
        if self.forest is None:
            raise RuntimeError("the classifier is not trained; call fit() or load() first")
        shape = tuple(volume.shape)
        if len(shape) != 3:
            raise LiCellInputError(None, f"the classifier needs a 3-D (z, y, x) scan, got shape {shape}")
        n_classes = len(self.class_codes)
        for name, arr, want in (
            ("labels_out", labels_out, shape),
            ("uncertainty_out", uncertainty_out, shape),
            ("probabilities_out", probabilities_out, (n_classes, *shape)),
            ("scribbles", scribbles, shape),
        ):
            if arr is not None and tuple(arr.shape) != want:
                raise LiCellInputError(None, f"{name} has shape {tuple(arr.shape)}, expected {want}")
        if labels_out is None:
            labels_out = np.zeros(shape, dtype=LABEL_DTYPE)
        gate = self.gate if gate is None else bool(gate)
        ctx = self.scan_context(volume, calibration, voxel_size_um)
        intervals = self.gate_intervals(ctx) if (gate and ctx is not None) else []
        gate_table = _gate_table(intervals, 4.0 * _grad_noise_factor(self.feature_settings) * ctx.noise if ctx else 0.0)
        block = (
            default_block_shape(shape, slab_depth=slab_depth) if ctx is None else predict_block_shape(shape, slab_depth)
        )
        blocks = iter_blocks(shape, block)
        code_index = {c: i for i, c in enumerate(self.class_codes)}
        gated = 0

        with tempfile.TemporaryDirectory(prefix="licell-predict-") as scratch_dir:
            if direct:
                stage_labels, stage_unc, stage_prob = labels_out, uncertainty_out, probabilities_out
            else:
                stage_labels = _scratch(scratch_dir, "labels", shape, LABEL_DTYPE)
                stage_unc = (
                    _scratch(scratch_dir, "uncertainty", shape, _unc_dtype(uncertainty_out))
                    if uncertainty_out is not None
                    else None
                )
                stage_prob = (
                    _scratch(scratch_dir, "probabilities", (n_classes, *shape), np.float16)
                    if probabilities_out is not None
                    else None
                )
            results = self._block_results(volume, blocks, ctx, gate_table, stage_prob is not None, cancel)
            for i, (region, lab, unc, proba, n_gated) in enumerate(results):
                if _is_cancelled(cancel):
                    raise PredictionCancelled("prediction cancelled")
                block_shape = tuple(sl.stop - sl.start for sl in region)
                gated += n_gated
                if scribbles is not None:
                    s = np.asarray(scribbles[region]).reshape(-1)
                    painted = s != 0
                    lab = np.where(painted, s.astype(LABEL_DTYPE), lab)
                    unc = np.where(painted, 0.0, unc)
                    if stage_prob is not None and painted.any():
                        proba[painted] = 0.0
                        for c in np.unique(s[painted]):
                            if int(c) in code_index:
                                proba[painted & (s == c), code_index[int(c)]] = 1.0
                stage_labels[region] = lab.reshape(block_shape)
                if stage_unc is not None:
                    stage_unc[region] = unc.reshape(block_shape)  # cast to the output's dtype on assignment
                if stage_prob is not None:
                    stage_prob[(slice(None), *region)] = (
                        np.moveaxis(proba, 1, 0).reshape((n_classes, *block_shape)).astype(np.float16)
                    )
                if progress is not None:
                    progress(i + 1, len(blocks))
            if _is_cancelled(cancel) and not direct:
                raise PredictionCancelled("prediction cancelled")
            self.last_band = None
            if band_by_position and {CARBON.code, VOID.code} <= set(self.class_codes):
                work = _scratch(scratch_dir, "band", shape, LABEL_DTYPE, in_memory_max=1 << 28)
                self.last_band = carbon_band_by_position(
                    stage_labels,
                    work,
                    scribbles=scribbles,
                    voxel_size_um=voxel_size_um,
                    collector_at_start=ctx.collector_at_start
                    if ctx is not None and ctx.collector_thickness is not None
                    else None,
                    cancel=cancel,
                )
                del work
            if not direct:
                step = max(1, (1 << 24) // max(1, shape[1] * shape[2]))
                for z0 in range(0, shape[0], step):  # commit: copy the staged results into the caller's arrays
                    z1 = min(z0 + step, shape[0])
                    labels_out[z0:z1] = stage_labels[z0:z1]
                    if stage_unc is not None:
                        uncertainty_out[z0:z1] = stage_unc[z0:z1]
                    if stage_prob is not None:
                        probabilities_out[:, z0:z1] = stage_prob[:, z0:z1]
            del stage_labels, stage_unc, stage_prob
        self.last_gate_fraction = gated / max(1, int(np.prod(shape))) if ctx is not None else None
        return labels_out

    # --- files -----------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> Path:
        """Write the trained model to one file, atomically (temporary file + rename).

        Returns
        -------
        Path
            The written file.
        """
        import joblib
        import sklearn

        if self.forest is None:
            raise RuntimeError("nothing to save: the classifier is not trained")
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "format": MODEL_FORMAT,
            "format_version": MODEL_FORMAT_VERSION,
            "feature_kind": "transfer" if self.transfer else "multiscale",
            "feature_settings": self.feature_settings.as_dict(),
            "feature_names": self.feature_names,
            "class_codes": list(self.class_codes),
            "class_keys": [class_by_code(c).key for c in self.class_codes],
            "params": {
                "n_estimators": self.n_estimators,
                "max_depth": self.max_depth,
                "max_leaf_nodes": self.max_leaf_nodes,
                "max_samples_per_class": self.max_samples_per_class,
                "class_weight": self.class_weight,
                "random_state": self.random_state,
                "gate": self.gate,
                "boundary_samples": self.boundary_samples,
            },
            "levels": {int(c): dict(v) for c, v in self.levels.items()},
            "metal_threshold": self.metal_threshold,
            "dark_threshold": self.dark_threshold,
            "voxel_size_um": self.voxel_size_um,
            "calibrated": self.calibrated,
            "sklearn_version": sklearn.__version__,
            "forest": self.forest,
        }
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                joblib.dump(payload, fh, compress=3)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        return path

    @classmethod
    def load(cls, path: str | os.PathLike, n_jobs: int = -1) -> "PixelClassifier":
        """Read a model written by :meth:`save` (this format version, or version 1: multi-scale features).

        Raises
        ------
        LiCellInputError
            The file is missing, is not a napari-licell model, or has another format version.
        """
        import joblib

        path = Path(path)
        if not path.is_file():
            raise LiCellInputError(path, "no such model file")
        try:
            payload = joblib.load(path)
        except Exception as exc:  # noqa: BLE001 - any unreadable file is bad input
            raise LiCellInputError(path, f"not a readable pixel-classifier file ({type(exc).__name__})") from exc
        if not isinstance(payload, dict) or payload.get("format") != MODEL_FORMAT:
            raise LiCellInputError(path, "not a napari-licell pixel-classifier file")
        version = payload.get("format_version")
        if version not in (1, MODEL_FORMAT_VERSION):
            raise LiCellInputError(
                path,
                f"pixel-classifier file has format version {version}; this napari-licell reads versions "
                f"1 to {MODEL_FORMAT_VERSION}",
                "retrain the classifier from its scribbles and save it again",
            )
        params = dict(payload.get("params", {}))
        if payload.get("feature_kind", "multiscale") == "transfer":
            settings = TransferSettings.from_dict(payload["feature_settings"])
        else:
            settings = FeatureSettings.from_dict(payload["feature_settings"])
        model = cls(settings, n_jobs=n_jobs, **params)
        model.forest = payload["forest"]
        model.forest.n_jobs = n_jobs
        model.class_codes = tuple(int(c) for c in payload["class_codes"])
        model.levels = {int(c): dict(v) for c, v in payload.get("levels", {}).items()}
        model.metal_threshold = payload.get("metal_threshold")
        model.dark_threshold = payload.get("dark_threshold")
        model.voxel_size_um = payload.get("voxel_size_um")
        model.calibrated = bool(payload.get("calibrated", False))
        return model


#: Voxels per class placed by the carbon band (carbon in it, void outside it): about as many as a class's
#: painted voxels. 200 moved the band's top as far as 4,000 did (process1 Li Dice 0.988 and 0.987, seed 3) while
#: the trees stayed at 45-54 leaves, within the bit-mask evaluator; 4,000 grew trees of up to 72 leaves, and a
#: forest with one tree above 64 leaves falls back to the tree walk (3.4 instead of 41 M voxels/s).
BAND_SAMPLES = 200

#: Weight of a painted voxel relative to a boundary voxel labelled by the partial-volume rule.
PAINTED_WEIGHT = 3.0


def _painted_levels(X: np.ndarray, y: np.ndarray, codes, noise: float) -> dict[int, dict[str, float]]:
    """Median and quartiles of the painted ``g1`` (feature column 1) per class, spread in noise units."""
    out = {}
    for c in codes:
        g1 = X[y == c, 1].astype(np.float64)
        q25, q50, q75 = np.percentile(g1, [25, 50, 75])
        out[int(c)] = {
            "g1": float(q50),
            "g1_q25": float(q25),
            "g1_q75": float(q75),
            "spread_per_noise": float((q75 - q25) / 1.349 / noise),
        }
    return out


def _boundary_labels(feats: np.ndarray, intervals, levels, noise: float, settings: TransferSettings) -> np.ndarray:
    """Class codes for voxels at the rim of plateaus the thresholds are sure of (0 elsewhere).

    A voxel within 4 voxels of a sure plateau of class ``c`` (``g1`` in its
    interval, gradient within noise), not itself sure, next to a phase at
    least 20 noise sd brighter or darker (the extreme ``g1`` within 3 voxels),
    takes ``c`` when its own value lies less than 35 % of the way from ``c``'s
    level to that phase: the partial-volume rule puts the interface at 50 %.
    """
    from scipy import ndimage as ndi

    mu, g1, grad = feats[..., 0], feats[..., 1], feats[..., 4]
    limit = 4.0 * _grad_noise_factor(settings)
    sure = np.zeros(g1.shape, np.int16)
    for c, lo, hi in intervals:
        sure[(g1 >= lo) & (g1 <= hi) & (grad <= limit)] = c
    bright = ndi.maximum_filter(g1, size=7, mode="nearest")
    dark = ndi.minimum_filter(g1, size=7, mode="nearest")
    out = np.zeros(g1.shape, np.uint8)
    free = sure == 0
    for c, _, _ in intervals:
        lc = np.float32(levels[c]["g1"])
        near = ndi.binary_dilation(sure == c, iterations=4) & free & (out == 0)
        ext = np.where(bright - lc >= lc - dark, bright, dark)
        span = ext - lc
        ok = near & (np.abs(span) > 20.0 * noise)
        frac = np.divide(mu - lc, span, out=np.ones_like(mu), where=ok)
        out[ok & (frac < 0.35)] = c
    return out


def _g1_noise_factor(settings: TransferSettings) -> float:
    """Std of ``g1`` over the noise std (white noise)."""
    w = gaussian_kernel(settings.small, settings.truncate).astype(np.float64)
    return float((w**2).sum()) ** 1.5


def _grad_noise_factor(settings: TransferSettings) -> float:
    """Std of one central-difference component of ``grad g1`` over the noise std (white noise)."""
    w = gaussian_kernel(settings.small, settings.truncate).astype(np.float64)
    d = (np.concatenate([w, [0.0, 0.0]]) - np.concatenate([[0.0, 0.0], w])) / 2.0
    return math.sqrt(float((d**2).sum()) * float((w**2).sum()) ** 2)


def predict_block_shape(shape: tuple[int, ...], slab_depth: int | None = None, max_voxels: int = 1 << 21):
    """Blocks for prediction with transfer features: near-cubic (the halo costs least), at most ``max_voxels``.

    2 M voxels keep a worker thread's arrays to about 160 MB (counted from its arrays, every
    voxel in doubt); 4 M were measured no faster on the demo cell.

    The longest side is halved until the block fits; with ``slab_depth`` the
    blocks are z-slabs of that depth, as :func:`default_block_shape` makes them.
    """
    if slab_depth is not None:
        return default_block_shape(shape, slab_depth=slab_depth)
    b = [int(n) for n in shape[-3:]]
    while b[0] * b[1] * b[2] > max_voxels and max(b) > 1:
        k = int(np.argmax(b))
        b[k] = -(-b[k] // 2)
    return tuple(b)


def _gate_table(intervals, grad_limit: float):
    """The gate as arrays for :func:`_gate`: codes (uint8), lo and hi of ``g1`` (float32), gradient limit."""
    codes = np.asarray([c for c, _, _ in intervals], dtype=LABEL_DTYPE)
    lo = np.asarray([a for _, a, _ in intervals], dtype=np.float32)
    hi = np.asarray([b for _, _, b in intervals], dtype=np.float32)
    return codes, lo, hi, np.float32(grad_limit)


@njit(nogil=True, cache=True)
def _gate(g1, grad, start, codes, lo, hi, limit, out):  # pragma: no cover - compiled
    """``out`` (the cropped region) = the gate's class code where ``g1`` is in its interval and calm, else 0.

    ``g1`` covers the block (the crop starts at ``start``), ``grad`` the crop.
    """
    nz, ny, nx = out.shape
    z0, y0, x0 = start[0], start[1], start[2]
    for z in range(nz):
        for y in range(ny):
            for x in range(nx):
                c = 0
                if grad[z, y, x] <= limit:
                    v = g1[z + z0, y + y0, x + x0]
                    for k in range(codes.size):
                        if v >= lo[k] and v <= hi[k]:
                            c = codes[k]
                            break
                out[z, y, x] = c


def _unc_dtype(out) -> np.dtype:
    """Staging dtype of the uncertainty: the output's own when it is float32, else float16."""
    return np.dtype(np.float32) if np.dtype(out.dtype) == np.float32 else np.dtype(np.float16)


def _threads(n_jobs: int) -> int:
    """Worker threads for ``n_jobs`` (-1: every core this process may use)."""
    if n_jobs is None or n_jobs < 1:
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except AttributeError:  # pragma: no cover - not Linux
            return max(1, os.cpu_count() or 1)
    return int(n_jobs)


def _read_with_halo(volume, region, h: int):
    """``volume[region]`` grown by ``h`` voxels each side (clipped): (block, crop back to region, block origin)."""
    read, crop, origin = [], [], []
    for sl, n in zip(region, volume.shape):
        a, b, step = sl.indices(n)
        if step != 1 or a >= b:
            raise ValueError(f"region {region} is not a non-empty step-1 part of a volume of shape {volume.shape}")
        lo, hi = max(0, a - h), min(n, b + h)
        read.append(slice(lo, hi))
        crop.append(slice(a - lo, b - lo))
        origin.append(lo)
    return np.asarray(volume[tuple(read)]), tuple(crop), tuple(origin)


def _scratch(folder: str, name: str, shape: tuple[int, ...], dtype, in_memory_max: int = 1 << 30) -> Any:
    """Staging array: in memory up to ``in_memory_max`` bytes (1 GB), else a chunked zarr array in ``folder``
    (not memory-mapped, so staging a scan larger than memory does not grow the resident memory)."""
    nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
    if nbytes <= in_memory_max:
        return np.zeros(shape, dtype=dtype)
    import zarr

    from ..io.label_store import LABEL_CHUNKS

    chunks = (1,) * (len(shape) - 3) + tuple(min(c, s) for c, s in zip(LABEL_CHUNKS, shape[-3:]))
    return zarr.create_array(
        store=os.path.join(folder, f"{name}.zarr"), shape=shape, chunks=chunks, dtype=dtype, fill_value=0
    )
