"""The Results dock's plots: the Li layer thickness map and the depth profiles of one measurement."""

from __future__ import annotations

import numpy as np

from ..classes import CLASS_TABLE
from .mpl_canvas import ThemedFigureWidget

__all__ = ["ResultsPlots"]


class ResultsPlots(ThemedFigureWidget):
    """Thickness map and depth profiles of one measurement."""

    def __init__(self, napari_viewer=None, parent=None):
        self.measurement = None
        super().__init__(napari_viewer, parent=parent, toolbar=False, figsize=(4.5, 2.4))
        self.redraw()

    def show_measurement(self, m) -> None:
        self.measurement = m
        self.redraw()

    def draw(self) -> None:
        ax_map, ax_depth = self.figure.subplots(1, 2)
        for ax in (ax_map, ax_depth):
            self.style_axes(ax)
        m = self.measurement
        if m is None:
            ax_map.set_title("no measurement yet", fontsize=8)
            return
        thickness = m.li_layer.thickness_map_um
        vz, vy, vx = m.oriented_voxel_size_um
        im = ax_map.imshow(
            thickness, origin="lower", cmap="viridis", extent=(0, thickness.shape[1] * vx, 0, thickness.shape[0] * vy)
        )
        cbar = self.figure.colorbar(im, ax=ax_map, shrink=0.8)
        cbar.set_label("Li layer (µm)", fontsize=7, color=self.colours["text"])
        cbar.ax.tick_params(labelsize=6, colors=self.colours["text"])
        ax_map.set_title("Li layer thickness", fontsize=8)
        ax_map.set_xlabel("x (µm)", fontsize=7)
        ax_map.set_ylabel("y (µm)", fontsize=7)
        depth = m.depth
        for cls in CLASS_TABLE[1:]:
            share = depth.area_fraction.get(cls.key)
            if share is not None and np.nanmax(np.nan_to_num(share)) > 0:
                ax_depth.plot(share, depth.z_um, color=cls.colour, lw=1, label=cls.key)
        ax_depth.set_xlabel("area fraction", fontsize=7)
        ax_depth.set_ylabel("height from collector end (µm)", fontsize=7)
        ax_depth.set_title("depth profiles", fontsize=8)
        ax_depth.legend(fontsize=6, loc="upper right")
        for ax in (ax_map, ax_depth):
            ax.tick_params(labelsize=6)
