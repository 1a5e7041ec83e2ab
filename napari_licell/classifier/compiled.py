"""A scikit-learn random forest flattened into arrays and evaluated by numba (GIL released, one thread per call).

Two evaluators, both giving scikit-learn's probabilities (the comparison is
scikit-learn's own, ``float32 feature <= float64 threshold``; trees are summed
in order):

* **bit masks** (every tree with at most 64 leaves, the Paint dock's forests):
  the QuickScorer scheme (uint32 masks when no tree has more than 32
  leaves). Each split ``x[f] > t`` that holds rules out the
  leaves of its left subtree, so a row's leaf in a tree is the lowest bit of the
  AND of the masks of its true splits. The splits are visited in a fixed order
  and each is tested on a run of 256 rows at once, from feature columns
  (``XT[f, i]``, contiguous): no pointer chase, no branch, vectorised by LLVM.
  When every leaf is pure (one class, as when no tree reaches ``max_depth``)
  the lowest bit is tested against each class's leaf bits, so the votes are
  counted with vector instructions too (no table look-up per row and tree).
* **tree walk** (fallback for bigger trees): ``nodes[i] = (threshold, feature,
  first_child)``, children side by side, a branch-free step per level.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

__all__ = ["CompiledForest", "compile_forest"]

#: Rows tested together against each split (bit-mask evaluator).
RUN = 256
#: Rows walked together through one tree (tree-walk evaluator).
CHUNK = 2048


@dataclass(frozen=True)
class CompiledForest:
    """Flat arrays of a forest.

    ``roots``/``nodes``/``leaf_value`` serve the tree walk; ``split_*``,
    ``tree_start``, ``leaf_start``, ``leaf_table`` (float64, (n_classes,
    n_leaves), class fractions / n_trees) and ``class_leaves`` (per tree and
    class, the bits of that class's leaves; None when a leaf is impure) the
    bit-mask evaluator, which is used when ``split_feature`` is not None.
    """

    roots: np.ndarray  # int32 (n_trees,)
    nodes: np.ndarray  # float32 (n_nodes, 4)
    leaf_value: np.ndarray  # float64 (n_nodes, n_classes), class fractions / n_trees
    n_features: int
    split_feature: np.ndarray | None = None  # int32 (n_splits,)
    split_threshold: np.ndarray | None = None  # float32 (n_splits,)
    split_mask: np.ndarray | None = None  # uint32/64 (n_splits,): leaves still possible when the split holds
    tree_start: np.ndarray | None = None  # int32 (n_trees + 1,): splits of tree t
    leaf_start: np.ndarray | None = None  # int32 (n_trees + 1,): leaves of tree t, in order
    leaf_table: np.ndarray | None = None  # float64 (n_classes, n_leaves)
    class_leaves: np.ndarray | None = None  # (n_trees, n_classes), mask dtype: bits of each class's leaves

    @property
    def n_classes(self) -> int:
        return int(self.leaf_value.shape[1])

    @property
    def n_trees(self) -> int:
        return int(self.roots.size)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities (n, n_classes) of float32 feature rows (n, n_features)."""
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise ValueError(f"expected rows of {self.n_features} features, got shape {X.shape}")
        if self.split_feature is not None:
            return self.predict_proba_columns(np.ascontiguousarray(X.T, dtype=np.float32))
        X = np.ascontiguousarray(X, dtype=np.float32)
        out = np.zeros((X.shape[0], self.n_classes), dtype=np.float64)
        if X.shape[0]:
            _walk(X, self.roots, self.nodes, self.leaf_value, out)
        return out

    def predict_proba_columns(self, XT: np.ndarray) -> np.ndarray:
        """Class probabilities (n, n_classes) of features given as columns (n_features, n)."""
        n = self._check_columns(XT)
        proba = np.zeros((n, self.n_classes), dtype=np.float64)
        if n:
            self._run(np.ascontiguousarray(XT, dtype=np.float32), proba)
        return proba

    def predict_best(self, XT: np.ndarray, proba: bool = False):
        """Index of the most probable class (first on ties, as ``argmax``) and its probability, per column.

        Returns
        -------
        best : ndarray of uint8 (n,)
        top : ndarray of float32 (n,)
        probabilities : ndarray of float64 (n, n_classes), only when ``proba``
        """
        n = self._check_columns(XT)
        XT = np.ascontiguousarray(XT, dtype=np.float32)
        if self.split_feature is None:
            p = self.predict_proba(XT.T)
            best = np.argmax(p, axis=1)
            top = p[np.arange(n), best].astype(np.float32)
            return (best.astype(np.uint8), top, p) if proba else (best.astype(np.uint8), top)
        best = np.zeros(n, np.uint8)
        top = np.zeros(n, np.float32)
        p = np.zeros((n if proba else 0, self.n_classes), dtype=np.float64)
        if n:
            self._run(XT, p, best, top)
        return (best, top, p) if proba else (best, top)

    def _check_columns(self, XT) -> int:
        if XT.ndim != 2 or XT.shape[0] != self.n_features:
            raise ValueError(f"expected {self.n_features} feature columns, got shape {XT.shape}")
        return int(XT.shape[1])

    def _run(self, XT, proba, best=None, top=None):
        n = XT.shape[1]
        if best is None:
            best = np.zeros(n, np.uint8)
            top = np.zeros(n, np.float32)
        if self.split_feature is None:  # pragma: no cover - callers use the walk directly
            raise RuntimeError("bit-mask arrays missing")
        mdt = self.split_mask.dtype
        votes = self.class_leaves if self.class_leaves is not None else np.zeros((0, 0), mdt)
        _bitmask(
            XT,
            self.split_feature,
            self.split_threshold,
            self.split_mask,
            mdt.type(~mdt.type(0)),
            self.tree_start,
            self.leaf_start,
            self.leaf_table,
            votes,
            proba,
            best,
            top,
        )


def _float32_at_most(t64: np.ndarray) -> np.ndarray:
    t32 = t64.astype(np.float32)
    over = t32.astype(np.float64) > t64
    t32[over] = np.nextafter(t32[over], np.float32(-np.inf))
    return t32


def _leaf_fractions(t, rows, n_trees: int) -> np.ndarray:
    v = np.asarray(t.value[rows, 0, :], dtype=np.float64)
    s = v.sum(axis=1, keepdims=True)
    return np.divide(v, s, out=np.zeros_like(v), where=s > 0) / n_trees


def _bitmask_tree(t):
    """In-order leaves of a tree and, per split (in node order), its feature, threshold and surviving-leaf mask."""
    lt, rt = t.children_left, t.children_right
    first = np.zeros(t.node_count, np.int64)  # first and one-past-last leaf (in order) under each node
    last = np.zeros(t.node_count, np.int64)
    leaves: list[int] = []
    stack = [(0, False)]
    while stack:  # iterative post-order: a node's leaf span once both children are done
        node, done = stack.pop()
        if lt[node] == -1:
            first[node], last[node] = len(leaves), len(leaves) + 1
            leaves.append(node)
        elif done:
            first[node], last[node] = first[lt[node]], last[rt[node]]
        else:
            stack += [(node, True), (rt[node], False), (lt[node], False)]
    splits = np.flatnonzero(lt != -1)
    masks = np.empty(splits.size, np.uint64)
    for i, node in enumerate(splits):
        a, b = int(first[lt[node]]), int(last[lt[node]])
        left = ((1 << (b - a)) - 1) << a
        masks[i] = np.uint64(~left & 0xFFFFFFFFFFFFFFFF)
    return np.asarray(leaves, np.int64), splits, masks


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
        first_child = np.full(n, -1, np.int64)
        k = 0
        while k < len(order):
            old = order[k]
            if lt[old] != -1:
                first_child[k] = len(order)
                order += [lt[old], rt[old]]
            k += 1
        order = np.asarray(order)
        nodes = np.zeros((n, 4), np.float32)
        nodes[:, 0] = _float32_at_most(t.threshold[order].astype(np.float64))
        nodes[:, 1] = np.where(lt[order] == -1, 0, t.feature[order])
        nodes[:, 2] = np.where(first_child >= 0, first_child + offset, -1)
        values.append(_leaf_fractions(t, order, n_trees))
        blocks.append(nodes)
        roots.append(offset)
        offset += n
    walk = dict(
        roots=np.asarray(roots, np.int32),
        nodes=np.ascontiguousarray(np.concatenate(blocks)),
        leaf_value=np.ascontiguousarray(np.concatenate(values)),
        n_features=int(forest.n_features_in_),
    )
    if max(int((t.children_left == -1).sum()) for t in trees) > 64:
        return CompiledForest(**walk)
    feats, thrs, masks, tables = [], [], [], []
    tree_start, leaf_start = [0], [0]
    for t in trees:
        leaves, splits, m = _bitmask_tree(t)
        feats.append(t.feature[splits].astype(np.int32))
        thrs.append(_float32_at_most(t.threshold[splits].astype(np.float64)))
        masks.append(m)
        tables.append(_leaf_fractions(t, leaves, n_trees))
        tree_start.append(tree_start[-1] + splits.size)
        leaf_start.append(leaf_start[-1] + leaves.size)
    table = np.concatenate(tables)
    mask = np.concatenate(masks)
    if max(leaf_start[i + 1] - leaf_start[i] for i in range(n_trees)) <= 32:
        mask = (mask & np.uint64(0xFFFFFFFF)).astype(np.uint32)  # twice the rows per vector instruction
    n_classes = table.shape[1]
    class_leaves = None
    if np.all((table > 0).sum(axis=1) == 1):  # pure leaves: a tree votes for one class
        leaf_class = np.argmax(table, axis=1)
        class_leaves = np.zeros((n_trees, n_classes), mask.dtype)
        for t in range(n_trees):
            for i, c in enumerate(leaf_class[leaf_start[t] : leaf_start[t + 1]]):
                class_leaves[t, c] |= mask.dtype.type(1 << i)
    return CompiledForest(
        **walk,
        split_feature=np.concatenate(feats),
        split_threshold=np.concatenate(thrs),
        split_mask=mask,
        tree_start=np.asarray(tree_start, np.int32),
        leaf_start=np.asarray(leaf_start, np.int32),
        leaf_table=np.ascontiguousarray(table.T),
        class_leaves=class_leaves,
    )


@intrinsic
def _cttz(typingctx, x):  # pragma: no cover - compiled
    """Index of the lowest set bit of an unsigned integer (LLVM ``cttz``), same type."""
    if not isinstance(x, types.Integer):
        return None
    sig = x(x)

    def codegen(context, builder, signature, args):
        return builder.cttz(args[0], ir.Constant(ir.IntType(1), 0))

    return sig, codegen


@njit(nogil=True, cache=True)
def _bitmask(
    XT, feature, threshold, mask, all_ones, tree_start, leaf_start, table, votes, proba, best, top
):  # pragma: no cover - compiled
    n = XT.shape[1]
    nc = table.shape[0]
    n_trees = tree_start.size - 1
    use_votes = votes.shape[0] > 0
    want_proba = proba.shape[0] > 0
    n_runs = (n + RUN - 1) // RUN
    for run in range(n_runs):
        i0 = run * RUN
        m = min(n, i0 + RUN) - i0
        v = np.empty(RUN, mask.dtype)
        count = np.zeros((nc, RUN), np.int32)
        acc = np.zeros((nc, RUN), np.float64)
        leaf = np.empty(RUN, np.int64)
        for t in range(n_trees):
            for j in range(m):
                v[j] = all_ones
            for k in range(tree_start[t], tree_start[t + 1]):
                col = XT[feature[k], i0 : i0 + m]
                th = threshold[k]
                mk = mask[k]
                for j in range(m):
                    v[j] &= mk if col[j] > th else all_ones
            if use_votes:
                for j in range(m):
                    v[j] &= ~v[j] + 1  # the exit leaf's bit
                for c in range(nc):
                    cl = votes[t, c]
                    cc = count[c]
                    for j in range(m):
                        cc[j] += (v[j] & cl) != 0
            else:
                base = leaf_start[t]
                for j in range(m):
                    leaf[j] = base + np.int64(_cttz(v[j]))
                for c in range(nc):
                    tc = table[c]
                    a = acc[c]
                    for j in range(m):
                        a[j] += tc[leaf[j]]
        if use_votes:
            for c in range(nc):
                for j in range(m):
                    acc[c, j] = count[c, j] / n_trees
        for j in range(m):
            b = 0
            for c in range(1, nc):
                if acc[c, j] > acc[b, j]:
                    b = c
            best[i0 + j] = b
            top[i0 + j] = acc[b, j]
            if want_proba:
                for c in range(nc):
                    proba[i0 + j, c] = acc[c, j]


@njit(nogil=True, cache=True)
def _walk(X, roots, nodes, leaf_value, out):  # pragma: no cover - compiled
    n = X.shape[0]
    nc = leaf_value.shape[1]
    n_chunks = (n + CHUNK - 1) // CHUNK
    for ch in range(n_chunks):
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
