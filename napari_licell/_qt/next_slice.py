"""The Paint dock's *Next best slice*: where one more stroke helps the classifier most.

After Train & predict the uncertainty layer says, voxel by voxel, how unsure
the classifier is (1 - its largest class probability). The button sums it,
slice by slice across the axis the user paints on (the one not on screen),
leaving out what is already painted, and moves the viewer to the slice with
the most uncertainty left (:func:`napari_licell.classifier.uncertainty.next_best_slice`).
The sums run in the dock's worker, so a big scan does not hold the GUI.
"""

from __future__ import annotations

from typing import Any

from ..classifier.uncertainty import next_best_slice
from ..errors import LiCellInputError

__all__ = ["go_to_next_best_slice", "painting_axis"]


def painting_axis(viewer: Any, layer: Any) -> int:
    """The layer's axis across the slices on screen (the first one not displayed), for a 3D layer."""
    offset = viewer.dims.ndim - layer.ndim
    hidden = [d - offset for d in viewer.dims.not_displayed if d - offset >= 0]
    if viewer.dims.ndisplay != 2 or not hidden:
        raise LiCellInputError(None, "no slice on screen", "switch the viewer to 2D to paint slice by slice")
    return int(hidden[-1])


def go_to_next_best_slice(dock: Any):
    """Find the slice to paint next (in the dock's worker) and show it; returns the worker."""
    uncertainty, scribbles = dock.uncertainty_layer, dock.scribble_layer
    if not dock.has_layer(uncertainty):
        raise LiCellInputError(None, "no uncertainty yet", "press “Train & predict” first")
    axis = painting_axis(dock.viewer, uncertainty)
    data = uncertainty.data
    painted = scribbles.data if dock.has_layer(scribbles) else None

    def work(progress, cancel):
        return next_best_slice(data, axis=axis, scribbles=painted)

    def show(suggestion) -> None:
        if suggestion is None:
            dock.show_status("The classifier is sure everywhere: no slice needs another stroke.")
            return
        viewer = dock.viewer
        viewer.dims.set_current_step(axis + viewer.dims.ndim - uncertainty.ndim, suggestion.index)
        dock.show_status(
            f"Slice {suggestion.index} (axis {axis}) holds {100 * suggestion.share:.0f} % of the "
            "uncertainty left: paint a stroke of each class you see there, then Train & predict again."
        )

    return dock.start_task(work, label="Finding the slice where a stroke helps most…", on_done=show)
