"""The cell region's bore as circles a user can move in napari, and back.

A :class:`~napari_licell.segmentation.cell_region.CellRegion` holds the bore
of the PEEK tube as a circle at each end of the stack. Here those circles
become two ellipses of a napari Shapes layer (one in the first plane, one in
the last plane across the stack axis, in the scan's units), and the ellipses
the user moved or resized become a corrected region: the centre is taken
linearly between the first and the last ellipse (so a tilted bore stays a
tilted bore) and the radius is their mean.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import LiCellInputError

__all__ = ["bore_ellipses", "starting_ellipses", "region_from_ellipses", "REGION_EDGE_RGBA"]

#: Edge colour of the circles (the outline colour of the region layer).
REGION_EDGE_RGBA = (1.0, 0.85, 0.2, 1.0)


def _to_array_axes(plane: float, y: float, x: float, axis: int) -> list[float]:
    """(plane, y, x) with the plane along ``axis`` -> a point in the array's axis order."""
    point = [y, x]
    point.insert(axis, plane)
    return point


def bore_ellipses(region: Any) -> list[np.ndarray]:
    """The bore as one ellipse (4 corner points, array axis order, voxels) at each end of the stack.

    Empty when the region has no bore (the reconstruction circle alone, or the whole volume).
    """
    ellipses = []
    for circle in region.circles() if region is not None else []:
        plane, (cy, cx), r, axis = circle["plane"], circle["centre_yx"], circle["radius_vox"], circle["axis"]
        corners = [(cy - r, cx - r), (cy - r, cx + r), (cy + r, cx + r), (cy + r, cx - r)]
        ellipses.append(np.array([_to_array_axes(plane, y, x, axis) for y, x in corners], dtype=float))
    return ellipses


def starting_ellipses(region: Any) -> list[np.ndarray]:
    """The circles a user starts from: the bore's when one was found, else one guess at each end.

    The guess (no bore found, e.g. strong rings hid it) is centred on the reconstruction
    circle (or the slice) with 60 % of its radius, for the user to drag onto the tube's wall.
    """
    found = bore_ellipses(region)
    if found:
        return found
    axis = int(getattr(region, "axis", 0))
    n_planes = int(region.shape[axis])
    ny, nx = (int(n) for i, n in enumerate(region.shape) if i != axis)
    recon = getattr(region, "recon", None)
    if recon is not None:
        (cy, cx), r = recon.centre_start, 0.6 * recon.radius_vox
    else:
        cy, cx, r = (ny - 1) / 2.0, (nx - 1) / 2.0, 0.3 * min(ny, nx)
    corners = [(cy - r, cx - r), (cy - r, cx + r), (cy + r, cx + r), (cy + r, cx - r)]
    return [
        np.array([_to_array_axes(plane, y, x, axis) for y, x in corners], dtype=float) for plane in (0, n_planes - 1)
    ]


def region_from_ellipses(region: Any, ellipses: list[np.ndarray], source: str = "") -> Any:
    """A copy of ``region`` whose bore follows the ``ellipses`` the user placed (data coordinates, voxels).

    Parameters
    ----------
    region : CellRegion
        The region the circles were drawn from (its shape, axis, margin and reconstruction circle stay).
    ellipses : list of (4, 3) arrays
        Corner points of each ellipse in the array's axis order; each lies in one plane across the stack.
    source : str
        Named in the error when the ellipses do not describe a bore.

    Raises
    ------
    LiCellInputError
        No ellipse, or an ellipse not lying in one plane across the stack axis.
    """
    axis = int(getattr(region, "axis", 0))
    n_planes = int(region.shape[axis])
    found = []
    for corners in ellipses:
        corners = np.asarray(corners, dtype=float)
        if corners.shape != (4, 3):
            continue
        planes = corners[:, axis]
        if np.ptp(planes) > 0.5:
            raise LiCellInputError(
                source or None,
                "a region circle is not drawn in one plane across the stack",
                "draw each circle in a slice across the stack axis",
            )
        yx = np.delete(corners, axis, axis=1)
        sides = np.linalg.norm(np.diff(np.vstack([yx, yx[:1]]), axis=0), axis=1)
        found.append((float(planes.mean()), yx.mean(axis=0), float(sides.mean() / 2)))
    if not found:
        raise LiCellInputError(
            source or None,
            "no circle to take the cell region from",
            "keep at least one circle in the region circles layer",
        )
    found.sort(key=lambda f: f[0])
    (p0, c0, _), (p1, c1, _) = found[0], found[-1]
    slope = (c1 - c0) / (p1 - p0) if p1 - p0 >= 1 else np.zeros(2)
    start = c0 - p0 * slope
    end = c0 + (n_planes - 1 - p0) * slope
    radius = float(np.mean([f[2] for f in found]))
    return region.with_bore_circles(tuple(start), tuple(end), radius)
