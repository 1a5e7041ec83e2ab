"""Layer data tuples for napari built from core objects (no Qt import).

Readers, sample data and docks all build their layers here, so every labels
layer gets the class-table colours and every layer its voxel size as scale.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .classes import napari_colormap

__all__ = ["labels_colormap", "image_layer_tuple", "labels_layer_tuple", "synthetic_cell_layers"]


def labels_colormap():
    """A napari DirectLabelColormap with the class-table colours."""
    from napari.utils.colormaps import DirectLabelColormap

    return DirectLabelColormap(color_dict=napari_colormap())


def image_layer_tuple(data, name: str, scale, metadata: dict[str, Any] | None = None, **kwargs) -> tuple:
    """(data, kwargs, 'image') with scale in micrometres and contrast limits from the dtype range used."""
    add_kwargs = {"name": name, "scale": tuple(scale), "units": "um", "metadata": dict(metadata or {})}
    add_kwargs.update(kwargs)
    return (data, add_kwargs, "image")


def labels_layer_tuple(data, name: str, scale, metadata: dict[str, Any] | None = None, **kwargs) -> tuple:
    """(data, kwargs, 'labels') coloured by the class table."""
    add_kwargs = {
        "name": name,
        "scale": tuple(scale),
        "units": "um",
        "metadata": dict(metadata or {}),
        "colormap": labels_colormap(),
        "opacity": 0.6,
    }
    add_kwargs.update(kwargs)
    return (data, add_kwargs, "labels")


def display_contrast(image: np.ndarray) -> tuple[tuple[float, float], float]:
    """Contrast limits and gamma that show the dark phases (Li, gas) and the SE, not the steel.

    Voxels brighter than half the maximum (metal) are left out; with SE in
    range a gamma below 1 spreads the dark corner where Li and gas live.
    """
    sample = np.asarray(image[:: max(1, image.shape[0] // 16)]).ravel()
    top = float(sample.max())
    floor = float(sample.min())
    below_metal = sample[sample <= floor + 0.5 * (top - floor)]
    lo, hi = np.percentile(below_metal if below_metal.size else sample, [0.5, 99.5])
    hi = float(max(hi, lo + 1))
    # a wide range (dark phases up to the SE) is spread by gamma; a narrow one (Li and gas only) is not
    gamma = 0.45 if (hi - lo) > 0.5 * abs(hi) else 1.0
    return (float(lo), hi), gamma


def synthetic_cell_layers(cell, with_truth: bool = True) -> list[tuple]:
    """Layers of a :class:`~napari_licell.phantoms.SyntheticCell`: the scan and (hidden) its truth labels."""
    meta = dict(cell.metadata)
    meta["voxel_size_um"] = [cell.voxel_size_um] * 3
    if cell.truth is not None:
        meta["truth_li_layer_thickness_um"] = cell.truth.li_layer_thickness_um
        meta["faraday_thickness_um"] = cell.truth.faraday_thickness_um
    limits, gamma = display_contrast(cell.image)
    layers = [
        image_layer_tuple(
            cell.image,
            cell.name,
            cell.scale,
            meta,
            contrast_limits=limits,
            colormap="gray",
            gamma=gamma,
        )
    ]
    if with_truth:
        layers.append(
            labels_layer_tuple(
                cell.labels, f"{cell.name} truth", cell.scale, {"ground_truth": True, "cell": cell.name}, visible=False
            )
        )
    return layers
