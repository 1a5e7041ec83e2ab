"""Writers for volumes, label volumes and measurement tables. Every write is atomic.

* :func:`write_volume_tiff` - ImageJ TIFF (uint8, uint16, float32) with the
  voxel size in micrometres where ImageJ/Fiji look for it (XResolution,
  YResolution, ``unit=um``, ``spacing``); other pixel types go to OME-TIFF
  with ``PhysicalSizeX/Y/Z`` in micrometres (Fiji reads them through
  Bio-Formats). Dask input is written chunk by chunk; above 4 GB the file is
  BigTIFF.
* :func:`write_labels_tiff` - uint8 class codes (see :mod:`napari_licell.classes`)
  as ImageJ TIFF, marked as labels so the napari reader opens a Labels layer.
* :func:`write_volume_zarr` - OME-Zarr (NGFF 0.4 on zarr format 2, or 0.5 on
  zarr format 3) with a multiscale pyramid, scale in micrometres.
* :func:`write_table_csv`, :func:`write_json` - measurement tables.

napari-licell metadata (kind, class table, anything the caller passes) travels
as JSON in the ImageJ ``Info`` property, the OME ``Description`` or the zarr
attributes under ``napari_licell``.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as _dt
import io
import json
import math
import os
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path, PurePath
from typing import Any

import numpy as np

from ..classes import CLASS_TABLE, LABEL_DTYPE
from ..errors import LiCellInputError
from .atomic import atomic_path, atomic_write_text
from .lazy_arrays import z_chunk_depth
from .voxel_size import as_voxel_size_um, check_voxel_size_um

__all__ = [
    "write_volume_tiff",
    "write_labels_tiff",
    "write_volume_zarr",
    "ngff_attrs",
    "write_table_csv",
    "write_json",
    "to_jsonable",
    "LICELL_METADATA_KEY",
    "IMAGEJ_DTYPES",
    "DEFAULT_ZARR_CHUNKS",
]

#: Key of napari-licell's own metadata in TIFF Info/Description JSON and zarr attributes.
LICELL_METADATA_KEY = "napari_licell"
#: Pixel types ImageJ stores natively; others are written as OME-TIFF.
IMAGEJ_DTYPES = (np.dtype("u1"), np.dtype("u2"), np.dtype("f4"))
#: Default zarr chunk shape (z, y, x).
DEFAULT_ZARR_CHUNKS = (32, 256, 256)

# Above this the TIFF is BigTIFF (tifffile's own threshold).
_BIGTIFF_BYTES = 2**32 - 2**25


def _as_3d(data: Any) -> Any:
    if not hasattr(data, "shape") or not hasattr(data, "dtype"):
        data = np.asarray(data)
    if data.ndim == 2:
        data = data[None]
    if data.ndim != 3:
        raise ValueError(f"a volume must be 2D or 3D (z, y, x), got shape {tuple(data.shape)}")
    return data


def _voxel(voxel_size_um: float | Sequence[float], path: Path) -> tuple[float, float, float]:
    try:
        v = as_voxel_size_um(voxel_size_um)
    except ValueError as exc:
        raise LiCellInputError(path, str(exc), "give one number or (z, y, x) in micrometres") from None
    if v is None:
        raise LiCellInputError(path, "a voxel size is needed to write a volume", "give it in micrometres")
    return check_voxel_size_um(v, path, origin="given")


def _iter_blocks(data: Any, check: Any = None) -> Iterator[np.ndarray]:
    """Yield (n, y, x) numpy blocks of ``data`` along z, one dask chunk at a time.

    ``check`` is called on every block and may return a converted block.
    """
    if isinstance(data, np.ndarray) and not isinstance(data, np.memmap):
        blocks: Iterable[Any] = (data,)
    elif hasattr(data, "dask") and hasattr(data, "blocks"):
        d = data.rechunk({1: -1, 2: -1})
        blocks = (d.blocks[i] for i in range(d.numblocks[0]))
    else:
        depth = z_chunk_depth(tuple(data.shape), np.dtype(data.dtype).itemsize)
        blocks = (data[i : i + depth] for i in range(0, int(data.shape[0]), depth))
    for block in blocks:
        arr = np.asarray(block.compute() if hasattr(block, "compute") else block)
        if check is not None:
            arr = check(arr)
        yield arr


def _iter_pages(data: Any, check: Any = None) -> Iterator[np.ndarray]:
    for block in _iter_blocks(data, check):
        yield from block


def _licell_json(kind: str, voxel: tuple[float, float, float], metadata: Mapping[str, Any] | None) -> str:
    info: dict[str, Any] = {"kind": kind, "voxel_size_um": list(voxel)}
    if metadata:
        info["metadata"] = to_jsonable(dict(metadata))
    return json.dumps({LICELL_METADATA_KEY: info}, allow_nan=False)


def _write_tiff_pages(
    tmp: Path,
    pages: Iterator[np.ndarray],
    shape: tuple[int, int, int],
    dtype: np.dtype,
    voxel: tuple[float, float, float],
    info_json: str,
    compression: str | None,
    bigtiff: bool | None,
) -> None:
    import tifffile

    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    big = nbytes > _BIGTIFF_BYTES if bigtiff is None else bool(bigtiff)
    z, y, x = voxel
    if dtype in IMAGEJ_DTYPES:
        options: dict[str, Any] = {
            "resolution": (1.0 / x, 1.0 / y),
            "metadata": {"axes": "ZYX", "spacing": z, "unit": "um", "Info": info_json},
        }
        writer_kw: dict[str, Any] = {"imagej": True}
    else:
        options = {
            "resolution": (1e4 / x, 1e4 / y),
            "resolutionunit": "CENTIMETER",
            "metadata": {
                "axes": "ZYX",
                "PhysicalSizeX": x,
                "PhysicalSizeXUnit": "µm",
                "PhysicalSizeY": y,
                "PhysicalSizeYUnit": "µm",
                "PhysicalSizeZ": z,
                "PhysicalSizeZUnit": "µm",
                "Description": info_json,
            },
        }
        writer_kw = {"ome": True}
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*nonconformant BigTIFF ImageJ.*")
        with tifffile.TiffWriter(tmp, bigtiff=big, **writer_kw) as tif:
            tif.write(pages, shape=shape, dtype=dtype, compression=compression, software="napari-licell", **options)


def write_volume_tiff(
    path: str | os.PathLike,
    data: Any,
    voxel_size_um: float | Sequence[float],
    *,
    metadata: Mapping[str, Any] | None = None,
    compression: str | None = None,
    bigtiff: bool | None = None,
) -> Path:
    """Write a (z, y, x) volume as a TIFF that ImageJ/Fiji open with the voxel size.

    Parameters
    ----------
    path : path-like
        Output file (.tif). Replaced atomically.
    data : array-like
        (z, y, x) or (y, x) numpy, dask or zarr array. Dask arrays are
        computed and written one chunk (along z) at a time.
    voxel_size_um : float or (z, y, x)
        Voxel size in micrometres.
    metadata : mapping, optional
        JSON-able extra information, stored under ``napari_licell``.
    compression : str, optional
        tifffile compression ("zlib", "zstd", "lzw", ...). Default none, which
        keeps the file memory-mappable and fastest to open.
    bigtiff : bool, optional
        Force (True) or forbid (False) BigTIFF; default: BigTIFF above 4 GB.

    Returns
    -------
    Path
        The written file.
    """
    p = Path(path)
    voxel = _voxel(voxel_size_um, p)
    data = _as_3d(data)
    dtype = np.dtype(data.dtype).newbyteorder("=")
    if dtype == np.bool_:
        dtype = np.dtype("u1")
    if dtype == np.float16:
        dtype = np.dtype("f4")
    shape = tuple(int(s) for s in data.shape)

    def to_dtype(block: np.ndarray) -> np.ndarray:
        return block.astype(dtype, copy=False)

    info = _licell_json("image", voxel, metadata)
    with atomic_path(p) as tmp:
        _write_tiff_pages(tmp, _iter_pages(data, to_dtype), shape, dtype, voxel, info, compression, bigtiff)
    return p


def write_labels_tiff(
    path: str | os.PathLike,
    labels: Any,
    voxel_size_um: float | Sequence[float],
    *,
    metadata: Mapping[str, Any] | None = None,
    compression: str | None = "zlib",
) -> Path:
    """Write a label volume of class codes as uint8 ImageJ TIFF.

    Parameters
    ----------
    path : path-like
        Output file (.tif). Replaced atomically.
    labels : array-like
        (z, y, x) or (y, x) integer or boolean array of class codes
        (:mod:`napari_licell.classes`, 0..6); any value in 0..255 is accepted.
    voxel_size_um : float or (z, y, x)
        Voxel size in micrometres.
    metadata : mapping, optional
        JSON-able extra information (thresholds, source scan, ...).
    compression : str, optional
        Default "zlib": label volumes compress well.

    Returns
    -------
    Path

    Raises
    ------
    LiCellInputError
        Non-integer data or codes outside 0..255 (the previous file is kept).
    """
    p = Path(path)
    voxel = _voxel(voxel_size_um, p)
    labels = _as_3d(labels)
    src = np.dtype(labels.dtype)
    if src.kind not in "biu":
        raise LiCellInputError(p, f"labels must be integer class codes, got {src}", "threshold or round the data first")
    shape = tuple(int(s) for s in labels.shape)

    def to_codes(block: np.ndarray) -> np.ndarray:
        return _codes_to_uint8(block, p)

    meta = dict(metadata or {})
    meta.setdefault("classes", {str(c.code): c.key for c in CLASS_TABLE})
    info = _licell_json("labels", voxel, meta)
    with atomic_path(p) as tmp:
        _write_tiff_pages(
            tmp, _iter_pages(labels, to_codes), shape, np.dtype(LABEL_DTYPE), voxel, info, compression, None
        )
    return p


def _codes_to_uint8(block: np.ndarray, path: Path) -> np.ndarray:
    if block.size and block.dtype != LABEL_DTYPE and block.dtype.kind != "b":
        lo, hi = int(block.min()), int(block.max())
        if lo < 0 or hi > 255:
            raise LiCellInputError(path, f"label codes must be 0..255, found {lo}..{hi}", "use the class codes 0..6")
    return block.astype(LABEL_DTYPE, copy=False)


def _aligned_z_chunks(shape: tuple[int, ...], itemsize: int, zchunk: int) -> tuple[int, int, int]:
    depth = z_chunk_depth(tuple(shape), itemsize, multiple_of=zchunk)
    return (depth, int(shape[1]), int(shape[2]))


def _store_by_z_blocks(data: Any, arr: Any) -> None:
    """Compute ``data`` one z block at a time (aligned to the zarr chunks) and write it.

    Blocks are written one after the other, so a failure stops the write at
    once and nothing is still writing when the caller cleans up.
    """
    zchunk = int(arr.chunks[0])
    data = data.rechunk(_aligned_z_chunks(tuple(data.shape), np.dtype(data.dtype).itemsize, zchunk))
    start = 0
    for i in range(data.numblocks[0]):
        block = np.asarray(data.blocks[i].compute())
        arr[start : start + block.shape[0]] = block
        start += block.shape[0]


def _downsample(level: Any, labels: bool) -> Any:
    import dask.array as da

    if labels or level.dtype.kind == "b":
        return level[::2, ::2, ::2]
    factors = {i: 2 if level.shape[i] >= 2 else 1 for i in range(3)}
    mean = da.coarsen(np.mean, level.astype(np.float64), factors, trim_excess=True)
    if level.dtype.kind in "iu":
        info = np.iinfo(level.dtype)
        mean = da.clip(da.round(mean), info.min, info.max)
    return mean.astype(level.dtype)


def write_volume_zarr(
    path: str | os.PathLike,
    data: Any,
    voxel_size_um: float | Sequence[float],
    *,
    chunks: Sequence[int] = DEFAULT_ZARR_CHUNKS,
    levels: int = 1,
    labels: bool = False,
    zarr_format: int = 2,
    name: str | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> Path:
    """Write a volume as an OME-Zarr image, chunk by chunk from dask.

    Parameters
    ----------
    path : path-like
        Output store folder (``.zarr``). Replaced atomically (a failed write
        leaves the previous store).
    data : array-like
        (z, y, x) numpy, dask or zarr array.
    voxel_size_um : float or (z, y, x)
        Voxel size of the full-resolution level in micrometres.
    chunks : (z, y, x)
        Zarr chunk shape (clipped to the array shape).
    levels : int
        Number of pyramid levels; each halves every axis (mean for images,
        nearest for labels) and doubles the scale.
    labels : bool
        The data are class codes: nearest-neighbour downsampling, stored as uint8.
    zarr_format : {2, 3}
        2 writes NGFF 0.4 (widest support), 3 writes NGFF 0.5.
    name : str, optional
        Image name in the multiscales metadata (default: the folder name).
    metadata : mapping, optional
        JSON-able extra information, stored under ``napari_licell``.

    Returns
    -------
    Path
    """
    import dask.array as da
    import zarr

    p = Path(path)
    voxel = _voxel(voxel_size_um, p)
    if zarr_format not in (2, 3):
        raise ValueError("zarr_format must be 2 or 3")
    if int(levels) < 1:
        raise ValueError("levels must be 1 or more")
    data = _as_3d(data)
    if isinstance(data, da.Array):
        base = data
    else:
        depth = z_chunk_depth(tuple(data.shape), np.dtype(data.dtype).itemsize)
        base = da.from_array(data, chunks=(depth, -1, -1))
    if labels:
        if np.dtype(base.dtype).kind not in "biu":
            raise LiCellInputError(p, f"labels must be integer class codes, got {base.dtype}", "threshold first")
        base = base.map_blocks(_codes_to_uint8, p, dtype=LABEL_DTYPE)
    elif base.dtype.newbyteorder("=") != base.dtype:
        base = base.astype(base.dtype.newbyteorder("="))
    datasets: list[str] = []
    level_data = base
    with atomic_path(p, suffix=".zarr") as tmp:
        root = zarr.open_group(store=str(tmp), mode="w", zarr_format=zarr_format)
        for i in range(int(levels)):
            if i:
                if min(level_data.shape) < 2:
                    break
                level_data = _downsample(level_data, labels)
            shape = tuple(int(s) for s in level_data.shape)
            lchunks = tuple(max(1, min(int(c), s)) for c, s in zip(chunks, shape))
            kw: dict[str, Any] = {}
            if zarr_format == 2:
                kw["chunk_key_encoding"] = {"name": "v2", "separator": "/"}
            else:
                kw["dimension_names"] = ("z", "y", "x")
            arr = root.create_array(
                name=str(i), shape=shape, chunks=lchunks, dtype=level_data.dtype, fill_value=0, **kw
            )
            _store_by_z_blocks(level_data, arr)
            # the next level is computed from this one as written, not from the source again
            level_data = da.from_array(arr, chunks=_aligned_z_chunks(shape, arr.dtype.itemsize, lchunks[0]))
            datasets.append(str(i))
        root.attrs.update(
            ngff_attrs(
                name or p.name.removesuffix(".zarr"),
                voxel,
                len(datasets),
                "labels" if labels else "image",
                metadata,
                zarr_format,
            )
        )
    return p


def ngff_attrs(
    name: str,
    voxel: tuple[float, float, float],
    n_levels: int,
    kind: str,
    metadata: Mapping[str, Any] | None,
    zarr_format: int,
) -> dict[str, Any]:
    """Group attributes of an OME-Zarr image with ``n_levels`` levels named "0", "1", ...

    Level ``i`` has the scale ``voxel * 2**i`` (micrometres); NGFF 0.4 for
    zarr format 2, 0.5 for format 3; our own entry (kind, voxel size,
    metadata) under ``napari_licell``.
    """
    axes = [{"name": a, "type": "space", "unit": "micrometer"} for a in ("z", "y", "x")]
    datasets = [
        {"path": str(i), "coordinateTransformations": [{"type": "scale", "scale": [v * 2**i for v in voxel]}]}
        for i in range(int(n_levels))
    ]
    multiscale = {"name": name, "axes": axes, "datasets": datasets}
    info = json.loads(_licell_json(kind, voxel, metadata))
    if zarr_format == 2:
        return {"multiscales": [{"version": "0.4", **multiscale}], **info}
    return {"ome": {"version": "0.5", "multiscales": [multiscale]}, **info}


def to_jsonable(obj: Any) -> Any:
    """Plain-JSON version of ``obj``: numpy types, paths, dataclasses; NaN/inf become null."""
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        v = float(obj)
        return v if math.isfinite(v) else None
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.ndarray):
        return [to_jsonable(v) for v in obj.tolist()] if obj.ndim else to_jsonable(obj.item())
    if isinstance(obj, PurePath):
        return obj.as_posix()
    if isinstance(obj, (_dt.datetime, _dt.date, _dt.time)):
        return obj.isoformat()
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return to_jsonable(dataclasses.asdict(obj))
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in obj]
    if hasattr(obj, "tolist"):
        return to_jsonable(obj.tolist())
    raise TypeError(f"cannot write {type(obj).__name__} to JSON")


def write_json(path: str | os.PathLike, obj: Any, *, indent: int = 2) -> Path:
    """Write ``obj`` as UTF-8 JSON, atomically.

    numpy scalars and arrays, paths, dates and dataclasses are converted;
    NaN and infinities become ``null`` so the file is strict JSON.

    Returns
    -------
    Path
    """
    text = json.dumps(to_jsonable(obj), indent=indent, ensure_ascii=False, allow_nan=False) + "\n"
    return atomic_write_text(path, text)


def _cell(value: Any) -> Any:
    """One CSV cell: shortest exact text for floats (per their precision), '' for None."""
    if value is None:
        return ""
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return str(value) if isinstance(value, np.floating) else repr(value)
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, PurePath):
        return value.as_posix()
    if isinstance(value, (list, tuple)):
        return json.dumps(to_jsonable(value))
    return value


def _table_rows(table: Any) -> tuple[list[str], list[Mapping[str, Any]]]:
    if hasattr(table, "to_dict") and hasattr(table, "columns"):
        table = table.to_dict(orient="list")
    if isinstance(table, Mapping):
        values = list(table.values())
        if values and all(isinstance(v, (list, tuple, np.ndarray)) for v in values):
            lengths = {len(v) for v in values}
            if len(lengths) != 1:
                raise ValueError(f"table columns have different lengths: { {k: len(v) for k, v in table.items()} }")
            n = lengths.pop()
            columns = [str(k) for k in table]
            rows = [{c: table[k][i] for c, k in zip(columns, table)} for i in range(n)]
            return columns, rows
        return [str(k) for k in table], [{str(k): v for k, v in table.items()}]
    rows = [dict(r) for r in table]
    columns: list[str] = []
    seen: set[str] = set()
    for r in rows:
        for k in r:
            if str(k) not in seen:
                seen.add(str(k))
                columns.append(str(k))
    return columns, [{str(k): v for k, v in r.items()} for r in rows]


def write_table_csv(path: str | os.PathLike, table: Any, *, columns: Sequence[str] | None = None) -> Path:
    """Write a measurement table as UTF-8 CSV, atomically.

    Parameters
    ----------
    path : path-like
        Output file (.csv).
    table : rows, columns or one row
        A sequence of mappings (one per row), a mapping of column name to
        equal-length sequences, a mapping of scalars (one row) or a pandas
        DataFrame. Put units in the column names (``li_volume_um3``).
    columns : sequence of str, optional
        Column order; default: keys in first-seen order.

    Returns
    -------
    Path
    """
    header, rows = _table_rows(table)
    if columns is not None:
        header = [str(c) for c in columns]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for r in rows:
        writer.writerow([_cell(r.get(c)) for c in header])
    return atomic_write_text(path, buf.getvalue())
