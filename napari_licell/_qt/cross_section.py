"""Show a volume as the paper does: a cross-section with the stack axis vertical, collector at the bottom."""

from __future__ import annotations

__all__ = ["show_stack_cross_section"]


def show_stack_cross_section(viewer, stack_axis: int = 0) -> None:
    """Display the (stack axis, x) plane of 3D layers, stack axis pointing up.

    Parameters
    ----------
    viewer : napari.Viewer
    stack_axis : int
        Array axis along which the cell's layers are stacked (0 for z).
    """
    if viewer.dims.ndim < 3:
        return
    others = [a for a in range(viewer.dims.ndim) if a != stack_axis]
    # the slider runs over the first remaining axis; shown: stack axis (rows) and the last axis
    viewer.dims.order = tuple(others[:-1]) + (stack_axis, others[-1])
    try:
        viewer.camera.orientation2d = ("up", "right")
    except (AttributeError, ValueError):  # older napari without orientation
        pass
    viewer.reset_view()
