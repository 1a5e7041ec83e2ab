"""Multi-page TIFF, ImageJ hyperstack and OME-TIFF volumes, read lazily.

Uncompressed contiguous pixel data is memory-mapped; compressed or tiled data
is read page by page through tifffile's zarr store. Either way the result is
a dask array and nothing is decoded until a slice is asked for.

Voxel size, in micrometres:

* OME-TIFF: ``PhysicalSizeX/Y/Z`` with their ``...Unit`` attributes
  (default micrometre, as the OME schema says).
* ImageJ: ``1 / XResolution`` and ``1 / YResolution`` with the description's
  ``unit`` (um, micron, µm, nm, mm, cm, ...) and ``spacing`` for z. As in
  ImageJ, a stack without ``spacing`` is 1 ``unit`` deep. ``unit=pixel`` or
  none means no voxel size.
* Plain TIFF: XResolution/YResolution only with ResolutionUnit centimetre;
  inch resolutions (the 72 dpi default of many writers) are print settings
  and are ignored. z is then taken equal to x (noted in the metadata).
"""

from __future__ import annotations

import json
import logging
import os
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import LiCellInputError
from .found_volume import FoundVolume
from .lazy_arrays import LazySource, ContiguousSource, TiffZarrSource, source_to_dask
from .voxel_size import unit_to_um

__all__ = [
    "read_tiff_volume",
    "tiff_voxel_size",
    "open_tiff",
    "strip_image_suffix",
    "TIFF_SUFFIXES",
    "is_tiff_bytes",
    "licell_info",
]

#: File name endings of TIFF files (lower case).
TIFF_SUFFIXES = (".tif", ".tiff", ".ome.tif", ".ome.tiff", ".btf", ".tf8")

_TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")

# tifffile log messages that mean the file is cut short or damaged.
_DAMAGE_WORDS = (
    "invalid page offset",
    "invalid value offset",
    "invalid tag value offset",
    "failed to read",
    "corrupt",
    "failed to reshape",
    "truncat",
    "invalid ifd",
    "circular",
)

# Pages above this size are read in tifffile's own strips/tiles, not whole.
_MAX_PAGE_CHUNK_BYTES = 256 * 2**20


def is_tiff_bytes(head: bytes) -> bool:
    """True when ``head`` (the first 4 bytes of a file) is a TIFF or BigTIFF header."""
    return head[:4] in _TIFF_MAGIC


def strip_image_suffix(name: str) -> str:
    """File name without .ome.tif/.tif/.tiff/.h5/.zarr ... (the layer name)."""
    lower = name.lower()
    for suffix in (
        ".ome.tiff",
        ".ome.tif",
        ".ome.zarr",
        ".tiff",
        ".tif",
        ".btf",
        ".tf8",
        ".hdf5",
        ".h5",
        ".nxs",
        ".zarr",
        ".raw",
        ".bin",
        ".vol",
    ):
        if lower.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def _tifffile_log() -> Iterator[_Collect]:
    logger = logging.getLogger("tifffile")
    handler = _Collect()
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


def _damage_message(records: list[logging.LogRecord]) -> str | None:
    for rec in records:
        msg = rec.getMessage()
        if rec.levelno >= logging.ERROR and any(w in msg.lower() for w in _DAMAGE_WORDS):
            return msg
    return None


def open_tiff(path: str | os.PathLike) -> Any:
    """Open a TIFF with tifffile, turning failures into :class:`LiCellInputError`.

    Parameters
    ----------
    path : path-like
        The file.

    Returns
    -------
    tifffile.TiffFile
        Open file; the caller closes it.
    """
    import tifffile

    p = Path(path)
    try:
        size = p.stat().st_size
    except OSError as exc:
        raise LiCellInputError(p, f"cannot be opened: {exc.strerror or exc}", "check the path") from None
    if size == 0:
        raise LiCellInputError(p, "is empty (0 bytes)", "the file was not written completely; export it again")
    with open(p, "rb") as fh:
        head = fh.read(4)
    if not is_tiff_bytes(head):
        raise LiCellInputError(
            p,
            f"is not a TIFF file (it starts with {head!r})",
            "check the file type; CT volumes are read from TIFF, HDF5, zarr or raw files",
        )
    try:
        return tifffile.TiffFile(p)
    except Exception as exc:  # noqa: BLE001 - every parse failure is bad input
        raise LiCellInputError(
            p, f"is not a readable TIFF file ({exc})", "the file may be truncated or damaged"
        ) from None


def _rational(value: Any) -> float | None:
    try:
        if isinstance(value, tuple):
            num, den = value[0], value[1]
            if not den:
                return None
            r = float(num) / float(den)
        else:
            r = float(value)
    except (TypeError, ValueError, IndexError, ZeroDivisionError):
        return None
    if not np.isfinite(r) or r <= 0:
        return None
    return r


def _clean(v: float) -> float:
    """Round to 7 significant digits (TIFF rationals carry float noise)."""
    return float(f"{v:.7g}")


def _tag(page: Any, name: str) -> Any:
    tag = page.tags.get(name)
    return None if tag is None else tag.value


def _ome_voxel_size(xml: str) -> tuple[tuple[float, float, float] | None, list[str]]:
    notes: list[str] = []
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:
        return None, [f"OME-XML could not be parsed ({exc}); voxel size not read"]
    pixels = next((el for el in root.iter() if el.tag.rsplit("}", 1)[-1] == "Pixels"), None)
    if pixels is None:
        return None, notes

    def size(axis: str) -> float | None:
        raw = pixels.get(f"PhysicalSize{axis}")
        if raw is None:
            return None
        unit = pixels.get(f"PhysicalSize{axis}Unit", "µm")
        factor = unit_to_um(unit)
        try:
            value = float(raw)
        except ValueError:
            notes.append(f"PhysicalSize{axis}={raw!r} is not a number")
            return None
        if factor is None:
            notes.append(f"PhysicalSize{axis}Unit={unit!r} is not a length unit")
            return None
        return _clean(value * factor)

    x, y, z = size("X"), size("Y"), size("Z")
    if x is None:
        return None, notes
    if y is None:
        y = x
    if z is None:
        z = x
        notes.append("OME-XML has no PhysicalSizeZ: z spacing taken equal to x")
    return (z, y, x), notes


def _imagej_voxel_size(
    ij: dict[str, Any], page: Any, single_slice: bool = False
) -> tuple[tuple[float, float, float] | None, list[str]]:
    notes: list[str] = []
    unit = ij.get("unit")
    fx = unit_to_um(unit)
    if fx is None:
        if unit not in (None, "", "pixel", "pixels"):
            notes.append(f"ImageJ unit {unit!r} is not a length unit; voxel size not read")
        return None, notes
    fy = unit_to_um(ij["yunit"]) if ij.get("yunit") else fx
    fz = unit_to_um(ij["zunit"]) if ij.get("zunit") else fx
    if fy is None or fz is None:
        notes.append("ImageJ yunit/zunit is not a length unit; voxel size not read")
        return None, notes
    xres = _rational(_tag(page, "XResolution")) or 1.0
    yres = _rational(_tag(page, "YResolution")) or xres
    x, y = _clean(fx / xres), _clean(fy / yres)
    spacing = ij.get("spacing")
    try:
        depth = float(spacing) if spacing is not None else None
    except (TypeError, ValueError):
        depth = None
    if depth is None or not np.isfinite(depth) or depth <= 0:
        if single_slice:
            notes.append("slice spacing not stored: z spacing taken equal to x")
            return (x, y, x), notes
        notes.append(f"ImageJ metadata has no valid 'spacing': z is ImageJ's default of 1 {unit}")
        depth = 1.0
    return (_clean(depth * fz), y, x), notes


def _tiff_resolution_voxel_size(page: Any) -> tuple[tuple[float, float, float] | None, list[str]]:
    notes: list[str] = []
    unit = _tag(page, "ResolutionUnit")
    unit_code = int(getattr(unit, "value", unit)) if unit is not None else 2  # TIFF default: inch
    xres = _rational(_tag(page, "XResolution"))
    if xres is None:
        return None, notes
    if unit_code == 3:  # centimetre
        yres = _rational(_tag(page, "YResolution")) or xres
        x, y = _clean(1e4 / xres), _clean(1e4 / yres)
        notes.append("z spacing not stored in the TIFF: taken equal to x")
        return (x, y, x), notes
    if unit_code == 2:
        notes.append(f"TIFF resolution {xres:g} dpi is a print setting; no voxel size read")
    return None, notes


def tiff_voxel_size(
    tif: Any, *, single_slice: bool = False
) -> tuple[tuple[float, float, float] | None, str, list[str]]:
    """Voxel size stored in an open TIFF file.

    Parameters
    ----------
    tif : tifffile.TiffFile
        Open file.
    single_slice : bool
        The file is one slice of a folder: a missing ImageJ ``spacing`` then
        means "unknown" (z taken equal to x), not ImageJ's 1 unit.

    Returns
    -------
    voxel_size_um : (z, y, x) in micrometres or None
    source : str
        "ome", "imagej", "tiff-resolution" or "" when none.
    notes : list of str
        Remarks worth keeping in the metadata (missing z spacing, odd units).
    """
    page = tif.pages.first
    notes: list[str] = []
    if tif.is_ome and tif.ome_metadata:
        voxel, notes = _ome_voxel_size(tif.ome_metadata)
        if voxel is not None:
            return voxel, "ome", notes
    if tif.is_imagej:
        voxel, more = _imagej_voxel_size(tif.imagej_metadata or {}, page, single_slice)
        notes += more
        if voxel is not None:
            return voxel, "imagej", notes
        return None, "", notes
    voxel, more = _tiff_resolution_voxel_size(page)
    notes += more
    if voxel is not None:
        return voxel, "tiff-resolution", notes
    return None, "", notes


def licell_info(tif: Any) -> dict[str, Any] | None:
    """napari-licell's own JSON metadata (ImageJ ``Info`` or OME ``Description``), if any."""
    texts: list[str] = []
    if tif.is_imagej:
        info = (tif.imagej_metadata or {}).get("Info")
        if isinstance(info, str):
            texts.append(info)
    if tif.is_ome and tif.ome_metadata:
        try:
            root = ET.fromstring(tif.ome_metadata)
            texts += [el.text or "" for el in root.iter() if el.tag.rsplit("}", 1)[-1] == "Description"]
        except ET.ParseError:
            pass
    for text in texts:
        if "napari_licell" not in text:
            continue
        try:
            value = json.loads(text)
        except ValueError:
            continue
        if isinstance(value, dict) and isinstance(value.get("napari_licell"), dict):
            return value["napari_licell"]
    return None


def _plain_metadata(meta: dict[str, Any] | None) -> dict[str, Any]:
    """Keep the small scalar entries of ImageJ metadata (drop LUTs, ranges, overlays)."""
    out: dict[str, Any] = {}
    for key, value in (meta or {}).items():
        if isinstance(value, (str, int, float, bool)) and len(str(value)) <= 200:
            out[str(key)] = value
    return out


def _level_axes(level: Any) -> str:
    """The level's axes, relabelled 'Q..QYX' when tifffile mislabels degenerate 1-pixel shapes.

    With one sample per pixel the series shape is the C-order layout of the
    decoded pixels, so its last two axes can always be read as (y, x).
    """
    axes, shape = level.axes, tuple(level.shape)
    if axes.endswith("YX") or axes.endswith("YXS"):
        return axes
    key = level.keyframe
    if key is not None and getattr(key, "samplesperpixel", 1) == 1 and len(shape) >= 2:
        return "Q" * (len(shape) - 2) + "YX"
    return axes


def _stack_index(path: Path, axes: str, shape: tuple[int, ...]) -> tuple[tuple[Any, ...], str | None]:
    """Index that drops singleton axes; the one remaining non-(y, x) axis is z."""
    if not (axes.endswith("YX") or axes.endswith("YXS")):
        raise LiCellInputError(path, f"has an unsupported axis order {axes!r}", "save the volume as a (z, y, x) stack")
    sizes = dict(zip(axes, shape))
    if sizes.get("S", 1) > 1:
        raise LiCellInputError(
            path,
            f"is a colour (RGB) image with {sizes['S']} samples per pixel; CT volumes are greyscale",
            "convert it to greyscale (Fiji: Image > Type > 16-bit) and save again",
        )
    stacking = [(a, n) for a, n in zip(axes, shape) if a not in "YXS" and n > 1]
    if len(stacking) > 1:
        described = ", ".join(f"{a}={n}" for a, n in stacking)
        raise LiCellInputError(
            path,
            f"has more than one stacking axis ({described}); a volume has one (z)",
            "save one channel and one time point as a (z, y, x) stack "
            "(Fiji: Image > Hyperstacks > Reduce Dimensionality)",
        )
    if stacking and stacking[0][0] == "C":
        raise LiCellInputError(
            path,
            f"holds {stacking[0][1]} channels of one 2D image, not slices of a volume",
            "in Fiji, Image > Hyperstacks > Re-order Hyperstack to make the channels slices",
        )
    index: list[Any] = []
    for a, n in zip(axes, shape):
        if a in "YX" or (a not in "YXS" and n > 1):
            index.append(slice(None))
        else:
            index.append(0)
    stack_axis = stacking[0][0] if stacking else None
    return tuple(index), stack_axis


def _check_page_ranges(path: Path, level: Any, file_size: int) -> None:
    for i, page in enumerate(level):
        if page is None:
            raise LiCellInputError(
                path, f"is truncated or damaged: page {i} is missing", "copy the file again from the source"
            )
        offsets = page.dataoffsets
        counts = page.databytecounts
        if len(offsets) == 0:
            raise LiCellInputError(
                path, f"is damaged: page {i} has no pixel data", "copy the file again from the source"
            )
        end = max(int(o) + int(c) for o, c in zip(offsets, counts))
        if end > file_size:
            raise LiCellInputError(
                path,
                f"is truncated: page {i} needs bytes up to {end} but the file has {file_size}",
                "the file was cut short (interrupted copy or export?); copy it again",
            )


def _level_source(path: Path, tif: Any, level: Any, level_index: int, file_size: int) -> tuple[LazySource, str]:
    dtype = level.dtype
    offset = level.dataoffset
    if offset is not None:
        nbytes = int(np.prod(level.shape, dtype=np.int64)) * dtype.itemsize
        if offset + nbytes > file_size:
            raise LiCellInputError(
                path,
                f"is truncated: pixel data needs {offset + nbytes} bytes but the file has {file_size}",
                "the file was cut short (interrupted copy or export?); copy it again",
            )
        file_dtype = np.dtype(dtype).newbyteorder(tif.byteorder)
        return ContiguousSource(path, offset, level.shape, file_dtype), "pread"
    _check_page_ranges(path, level, file_size)
    keyframe = level.keyframe
    page_bytes = int(keyframe.nbytes) if keyframe is not None else 0
    source = TiffZarrSource(path, 0, level_index, level.shape, dtype, page_chunks=page_bytes <= _MAX_PAGE_CHUNK_BYTES)
    return source, "tiff-zarr"


def read_tiff_volume(path: str | os.PathLike) -> FoundVolume:
    """Read a multi-page TIFF, ImageJ hyperstack or OME-TIFF lazily.

    Parameters
    ----------
    path : path-like
        The TIFF file.

    Returns
    -------
    FoundVolume
        2D or 3D dask array, the voxel size in micrometres found in the file
        (or None) and metadata (``tiff_axes``, ``tiff_compression``, ``lazy``,
        ``multiscale_levels`` for pyramidal files, ImageJ entries, notes).

    Raises
    ------
    LiCellInputError
        Empty, not a TIFF, truncated or damaged file, colour or multi-channel image,
        unsupported pixel type.
    """
    p = Path(path)
    with _tifffile_log() as log:
        tif = open_tiff(p)
        try:
            file_size = p.stat().st_size
            try:
                series = tif.series
                if not series:
                    raise LiCellInputError(p, "holds no image", "check the file was saved completely")
                s0 = series[0]
                levels = list(s0.levels)
                level0 = levels[0]
                axes, shape, dtype = _level_axes(level0), tuple(level0.shape), level0.dtype
                damage = _damage_message(log.records)
                if damage:
                    raise LiCellInputError(
                        p, f"is truncated or damaged (tifffile: {damage})", "copy the file again from the source"
                    )
                if dtype is None:
                    raise LiCellInputError(
                        p,
                        "has a pixel type that cannot be read "
                        f"(bits per sample {level0.keyframe.bitspersample}, sample format {level0.keyframe.sampleformat})",
                        "save the volume as 8/16-bit integer or 32-bit float greyscale",
                    )
                _, stack_axis = _stack_index(p, axes, shape)
                voxel, voxel_source, notes = tiff_voxel_size(tif)
                kind = "ome-tiff" if tif.is_ome else "imagej-tiff" if tif.is_imagej else "tiff"
                metadata: dict[str, Any] = {
                    "tiff_axes": axes,
                    "tiff_shape": list(shape),
                    "tiff_compression": str(getattr(level0.keyframe.compression, "name", level0.keyframe.compression)),
                    "tiff_series_count": len(series),
                }
                if tif.is_imagej:
                    metadata["imagej"] = _plain_metadata(tif.imagej_metadata)
                    metadata["imagej"].pop("Info", None)
                licell = licell_info(tif)
                if licell is not None:
                    metadata["licell"] = licell
                if stack_axis not in (None, "Z", "I", "Q"):
                    notes.append(f"slices are stored along TIFF axis {stack_axis!r}; read as z")
                sources = [_level_source(p, tif, lv, i, file_size) for i, lv in enumerate(levels)]
                damage = _damage_message(log.records)  # reading every page's header may find more
                if damage:
                    raise LiCellInputError(
                        p, f"is truncated or damaged (tifffile: {damage})", "copy the file again from the source"
                    )
            except LiCellInputError:
                raise
            except MemoryError:
                raise LiCellInputError(
                    p, "claims an image too large to describe in memory", "the file is probably damaged"
                ) from None
            except Exception as exc:  # noqa: BLE001 - any parse failure is bad input
                raise LiCellInputError(
                    p, f"is a damaged TIFF file ({type(exc).__name__}: {exc})", "copy the file again from the source"
                ) from None
        finally:
            tif.close()
        warnings = [r.getMessage() for r in log.records]
    arrays = []
    for (source, _), lv in zip(sources, levels):
        lv_index, _ = _stack_index(p, _level_axes(lv), tuple(lv.shape))
        arrays.append(source_to_dask(source, name_prefix="licell-tiff")[lv_index])
    metadata["lazy"] = sources[0][1]
    if len(arrays) > 1:
        metadata["multiscale_levels"] = arrays
    if notes:
        metadata["voxel_size_note"] = "; ".join(notes)
    if warnings:
        metadata["tiff_warnings"] = warnings[:20]
    return FoundVolume(
        data=arrays[0],
        voxel_size_um=voxel,
        voxel_source=voxel_source,
        name=strip_image_suffix(p.name),
        format=kind,
        metadata=metadata,
    )
