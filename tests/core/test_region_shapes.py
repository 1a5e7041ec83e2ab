"""The bore's circles as shapes a user moves, and back; the corrected region's autosave."""

from __future__ import annotations

import numpy as np
import pytest

from napari_licell._napari.region_shapes import bore_ellipses, region_from_ellipses
from napari_licell.autosave.region import discard_region_autosave, find_region_autosave, write_region_autosave
from napari_licell.errors import LiCellInputError
from napari_licell.segmentation.cell_region import CellRegion, Circle


def _region(axis: int = 0) -> CellRegion:
    return CellRegion(
        shape=(60, 80, 90) if axis == 0 else (80, 60, 90),
        axis=axis,
        margin_vox=2.0,
        bore=Circle((40.0, 44.0), (36.0, 50.0), 30.0),
    )


@pytest.mark.parametrize("axis", [0, 1])
def test_the_circles_drawn_from_a_region_give_the_same_region_back(axis):
    region = _region(axis)
    ellipses = bore_ellipses(region)
    assert len(ellipses) == 2 and all(e.shape == (4, 3) for e in ellipses)
    assert {e[0, axis] for e in ellipses} == {0.0, 59.0}  # one circle at each end of the stack
    back = region_from_ellipses(region, ellipses)
    assert back.bore.centre_start == pytest.approx(region.bore.centre_start)
    assert back.bore.centre_end == pytest.approx(region.bore.centre_end)
    assert back.bore.radius_vox == pytest.approx(region.bore.radius_vox)
    assert np.array_equal(np.asarray(back[10:20]), np.asarray(region[10:20]))


def test_moved_and_resized_circles_move_the_bore_and_a_circle_between_the_ends_is_extrapolated():
    region = _region()
    first, last = bore_ellipses(region)
    first = first + np.array([0.0, 5.0, -3.0])  # moved by (5, -3) voxels in (y, x)
    last = last.copy()
    last[:, 0] = 29.0  # drawn half-way instead of at the last plane
    centre = last[:, 1:].mean(axis=0)
    last[:, 1:] = centre + 0.5 * (last[:, 1:] - centre)  # and half as big
    moved = region_from_ellipses(region, [last, first])  # in any order
    assert moved.bore.centre_start == pytest.approx((45.0, 41.0))
    slope = (centre - np.array([45.0, 41.0])) / 29.0
    assert moved.bore.centre_end == pytest.approx(tuple(np.array([45.0, 41.0]) + 59 * slope))
    assert moved.bore.radius_vox - moved.margin_vox == pytest.approx(0.75 * 28.0)
    assert moved.source == "given"


def test_circles_that_do_not_describe_a_bore_get_one_line():
    region = _region()
    tilted = bore_ellipses(region)[0].copy()
    tilted[2, 0] = 10.0  # one corner in another plane
    with pytest.raises(LiCellInputError, match="not drawn in one plane"):
        region_from_ellipses(region, [tilted])
    with pytest.raises(LiCellInputError, match="no circle"):
        region_from_ellipses(region, [])


def test_a_corrected_region_is_autosaved_beside_the_scan_and_forgotten_on_request(tmp_path):
    scan = tmp_path / "cell.tif"
    scan.write_bytes(b"")
    assert find_region_autosave(scan) is None
    region = region_from_ellipses(_region(), bore_ellipses(_region()))
    path = write_region_autosave(region, scan)
    assert path.parent == tmp_path / ".licell-autosave" and find_region_autosave(scan) == path
    assert CellRegion.load(path).bore == region.bore  # the file analyze --roi reads
    discard_region_autosave(scan)
    assert find_region_autosave(scan) is None
