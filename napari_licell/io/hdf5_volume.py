"""HDF5 volumes (DXchange ``/exchange/data`` by default), read lazily with h5py + dask.

Voxel size, in micrometres, is taken from the first of:

1. attributes of the dataset: ``element_size_um`` (z, y, x; ilastik/CREMI
   convention), ``voxel_size_um``, or ``voxel_size`` / ``pixel_size`` with a
   ``units``/``unit`` attribute;
2. DXchange ``/measurement/instrument/detection_system/objective/resolution``
   (effective pixel size in micrometres, as written at APS tomography beamlines);
3. DXchange ``/measurement/instrument/detector/pixel_size_x`` (and ``_y``)
   divided by ``.../objective/magnification``.

Tomographic reconstructions have cubic voxels equal to the effective pixel
size, so (2) and (3) give z = y = x. Binning applied during reconstruction is
not recorded by DXchange: check the value when you binned.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import LiCellInputError
from .found_volume import FoundVolume
from .lazy_arrays import H5Source, source_to_dask, z_chunk_depth
from .tiff_volume import strip_image_suffix
from .voxel_size import unit_to_um

__all__ = ["read_hdf5_volume", "DEFAULT_DATASET", "HDF5_SUFFIXES", "HDF5_MAGIC", "list_image_datasets"]

#: Dataset read when the user names none (DXchange convention).
DEFAULT_DATASET = "/exchange/data"
#: File name endings of HDF5 files (lower case).
HDF5_SUFFIXES = (".h5", ".hdf5", ".hdf", ".nxs", ".he5")
#: Signature at the start of an HDF5 file (or at 512, 1024, ... with a user block).
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"

_RESOLUTION = "/measurement/instrument/detection_system/objective/resolution"
_MAGNIFICATION = "/measurement/instrument/detection_system/objective/magnification"
_PIXEL_X = "/measurement/instrument/detector/pixel_size_x"
_PIXEL_Y = "/measurement/instrument/detector/pixel_size_y"


def list_image_datasets(f: Any, limit: int = 50) -> list[tuple[str, tuple[int, ...], str]]:
    """Datasets with 2 or more dimensions in an open h5py file: (path, shape, dtype)."""
    import h5py

    found: list[tuple[str, tuple[int, ...], str]] = []

    def visit(name: str, obj: Any) -> None:
        if isinstance(obj, h5py.Dataset) and obj.ndim >= 2 and len(found) < limit:
            found.append(("/" + name, tuple(int(s) for s in obj.shape), str(obj.dtype)))

    f.visititems(visit)
    return found


def _scalar(f: Any, path: str) -> tuple[float | None, str | None]:
    """First value of a small dataset and its units attribute, or (None, None)."""
    import h5py

    obj = f.get(path)
    if not isinstance(obj, h5py.Dataset) or obj.size == 0 or obj.size > 16:
        return None, None
    try:
        value = float(np.asarray(obj[()]).ravel()[0])
    except (TypeError, ValueError):
        return None, None
    unit = obj.attrs.get("units", obj.attrs.get("unit"))
    if isinstance(unit, np.ndarray):
        unit = unit.ravel()[0] if unit.size else None
    if isinstance(unit, bytes):
        unit = unit.decode("latin-1", errors="replace")
    return (value if np.isfinite(value) else None), (None if unit is None else str(unit))


def _attr_voxel(ds: Any) -> tuple[tuple[float, float, float] | None, str]:
    attrs = ds.attrs
    for key in ("element_size_um", "voxel_size_um"):
        if key in attrs:
            values = np.asarray(attrs[key], dtype=float).ravel()
            if values.size == 1:
                return (float(values[0]),) * 3, f"hdf5 attribute {key}"
            if values.size >= 3:
                z, y, x = (float(v) for v in values[-3:])
                return (z, y, x), f"hdf5 attribute {key}"
    for key in ("voxel_size", "pixel_size"):
        if key in attrs:
            unit = attrs.get("units", attrs.get("unit"))
            if isinstance(unit, bytes):
                unit = unit.decode("latin-1", errors="replace")
            factor = unit_to_um(unit if unit is not None else "um")
            if factor is None:
                continue
            values = np.asarray(attrs[key], dtype=float).ravel() * factor
            if values.size == 1:
                return (float(values[0]),) * 3, f"hdf5 attribute {key}"
            if values.size >= 3:
                z, y, x = (float(v) for v in values[-3:])
                return (z, y, x), f"hdf5 attribute {key}"
    return None, ""


def _dxchange_voxel(f: Any) -> tuple[tuple[float, float, float] | None, str]:
    value, unit = _scalar(f, _RESOLUTION)
    if value is not None and value > 0:
        factor = unit_to_um(unit) if unit else 1.0
        if factor is not None:
            v = value * factor
            return (v, v, v), "dxchange objective resolution"
    px, unit_x = _scalar(f, _PIXEL_X)
    mag, _ = _scalar(f, _MAGNIFICATION)
    if px is not None and px > 0 and mag is not None and mag > 0:
        factor = unit_to_um(unit_x) if unit_x else 1.0
        if factor is not None:
            py, unit_y = _scalar(f, _PIXEL_Y)
            fy = (unit_to_um(unit_y) if unit_y else 1.0) or factor
            x = px * factor / mag
            y = (py * fy / mag) if py is not None and py > 0 else x
            return (x, y, x), "dxchange detector pixel size / magnification"
    return None, ""


def read_hdf5_volume(path: str | os.PathLike, dataset: str | None = None) -> FoundVolume:
    """Read a volume dataset from an HDF5 file lazily.

    Parameters
    ----------
    path : path-like
        The HDF5 file.
    dataset : str, optional
        Path of the dataset inside the file. Default ``/exchange/data``; when
        that is absent and the file holds exactly one 3D dataset, that one.

    Returns
    -------
    FoundVolume
        Dask array (chunks aligned with the file's chunks along z), voxel size
        in micrometres found in the file (or None), metadata (``hdf5_dataset``,
        ``hdf5_chunks``, ``hdf5_compression``).

    Raises
    ------
    LiCellInputError
        Not an HDF5 file, dataset missing or ambiguous, a group instead of a
        dataset, more than 3 non-singleton dimensions.
    """
    import h5py

    p = Path(path)
    try:
        f = h5py.File(p, "r")
    except Exception as exc:  # noqa: BLE001 - h5py raises OSError/others for bad files
        raise LiCellInputError(
            p, f"is not a readable HDF5 file ({exc})", "the file may be truncated or damaged"
        ) from None
    try:
        try:
            candidates = None
            name = dataset
            if name is None:
                if DEFAULT_DATASET in f:
                    name = DEFAULT_DATASET
                else:
                    candidates = list_image_datasets(f)
                    three_d = [c for c in candidates if len(c[1]) == 3]
                    if len(three_d) == 1:
                        name = three_d[0][0]
                    elif not candidates:
                        raise LiCellInputError(
                            p, "holds no image dataset (2D or 3D array)", "check this is the right file"
                        )
                    else:
                        listing = ", ".join(f"{c[0]} {c[1]}" for c in candidates[:10])
                        raise LiCellInputError(
                            p,
                            f"has no {DEFAULT_DATASET} and several image datasets: {listing}",
                            "name the dataset to read, e.g. dataset='/reconstruction/volume'",
                        )
            if name not in f:
                candidates = list_image_datasets(f)
                listing = ", ".join(f"{c[0]} {c[1]}" for c in candidates[:10]) or "none"
                raise LiCellInputError(p, f"has no dataset {name!r} (image datasets: {listing})", "name one of those")
            ds = f[name]
            if not isinstance(ds, h5py.Dataset):
                raise LiCellInputError(p, f"{name!r} is a group, not a dataset", "name the dataset inside it")
            shape = tuple(int(s) for s in ds.shape)
            dtype = np.dtype(ds.dtype)
            if len(shape) < 2:
                raise LiCellInputError(p, f"dataset {name!r} has {len(shape)} dimension(s); an image needs 2 or 3", "")
            if dtype.fields is not None or dtype.kind in "OSUV":
                raise LiCellInputError(
                    p, f"dataset {name!r} has pixel type {dtype}, not numbers", "name a numeric image dataset"
                )
            voxel, voxel_source = _attr_voxel(ds)
            if voxel is None:
                voxel, voxel_source = _dxchange_voxel(f)
            chunks_file = ds.chunks
            metadata: dict[str, Any] = {
                "hdf5_dataset": name,
                "hdf5_shape": list(shape),
                "hdf5_chunks": list(chunks_file) if chunks_file else None,
                "hdf5_compression": ds.compression,
            }
            if name == DEFAULT_DATASET and ("/exchange/theta" in f or "/exchange/data_white" in f):
                metadata["hdf5_note"] = (
                    "the file also holds /exchange/theta or flat fields: /exchange/data may be "
                    "projections rather than a reconstruction"
                )
        except LiCellInputError:
            raise
        except Exception as exc:  # noqa: BLE001 - damaged metadata is bad input
            raise LiCellInputError(
                p, f"is a damaged HDF5 file ({type(exc).__name__}: {exc})", "copy it again"
            ) from None
    finally:
        f.close()

    squeeze = tuple(0 if (n == 1 and i < len(shape) - 2) else slice(None) for i, n in enumerate(shape))
    kept = [n for i, n in enumerate(shape) if not (n == 1 and i < len(shape) - 2)]
    if len(kept) > 3:
        raise LiCellInputError(
            p,
            f"dataset {name!r} has shape {shape}; a CT volume has 3 dimensions (z, y, x)",
            "name a 3D dataset or save one channel/time point",
        )
    source = H5Source(p, name, shape, dtype)
    chunks: tuple[int, ...] | None = None
    if len(shape) >= 3:
        lead = len(shape) - 3
        zfile = chunks_file[lead] if chunks_file else 1
        depth = z_chunk_depth(shape[lead:], dtype.itemsize, multiple_of=zfile)
        chunks = (1,) * lead + (depth, shape[-2], shape[-1])
    data = source_to_dask(source, chunks=chunks, name_prefix="licell-h5")[squeeze]
    return FoundVolume(
        data=data,
        voxel_size_um=voxel,
        voxel_source=voxel_source,
        name=strip_image_suffix(p.name),
        format="hdf5",
        metadata=metadata,
    )
