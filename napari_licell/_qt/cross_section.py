"""Show a volume as the paper does: a cross-section with the stack axis vertical, collector at the bottom.

A cross-section along the stack axis of a scan stored in whole planes (a TIFF
stack, or zarr in single-plane chunks) has to read every plane. For big
scans that would mean reading most of the file for one picture, so the view
then stays on the planes across the stack axis (one plane read per slice)
and the caller is told why.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["show_stack_cross_section", "cross_section_read_bytes", "CROSS_SECTION_READ_LIMIT"]

#: Largest amount of stored data (bytes) one cross-section may read before the side view is declined.
CROSS_SECTION_READ_LIMIT = 512 * 2**20


def _chunk_extent(data: Any, axis: int) -> int | None:
    """Largest chunk length along ``axis`` of a chunked array (dask or zarr); None for in-memory arrays."""
    chunks = getattr(data, "chunks", None)
    if chunks is None or isinstance(data, np.ndarray):
        return None
    along = chunks[axis]
    return int(max(along)) if isinstance(along, tuple) else int(along)


def cross_section_read_bytes(data: Any, slider_axis: int) -> int:
    """Bytes of stored chunks a single section at one index of ``slider_axis`` reads (0 when in memory).

    Parameters
    ----------
    data : array-like or list of array-likes
        Layer data (a multiscale list is judged by its coarsest level, which a
        zoomed-out view reads).
    slider_axis : int
        The axis the slider runs over in the side view.
    """
    if isinstance(data, (list, tuple)):
        data = data[-1]
    extent = _chunk_extent(data, slider_axis)
    if extent is None:
        return 0
    shape = [int(s) for s in data.shape]
    shape[slider_axis] = min(extent, shape[slider_axis])
    return int(np.prod(shape, dtype=np.int64)) * np.dtype(data.dtype).itemsize


def show_stack_cross_section(viewer, stack_axis: int = 0) -> str | None:
    """Display the (stack axis, x) plane of 3D layers, stack axis pointing up.

    Parameters
    ----------
    viewer : napari.Viewer
    stack_axis : int
        Array axis along which the cell's layers are stacked (0 for z).

    Returns
    -------
    str or None
        None when the side view is shown; else one line saying why the
        planes across the stack axis are shown instead.
    """
    if viewer.dims.ndim < 3:
        return None
    others = [a for a in range(viewer.dims.ndim) if a != stack_axis]
    for layer in viewer.layers:
        if not layer.visible or layer.ndim != viewer.dims.ndim:
            continue
        cost = cross_section_read_bytes(layer.data, others[0])
        if cost > CROSS_SECTION_READ_LIMIT:
            return (
                f"{layer.name}: a side view would read {cost / 2**30:.1f} GB per section from its file "
                "(stored in whole planes), so the planes across the stack axis are shown"
            )
    # the slider runs over the first remaining axis; shown: stack axis (rows) and the last axis
    viewer.dims.order = tuple(others[:-1]) + (stack_axis, others[-1])
    try:
        viewer.camera.orientation2d = ("up", "right")
    except (AttributeError, ValueError):  # older napari without orientation
        pass
    viewer.reset_view()
    return None
