"""Issue 20: the compiled replacements inside the measurement give the numpy / scipy results bit for bit.

* the SE-bottom envelope's Gaussian smoothing (:func:`interfaces._gaussian_nearest`)
  against ``scipy.ndimage.gaussian_filter(..., mode="nearest")``;
* the stack-axis detection's class counts along all three axes in one pass
  against :func:`stack_axis.slice_class_counts` per axis.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from napari_licell.measure.interfaces import _gaussian_nearest
from napari_licell.measure.stack_axis import _all_axis_counts, slice_class_counts


@pytest.mark.parametrize(
    ("shape", "sigma"),
    [((256, 300), (20.0, 20.0)), ((128, 96), (18.5, 18.5)), ((7, 300), (3.3, 40.0)), ((300, 5), (1.0, 0.7)),
     ((40, 50), (0.0, 2.5))],
)  # fmt: skip
def test_gaussian_equals_ndimage_bit_for_bit(shape, sigma):
    rng = np.random.default_rng(7)
    a = rng.normal(size=shape) * (rng.random(shape) > 0.3)
    np.testing.assert_array_equal(_gaussian_nearest(a, sigma), ndimage.gaussian_filter(a, sigma, mode="nearest"))
    mask = rng.random(shape) > 0.5  # the weights map is smoothed from a boolean mask
    np.testing.assert_array_equal(
        _gaussian_nearest(mask, sigma), ndimage.gaussian_filter(mask.astype(np.float64), sigma, mode="nearest")
    )


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int32])
def test_all_axis_counts_equal_slice_class_counts(dtype):
    rng = np.random.default_rng(3)
    lab = rng.integers(0, 11, size=(9, 13, 17)).astype(dtype)  # codes above 6 go to the last column
    for view in (lab, lab[::2, ::3, ::2]):
        got = _all_axis_counts(np.asarray(view))
        for ax in range(3):
            np.testing.assert_array_equal(got[ax], slice_class_counts(view, ax))
