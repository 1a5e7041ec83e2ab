"""A random-forest pixel classifier trained on painted voxels (scribbles), applied slab by slab.

Scribbles are a label volume of the scan's shape: 0 where nothing was
painted, a class code of :mod:`napari_licell.classes` elsewhere. Training
reads features only in blocks holding painted voxels; prediction walks the
volume z-slab by z-slab (big planes tiled in y and x) and writes class codes
(uint8) and, on request, the uncertainty ``1 - max(probability)`` (float16)
and per-class probabilities into arrays the caller provides (numpy,
``np.memmap`` or zarr), so big scans never sit in memory as features; staging
of outputs above 1 GB goes to chunked zarr arrays on disk.

Model files (``save``/``load``) hold the forest, the feature settings and
the class codes in one joblib file with a format version. Loading runs
pickle: only open model files from a source you trust.
"""

from __future__ import annotations

from typing import Any

import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..classes import LABEL_DTYPE, class_by_code
from ..errors import LiCellInputError
from .features import FeatureSettings, default_block_shape, feature_names, iter_blocks, region_features

__all__ = [
    "MODEL_FORMAT",
    "MODEL_FORMAT_VERSION",
    "PixelClassifier",
    "PredictionCancelled",
    "TrainingSummary",
]

#: Identifies a napari-licell pixel-classifier file.
MODEL_FORMAT = "napari-licell-pixel-classifier"
#: Bump when the file layout changes; files of another version are refused.
from ..cancellation import Cancelled

MODEL_FORMAT_VERSION = 1

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
    """

    class_codes: tuple[int, ...]
    painted_voxels: dict[int, int]
    training_voxels: dict[int, int]
    seconds: float


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
        feature_settings: FeatureSettings | None = None,
        n_estimators: int = 64,
        max_depth: int | None = 20,
        max_samples_per_class: int = 40_000,
        class_weight: str | None = "balanced",
        random_state: int = 0,
        n_jobs: int = -1,
    ) -> None:
        self.feature_settings = feature_settings or FeatureSettings()
        self.n_estimators = int(n_estimators)
        self.max_depth = max_depth
        self.max_samples_per_class = int(max_samples_per_class)
        self.class_weight = class_weight
        self.random_state = int(random_state)
        self.n_jobs = int(n_jobs)
        self.forest = None
        self.class_codes: tuple[int, ...] = ()
        self.summary: TrainingSummary | None = None

    # --- state -----------------------------------------------------------------
    @property
    def is_trained(self) -> bool:
        """True once :meth:`fit` (or :meth:`load`) gave the classifier a forest."""
        return self.forest is not None

    @property
    def feature_names(self) -> list[str]:
        """Names of the features the forest sees, in column order."""
        return feature_names(self.feature_settings)

    def __repr__(self) -> str:
        classes = ", ".join(class_by_code(c).key for c in self.class_codes) or "untrained"
        return f"PixelClassifier({classes}; {len(self.feature_names)} features, {self.n_estimators} trees)"

    # --- training --------------------------------------------------------------
    def fit(
        self,
        volume,
        scribbles,
        progress: Progress | None = None,
        cancel: Cancel | None = None,
        slab_depth: int | None = None,
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
        settings = self.feature_settings
        shape = tuple(volume.shape)
        blocks = [
            region
            for region in iter_blocks(shape, default_block_shape(shape, slab_depth=slab_depth))
            if np.any(np.asarray(scribbles[region]))
        ]
        xs, ys = [], []
        total = len(blocks) + 1
        for i, region in enumerate(blocks):
            if _is_cancelled(cancel):
                raise PredictionCancelled("training cancelled")
            s = np.asarray(scribbles[region])
            painted = s != 0
            feats = region_features(volume, region, settings)
            xs.append(feats[painted])
            ys.append(s[painted].astype(np.int64))
            if progress is not None:
                progress(i + 1, total)
        y = np.concatenate(ys) if ys else np.zeros(0, np.int64)
        codes, counts = np.unique(y, return_counts=True)
        if codes.size < 2:
            raise LiCellInputError(
                None,
                f"painted voxels hold {codes.size} class(es); the classifier needs at least two",
                "paint a few strokes of every phase you want found",
            )
        for c in codes:
            class_by_code(int(c))  # unknown codes are an error, not a silent class
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
        if _is_cancelled(cancel):
            raise PredictionCancelled("training cancelled")
        forest = RandomForestClassifier(
            n_estimators=self.n_estimators,
            max_depth=self.max_depth,
            class_weight=self.class_weight,
            random_state=self.random_state,
            n_jobs=self.n_jobs,
        )
        forest.fit(X[keep_idx], y[keep_idx])
        self.forest = forest
        self.class_codes = tuple(int(c) for c in forest.classes_)
        self.summary = TrainingSummary(
            class_codes=self.class_codes,
            painted_voxels={int(c): int(n) for c, n in zip(codes, counts)},
            training_voxels=used,
            seconds=time.perf_counter() - t0,
        )
        if progress is not None:
            progress(total, total)
        return self.summary

    # --- prediction --------------------------------------------------------------
    def predict_proba_features(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities (n, n_classes) of feature rows, summed over trees in a fixed order.

        sklearn sums tree votes from threads in whatever order they finish;
        here the sum runs in tree order, so the same model always gives
        bit-identical probabilities (a saved and re-loaded model reproduces
        its prediction exactly).
        """
        if self.forest is None:
            raise RuntimeError("the classifier is not trained; call fit() or load() first")
        from joblib import Parallel, delayed

        X = np.ascontiguousarray(X, dtype=np.float32)
        trees = self.forest.estimators_
        proba = np.zeros((X.shape[0], len(self.class_codes)), dtype=np.float64)
        if X.shape[0] == 0:
            return proba
        parallel = Parallel(n_jobs=self.n_jobs, prefer="threads", return_as="generator")
        batch = 1 << 18  # rows per pass: bounds the per-tree probability arrays in flight
        for r0 in range(0, X.shape[0], batch):
            rows = X[r0 : r0 + batch]
            for p in parallel(delayed(t.predict_proba)(rows, check_input=False) for t in trees):
                proba[r0 : r0 + batch] += p
        proba /= len(trees)
        return proba

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
    ):
        """Classify every voxel, z-slab by z-slab.

        Parameters
        ----------
        volume : array-like (z, y, x)
            Grey values.
        labels_out : array-like (z, y, x) of uint8, optional
            Receives class codes; allocated (numpy) when None.
        uncertainty_out : array-like (z, y, x) of float16, optional
            Receives ``1 - max probability`` (0 = sure, 1 - 1/n_classes = guessing).
        probabilities_out : array-like (n_classes, z, y, x) of float16, optional
            Receives the probability of each class in :attr:`class_codes` order.
        scribbles : array-like (z, y, x), optional
            Painted voxels (non-zero) keep their painted code, with uncertainty 0
            and probability 1 for that code.
        progress : callable(done, total), optional
            Called after each slab.
        cancel : callable() -> bool or threading.Event, optional
            Checked between slabs; when set, raises :class:`PredictionCancelled`.
            Results are staged in scratch memory and copied into the outputs
            only after the last slab, so a cancelled run leaves them untouched.
        slab_depth : int, optional
            Slab thickness in voxels (default: blocks of about 2 million voxels;
            large planes are tiled in y and x as well).

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
        settings = self.feature_settings
        blocks = iter_blocks(shape, default_block_shape(shape, slab_depth=slab_depth))
        codes = np.asarray(self.class_codes, dtype=LABEL_DTYPE)
        code_index = {c: i for i, c in enumerate(self.class_codes)}

        with tempfile.TemporaryDirectory(prefix="licell-predict-") as scratch_dir:
            stage_labels = _scratch(scratch_dir, "labels", shape, LABEL_DTYPE)
            stage_unc = _scratch(scratch_dir, "uncertainty", shape, np.float16) if uncertainty_out is not None else None
            stage_prob = (
                _scratch(scratch_dir, "probabilities", (n_classes, *shape), np.float16)
                if probabilities_out is not None
                else None
            )
            for i, region in enumerate(blocks):
                if _is_cancelled(cancel):
                    raise PredictionCancelled("prediction cancelled")
                feats = region_features(volume, region, settings)
                block_shape = feats.shape[:-1]
                proba = self.predict_proba_features(feats.reshape(-1, feats.shape[-1]))
                del feats
                best = np.argmax(proba, axis=1)
                lab = codes[best]
                unc = 1.0 - proba[np.arange(proba.shape[0]), best]
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
                    stage_unc[region] = unc.reshape(block_shape).astype(np.float16)
                if stage_prob is not None:
                    stage_prob[(slice(None), *region)] = (
                        np.moveaxis(proba, 1, 0).reshape((n_classes, *block_shape)).astype(np.float16)
                    )
                if progress is not None:
                    progress(i + 1, len(blocks))
            if _is_cancelled(cancel):
                raise PredictionCancelled("prediction cancelled")
            step = max(1, (1 << 24) // max(1, shape[1] * shape[2]))
            for z0 in range(0, shape[0], step):  # commit: copy the staged results into the caller's arrays
                z1 = min(z0 + step, shape[0])
                labels_out[z0:z1] = stage_labels[z0:z1]
                if stage_unc is not None:
                    uncertainty_out[z0:z1] = stage_unc[z0:z1]
                if stage_prob is not None:
                    probabilities_out[:, z0:z1] = stage_prob[:, z0:z1]
            del stage_labels, stage_unc, stage_prob
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
            "feature_settings": self.feature_settings.as_dict(),
            "feature_names": self.feature_names,
            "class_codes": list(self.class_codes),
            "class_keys": [class_by_code(c).key for c in self.class_codes],
            "params": {
                "n_estimators": self.n_estimators,
                "max_depth": self.max_depth,
                "max_samples_per_class": self.max_samples_per_class,
                "class_weight": self.class_weight,
                "random_state": self.random_state,
            },
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
        """Read a model written by :meth:`save`.

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
        if version != MODEL_FORMAT_VERSION:
            raise LiCellInputError(
                path,
                f"pixel-classifier file has format version {version}; this napari-licell reads version "
                f"{MODEL_FORMAT_VERSION}",
                "retrain the classifier from its scribbles and save it again",
            )
        params = dict(payload.get("params", {}))
        model = cls(FeatureSettings.from_dict(payload["feature_settings"]), n_jobs=n_jobs, **params)
        model.forest = payload["forest"]
        model.forest.n_jobs = n_jobs
        model.class_codes = tuple(int(c) for c in payload["class_codes"])
        return model


def _scratch(folder: str, name: str, shape: tuple[int, ...], dtype) -> Any:
    """Staging array: in memory up to 1 GB, else a chunked zarr array in ``folder`` (not memory-mapped,
    so staging a scan larger than memory does not grow the resident memory)."""
    nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
    if nbytes <= 1 << 30:
        return np.zeros(shape, dtype=dtype)
    import zarr

    from ..io.label_store import LABEL_CHUNKS

    chunks = (1,) * (len(shape) - 3) + tuple(min(c, s) for c, s in zip(LABEL_CHUNKS, shape[-3:]))
    return zarr.create_array(store=os.path.join(folder, f"{name}.zarr"), shape=shape, chunks=chunks,
                             dtype=dtype, fill_value=0)