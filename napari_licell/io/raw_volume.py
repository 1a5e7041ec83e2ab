"""Raw binary volumes: shape, pixel type, byte order and header size given by the user.

Nothing is read until a slice is asked for; slices are read with ``os.pread``
(:class:`~.lazy_arrays.PlaneReader`), not memory-mapped. The file size must match the header plus the voxels exactly;
otherwise the error states the expected and actual number of bytes and, when
the size fits a whole number of slices, the number of slices it would hold.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import LiCellInputError
from .found_volume import FoundVolume
from .lazy_arrays import ContiguousSource, source_to_dask
from .tiff_volume import strip_image_suffix

__all__ = ["read_raw_volume", "RAW_SUFFIXES", "raw_dtype"]

#: File name endings usually used for raw volumes (lower case).
RAW_SUFFIXES = (".raw", ".bin", ".vol", ".dat", ".img")

_BYTE_ORDERS = {"<": "<", ">": ">", "=": "=", "little": "<", "big": ">", "native": "="}


def _order_name(byte_order: str) -> str:
    order = _BYTE_ORDERS.get(str(byte_order).lower() if len(str(byte_order)) > 1 else str(byte_order), "=")
    return {"<": "little", ">": "big", "=": "native"}[order]


def raw_dtype(dtype: str | np.dtype | type, byte_order: str, path: Path | None = None) -> np.dtype:
    """numpy dtype with the given byte order ('<' little, '>' big, '=' native).

    Raises
    ------
    LiCellInputError
        Unknown dtype or byte order.
    """
    try:
        dt = np.dtype(dtype)
    except (TypeError, ValueError):
        raise LiCellInputError(path, f"unknown pixel type {dtype!r}", "use e.g. 'uint16', 'float32'") from None
    order = _BYTE_ORDERS.get(str(byte_order).lower() if len(str(byte_order)) > 1 else str(byte_order))
    if order is None:
        raise LiCellInputError(
            path, f"unknown byte order {byte_order!r}", "use '<' (little-endian) or '>' (big-endian)"
        )
    if dt.kind not in "biuf" or dt.fields is not None:
        raise LiCellInputError(
            path, f"pixel type {dt} is not supported for raw volumes", "use an integer or float type"
        )
    return dt.newbyteorder(order) if dt.itemsize > 1 else dt


def read_raw_volume(
    path: str | os.PathLike,
    shape: Sequence[int],
    dtype: str | np.dtype | type,
    *,
    byte_order: str = "<",
    header_bytes: int = 0,
) -> FoundVolume:
    """Memory-map a raw binary volume.

    Parameters
    ----------
    path : path-like
        The file.
    shape : (z, y, x) or (y, x)
        Array shape in voxels, slowest axis first. One entry may be -1 to be
        worked out from the file size (usually z).
    dtype : str or numpy dtype
        Pixel type, e.g. ``"uint16"``, ``"float32"``.
    byte_order : {'<', '>', '=', 'little', 'big', 'native'}
        Byte order of multi-byte pixels.
    header_bytes : int
        Bytes to skip at the start of the file.

    Returns
    -------
    FoundVolume
        Dask array in native byte order; no voxel size (raw files hold none).

    Raises
    ------
    LiCellInputError
        Bad parameters or a file size that does not match them.
    """
    p = Path(path)
    dt = raw_dtype(dtype, byte_order, p)
    try:
        dims = [int(s) for s in shape]
    except (TypeError, ValueError):
        raise LiCellInputError(p, f"raw shape {shape!r} is not a list of integers", "give (z, y, x)") from None
    try:
        header = int(header_bytes)
    except (TypeError, ValueError):
        raise LiCellInputError(p, f"header size {header_bytes!r} is not an integer", "give bytes to skip") from None
    if header < 0:
        raise LiCellInputError(p, f"header size {header} is negative", "give the number of bytes to skip, 0 or more")
    if len(dims) not in (2, 3):
        raise LiCellInputError(p, f"raw shape {tuple(dims)} needs 2 or 3 dimensions", "give (z, y, x)")
    if dims.count(-1) > 1 or any(d == 0 or d < -1 for d in dims):
        raise LiCellInputError(p, f"raw shape {tuple(dims)} is not valid", "give positive sizes; at most one may be -1")
    try:
        actual = p.stat().st_size
    except OSError as exc:
        raise LiCellInputError(p, f"cannot be opened: {exc.strerror or exc}", "check the path") from None
    if actual == 0:
        raise LiCellInputError(p, "is empty (0 bytes)", "the file was not written completely")
    if -1 in dims:
        known = int(np.prod([d for d in dims if d != -1], dtype=np.int64)) * dt.itemsize
        payload = actual - header
        if payload <= 0 or payload % known:
            raise LiCellInputError(
                p,
                f"size {actual} bytes minus header {header} is not a whole number of "
                f"{' x '.join('?' if d == -1 else str(d) for d in dims)} {dt.name} blocks",
                "check the shape, pixel type and header size",
            )
        dims[dims.index(-1)] = payload // known
    expected = header + int(np.prod(dims, dtype=np.int64)) * dt.itemsize
    if expected != actual:
        hint = "check the shape, pixel type and header size"
        slice_bytes = int(np.prod(dims[-2:], dtype=np.int64)) * dt.itemsize
        payload = actual - header
        if len(dims) == 3 and payload > 0 and payload % slice_bytes == 0:
            hint = (
                f"the file holds exactly {payload // slice_bytes} slices of {dims[-2]} x {dims[-1]} {dt.name}; {hint}"
            )
        raise LiCellInputError(
            p,
            f"size does not match the raw parameters: expected {expected} bytes "
            f"(header {header} + {' x '.join(map(str, dims))} x {dt.itemsize} bytes), file has {actual} bytes",
            hint,
        )
    source = ContiguousSource(p, header, tuple(dims), dt)
    data = source_to_dask(source, name_prefix="licell-raw")
    return FoundVolume(
        data=data,
        voxel_size_um=None,
        voxel_source="",
        name=strip_image_suffix(p.name),
        format="raw",
        metadata={
            "raw_shape": list(dims),
            "raw_dtype": dt.name,
            "raw_byte_order": _order_name(byte_order),
            "raw_header_bytes": header,
            "lazy": "pread",
        },
    )
