"""What a format reader found, and the checks that turn it into a :class:`Volume`.

Every family reader (TIFF, slice folder, HDF5, zarr, raw) returns a
:class:`FoundVolume`: a lazy dask array plus the voxel size it found in the
file, if any. :func:`finish_volume` then applies the rules shared by all
formats: supported dtype, at least 2 slices where a volume is needed,
voxel size (user > file > default), and a read of the first slice only (what
the first view needs), which catches a file whose pixel data cannot be
decoded at all. Damage further in surfaces as :class:`LiCellInputError`
when that slice is read. NaN and infinite values of float scans are kept:
instruments write NaN outside the reconstruction circle, and every step
treats non-finite voxels as no data (background).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import LiCellInputError
from .volume import Volume
from .voxel_size import resolve_voxel_size

__all__ = ["FoundVolume", "finish_volume", "first_slice_index", "sample_slice_indices", "SUPPORTED_DTYPES"]

#: dtypes a volume may have (after bool -> uint8 and float16 -> float32).
SUPPORTED_DTYPES: tuple[np.dtype, ...] = tuple(
    np.dtype(c) for c in ("u1", "u2", "u4", "u8", "i1", "i2", "i4", "i8", "f4", "f8")
)


@dataclass
class FoundVolume:
    """A lazily read array and what the file says about it.

    Attributes
    ----------
    data : dask.array.Array
        2D (y, x) or 3D (z, y, x) lazy array in native byte order.
    voxel_size_um : tuple of 3 floats or None
        (z, y, x) voxel size in micrometres found in the file, None if absent.
    voxel_source : str
        Where the voxel size was found ("imagej", "ome", "dxchange", ...).
    name : str
        Display name.
    format : str
        Detected format ("tiff", "imagej-tiff", "ome-tiff", "tiff-slices",
        "hdf5", "zarr", "ome-zarr", "raw").
    metadata : dict
        Format details worth keeping.
    """

    data: Any
    voxel_size_um: tuple[float, float, float] | None
    voxel_source: str
    name: str
    format: str
    metadata: dict[str, Any] = field(default_factory=dict)


def first_slice_index(n: int) -> list[int]:
    """The slices :func:`finish_volume` reads to check a volume: the first one only (empty for none)."""
    return [0] if n > 0 else []


def sample_slice_indices(n: int) -> list[int]:
    """First, middle and last slice index of a stack of ``n`` slices (no repeats)."""
    if n <= 0:
        return []
    return sorted({0, n // 2, n - 1})


def _normalise_dtype(data: Any, path: Path | None) -> tuple[Any, str | None]:
    dtype = np.dtype(data.dtype)
    if dtype == np.bool_:
        return data.astype(np.uint8), "bool"
    if dtype == np.float16:
        return data.astype(np.float32), "float16"
    native = dtype.newbyteorder("=")
    if native in SUPPORTED_DTYPES:
        if native != dtype:
            return data.astype(native), dtype.str
        return data, None
    raise LiCellInputError(
        path,
        f"has pixel type {dtype} which is not supported for CT volumes",
        "save the volume as 8/16/32-bit integer or 32-bit float greyscale",
    )


def _shape_text(shape: Sequence[int]) -> str:
    return " x ".join(str(int(s)) for s in shape)


def finish_volume(
    found: FoundVolume,
    path: str | os.PathLike | None,
    *,
    voxel_size_um: float | Sequence[float] | None = None,
    require_3d: bool = True,
    check_slices: bool = True,
) -> Volume:
    """Check a :class:`FoundVolume` and build the :class:`Volume`.

    Parameters
    ----------
    found : FoundVolume
        What the format reader returned.
    path : path-like or None
        The file or folder (for messages and ``Volume.source``).
    voxel_size_um : float or (z, y, x), optional
        Voxel size typed by the user in micrometres; overrides the file.
    require_3d : bool
        Raise for a 2D image (or a single slice). When False a 2D image
        becomes a volume of one slice, shape (1, y, x).
    check_slices : bool
        Read the first slice to catch pixel data that cannot be decoded (the
        rest is read when needed; time to first view stays a few ms). NaN or
        infinite float values are not refused: they count as no data; the
        first slice's count is kept as ``metadata["non_finite_in_first_slice"]``.

    Returns
    -------
    Volume
    """
    p = None if path is None else Path(path)
    data = found.data
    metadata = dict(found.metadata)
    metadata["format"] = found.format

    data, converted = _normalise_dtype(data, p)
    if converted is not None:
        metadata["converted_from_dtype"] = converted
        levels = metadata.get("multiscale_levels")
        if levels:
            metadata["multiscale_levels"] = [lv.astype(data.dtype) for lv in levels]

    shape = tuple(int(s) for s in data.shape)
    if any(s == 0 for s in shape):
        raise LiCellInputError(
            p, f"holds no pixels (shape {_shape_text(shape)})", "check the file was saved completely"
        )
    if data.ndim == 2 or (data.ndim == 3 and shape[0] == 1):
        if require_3d:
            raise LiCellInputError(
                p,
                f"is a 2D image ({_shape_text(shape[-2:])}); a volume needs at least 2 slices",
                "pass the folder (or a glob like 'scan/*.tif') holding all slices, or a multi-page TIFF",
            )
        if data.ndim == 2:
            data = data[None]
            shape = (1, *shape)
    if data.ndim != 3:
        raise LiCellInputError(
            p,
            f"has {data.ndim} dimensions (shape {_shape_text(shape)}); a CT volume has 3 (z, y, x)",
            "save one channel and one time point as a (z, y, x) stack",
        )

    voxel, assumed, info = resolve_voxel_size(
        p, given=voxel_size_um, from_file=found.voxel_size_um, file_source=found.voxel_source
    )
    metadata.update(info)

    if check_slices:
        from dask.local import get_sync  # one slice, read in this thread: no scheduler start-up

        for index in first_slice_index(shape[0]):
            try:
                plane = np.asarray(data[index].compute(scheduler=get_sync))
            except LiCellInputError:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure to decode is bad input
                raise LiCellInputError(
                    p,
                    f"could not read slice {index}: {type(exc).__name__}: {exc}",
                    "the file may be truncated or damaged; copy it again from the source",
                ) from exc
            if plane.dtype.kind == "f":  # NaN outside the reconstruction circle: no data, not an error
                bad = int(plane.size - np.count_nonzero(np.isfinite(plane)))
                if bad:
                    metadata["non_finite_in_first_slice"] = bad

    return Volume(
        data=data, voxel_size_um=voxel, voxel_size_assumed=assumed, source=p, name=found.name, metadata=metadata
    )
