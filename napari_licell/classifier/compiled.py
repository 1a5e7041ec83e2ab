"""A scikit-learn random forest flattened into arrays and walked by numba (parallel over voxels).

:func:`compile_forest` copies every tree's ``children_left``,
``children_right``, ``feature``, ``threshold`` and leaf class fractions into
one set of arrays; :meth:`CompiledForest.predict_proba` walks all trees for
each row in one compiled loop (no Python per tree, no per-tree probability
arrays). The comparison is scikit-learn's own (``float32 feature <= float64
threshold``) and trees are summed in order, so the probabilities equal
``RandomForestClassifier.predict_proba`` to float rounding.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit, prange

__all__ = ["CompiledForest", "compile_forest"]


@dataclass(frozen=True)
class CompiledForest:
    """Flat arrays of a forest: node ``i`` of tree ``t`` is row ``roots[t] + i``."""

    roots: np.ndarray  # int64 (n_trees,)
    left: np.ndarray  # int64 (n_nodes,), -1 at leaves (absolute indices)
    right: np.ndarray
    feature: np.ndarray  # int64
    threshold: np.ndarray  # float64
    leaf_value: np.ndarray  # float64 (n_nodes, n_classes), class fractions / n_trees
    n_features: int

    @property
    def n_classes(self) -> int:
        return int(self.leaf_value.shape[1])

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities (n, n_classes) of float32 feature rows (n, n_features)."""
        X = np.ascontiguousarray(X, dtype=np.float32)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise ValueError(f"expected rows of {self.n_features} features, got shape {X.shape}")
        out = np.zeros((X.shape[0], self.n_classes), dtype=np.float64)
        if X.shape[0]:
            _walk(X, self.roots, self.left, self.right, self.feature, self.threshold, self.leaf_value, out)
        return out


def compile_forest(forest) -> CompiledForest:
    """Flatten a fitted :class:`sklearn.ensemble.RandomForestClassifier`."""
    trees = [est.tree_ for est in forest.estimators_]
    n_trees = len(trees)
    sizes = [t.node_count for t in trees]
    roots = np.cumsum([0] + sizes[:-1]).astype(np.int64)
    left, right, feat, thr, val = [], [], [], [], []
    for t, off in zip(trees, roots):
        lt = t.children_left.astype(np.int64)
        rt = t.children_right.astype(np.int64)
        leaf = lt == -1
        left.append(np.where(leaf, -1, lt + off))
        right.append(np.where(leaf, -1, rt + off))
        feat.append(np.where(leaf, 0, t.feature).astype(np.int64))
        thr.append(t.threshold.astype(np.float64))
        v = np.asarray(t.value[:, 0, :], dtype=np.float64)
        s = v.sum(axis=1, keepdims=True)
        val.append(np.divide(v, s, out=np.zeros_like(v), where=s > 0) / n_trees)
    return CompiledForest(
        roots=roots,
        left=np.concatenate(left),
        right=np.concatenate(right),
        feature=np.concatenate(feat),
        threshold=np.concatenate(thr),
        leaf_value=np.ascontiguousarray(np.concatenate(val)),
        n_features=int(forest.n_features_in_),
    )


@njit(parallel=True, cache=True)
def _walk(X, roots, left, right, feature, threshold, leaf_value, out):  # pragma: no cover - compiled
    n = X.shape[0]
    nc = leaf_value.shape[1]
    for i in prange(n):
        for t in range(roots.size):
            node = roots[t]
            while left[node] != -1:
                if X[i, feature[node]] <= threshold[node]:
                    node = left[node]
                else:
                    node = right[node]
            for c in range(nc):
                out[i, c] += leaf_value[node, c]
