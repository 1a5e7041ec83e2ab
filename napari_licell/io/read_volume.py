"""One entry point for CT volumes: detect the format, read lazily, check, return a Volume.

Formats (detected from the content first, the name second):

* TIFF (multi-page, ImageJ hyperstack, OME-TIFF) - :mod:`.tiff_volume`
* a folder, glob pattern or list of 2D TIFF slices - :mod:`.slice_folder`
* HDF5 (DXchange ``/exchange/data`` or a named dataset) - :mod:`.hdf5_volume`
* zarr / OME-Zarr stores - :mod:`.zarr_volume`
* raw binary with user-given shape and type - :mod:`.raw_volume`

Nothing is loaded whole: only the first slice is read to check the data, so
the first view opens in a few milliseconds; NaN in float scans is kept as no
data.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import LiCellInputError
from .found_volume import FoundVolume, finish_volume
from .hdf5_volume import HDF5_MAGIC, HDF5_SUFFIXES, read_hdf5_volume
from .raw_volume import RAW_SUFFIXES, read_raw_volume
from .slice_folder import is_glob, list_slice_files, read_slice_folder
from .tiff_volume import TIFF_SUFFIXES, is_tiff_bytes, read_tiff_volume
from .volume import DEFAULT_VOXEL_SIZE_UM, Volume
from .zarr_volume import ZARR_MARKERS, is_zarr_path, read_zarr_volume

__all__ = ["read_volume", "detect_format", "DEFAULT_VOXEL_SIZE_UM", "FORMATS"]

#: Format names returned by :func:`detect_format`.
FORMATS = ("tiff", "tiff-slices", "hdf5", "zarr", "raw")

_READABLE = "multi-page TIFF, a folder of TIFF slices, HDF5, zarr/OME-Zarr or raw binary"


def _head(path: Path, n: int = 2056) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(n)


def _is_hdf5(head: bytes) -> bool:
    if head.startswith(HDF5_MAGIC):
        return True
    return any(head[o : o + 8] == HDF5_MAGIC for o in (512, 1024, 2048))


def _describe_start(head: bytes) -> str:
    sample = head[:16]
    try:
        text = sample.decode("ascii")
        if text and all(ch.isprintable() or ch in "\r\n\t" for ch in text):
            return f"it holds text ({text.strip()[:16]!r}...)"
    except UnicodeDecodeError:
        pass
    return f"it starts with {sample[:8]!r}"


def detect_format(
    path: str | os.PathLike | Sequence[str | os.PathLike], *, raw_shape: Sequence[int] | None = None
) -> str:
    """Which reader a path needs: one of :data:`FORMATS`.

    Parameters
    ----------
    path : path-like, glob pattern or list of slice files
    raw_shape : sequence of int, optional
        When given, the file is raw binary whatever its content.

    Raises
    ------
    LiCellInputError
        Missing path, empty file, or content none of the readers understand.
    """
    if not isinstance(path, (str, os.PathLike)):
        return "tiff-slices"
    p = Path(os.fspath(path))
    if not p.exists():
        if is_glob(p):
            return "tiff-slices"
        raise LiCellInputError(p, "does not exist", "check the path")
    if p.is_dir():
        if is_zarr_path(p):
            return "zarr"
        if list_slice_files(p):
            return "tiff-slices"
        raise LiCellInputError(
            p, "is a folder with no TIFF slices and no zarr store", f"napari-licell reads {_READABLE}"
        )
    if p.name in ZARR_MARKERS or p.name == ".zattrs":
        return "zarr"
    if raw_shape is not None:
        return "raw"
    try:
        size = p.stat().st_size
        head = _head(p) if size else b""
    except OSError as exc:
        raise LiCellInputError(p, f"cannot be read: {exc.strerror or exc}", "check the file permissions") from None
    if size == 0:
        raise LiCellInputError(p, "is empty (0 bytes)", "the file was not written completely; export it again")
    if is_tiff_bytes(head):
        return "tiff"
    if _is_hdf5(head):
        return "hdf5"
    lower = p.name.lower()
    if lower.endswith(RAW_SUFFIXES):
        raise LiCellInputError(
            p,
            "looks like a raw binary volume, which stores no shape or pixel type",
            "give raw_shape=(z, y, x) and raw_dtype (e.g. 'uint16'), plus header_bytes if it has a header",
        )
    if lower.endswith(TIFF_SUFFIXES):
        raise LiCellInputError(p, f"is not a TIFF file ({_describe_start(head)})", "check the file; it may be misnamed")
    if lower.endswith(HDF5_SUFFIXES):
        raise LiCellInputError(
            p, f"is not an HDF5 file ({_describe_start(head)})", "check the file; it may be misnamed"
        )
    raise LiCellInputError(
        p, f"is not an image file napari-licell can read ({_describe_start(head)})", f"use {_READABLE}"
    )


def read_volume(
    path: str | os.PathLike | Sequence[str | os.PathLike],
    *,
    voxel_size_um: float | Sequence[float] | None = None,
    dataset: str | None = None,
    raw_shape: Sequence[int] | None = None,
    raw_dtype: str | np.dtype | None = None,
    byte_order: str = "<",
    header_bytes: int = 0,
    require_3d: bool = True,
) -> Volume:
    """Open a CT volume lazily, whatever its format.

    Parameters
    ----------
    path : path-like, glob pattern or list of slice files
        A TIFF/OME-TIFF file, a folder or glob of 2D TIFF slices, an HDF5 file,
        a zarr/OME-Zarr store or a raw binary file.
    voxel_size_um : float or (z, y, x), optional
        Voxel size in micrometres; overrides the file's. When neither is
        known the default of 0.54 um is used and ``voxel_size_assumed`` is set.
    dataset : str, optional
        Dataset inside an HDF5 file (default ``/exchange/data``) or array
        inside a zarr store.
    raw_shape : (z, y, x), optional
        Shape of a raw binary volume; makes the file be read as raw. One
        entry may be -1 to be worked out from the file size.
    raw_dtype : str or dtype, optional
        Pixel type of a raw volume (required with ``raw_shape``).
    byte_order : {'<', '>'}
        Byte order of a raw volume ('<' little-endian, '>' big-endian).
    header_bytes : int
        Bytes to skip at the start of a raw volume.
    require_3d : bool
        Raise for 2D images. When False a 2D image is returned as one slice,
        shape (1, y, x).

    Returns
    -------
    Volume
        ``data`` is a (z, y, x) dask array in native byte order; nothing but
        the first slice has been read.

    Raises
    ------
    LiCellInputError
        For every problem with the input (missing, empty, damaged or
        truncated file, not an image, 2D image, bad voxel size, unsupported
        pixel type, raw size mismatch). NaN and infinite float values are
        not an error: every step counts them as no data.
    """
    kind = detect_format(path, raw_shape=raw_shape)
    where = Path(os.fspath(path)) if isinstance(path, (str, os.PathLike)) else None
    try:
        found: FoundVolume
        if kind == "tiff":
            found = read_tiff_volume(where)
        elif kind == "tiff-slices":
            found = read_slice_folder(path)
            if where is None:
                where = Path(os.fspath(list(path)[0])).parent if len(path) else None
        elif kind == "hdf5":
            found = read_hdf5_volume(where, dataset=dataset)
        elif kind == "zarr":
            store = where.parent if where.name in (*ZARR_MARKERS, ".zattrs") else where
            found = read_zarr_volume(store, dataset=dataset)
            where = store
        else:
            if raw_dtype is None:
                raise LiCellInputError(where, "raw_dtype is needed with raw_shape", "e.g. raw_dtype='uint16'")
            found = read_raw_volume(where, raw_shape, raw_dtype, byte_order=byte_order, header_bytes=header_bytes)
        return finish_volume(found, where, voxel_size_um=voxel_size_um, require_3d=require_3d)
    except LiCellInputError:
        raise
    except MemoryError:
        raise LiCellInputError(
            where, "describes more data than fits in memory", "the file is probably damaged"
        ) from None
    except Exception as exc:  # noqa: BLE001 - never let a reader crash the caller with a bare exception
        raise LiCellInputError(
            where, f"could not be read ({type(exc).__name__}: {exc})", "the file may be damaged"
        ) from exc
