"""Layer data tuples for napari built from core objects (no Qt import).

Readers, sample data, the study reader and the docks all build their layers
here, so every scan gets its voxel size as scale and readable contrast limits,
every labels layer the class-table colours, and every layer its role
(:mod:`napari_licell.layer_roles`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..classes import napari_colormap
from ..io.display_range import display_contrast, sample_planes
from ..layer_roles import Role, tagged

__all__ = [
    "LayerData",
    "labels_colormap",
    "warm_up_label_colours",
    "image_layer_tuple",
    "labels_layer_tuple",
    "scan_layer_tuple",
    "synthetic_cell_layers",
    "timelapse_layers",
]

LayerData = tuple[Any, dict[str, Any], str]


def labels_colormap():
    """A napari DirectLabelColormap with the class-table colours."""
    from napari.utils.colormaps import DirectLabelColormap

    return DirectLabelColormap(color_dict=napari_colormap())


_warm_up_started = False


def warm_up_label_colours() -> None:
    """Compile napari's labels colouring once, in a background thread (first call only).

    The first labels layer of a session made napari import pandas (its layer
    features) and compile its numba colour mapping on the GUI thread: 3.8 s
    frozen at the first "Apply to volume" or "New labels" (1.2 s import, 2.5 s
    compile). Started when the first LiCell dock opens, both are done before
    the user gets there.
    """
    global _warm_up_started
    if _warm_up_started:
        return
    _warm_up_started = True
    import threading

    import numpy as np

    def compile_colouring() -> None:
        try:
            import pandas  # noqa: F401 - napari imports it for the first layer's features

            colormap = labels_colormap()
            for dtype in (np.uint8, np.int32):  # our labels, and napari's default for a new labels layer
                colormap.map(np.zeros((2, 2), dtype))
        except Exception:  # noqa: BLE001 - a warm-up only: napari compiles on first use as before
            pass

    threading.Thread(target=compile_colouring, name="licell-warm-up", daemon=True).start()


def image_layer_tuple(data, name: str, scale, metadata: dict[str, Any] | None = None, **kwargs) -> LayerData:
    """(data, kwargs, 'image') with scale in micrometres."""
    add_kwargs = {"name": name, "scale": tuple(scale), "units": "um", "metadata": dict(metadata or {})}
    add_kwargs.update(kwargs)
    return (data, add_kwargs, "image")


def labels_layer_tuple(data, name: str, scale, metadata: dict[str, Any] | None = None, **kwargs) -> LayerData:
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


def scan_layer_tuple(
    data, name: str, scale, metadata: dict[str, Any] | None = None, *, contrast_from: Any = None, **kwargs
) -> LayerData:
    """A CT scan as an image layer: role "scan", grey colormap, contrast limits from the cell's interior.

    Parameters
    ----------
    data : array-like or list of array-likes (multiscale)
    contrast_from : array-like, optional
        Where to sample the contrast from (default: the full-resolution data).
    """
    source = contrast_from if contrast_from is not None else (data[0] if isinstance(data, list) else data)
    limits, gamma = display_contrast(sample_planes(source))
    options = {"colormap": "gray", "contrast_limits": limits, "gamma": gamma}
    options.update(kwargs)
    return image_layer_tuple(data, name, scale, tagged(metadata, Role.SCAN), **options)


def synthetic_cell_layers(cell, with_truth: bool = True) -> list[LayerData]:
    """Layers of a :class:`~napari_licell.phantoms.SyntheticCell`: the scan and (hidden) its truth labels."""
    meta = dict(cell.metadata)
    meta["voxel_size_um"] = [cell.voxel_size_um] * 3
    meta["cell"] = cell.name
    if cell.truth is not None:
        meta["truth_li_layer_thickness_um"] = cell.truth.li_layer_thickness_um
        meta["faraday_thickness_um"] = cell.truth.faraday_thickness_um
    limits, gamma = display_contrast(np.asarray(cell.image[:: max(1, cell.image.shape[0] // 16)]))
    layers = [
        image_layer_tuple(
            cell.image,
            cell.name,
            cell.scale,
            tagged(meta, Role.SCAN),
            contrast_limits=limits,
            colormap="gray",
            gamma=gamma,
        )
    ]
    if with_truth:
        truth_meta = tagged({"ground_truth": True, "cell": cell.name}, Role.TRUTH, scan=cell.name)
        layers.append(labels_layer_tuple(cell.labels, f"{cell.name} truth", cell.scale, truth_meta, visible=False))
    return layers


def timelapse_layers(timelapse, with_truth: bool = True) -> list[LayerData]:
    """napari layer tuples of a time-lapse: the 4D scan and (hidden) its truth labels.

    The first axis is the scan index (scale 1, so ``viewer.dims.current_step``
    on it is the scan number); ``metadata['scan_times_min']`` holds the scan
    times in minutes and ``metadata['voltage_curve']`` the charge curve.
    """
    vox = timelapse.voxel_size_um
    scale = (1.0, vox, vox, vox)
    units = ("pixel", "um", "um", "um")
    axis_labels = ("scan", "z", "y", "x")
    meta = dict(timelapse.metadata)
    meta.update(
        {
            "scan_times_min": [float(t) for t in timelapse.scan_times_min],
            "voltage_curve": timelapse.voltage,
            "voxel_size_um": [vox] * 3,
            "stack_axis": 1,
            "cell": timelapse.name,
        }
    )
    limits, gamma = display_contrast(np.asarray(timelapse.image[-1, :: max(1, timelapse.image.shape[1] // 16)]))
    layers = [
        image_layer_tuple(
            timelapse.image,
            timelapse.name,
            scale,
            tagged(meta, Role.TIMELAPSE),
            units=units,
            axis_labels=axis_labels,
            contrast_limits=limits,
            colormap="gray",
            gamma=gamma,
        )
    ]
    if with_truth:
        truth_meta = tagged(
            {"ground_truth": True, "cell": timelapse.name, "scan_times_min": meta["scan_times_min"]},
            Role.TRUTH,
            scan=timelapse.name,
        )
        layers.append(
            labels_layer_tuple(
                timelapse.labels,
                f"{timelapse.name} truth",
                scale,
                truth_meta,
                units=units,
                axis_labels=axis_labels,
                visible=False,
            )
        )
    return layers
