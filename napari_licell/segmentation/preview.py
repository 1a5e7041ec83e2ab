"""Classes of the one section a user is looking at, for a live threshold preview. Qt-free.

Plain thresholds for a section across the stack axis; a section along the
stack axis (the paper's cross-section) is refined like the whole volume would
be: the partial-volume rules on a three-section slab around it, then the
carbon band by position.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .carbon_band import find_stack_axis, label_carbon_band
from .classify import classify_block, classify_slice, with_levels
from .histogram import Histogram
from .thresholds import ThresholdSet

__all__ = ["preview_section", "REFINED_PREVIEW_PIXELS"]

#: Largest section (pixels) that the preview refines with partial volume and the carbon band.
REFINED_PREVIEW_PIXELS = 1_500_000


def preview_section(
    data: Any, index: tuple, thresholds: ThresholdSet, histogram: Histogram | None = None, refine: bool = True
) -> np.ndarray:
    """Class codes of one section of a scan, shaped like ``data[index]`` with length 1 on the sliced axes.

    Parameters
    ----------
    data : array-like (2D or 3D)
        The scan (read lazily: only the section, or a three-section slab, is read).
    index : tuple
        Integers on the sliced axes, ``slice(None)`` on the shown ones.
    thresholds : ThresholdSet
    histogram : Histogram, optional
        The scan's histogram (fills in the phase levels the refinement needs).
    refine : bool
        Refine a section along the stack axis (partial volume, carbon band).
    """
    plane = np.asarray(data[index])
    codes = classify_slice(plane, thresholds)
    sliced = [ax for ax, s in enumerate(index) if not isinstance(s, slice)]
    out = codes.reshape([1 if ax in sliced else n for ax, n in enumerate(data.shape)])
    if not (
        refine and histogram is not None and out.ndim == 3 and len(sliced) == 1 and plane.size <= REFINED_PREVIEW_PIXELS
    ):
        return out
    stack = find_stack_axis(out)
    axis = sliced[0]
    if stack is None or stack.axis == axis:  # a section across the stack axis: plain thresholds
        return out
    i = int(index[axis])
    lo, hi = max(i - 1, 0), min(i + 2, data.shape[axis])
    slab_index = list(index)
    slab_index[axis] = slice(lo, hi)
    slab = np.asarray(data[tuple(slab_index)])
    refined = classify_block(slab, with_levels(thresholds, histogram))
    take = [slice(None)] * 3
    take[axis] = slice(i - lo, i - lo + 1)
    section = np.ascontiguousarray(refined[tuple(take)])
    label_carbon_band(section)
    return section
