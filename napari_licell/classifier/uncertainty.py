"""Where one more stroke helps most: the slice of the prediction's uncertainty to paint next (Qt-free).

The score of a slice is the summed uncertainty ``1 - max(probability)`` of
its unpainted voxels, smoothed over ``window`` neighbouring slices (triangular weights) (a stroke
teaches the classifier about the slices around it too). Slices that already
hold strokes, and their ``skip_painted`` neighbours on each side, are passed
over, so repeated calls walk the user through the scan's doubtful regions.
The uncertainty is read slab by slab, so a zarr or memmap larger than memory
is fine.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["SliceSuggestion", "slice_scores", "next_best_slice"]


@dataclass(frozen=True)
class SliceSuggestion:
    """The slice to paint next.

    Attributes
    ----------
    axis : int
        Axis of the slices.
    index : int
        Slice index along ``axis``.
    score : float
        Smoothed summed uncertainty of that slice (voxels).
    share : float
        Its share of the summed uncertainty of all slices (0-1).
    """

    axis: int
    index: int
    score: float
    share: float


def slice_scores(uncertainty, axis: int = 0, scribbles=None, slab: int = 16) -> np.ndarray:
    """Summed uncertainty of the unpainted voxels of every slice along ``axis`` (float64, one per slice)."""
    shape = tuple(uncertainty.shape)
    if len(shape) != 3 or axis not in (0, 1, 2):
        raise ValueError(f"need a 3-D uncertainty volume and an axis 0-2, got shape {shape}, axis {axis}")
    if scribbles is not None and tuple(scribbles.shape) != shape:
        raise ValueError(f"scribbles shape {tuple(scribbles.shape)} differs from the uncertainty's {shape}")
    other = tuple(a for a in range(3) if a != axis)
    scores = np.zeros(shape[axis], np.float64)
    for z0 in range(0, shape[0], slab):  # read along axis 0 in slabs whatever the slice axis
        sl = (slice(z0, min(z0 + slab, shape[0])), slice(None), slice(None))
        u = np.asarray(uncertainty[sl], dtype=np.float32)
        if scribbles is not None:
            u = np.where(np.asarray(scribbles[sl]) != 0, np.float32(0), u)
        if axis == 0:
            scores[sl[0]] += u.sum(axis=other, dtype=np.float64)
        else:
            scores += u.sum(axis=tuple(a for a in other), dtype=np.float64)
    return scores


def next_best_slice(
    uncertainty, axis: int = 0, scribbles=None, window: int = 5, skip_painted: int = 2
) -> SliceSuggestion | None:
    """The slice along ``axis`` where one more stroke helps most, or None when nothing is uncertain.

    Parameters
    ----------
    uncertainty : array-like (z, y, x)
        ``1 - max probability`` per voxel (the classifier's ``uncertainty_out``).
    axis : int
        Axis of the slices the user paints on.
    scribbles : array-like (z, y, x), optional
        Painted voxels (non-zero): they do not count, and their slices are skipped.
    window : int
        Slices averaged into each slice's score, with triangular weights (odd; 1 = the slice alone).
    skip_painted : int
        Slices each side of a painted slice that are skipped too.
    """
    scores = slice_scores(uncertainty, axis, scribbles)
    total = float(scores.sum())
    if total <= 0:
        return None
    half = max(1, int(window)) // 2
    tri = (half + 1 - np.abs(np.arange(-half, half + 1))).astype(np.float64)  # triangular: the slice itself counts most
    smooth = np.convolve(scores, tri / tri.sum(), mode="same")
    if scribbles is not None:
        painted = np.zeros(scores.size, bool)
        other = tuple(a for a in range(3) if a != axis)
        shape = tuple(scribbles.shape)
        for z0 in range(0, shape[0], 16):
            sl = (slice(z0, min(z0 + 16, shape[0])), slice(None), slice(None))
            any_painted = (np.asarray(scribbles[sl]) != 0).any(axis=other)
            if axis == 0:
                painted[sl[0]] |= any_painted
            else:
                painted |= any_painted
        for i in np.flatnonzero(painted):
            smooth[max(0, i - skip_painted) : i + skip_painted + 1] = -1.0
    index = int(np.argmax(smooth))
    if smooth[index] <= 0:
        return None
    return SliceSuggestion(axis=axis, index=index, score=float(smooth[index]), share=float(scores[index] / total))
