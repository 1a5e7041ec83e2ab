"""Voxel sizes: length units to micrometres, checks, and the user-versus-file choice.

Every reader reports the voxel size it found in the file (or None) and lets
:func:`resolve_voxel_size` decide what the :class:`~napari_licell.io.volume.Volume`
gets: a value typed by the user wins, then the file's value, then the
paper's default (0.54 um) with ``voxel_size_assumed=True``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

from ..errors import LiCellInputError
from .volume import DEFAULT_VOXEL_SIZE_UM

__all__ = [
    "assumed_voxel_size_warning",
    "MIN_VOXEL_SIZE_UM",
    "MAX_VOXEL_SIZE_UM",
    "unit_to_um",
    "as_voxel_size_um",
    "check_voxel_size_um",
    "resolve_voxel_size",
]

#: Smallest voxel size accepted (1 nm), in micrometres.
MIN_VOXEL_SIZE_UM = 1e-3
#: Largest voxel size accepted (10 mm), in micrometres.
MAX_VOXEL_SIZE_UM = 1e4

# Length unit names found in ImageJ ("unit="), OME-XML (PhysicalSizeXUnit),
# OME-Zarr axes (UDUNITS names) and HDF5 "units" attributes -> micrometres.
_UNIT_UM: dict[str, float] = {
    "pm": 1e-6,
    "picometer": 1e-6,
    "picometre": 1e-6,
    "a": 1e-4,
    "å": 1e-4,
    "\u212b": 1e-4,  # ANGSTROM SIGN
    "angstrom": 1e-4,
    "nm": 1e-3,
    "nanometer": 1e-3,
    "nanometre": 1e-3,
    "nanometers": 1e-3,
    "um": 1.0,
    "µm": 1.0,  # MICRO SIGN
    "\u03bcm": 1.0,  # GREEK SMALL LETTER MU
    "\\u00b5m": 1.0,  # ImageJ escapes non-ASCII in its TIFF description
    "micron": 1.0,
    "microns": 1.0,
    "micrometer": 1.0,
    "micrometre": 1.0,
    "micrometers": 1.0,
    "micrometres": 1.0,
    "mm": 1e3,
    "millimeter": 1e3,
    "millimetre": 1e3,
    "millimeters": 1e3,
    "cm": 1e4,
    "centimeter": 1e4,
    "centimetre": 1e4,
    "dm": 1e5,
    "m": 1e6,
    "meter": 1e6,
    "metre": 1e6,
    "in": 25400.0,
    "inch": 25400.0,
}

# Names that say "no physical unit".
_NO_UNIT = {"", "pixel", "pixels", "px", "none", "reference frame", "referenceframe"}


def unit_to_um(unit: str | bytes | None) -> float | None:
    """Micrometres per one ``unit``, or None when the unit is absent or not a length.

    Parameters
    ----------
    unit : str or bytes or None
        A length unit as written by ImageJ, OME, OME-Zarr or HDF5 files
        ("um", "micron", "µm", "nm", "mm", "cm", "micrometer", ...).

    Returns
    -------
    float or None
        Size of one ``unit`` in micrometres; None for "pixel", empty or unknown units.
    """
    if unit is None:
        return None
    if isinstance(unit, bytes):
        unit = unit.decode("latin-1", errors="replace")
    key = str(unit).strip().lower()
    if key in _NO_UNIT:
        return None
    return _UNIT_UM.get(key)


def as_voxel_size_um(value: float | Sequence[float] | None) -> tuple[float, float, float] | None:
    """Turn a scalar (isotropic) or a (z, y, x) sequence into a 3-tuple of floats.

    Parameters
    ----------
    value : float or sequence of 3 floats or None
        Voxel size in micrometres.

    Returns
    -------
    tuple of 3 floats or None

    Raises
    ------
    ValueError
        If ``value`` is neither a number nor a sequence of 3 numbers.
    """
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        v = float(value)
        return (v, v, v)
    try:
        items = [float(v) for v in value]  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise ValueError(f"voxel size must be a number or (z, y, x) numbers, not {value!r}") from None
    if len(items) != 3:
        raise ValueError(f"voxel size needs 3 values (z, y, x), got {len(items)}: {value!r}")
    return (items[0], items[1], items[2])


def check_voxel_size_um(
    voxel_size_um: tuple[float, float, float], path: str | os.PathLike | None, *, origin: str
) -> tuple[float, float, float]:
    """Raise :class:`LiCellInputError` unless every size lies in 1 nm .. 10 mm.

    Parameters
    ----------
    voxel_size_um : tuple of 3 floats
        (z, y, x) voxel size in micrometres.
    path : path-like or None
        The file the value belongs to (for the message).
    origin : str
        Where the value came from ("given", "stored in the file"), for the message.

    Returns
    -------
    tuple of 3 floats
        The same value.
    """
    for axis, v in zip("zyx", voxel_size_um):
        if not math.isfinite(v) or v <= 0:
            raise LiCellInputError(
                path,
                f"voxel size {origin} is not a positive number ({axis} = {v!r} um)",
                "give the voxel size in micrometres, e.g. 0.54",
            )
        if v < MIN_VOXEL_SIZE_UM or v > MAX_VOXEL_SIZE_UM:
            raise LiCellInputError(
                path,
                f"voxel size {origin} is implausible ({axis} = {v:g} um; "
                f"expected {MIN_VOXEL_SIZE_UM * 1000:g} nm .. {MAX_VOXEL_SIZE_UM / 1000:g} mm)",
                "give the voxel size in micrometres (e.g. 0.54 for 540 nm)",
            )
    return voxel_size_um


def resolve_voxel_size(
    path: str | os.PathLike | None,
    *,
    given: float | Sequence[float] | None,
    from_file: tuple[float, float, float] | None,
    file_source: str = "",
) -> tuple[tuple[float, float, float], bool, dict[str, object]]:
    """Choose the voxel size of a volume: user value, else file value, else default.

    Parameters
    ----------
    path : path-like or None
        The file (for error messages).
    given : float or (z, y, x) or None
        Voxel size typed by the user in micrometres; overrides the file.
    from_file : (z, y, x) or None
        Voxel size the reader found in the file, in micrometres.
    file_source : str
        Where in the file it was found ("imagej", "ome", ...).

    Returns
    -------
    voxel_size_um : tuple of 3 floats
        (z, y, x) in micrometres.
    assumed : bool
        True when the file holds no voxel size (the value is the default or
        was typed in), as :attr:`Volume.voxel_size_assumed` defines it.
    info : dict
        Metadata entries: ``voxel_size_source`` and, when the user overrode a
        value stored in the file, ``file_voxel_size_um``.
    """
    info: dict[str, object] = {}
    try:
        user = as_voxel_size_um(given)
    except ValueError as exc:
        raise LiCellInputError(path, str(exc), "give one number or three (z, y, x) in micrometres") from None
    if user is not None:
        check_voxel_size_um(user, path, origin="given")
        info["voxel_size_source"] = "user"
        if from_file is not None:
            info["file_voxel_size_um"] = list(from_file)
        return user, from_file is None, info
    if from_file is not None:
        check_voxel_size_um(from_file, path, origin=f"stored in the file ({file_source or 'metadata'})")
        info["voxel_size_source"] = file_source or "file"
        return from_file, False, info
    info["voxel_size_source"] = "default"
    return (DEFAULT_VOXEL_SIZE_UM,) * 3, True, info


def assumed_voxel_size_warning(volume: object, parameters: dict | None, voxel_size_um) -> str | None:
    """The one command-line warning line when a scan's voxel size was assumed, else None.

    Parameters
    ----------
    volume : path-like
        The scan (named in the line).
    parameters : dict
        The measurements' parameters; ``voxel_size_source == "default"`` means assumed
        (found in the file or typed in is not).
    voxel_size_um : sequence of float
        The voxel size used, in micrometres.
    """
    if (parameters or {}).get("voxel_size_source") != "default" or not voxel_size_um:
        return None
    size = " x ".join(f"{v:g}" for v in sorted(set(float(v) for v in voxel_size_um)))
    return f"warning: {volume}: the scan holds no voxel size; assumed {size} µm for every length (give --voxel-size-um)"
