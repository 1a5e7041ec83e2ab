"""Grey values per class: a joint (class, grey value) histogram built slab by slab, and robust statistics.

Medians and percentiles are read from the histogram, so they are exact for
8- and 16-bit images and need no second copy of the volume. Other image
types (float, 32-bit) are binned into 65536 levels between a given minimum
and maximum.

The same histogram gives the labelled Li/void contrast: the contrast-to-noise
ratio between the voxels labelled Li and those labelled gas-filled void.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import get_num_threads, njit, prange

from ..classes import CLASS_TABLE, LI, VOID

__all__ = ["GreyBinning", "ClassGreyHistogram", "LabelledContrast", "labelled_li_void_contrast", "MIN_SEPARABLE_CNR"]

#: CNR between labelled Li and void below which the two are taken as not separable (Rose criterion).
MIN_SEPARABLE_CNR = 3.0

_N_LEVELS = 65536


@dataclass(frozen=True)
class GreyBinning:
    """Map grey values to histogram bins: ``bin = (value - offset) * scale``.

    Attributes
    ----------
    offset : float
        Grey value of bin 0.
    scale : float
        Bins per grey-value unit.
    n_bins : int
        Number of bins.
    exact : bool
        True when every bin is one integer grey value (8/16-bit images).
    """

    offset: float
    scale: float
    n_bins: int
    exact: bool

    @classmethod
    def for_dtype(cls, dtype: np.dtype, vmin: float | None = None, vmax: float | None = None) -> "GreyBinning":
        """Binning for an image dtype; non-8/16-bit images need their value range."""
        dtype = np.dtype(dtype)
        if dtype.kind in "ui" and dtype.itemsize <= 2:
            info = np.iinfo(dtype)
            return cls(float(info.min), 1.0, int(info.max) - int(info.min) + 1, True)
        if vmin is None or vmax is None:
            raise ValueError(f"a {dtype} image needs its value range for the grey histogram")
        span = float(vmax) - float(vmin)
        scale = (_N_LEVELS - 1) / span if span > 0 else 1.0
        return cls(float(vmin), scale, _N_LEVELS, False)

    def to_bins(self, image: np.ndarray) -> np.ndarray:
        """Bin indices of ``image`` (an integer array)."""
        if self.exact:
            if self.offset == 0:
                return image
            return (image.astype(np.int32) - int(self.offset)).astype(np.int32)
        idx = (np.asarray(image, dtype=np.float64) - self.offset) * self.scale
        return np.clip(np.nan_to_num(idx, nan=0.0), 0, self.n_bins - 1).astype(np.int32)

    def to_grey(self, bins: np.ndarray | float) -> np.ndarray | float:
        """Grey value at bin index (centre for non-exact binning)."""
        return np.asarray(bins, dtype=np.float64) / self.scale + self.offset


@njit(cache=True, nogil=True, parallel=True)
def _joint_hist(labels, bins, hist, n_threads):  # pragma: no cover - compiled
    # each thread counts a share of the planes into its own table; the tables are added at the end
    nz, ny, nx = labels.shape
    last = hist.shape[0] - 1
    nt = max(1, min(n_threads, nz))
    part = np.zeros((nt, hist.shape[0], hist.shape[1]), dtype=np.int64)
    for t in prange(nt):
        h = part[t]
        for k in range(t * nz // nt, (t + 1) * nz // nt):
            for j in range(ny):
                for i in range(nx):
                    c = labels[k, j, i]
                    if c > last:
                        c = last
                    h[c, bins[k, j, i]] += 1
    for t in range(nt):
        hist += part[t]


class ClassGreyHistogram:
    """Grey-value histogram of every class, fed slab by slab.

    Parameters
    ----------
    binning : GreyBinning
        How grey values map to bins.
    """

    def __init__(self, binning: GreyBinning) -> None:
        self.binning = binning
        self.hist = np.zeros((len(CLASS_TABLE) + 1, binning.n_bins), dtype=np.int64)

    def update(self, labels: np.ndarray, image: np.ndarray) -> None:
        """Add a slab of labels and the matching slab of the image."""
        _joint_hist(labels, self.binning.to_bins(image), self.hist, get_num_threads())

    def count(self, code: int) -> int:
        return int(self.hist[code].sum())

    def percentile(self, code: int, q: float) -> float | None:
        """``q``-th percentile (0..100) of the grey values of class ``code``; None when empty."""
        h = self.hist[code]
        total = int(h.sum())
        if total == 0:
            return None
        cum = np.cumsum(h)
        idx = int(np.searchsorted(cum, q / 100.0 * total, side="left"))
        return float(self.binning.to_grey(min(idx, h.size - 1)))

    def median(self, code: int) -> float | None:
        return self.percentile(code, 50.0)

    def robust_sigma(self, code: int) -> float | None:
        """Interquartile range / 1.349 (the standard deviation for Gaussian grey values)."""
        q1, q3 = self.percentile(code, 25.0), self.percentile(code, 75.0)
        if q1 is None or q3 is None:
            return None
        return (q3 - q1) / 1.349

    def dark_side_sigma(self, code: int) -> float | None:
        """Median minus the 15.87th percentile: the noise of a class whose bright tail holds partial volume.

        Li masses and gas pores sit in much brighter SE; blurring spreads their
        edge voxels towards brighter values only, so the dark half of the
        histogram shows the noise alone.
        """
        med, lo = self.median(code), self.percentile(code, 15.87)
        if med is None or lo is None:
            return None
        return med - lo

    def summary(self) -> dict[str, dict[str, float | int | None]]:
        """Median, robust sigma and voxel count per class key."""
        out = {}
        for c in CLASS_TABLE:
            out[c.key] = {
                "median": self.median(c.code),
                "sigma": self.robust_sigma(c.code),
                "n_voxels": self.count(c.code),
            }
        return out


@dataclass(frozen=True)
class LabelledContrast:
    """Contrast between the voxels labelled Li and those labelled gas-filled void.

    Attributes
    ----------
    li_void_cnr : float or None
        ``|median(void) - median(Li)| / sqrt((sigma_Li^2 + sigma_void^2) / 2)`` with the
        sigmas from the dark side of each class (see :meth:`ClassGreyHistogram.dark_side_sigma`);
        None when a class is empty.
    separable : bool or None
        CNR at least :data:`MIN_SEPARABLE_CNR`; None when unknown.
    reason : str
        The numbers in words.
    source : str
        Where the verdict came from ("labelled-grey-values" here).
    """

    li_void_cnr: float | None
    separable: bool | None
    reason: str
    source: str = "labelled-grey-values"

    def as_dict(self) -> dict[str, Any]:
        return {
            "li_void_cnr": self.li_void_cnr,
            "separable": self.separable,
            "reason": self.reason,
            "source": self.source,
        }


def labelled_li_void_contrast(hist: ClassGreyHistogram, min_cnr: float = MIN_SEPARABLE_CNR) -> LabelledContrast:
    """Li/void contrast-to-noise ratio from the labelled grey values.

    Parameters
    ----------
    hist : ClassGreyHistogram
        Grey histogram per class.
    min_cnr : float
        CNR from which Li and void count as separable.
    """
    li_med, void_med = hist.median(LI.code), hist.median(VOID.code)
    if li_med is None or void_med is None:
        missing = "Li" if li_med is None else "void"
        return LabelledContrast(None, None, f"no voxels labelled {missing}: Li/void contrast unknown")
    s_li = hist.dark_side_sigma(LI.code) or 0.0
    s_void = hist.dark_side_sigma(VOID.code) or 0.0
    noise = float(np.sqrt((s_li**2 + s_void**2) / 2.0))
    noise = max(noise, 0.5 / hist.binning.scale)
    cnr = abs(void_med - li_med) / noise
    separable = cnr >= min_cnr
    reason = (
        f"labelled Li median {li_med:.4g}, void median {void_med:.4g}, noise {noise:.3g}: "
        f"CNR {cnr:.2f} {'>=' if separable else '<'} {min_cnr:g}"
    )
    return LabelledContrast(float(cnr), bool(separable), reason)
