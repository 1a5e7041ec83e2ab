"""Simulated brush strokes: what a user would paint on a synthetic cell, drawn from its ground truth.

Used to train and check the pixel classifier without a person at the mouse.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

__all__ = ["simulated_strokes"]


def simulated_strokes(truth: np.ndarray, seed: int = 0, slices: int = 4, discs: int = 3, radius: int = 2) -> np.ndarray:
    """Short brush dabs on a few slices per class, each inside that class of the truth.

    Parameters
    ----------
    truth : ndarray (z, y, x) of class codes
        Ground-truth labels.
    seed : int
        Random seed.
    slices : int
        z-slices painted per class.
    discs : int
        Dabs per painted slice.
    radius : int
        Dab radius in pixels.

    Returns
    -------
    ndarray
        Scribbles like ``truth``: 0 = unpainted, class codes where painted.
    """
    rng = np.random.default_rng(seed)
    scribbles = np.zeros_like(truth)
    yy, xx = np.mgrid[-radius : radius + 1, -radius : radius + 1]
    disc = yy**2 + xx**2 <= radius**2
    for code in np.unique(truth):
        core = ndimage.binary_erosion(truth == code, iterations=radius)
        zs = np.flatnonzero(core.reshape(core.shape[0], -1).any(axis=1))
        for z in rng.choice(zs, size=min(slices, zs.size), replace=False):
            ys, xs = np.nonzero(core[z])
            for i in rng.choice(ys.size, size=min(discs, ys.size), replace=False):
                y, x = ys[i], xs[i]  # inside the eroded core, so the disc fits in the image
                win = (z, slice(y - radius, y + radius + 1), slice(x - radius, x + radius + 1))
                scribbles[win][disc & (truth[win] == code)] = code
    return scribbles
