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
    """Flat arrays of a forest, children of every split stored side by side.

    ``nodes[i] = (threshold, feature, first_child)`` as float32, with
    ``first_child = -1`` at leaves; a row goes to ``first_child + (x > threshold)``,
    which the walker computes without a branch. ``threshold`` is the largest
    float32 not above scikit-learn's float64 threshold, so ``x <= threshold``
    decides exactly as scikit-learn does for float32 features.
    """

    roots: np.ndarray  # int32 (n_trees,)
    nodes: np.ndarray  # float32 (n_nodes, 4)
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
            _walk(X, self.roots, self.nodes, self.leaf_value, out)
        return out


def _float32_at_most(t64: np.ndarray) -> np.ndarray:
    t32 = t64.astype(np.float32)
    over = t32.astype(np.float64) > t64
    t32[over] = np.nextafter(t32[over], np.float32(-np.inf))
    return t32


def compile_forest(forest) -> CompiledForest:
    """Flatten a fitted :class:`sklearn.ensemble.RandomForestClassifier`."""
    trees = [est.tree_ for est in forest.estimators_]
    n_trees = len(trees)
    if sum(t.node_count for t in trees) >= 1 << 24:
        raise ValueError("forest too large to compile (more than 16 million nodes)")
    roots, blocks, values = [], [], []
    offset = 0
    for t in trees:
        lt, rt = t.children_left, t.children_right
        n = t.node_count
        order = [0]  # old index of each new slot; children of a split take two consecutive slots
        new_of = np.empty(n, np.int64)
        new_of[0] = 0
        first_child = np.full(n, -1, np.int64)
        k = 0
        while k < len(order):
            old = order[k]
            if lt[old] != -1:
                first_child[k] = len(order)
                new_of[lt[old]] = len(order)
                new_of[rt[old]] = len(order) + 1
                order += [lt[old], rt[old]]
            k += 1
        order = np.asarray(order)
        nodes = np.zeros((n, 4), np.float32)
        nodes[:, 0] = _float32_at_most(t.threshold[order].astype(np.float64))
        nodes[:, 1] = np.where(lt[order] == -1, 0, t.feature[order])
        nodes[:, 2] = np.where(first_child >= 0, first_child + offset, -1)
        v = np.asarray(t.value[order, 0, :], dtype=np.float64)
        s = v.sum(axis=1, keepdims=True)
        values.append(np.divide(v, s, out=np.zeros_like(v), where=s > 0) / n_trees)
        blocks.append(nodes)
        roots.append(offset)
        offset += n
    return CompiledForest(
        roots=np.asarray(roots, np.int32),
        nodes=np.ascontiguousarray(np.concatenate(blocks)),
        leaf_value=np.ascontiguousarray(np.concatenate(values)),
        n_features=int(forest.n_features_in_),
    )


#: Rows walked together through one tree (their features stay in cache while the tree's nodes do too).
CHUNK = 2048


@njit(parallel=True, cache=True)
def _walk(X, roots, nodes, leaf_value, out):  # pragma: no cover - compiled
    n = X.shape[0]
    nc = leaf_value.shape[1]
    n_chunks = (n + CHUNK - 1) // CHUNK
    for ch in prange(n_chunks):
        i0 = ch * CHUNK
        i1 = min(n, i0 + CHUNK)
        for t in range(roots.size):
            root = roots[t]
            for i in range(i0, i1):
                node = root
                child = np.int32(nodes[node, 2])
                while child >= 0:
                    go_right = X[i, np.int32(nodes[node, 1])] > nodes[node, 0]
                    node = child + np.int32(go_right)
                    child = np.int32(nodes[node, 2])
                for c in range(nc):
                    out[i, c] += leaf_value[node, c]
