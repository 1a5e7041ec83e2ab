"""napari (npe2) reader functions for CT volumes. No Qt and no napari import.

Reader: :func:`get_volume_reader` accepts TIFF/OME-TIFF files, folders of
TIFF slices (or a list of slice files when napari stacks them), HDF5 files
and zarr stores, and returns None for anything else (npe2's "not mine").
For our files with bad content the reader raises
:class:`~napari_licell.errors.LiCellInputError`, whose message names the
file, the problem and a hint.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..classes import napari_colormap
from ..io.hdf5_volume import HDF5_SUFFIXES
from ..io.label_detection import looks_like_labels
from ..io.read_volume import read_volume
from ..io.tiff_volume import TIFF_SUFFIXES
from ..io.volume import Volume
from ..layer_roles import Role, tagged
from .layers import LayerData, labels_layer_tuple, scan_layer_tuple

__all__ = ["get_volume_reader", "read_volume_layers", "volume_layer"]

_STUDY_SUFFIXES = (".licell.yaml", ".yaml", ".yml")


def _is_tiff(path: str) -> bool:
    return path.lower().endswith(TIFF_SUFFIXES)


def _folder_is_ours(p: Path) -> bool:
    from ..io.zarr_volume import is_zarr_path

    if is_zarr_path(p):
        return True
    try:
        with os.scandir(p) as entries:
            return any(e.is_file() and _is_tiff(e.name) and not e.name.startswith(".") for e in entries)
    except OSError:
        return False


def get_volume_reader(path: str | Sequence[str]) -> Callable[[Any], list[LayerData]] | None:
    """npe2 ``get_reader``: the reader function for paths napari-licell reads, else None.

    Parameters
    ----------
    path : str or list of str
        A file, a folder, or a list of slice files (napari's "stack" open).

    Returns
    -------
    callable or None
        :func:`read_volume_layers` for TIFF/OME-TIFF, TIFF slice folders or
        lists, HDF5 and zarr; None otherwise (study YAML files are read elsewhere).
    """
    if isinstance(path, (list, tuple)):
        paths = [str(p) for p in path]
        if len(paths) == 1:
            return get_volume_reader(paths[0])
        if paths and all(_is_tiff(p) and os.path.isfile(p) for p in paths):
            return read_volume_layers
        return None
    text = os.fspath(path)
    lower = text.lower().rstrip("/\\")
    if lower.endswith(_STUDY_SUFFIXES):
        return None
    p = Path(text)
    if p.is_dir():
        return read_volume_layers if _folder_is_ours(p) else None
    if lower.endswith(".zarr") or p.name in ("zarr.json", ".zarray", ".zgroup", ".zattrs"):
        return read_volume_layers
    if _is_tiff(lower) or lower.endswith(HDF5_SUFFIXES):
        return read_volume_layers
    return None


def volume_layer(volume: Volume) -> LayerData:
    """The volume as a scan layer (readable contrast, role "scan") or a labels layer (class colours)."""
    kwargs = volume.layer_kwargs()
    metadata = dict(kwargs.pop("metadata"))
    levels = metadata.pop("multiscale_levels", None)
    name, scale = kwargs.pop("name"), kwargs.pop("scale")
    data: Any = volume.data
    if levels and len(levels) > 1:
        data = list(levels)
        kwargs["multiscale"] = True
    if volume.shape[0] == 1:
        data = [lv[0] for lv in data] if isinstance(data, list) else data[0]
        scale = tuple(scale[1:])
    if looks_like_labels(volume):
        layer = labels_layer_tuple(data, name, scale, tagged(metadata, Role.LABELS), **kwargs)
        if (volume.metadata.get("licell") or {}).get("kind") == "labels":
            layer[1]["colormap"] = napari_colormap()  # a plain dict: napari makes the colour map
        else:
            del layer[1]["colormap"], layer[1]["opacity"]  # not our class codes: napari's own colours
        return layer
    return scan_layer_tuple(data, name, scale, metadata, contrast_from=volume.data, **kwargs)


def read_volume_layers(path: str | Sequence[str]) -> list[LayerData]:
    """npe2 reader function: one image or labels layer with scale = voxel size in um.

    Single 2D images are accepted here (shown as 2D); slice lists are stacked.

    Raises
    ------
    LiCellInputError
        For damaged or unusable files (named in the message).
    """
    if isinstance(path, (list, tuple)) and len(path) == 1:
        path = path[0]
    volume = read_volume(list(path) if isinstance(path, (list, tuple)) else path, require_3d=False)
    return [volume_layer(volume)]
