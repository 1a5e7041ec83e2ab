"""Which axis runs across the layers, and which end holds the current collector.

The collector is a metal slab perpendicular to the stack axis: along the
stack axis some slices are (nearly) all metal, along the other two axes
every slice holds the same small share of metal. The collector end is the
end whose slices hold the metal. When the counter electrode (InLi) is in
the volume too, both ends hold metal and the collector end is the one next
to the lithium and carbon. A cell with no metal in view falls back to the
axis along which the class make-up changes most, collector assumed at the
start. Either choice can be overridden.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numba
import numpy as np

from ..classes import CARBON, LI, METAL

__all__ = ["StackOrientation", "find_stack_axis", "slice_class_counts"]

#: Voxels read for the detection (a strided subsample of bigger volumes).
_DETECTION_VOXELS = 8_000_000
#: A slice counts as part of a metal slab when at least this share of its labelled voxels is metal.
_METAL_SLAB_SHARE = 0.5
_N_CODES = 8  # class codes 0..6 and one bin for codes outside the table


@dataclass(frozen=True)
class StackOrientation:
    """Where the layer stack runs.

    Attributes
    ----------
    axis : int
        Axis of the input volume that runs across the layers.
    collector_at_start : bool
        True when the collector is at index 0 of ``axis``.
    detected : bool
        True when found from the labels; False when given by the caller.
    reason : str
        How it was decided, in words.
    metal_contrast : float
        Metal share of the fullest slice across ``axis`` minus that of the emptiest
        (0..1); 0 when the axis was given. At least 0.5 means a metal slab was seen.
    """

    axis: int
    collector_at_start: bool
    detected: bool
    reason: str
    metal_contrast: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def slice_class_counts(labels: np.ndarray, axis: int) -> np.ndarray:
    """Voxel count of every class code in every slice perpendicular to ``axis``.

    Parameters
    ----------
    labels : ndarray of int
        3D class codes (codes above 6 are counted together in the last column).
    axis : int
        Slicing axis.

    Returns
    -------
    ndarray of int64, shape (n_slices, 8)
    """
    codes = np.minimum(np.asarray(labels), _N_CODES - 1).astype(np.intp, copy=False)
    moved = np.moveaxis(codes, axis, 0).reshape(codes.shape[axis], -1)
    offsets = (np.arange(moved.shape[0], dtype=np.intp) * _N_CODES)[:, None]
    flat = np.bincount((moved + offsets).ravel(), minlength=moved.shape[0] * _N_CODES)
    return flat.reshape(moved.shape[0], _N_CODES)


@numba.njit(cache=True, nogil=True)
def _axis_class_counts(labels, n_codes):  # pragma: no cover - compiled
    """:func:`slice_class_counts` along all three axes in one pass (unsigned codes, above the table clipped)."""
    nz, ny, nx = labels.shape
    c0 = np.zeros((nz, n_codes), dtype=np.int64)
    c1 = np.zeros((ny, n_codes), dtype=np.int64)
    c2 = np.zeros((nx, n_codes), dtype=np.int64)
    top = n_codes - 1
    for z in range(nz):
        for y in range(ny):
            for x in range(nx):
                c = min(np.int64(labels[z, y, x]), top)
                c0[z, c] += 1
                c1[y, c] += 1
                c2[x, c] += 1
    return c0, c1, c2


def _all_axis_counts(sample: np.ndarray) -> list[np.ndarray]:
    """Per-slice class counts along axes 0, 1 and 2 (one compiled pass for unsigned integer codes)."""
    if sample.dtype.kind == "u" and sample.ndim == 3:
        return list(_axis_class_counts(sample, _N_CODES))
    return [slice_class_counts(sample, ax) for ax in range(3)]


def _subsample(labels: Any) -> np.ndarray:
    shape = tuple(int(s) for s in labels.shape)
    n = float(np.prod(shape))
    step = max(1, int(np.ceil((n / _DETECTION_VOXELS) ** (1.0 / 3.0))))
    return np.asarray(labels[::step, ::step, ::step])


def _shares(counts: np.ndarray) -> np.ndarray:
    material = counts[:, 1:].sum(axis=1, keepdims=True).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(material > 0, counts / np.maximum(material, 1), 0.0)


def _end_slices(n: int) -> int:
    return max(1, int(round(0.1 * n)))


def find_stack_axis(
    labels: Any, *, stack_axis: int | None = None, collector_at_start: bool | None = None
) -> StackOrientation:
    """Find the stack axis and the collector end of a label volume.

    Parameters
    ----------
    labels : array-like
        3D class codes (numpy, memmap, dask or zarr); a strided subsample of at
        most ~8 M voxels is read.
    stack_axis : int, optional
        Use this axis instead of detecting it.
    collector_at_start : bool, optional
        Use this end instead of detecting it.

    Returns
    -------
    StackOrientation

    Examples
    --------
    >>> import numpy as np
    >>> lab = np.full((20, 8, 8), 4, np.uint8); lab[-3:] = 6
    >>> o = find_stack_axis(lab); (o.axis, o.collector_at_start)
    (0, False)
    """
    if len(labels.shape) != 3:
        raise ValueError(f"need a 3D label volume, got shape {tuple(labels.shape)}")
    if stack_axis is not None and stack_axis not in (0, 1, 2):
        raise ValueError(f"stack axis must be 0, 1 or 2, not {stack_axis!r}")
    if stack_axis is not None and collector_at_start is not None:
        return StackOrientation(int(stack_axis), bool(collector_at_start), False, "given")

    sample = _subsample(labels)
    shares = [_shares(c) for c in _all_axis_counts(sample)]
    metal_range = [float(s[:, METAL.code].max() - s[:, METAL.code].min()) if len(s) else 0.0 for s in shares]

    reasons: list[str] = []
    if stack_axis is None:
        if max(metal_range) >= _METAL_SLAB_SHARE:
            axis = int(np.argmax(metal_range))
            reasons.append(f"axis {axis}: slices across it go from {metal_range[axis]:.0%} metal to none (metal slab)")
        else:
            spread = [float(np.var(s[:, 1:7], axis=0).sum()) if len(s) > 1 else 0.0 for s in shares]
            axis = int(np.argmax(spread))
            reasons.append(f"axis {axis}: no metal slab in view; class make-up changes most along it")
    else:
        axis = int(stack_axis)
        reasons.append(f"axis {axis} given")

    if collector_at_start is None:
        s = shares[axis]
        k = _end_slices(len(s))
        metal_start = float(s[:k, METAL.code].max())
        metal_end = float(s[-k:, METAL.code].max())
        slab_start, slab_end = metal_start >= _METAL_SLAB_SHARE, metal_end >= _METAL_SLAB_SHARE
        if slab_start != slab_end:
            at_start = slab_start
            reasons.append(f"collector (metal slab) at the {'start' if at_start else 'end'}")
        elif slab_start and slab_end:
            quarter = max(1, len(s) // 4)
            anode = s[:, LI.code] + s[:, CARBON.code]
            at_start = float(anode[:quarter].sum()) >= float(anode[-quarter:].sum())
            reasons.append(
                f"metal at both ends; collector taken at the {'start' if at_start else 'end'}, "
                "the end next to more lithium and carbon"
            )
        elif metal_start != metal_end:
            at_start = metal_start > metal_end
            reasons.append(
                f"no full metal slab; collector taken at the end with more metal ({'start' if at_start else 'end'})"
            )
        else:
            at_start = True
            reasons.append("no metal at either end; collector assumed at the start")
    else:
        at_start = bool(collector_at_start)
        reasons.append(f"collector end given ({'start' if at_start else 'end'})")
    return StackOrientation(
        axis, at_start, stack_axis is None or collector_at_start is None, "; ".join(reasons), metal_range[axis]
    )
