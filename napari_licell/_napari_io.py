"""napari (npe2) reader and writer functions for CT volumes. No Qt and no napari import.

Reader: :func:`get_volume_reader` accepts TIFF/OME-TIFF files, folders of
TIFF slices (or a list of slice files when napari stacks them), HDF5 files
and zarr stores, and returns None for anything else (npe2's "not mine").
For our files with bad content the reader raises
:class:`~napari_licell.errors.LiCellInputError`, whose message names the
file, the problem and a hint.

Writers: :func:`write_image` and :func:`write_labels` save a layer as an
ImageJ TIFF (``.tif``/``.tiff``) or an OME-Zarr store (``.zarr``), with the
layer's scale as voxel size in micrometres.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .classes import napari_colormap
from .io.found_volume import sample_slice_indices
from .io.hdf5_volume import HDF5_SUFFIXES
from .io.read_volume import read_volume
from .io.tiff_volume import TIFF_SUFFIXES
from .io.volume import DEFAULT_VOXEL_SIZE_UM, Volume
from .io.voxel_size import unit_to_um
from .io.writers import write_labels_tiff, write_volume_tiff, write_volume_zarr

__all__ = ["get_volume_reader", "read_volume_layers", "write_image", "write_labels", "looks_like_labels"]

LayerData = tuple[Any, dict[str, Any], str]

_STUDY_SUFFIXES = (".licell.yaml", ".yaml", ".yml")
_MAX_CLASS_CODE = 6


def _is_tiff(path: str) -> bool:
    return path.lower().endswith(TIFF_SUFFIXES)


def _folder_is_ours(p: Path) -> bool:
    from .io.zarr_volume import is_zarr_path

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


def looks_like_labels(volume: Volume) -> bool:
    """True for label volumes: marked so by napari-licell, or uint8 with codes 0..6 only.

    The value check reads the first, middle and last slices only.
    """
    kind = (volume.metadata.get("licell") or {}).get("kind")
    if kind in ("labels", "image"):
        return kind == "labels"
    if volume.dtype != np.uint8:
        return False
    data = volume.data
    peak = 0
    for i in sample_slice_indices(volume.shape[0]):
        plane = np.asarray(data[i].compute() if hasattr(data[i], "compute") else data[i])
        peak = max(peak, int(plane.max()))
        if peak > _MAX_CLASS_CODE:
            return False
    return peak >= 1


def _layer_from_volume(volume: Volume) -> LayerData:
    kwargs = volume.layer_kwargs()
    metadata = dict(kwargs["metadata"])
    levels = metadata.pop("multiscale_levels", None)
    kwargs["metadata"] = metadata
    data: Any = volume.data
    if levels and len(levels) > 1:
        data = list(levels)
        kwargs["multiscale"] = True
    if volume.shape[0] == 1:
        data = [lv[0] for lv in data] if isinstance(data, list) else data[0]
        kwargs["scale"] = tuple(kwargs["scale"][1:])
    layer_type = "labels" if looks_like_labels(volume) else "image"
    if layer_type == "labels" and (volume.metadata.get("licell") or {}).get("kind") == "labels":
        kwargs["colormap"] = napari_colormap()
    return data, kwargs, layer_type


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
    return [_layer_from_volume(volume)]


def _voxel_from_meta(meta: dict[str, Any], ndim: int) -> tuple[tuple[float, float, float], bool]:
    """Voxel size (z, y, x) in um from a layer's state; second value False when unknown."""
    stored = (meta.get("metadata") or {}).get("voxel_size_um")
    if isinstance(stored, (list, tuple)) and len(stored) == 3:
        try:
            z, y, x = (float(v) for v in stored)
            return (z, y, x), True
        except (TypeError, ValueError):
            pass
    scale = [float(s) for s in (meta.get("scale") or [1.0] * ndim)][-3:]
    units = meta.get("units")
    if isinstance(units, (str, bytes)) or units is None:
        units = [units] * len(scale)
    units = list(units)[-len(scale) :]
    factors = [unit_to_um(str(u)) if u is not None else None for u in units]
    if len(scale) >= 2 and all(f is not None for f in factors):
        sizes = [s * f for s, f in zip(scale, factors)]  # type: ignore[operator]
        if len(sizes) == 2:
            sizes = [sizes[0], *sizes]
        return (sizes[0], sizes[1], sizes[2]), True
    return (DEFAULT_VOXEL_SIZE_UM,) * 3, False


def _level0(data: Any) -> Any:
    if isinstance(data, (list, tuple)):
        return data[0]
    return data


def _json_safe(value: Any) -> Any:
    import json

    from .io.writers import to_jsonable

    try:
        plain = to_jsonable(value)
        json.dumps(plain)
        return plain
    except (TypeError, ValueError):
        return None


def _file_metadata(meta: dict[str, Any], known: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"layer_name": meta.get("name")}
    for k, v in (meta.get("metadata") or {}).items():
        if k in ("multiscale_levels", "licell"):
            continue
        safe = _json_safe(v)
        if safe is not None:
            out[str(k)] = safe
    if not known:
        out["voxel_size_note"] = f"layer had no length units; {DEFAULT_VOXEL_SIZE_UM} um written"
    return out


def write_image(path: str, data: Any, meta: dict[str, Any]) -> list[str]:
    """npe2 single-layer writer for Image layers: ``.tif``/``.tiff`` (ImageJ) or ``.zarr`` (OME-Zarr).

    Parameters
    ----------
    path : str
        Output path chosen in napari.
    data : array-like or list of arrays
        Layer data (level 0 of a multiscale layer is written).
    meta : dict
        Layer state (``scale``, ``units``, ``metadata``, ``name``).

    Returns
    -------
    list of str
        The written path.
    """
    array = _level0(data)
    voxel, known = _voxel_from_meta(meta, np.ndim(array))
    extra = _file_metadata(meta, known)
    if path.lower().rstrip("/\\").endswith(".zarr"):
        write_volume_zarr(path, array, voxel, metadata=extra, levels=2 if min(array.shape[-3:]) >= 64 else 1)
    else:
        write_volume_tiff(path, array, voxel, metadata=extra)
    return [path]


def write_labels(path: str, data: Any, meta: dict[str, Any]) -> list[str]:
    """npe2 single-layer writer for Labels layers: uint8 class codes, ``.tif``/``.tiff`` or ``.zarr``.

    Raises
    ------
    LiCellInputError
        Label values outside 0..255 (nothing is written).
    """
    array = _level0(data)
    voxel, known = _voxel_from_meta(meta, np.ndim(array))
    extra = _file_metadata(meta, known)
    if path.lower().rstrip("/\\").endswith(".zarr"):
        write_volume_zarr(path, array, voxel, labels=True, metadata=extra)
    else:
        write_labels_tiff(path, array, voxel, metadata=extra)
    return [path]

