"""Lithium share inside "SE + Li" voxels by two-phase (partial-volume) unmixing of grey values.

A voxel holding a Li volume share ``f`` and SE share ``1 - f`` has the grey
value ``g = f * g_Li + (1 - f) * g_SE`` (grey values are linear in
attenuation), so ``f = (g_SE - g) / (g_SE - g_Li)``, clipped to [0, 1]. The
pure-phase references are the robust medians of the voxels labelled Li and
SE in the same image (or given by the caller).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit

from ..classes import LI, SE, SE_LI
from .grey_levels import ClassGreyHistogram

__all__ = ["unmix_li_share", "reference_grey_values", "SeLiUnmixingScan", "SeLiUnmixing", "N_SHARE_BINS"]

#: Bins of the Li-share histogram over [0, 1].
N_SHARE_BINS = 50

_SE_LI = SE_LI.code


def unmix_li_share(grey: np.ndarray, li_grey: float, se_grey: float) -> np.ndarray:
    """Li volume share of voxels that are a mixture of Li and SE.

    Parameters
    ----------
    grey : ndarray
        Grey values of the mixed voxels.
    li_grey, se_grey : float
        Grey values of pure Li and pure SE.

    Returns
    -------
    ndarray of float32
        Li share in [0, 1].

    Examples
    --------
    >>> unmix_li_share(np.array([1000.0, 4000.0, 7000.0]), 1000.0, 7000.0).tolist()
    [1.0, 0.5, 0.0]
    """
    if se_grey == li_grey:
        raise ValueError("Li and SE reference grey values are equal: nothing to unmix")
    share = (float(se_grey) - np.asarray(grey, dtype=np.float64)) / (float(se_grey) - float(li_grey))
    return np.clip(share, 0.0, 1.0).astype(np.float32)


def reference_grey_values(hist: ClassGreyHistogram) -> tuple[float | None, float | None]:
    """Pure-phase grey values: medians of the voxels labelled Li and SE (None when a class is empty)."""
    return hist.median(LI.code), hist.median(SE.code)


@njit(cache=True, nogil=True)
def _unmix_slab(labels, image, li_grey, se_grey, share_hist, sums):  # pragma: no cover - compiled
    nz, ny, nx = labels.shape
    span = se_grey - li_grey
    nb = share_hist.shape[0]
    for k in range(nz):
        for j in range(ny):
            for i in range(nx):
                if labels[k, j, i] != _SE_LI:
                    continue
                s = (se_grey - float(image[k, j, i])) / span
                if s < 0.0:
                    s = 0.0
                elif s > 1.0:
                    s = 1.0
                sums[0] += 1.0
                sums[1] += s
                sums[2] += s * s
                b = int(s * nb)
                if b >= nb:
                    b = nb - 1
                share_hist[b] += 1


class SeLiUnmixingScan:
    """Li share of the SE + Li voxels, accumulated slab by slab.

    Parameters
    ----------
    li_grey, se_grey : float
        Pure Li and pure SE grey values.
    """

    def __init__(self, li_grey: float, se_grey: float) -> None:
        if se_grey == li_grey:
            raise ValueError("Li and SE reference grey values are equal: nothing to unmix")
        self.li_grey = float(li_grey)
        self.se_grey = float(se_grey)
        self.share_hist = np.zeros(N_SHARE_BINS, dtype=np.int64)
        self.sums = np.zeros(3, dtype=np.float64)

    def update(self, labels: np.ndarray, image: np.ndarray) -> None:
        """Add a slab of labels and the matching image slab."""
        _unmix_slab(labels, image, self.li_grey, self.se_grey, self.share_hist, self.sums)

    def result(self, voxel_volume_um3: float, reference_source: str) -> "SeLiUnmixing":
        n, s1, s2 = self.sums
        mean = s1 / n if n else float("nan")
        std = float(np.sqrt(max(s2 / n - mean * mean, 0.0))) if n else float("nan")
        return SeLiUnmixing(
            n_voxels=int(n),
            mean_li_share=float(mean),
            std_li_share=std,
            li_volume_um3=float(s1) * voxel_volume_um3,
            li_grey=self.li_grey,
            se_grey=self.se_grey,
            reference_source=reference_source,
            share_bin_edges=np.linspace(0.0, 1.0, N_SHARE_BINS + 1),
            share_counts=self.share_hist.copy(),
        )


@dataclass
class SeLiUnmixing:
    """Li inside the SE + Li voxels.

    Attributes
    ----------
    n_voxels : int
        SE + Li voxels.
    mean_li_share, std_li_share : float
        Mean and standard deviation of their Li volume share.
    li_volume_um3 : float
        Li volume they hold (sum of shares times the voxel volume), um3.
    li_grey, se_grey : float
        Reference grey values used.
    reference_source : str
        "labelled-medians" or "given".
    share_bin_edges, share_counts : ndarray
        Histogram of the Li share.
    """

    n_voxels: int
    mean_li_share: float
    std_li_share: float
    li_volume_um3: float
    li_grey: float
    se_grey: float
    reference_source: str
    share_bin_edges: np.ndarray
    share_counts: np.ndarray

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_voxels": self.n_voxels,
            "mean_li_share": self.mean_li_share,
            "std_li_share": self.std_li_share,
            "li_volume_um3": self.li_volume_um3,
            "li_reference_grey": self.li_grey,
            "se_reference_grey": self.se_grey,
            "reference_source": self.reference_source,
            "share_histogram": {"bin_edges": self.share_bin_edges.tolist(), "counts": self.share_counts.tolist()},
        }
