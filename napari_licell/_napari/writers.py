"""napari (npe2) writers: an image or labels layer as ImageJ TIFF or OME-Zarr, voxel size in µm."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..io.volume import DEFAULT_VOXEL_SIZE_UM
from ..io.voxel_size import unit_to_um
from ..io.writers import write_labels_tiff, write_volume_tiff, write_volume_zarr

__all__ = ["write_image", "write_labels"]


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

    from ..io.writers import to_jsonable

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
