"""Picklable, lazily opened array sources behind the dask arrays of every reader.

Each source holds only what it needs to reopen its file (path, offsets,
dataset name), opens it on first access in each process, returns native
byte order numpy arrays from ``__getitem__`` and turns any read failure into
:class:`~napari_licell.errors.LiCellInputError` naming the file. Wrapped by
:func:`source_to_dask`, a slice taken from the dask array reads only that
slice from disk (dask fuses the indexing into the read).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import LiCellInputError

__all__ = [
    "LazySource",
    "ContiguousSource",
    "PlaneReader",
    "TiffZarrSource",
    "H5Source",
    "ZarrSource",
    "source_to_dask",
    "z_chunk_depth",
    "default_chunks",
]

#: Target size of one dask chunk (bytes) when the file does not impose one.
TARGET_CHUNK_BYTES = 64 * 2**20


def z_chunk_depth(shape: tuple[int, ...], itemsize: int, multiple_of: int = 1) -> int:
    """Number of z slices per dask chunk: about 64 MiB, at least one slice.

    Parameters
    ----------
    shape : tuple of int
        (z, y, x) shape.
    itemsize : int
        Bytes per voxel.
    multiple_of : int
        Keep the depth a multiple of this (the file's own chunk depth).
    """
    slice_bytes = max(1, int(np.prod(shape[1:], dtype=np.int64)) * itemsize)
    depth = max(1, TARGET_CHUNK_BYTES // slice_bytes)
    if multiple_of > 1:
        depth = max(multiple_of, (depth // multiple_of) * multiple_of)
    return int(min(depth, max(1, shape[0])))


def default_chunks(shape: tuple[int, ...], itemsize: int) -> tuple[int, ...]:
    """Chunks of whole (y, x) planes, about 64 MiB deep along the longest other axis.

    Parameters
    ----------
    shape : tuple of int
        Array shape; the last two axes are (y, x).
    itemsize : int
        Bytes per voxel.
    """
    if len(shape) < 3:
        return tuple(max(1, s) for s in shape)
    lead = shape[:-2]
    stack = int(np.argmax(lead))
    chunks = [1] * len(lead) + [max(1, s) for s in shape[-2:]]
    chunks[stack] = z_chunk_depth((lead[stack], *shape[-2:]), itemsize)
    return tuple(chunks)


def _file_token(path: Path) -> tuple[str, int, int]:
    try:
        st = os.stat(path)
        return (str(path), int(st.st_mtime_ns), int(st.st_size))
    except OSError:
        return (str(path), 0, 0)


class LazySource:
    """Base class: an array-like that opens its file lazily and guards reads.

    Subclasses set ``shape``, ``dtype`` (native byte order) and ``path`` and
    implement ``_open()`` (return an object supporting ``__getitem__``) and,
    where needed, ``_close()``.
    """

    shape: tuple[int, ...]
    dtype: np.dtype
    path: Path
    what: str = "file"

    def __init__(self) -> None:
        self._handle: Any = None
        self._lock = threading.Lock()

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def _open(self) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def _close(self) -> None:
        self._handle = None

    def _get_handle(self) -> Any:
        if self._handle is None:
            with self._lock:
                if self._handle is None:
                    self._handle = self._open()
        return self._handle

    def __getitem__(self, key: Any) -> np.ndarray:
        try:
            out = np.asarray(self._get_handle()[key])
        except LiCellInputError:
            raise
        except MemoryError:
            raise LiCellInputError(
                self.path, f"not enough memory to read {self.what} region {key!r}", "read a smaller region"
            ) from None
        except Exception as exc:  # noqa: BLE001 - any decoder/IO failure is bad input
            raise LiCellInputError(
                self.path,
                f"could not read {self.what} data at {_describe_key(key)}: {type(exc).__name__}: {exc}",
                "the file may be truncated or damaged; copy it again from the source",
            ) from exc
        if out.dtype != self.dtype:
            out = out.astype(self.dtype)
        return out

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_handle"] = None
        state.pop("_lock", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def __dask_tokenize__(self) -> tuple[Any, ...]:
        return (type(self).__name__, _file_token(self.path), self._token_extra(), self.shape, str(self.dtype))

    def _token_extra(self) -> tuple[Any, ...]:
        return ()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r}, shape={self.shape}, dtype={self.dtype})"


def _describe_key(key: Any) -> str:
    if not isinstance(key, tuple):
        key = (key,)
    first = key[0] if key else None
    if isinstance(first, slice):
        start = 0 if first.start is None else first.start
        stop = first.stop
        return f"slices {start}..{stop - 1 if stop is not None else 'end'}"
    if isinstance(first, (int, np.integer)):
        return f"slice {int(first)}"
    return repr(key)


class ContiguousSource(LazySource):
    """Uncompressed contiguous pixel data at a byte offset in a file (TIFF or raw), read with pread.

    Parameters
    ----------
    path : Path
        The file.
    offset : int
        Byte offset of the first voxel.
    shape : tuple of int
        Array shape.
    file_dtype : numpy dtype
        dtype as stored, with byte order (e.g. ``>u2``).
    """

    what = "pixel"

    def __init__(self, path: Path, offset: int, shape: tuple[int, ...], file_dtype: np.dtype) -> None:
        super().__init__()
        self.path = Path(path)
        self.offset = int(offset)
        self.shape = tuple(int(s) for s in shape)
        self.file_dtype = np.dtype(file_dtype)
        self.dtype = self.file_dtype.newbyteorder("=")

    def _open(self) -> "PlaneReader":
        return PlaneReader(self.path, self.offset, self.shape, self.file_dtype)

    def _token_extra(self) -> tuple[Any, ...]:
        return (self.offset, self.file_dtype.str)


class PlaneReader:
    """Reads contiguous pixel data with ``os.pread``: whole leading-axis planes, then indexes them.

    Unlike ``np.memmap`` the pages read are not mapped into the process, so
    streaming through a volume larger than memory does not grow the resident
    memory (the kernel's page cache is not counted). A read of ``key`` costs
    the planes it touches along axis 0; the other axes are cut in memory.

    Parameters
    ----------
    path : Path
        The file.
    offset : int
        Byte offset of the first voxel.
    shape : tuple of int
        Array shape (C order).
    file_dtype : numpy dtype
        dtype as stored, with byte order.
    """

    def __init__(self, path: Path, offset: int, shape: tuple[int, ...], file_dtype: np.dtype) -> None:
        self.path = Path(path)
        self.offset = int(offset)
        self.shape = tuple(int(s) for s in shape)
        self.dtype = np.dtype(file_dtype)
        self._fd = os.open(self.path, os.O_RDONLY)

    def __del__(self) -> None:
        fd = getattr(self, "_fd", None)
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass

    def _planes(self, start: int, stop: int) -> np.ndarray:
        plane = int(np.prod(self.shape[1:], dtype=np.int64))
        n = max(0, stop - start)
        buf = np.empty((n, *self.shape[1:]), dtype=self.dtype)
        view = memoryview(buf.reshape(-1).view(np.uint8))
        want = n * plane * self.dtype.itemsize
        pos = self.offset + start * plane * self.dtype.itemsize
        got = 0
        while got < want:
            k = os.preadv(self._fd, [view[got:]], pos + got)
            if k <= 0:
                raise OSError(f"file ends {want - got} bytes early")
            got += k
        return buf

    def __getitem__(self, key: Any) -> np.ndarray:
        if not isinstance(key, tuple):
            key = (key,)
        if any(k is Ellipsis for k in key):
            i = key.index(Ellipsis)
            key = key[:i] + (slice(None),) * (len(self.shape) - len(key) + 1) + key[i + 1 :]
        if len(self.shape) == 0:
            return self._planes(0, 1)[0][key]
        first = key[0] if key else slice(None)
        rest = tuple(key[1:])
        if isinstance(first, (int, np.integer)):
            z = int(first) + (self.shape[0] if int(first) < 0 else 0)
            if not 0 <= z < self.shape[0]:
                raise IndexError(f"index {int(first)} is out of range for axis 0 of size {self.shape[0]}")
            return self._planes(z, z + 1)[(0, *rest)]
        if isinstance(first, slice):
            start, stop, step = first.indices(self.shape[0])
            if step > 0:
                block = self._planes(start, max(start, stop))
                return block[(slice(None, None, step), *rest)]
        rows = np.arange(self.shape[0])[first]
        if rows.size == 0:
            return np.empty((0, *self.shape[1:]), dtype=self.dtype)[(slice(None), *rest)]
        lo, hi = int(rows.min()), int(rows.max()) + 1
        return self._planes(lo, hi)[(rows - lo, *rest)]


class TiffZarrSource(LazySource):
    """Compressed or tiled TIFF series read through tifffile's zarr store.

    Parameters
    ----------
    path : Path
        The TIFF file.
    series : int
        Index of the series in the file.
    level : int
        Pyramid level (0 = full resolution).
    shape : tuple of int
        Shape of the series level as tifffile reports it (singleton axes included).
    dtype : numpy dtype
        dtype of the series.
    page_chunks : bool
        One zarr chunk per page (True) or tifffile's own strips/tiles (False).
    """

    what = "TIFF"

    def __init__(
        self, path: Path, series: int, level: int, shape: tuple[int, ...], dtype: np.dtype, page_chunks: bool = True
    ) -> None:
        super().__init__()
        self.path = Path(path)
        self.series = int(series)
        self.level = int(level)
        self.shape = tuple(int(s) for s in shape)
        self.dtype = np.dtype(dtype).newbyteorder("=")
        self.page_chunks = bool(page_chunks)
        self._tif: Any = None

    def _open(self) -> Any:
        import tifffile
        import zarr

        tif = tifffile.TiffFile(self.path)
        try:
            store = tif.series[self.series].aszarr(level=self.level, chunkmode=2 if self.page_chunks else 0)
            arr = zarr.open(store, mode="r")
        except Exception:
            tif.close()
            raise
        if tuple(arr.shape) != self.shape:
            tif.close()
            raise ValueError(f"zarr store shape {arr.shape} does not match series shape {self.shape}")
        self._tif = tif
        return arr

    def _close(self) -> None:
        if self._tif is not None:
            self._tif.close()
        self._tif = None
        self._handle = None

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state["_tif"] = None
        return state

    def _token_extra(self) -> tuple[Any, ...]:
        return (self.series, self.level, self.page_chunks)


class H5Source(LazySource):
    """A dataset in an HDF5 file (h5py), opened read-only on first access.

    Parameters
    ----------
    path : Path
        The HDF5 file.
    dataset : str
        Path of the dataset inside the file, e.g. ``/exchange/data``.
    shape, dtype :
        Shape and dtype of the dataset.
    """

    what = "HDF5"

    def __init__(self, path: Path, dataset: str, shape: tuple[int, ...], dtype: np.dtype) -> None:
        super().__init__()
        self.path = Path(path)
        self.dataset = dataset
        self.shape = tuple(int(s) for s in shape)
        self.dtype = np.dtype(dtype).newbyteorder("=")
        self._file: Any = None

    def _open(self) -> Any:
        import h5py

        f = h5py.File(self.path, "r")
        self._file = f
        return f[self.dataset]

    def _close(self) -> None:
        if self._file is not None:
            self._file.close()
        self._file = None
        self._handle = None

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state["_file"] = None
        return state

    def _token_extra(self) -> tuple[Any, ...]:
        return (self.dataset,)


class ZarrSource(LazySource):
    """An array in a zarr store (v2 or v3) on disk.

    Parameters
    ----------
    path : Path
        The store (folder).
    array_path : str
        Path of the array inside the store ("" for a store that is one array).
    shape, dtype :
        Shape and dtype of the array.
    """

    what = "zarr"

    def __init__(self, path: Path, array_path: str, shape: tuple[int, ...], dtype: np.dtype) -> None:
        super().__init__()
        self.path = Path(path)
        self.array_path = array_path
        self.shape = tuple(int(s) for s in shape)
        self.dtype = np.dtype(dtype).newbyteorder("=")

    def _open(self) -> Any:
        import zarr

        if self.array_path:
            return zarr.open_array(store=str(self.path), path=self.array_path, mode="r")
        return zarr.open_array(store=str(self.path), mode="r")

    def _token_extra(self) -> tuple[Any, ...]:
        return (self.array_path,)


def source_to_dask(source: LazySource, chunks: tuple[int, ...] | None = None, name_prefix: str = "licell"):
    """Wrap a :class:`LazySource` as a dask array whose chunks read lazily.

    Parameters
    ----------
    source : LazySource
        The array source.
    chunks : tuple of int, optional
        Chunk shape; by default :func:`default_chunks`.
    name_prefix : str
        Prefix of the dask graph name.

    Returns
    -------
    dask.array.Array
    """
    import dask.array as da
    from dask.base import tokenize

    if chunks is None:
        chunks = default_chunks(source.shape, source.dtype.itemsize)
    name = f"{name_prefix}-{tokenize(source, chunks)}"
    meta = np.empty((0,) * source.ndim, dtype=source.dtype)
    return da.from_array(source, chunks=chunks, name=name, asarray=False, meta=meta)
