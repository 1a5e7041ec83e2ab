"""Shape interpolation of a painted class between z-slices (signed-distance blending).

A user paints a Li mass on slice 40 and again on slice 52; the slices
between are filled by blending the signed distance maps of the two outlines
linearly along z and keeping the voxels where the blend is inside (<= 0).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

__all__ = ["signed_distance", "painted_slices", "interpolate_between_slices"]


def signed_distance(mask: np.ndarray, sampling: tuple[float, float] | None = None) -> np.ndarray:
    """Signed Euclidean distance of a 2-D mask: negative inside, positive outside.

    Parameters
    ----------
    mask : ndarray of bool (y, x)
    sampling : (float, float), optional
        Pixel spacing (any length unit; the distances come out in it).

    Returns
    -------
    ndarray of float64
        ``edt(outside) - edt(inside)``: <= -1 pixel inside, >= 1 outside.
    """
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        return np.full(mask.shape, np.inf)
    if mask.all():
        return np.full(mask.shape, -np.inf)
    return ndi.distance_transform_edt(~mask, sampling=sampling) - ndi.distance_transform_edt(mask, sampling=sampling)


def painted_slices(labels: np.ndarray, code: int) -> np.ndarray:
    """Indices of the z-slices holding at least one voxel of ``code``."""
    labels = np.asarray(labels)
    return np.flatnonzero((labels == code).reshape(labels.shape[0], -1).any(axis=1))


def interpolate_between_slices(
    labels: np.ndarray,
    code: int,
    z_range: tuple[int, int] | None = None,
    overwrite: tuple[int, ...] = (0,),
    sampling: tuple[float, float] | None = None,
) -> np.ndarray:
    """Voxels to set to ``code`` so the class fills the slices between its painted slices.

    Consecutive painted slices ``za < zb`` with empty slices between are
    bridged: slice ``z`` gets ``(1 - t) * d_a + t * d_b <= 0`` with
    ``t = (z - za) / (zb - za)`` and ``d`` the signed distances of the two
    outlines.

    Parameters
    ----------
    labels : ndarray (z, y, x) of int
        Label volume (read only).
    code : int
        Class to interpolate.
    z_range : (int, int), optional
        Only slices ``z_range[0] <= z < z_range[1]`` are painted slices or filled.
    overwrite : tuple of int
        Codes the fill may replace (default: only unpainted voxels, 0).
    sampling : (float, float), optional
        In-plane pixel spacing for the distance maps.

    Returns
    -------
    ndarray of bool (z, y, x)
        Where to write ``code``; empty when fewer than two slices are painted.
    """
    labels = np.asarray(labels)
    if labels.ndim != 3:
        raise ValueError(f"interpolation needs a 3-D (z, y, x) label volume, got shape {labels.shape}")
    fill = np.zeros(labels.shape, dtype=bool)
    zs = painted_slices(labels, code)
    if z_range is not None:
        zs = zs[(zs >= z_range[0]) & (zs < z_range[1])]
    allowed_values = np.asarray(overwrite, dtype=labels.dtype)
    for za, zb in zip(zs[:-1], zs[1:]):
        if zb - za < 2:
            continue
        da = signed_distance(labels[za] == code, sampling)
        db = signed_distance(labels[zb] == code, sampling)
        for z in range(za + 1, zb):
            t = (z - za) / (zb - za)
            with np.errstate(invalid="ignore"):
                inside = (1.0 - t) * da + t * db <= 0
            fill[z] = inside & np.isin(labels[z], allowed_values)
    return fill
