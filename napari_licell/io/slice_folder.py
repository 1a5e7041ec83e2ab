"""A folder (or glob, or list) of numbered 2D TIFF slices read as one lazy volume.

Slices are ordered by natural numeric sort (``im2 < im10``), every file's
header is checked for the same shape and pixel type (the odd slice is named
in the error), and the stack is a dask array with one chunk (one file read)
per slice. Voxel size comes from the first slice's TIFF metadata; slice
files rarely store a z spacing, so z is then taken equal to x (noted in the
metadata) unless the user gives the voxel size.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import LiCellInputError
from .found_volume import FoundVolume
from .lazy_arrays import LazySource, source_to_dask
from .tiff_volume import TIFF_SUFFIXES, open_tiff, read_tiff_volume, tiff_voxel_size

__all__ = ["read_slice_folder", "list_slice_files", "natural_sort_key", "is_glob", "SliceFilesSource"]

_DIGITS = re.compile(r"(\d+)")


def natural_sort_key(name: str) -> tuple[Any, ...]:
    """Sort key that orders embedded numbers by value: ``im2 < im10 < im100``."""
    parts = _DIGITS.split(name)
    return tuple(int(t) if i % 2 else t.lower() for i, t in enumerate(parts))


def is_glob(path: str | os.PathLike) -> bool:
    """True when ``path`` holds glob wildcards (``*``, ``?``, ``[``)."""
    return any(ch in str(path) for ch in "*?[")


def _is_tiff_name(name: str) -> bool:
    lower = name.lower()
    return lower.endswith(TIFF_SUFFIXES) and not name.startswith(".")


def list_slice_files(path: str | os.PathLike | Sequence[str | os.PathLike]) -> list[Path]:
    """TIFF files of a folder, a glob pattern or a list, in natural numeric order.

    Hidden files (``.name``, including macOS ``._name`` resource forks) are skipped.

    Parameters
    ----------
    path : path-like, glob pattern or sequence of path-likes

    Returns
    -------
    list of Path
    """
    if isinstance(path, (str, os.PathLike)):
        text = os.fspath(path)
        if os.path.isdir(text):
            names = [e.name for e in os.scandir(text) if e.is_file() and _is_tiff_name(e.name)]
            files = [Path(text) / n for n in names]
        elif is_glob(text):
            files = [Path(f) for f in glob.glob(text) if os.path.isfile(f) and not os.path.basename(f).startswith(".")]
        else:
            files = [Path(text)]
    else:
        files = [Path(p) for p in path]
    return sorted(files, key=lambda f: natural_sort_key(f.name))


def _slice_header(f: Path) -> tuple[tuple[int, ...], np.dtype]:
    """(squeezed shape, dtype) of a slice file, from its header only."""
    tif = open_tiff(f)
    try:
        series = tif.series
        if not series or series[0].dtype is None:
            raise LiCellInputError(f, "holds no readable image", "remove it from the folder or export it again")
        s = series[0]
        shape = tuple(int(n) for n, a in zip(s.shape, s.axes) if n > 1 or a in "YX")
        return shape, np.dtype(s.dtype)
    except LiCellInputError:
        raise
    except Exception as exc:  # noqa: BLE001 - any parse failure is bad input
        raise LiCellInputError(f, f"is a damaged TIFF slice ({type(exc).__name__}: {exc})", "export it again") from None
    finally:
        tif.close()


class _SliceReader:
    def __init__(self, files: list[Path], shape: tuple[int, int, int], dtype: np.dtype) -> None:
        self.files = files
        self.shape = shape
        self.dtype = dtype

    def read(self, z: int) -> np.ndarray:
        import tifffile

        f = self.files[z]
        try:
            plane = tifffile.imread(f)
        except Exception as exc:  # noqa: BLE001 - decoder/IO failure is bad input
            raise LiCellInputError(
                f, f"slice {z} could not be read ({type(exc).__name__}: {exc})", "export this slice again"
            ) from None
        plane = np.asarray(plane)
        if plane.ndim > 2:
            plane = plane.reshape([n for n in plane.shape if n > 1] or [1, 1])
        if plane.shape != self.shape[1:] or plane.dtype.newbyteorder("=") != self.dtype:
            raise LiCellInputError(
                f,
                f"slice {z} is {plane.shape} {plane.dtype}, expected {self.shape[1:]} {self.dtype} like the others",
                "the file changed after the folder was opened; open the folder again",
            )
        return plane.astype(self.dtype, copy=False)

    def __getitem__(self, key: Any) -> np.ndarray:
        if not isinstance(key, tuple):
            key = (key,)
        zkey, rest = key[0], key[1:]
        if isinstance(zkey, (int, np.integer)):
            return self.read(int(zkey) % self.shape[0])[rest]
        if isinstance(zkey, slice):
            zs = range(*zkey.indices(self.shape[0]))
        else:
            zs = [int(i) for i in np.asarray(zkey).ravel()]
        planes = [self.read(z)[rest] for z in zs]
        if not planes:
            probe = np.empty(self.shape[1:], self.dtype)[rest]
            return np.empty((0, *probe.shape), self.dtype)
        return np.stack(planes)


class SliceFilesSource(LazySource):
    """One 2D TIFF file per z slice, read only when its slice is asked for.

    Parameters
    ----------
    files : list of Path
        Slice files in z order.
    shape : (z, y, x)
        Shape of the stack.
    dtype : numpy dtype
        Pixel type of every slice.
    """

    what = "slice"

    def __init__(self, files: list[Path], shape: tuple[int, int, int], dtype: np.dtype) -> None:
        super().__init__()
        self.files = list(files)
        self.path = self.files[0].parent
        self.shape = shape
        self.dtype = np.dtype(dtype).newbyteorder("=")

    def _open(self) -> _SliceReader:
        return _SliceReader(self.files, self.shape, self.dtype)

    def __dask_tokenize__(self) -> tuple[Any, ...]:
        stats = []
        for f in self.files:
            try:
                st = os.stat(f)
                stats.append((str(f), st.st_mtime_ns, st.st_size))
            except OSError:
                stats.append((str(f), 0, 0))
        return ("SliceFilesSource", tuple(stats), self.shape, str(self.dtype))


def _numbering_gaps(files: list[Path]) -> list[int]:
    numbers = []
    for f in files:
        found = _DIGITS.findall(f.stem)
        if not found:
            return []
        numbers.append(int(found[-1]))
    if len(set(numbers)) != len(numbers):
        return []
    present = set(numbers)
    return [n for n in range(min(numbers), max(numbers) + 1) if n not in present][:50]


def read_slice_folder(path: str | os.PathLike | Sequence[str | os.PathLike]) -> FoundVolume:
    """Read numbered 2D TIFF slices as one lazy (z, y, x) volume.

    Parameters
    ----------
    path : folder, glob pattern (``"scan/im*.tif"``) or list of files

    Returns
    -------
    FoundVolume
        Dask array with one chunk per slice, voxel size in micrometres from
        the first slice (or None) and metadata (``slice_count``,
        ``first_slice``, ``last_slice``, ``missing_slice_numbers``).

    Raises
    ------
    LiCellInputError
        No TIFF files, a damaged slice, or slices that differ in shape or
        pixel type (the odd slice is named).
    """
    if isinstance(path, (str, os.PathLike)):
        where = Path(os.fspath(path))
        label = where if not is_glob(where) else where.parent
    else:
        where = None
        label = Path(os.fspath(path[0])).parent if len(path) else None
    files = list_slice_files(path)
    if not files:
        raise LiCellInputError(
            where if where is not None else label,
            "holds no TIFF slices (.tif/.tiff)",
            "pick the folder that contains the reconstructed slices",
        )
    if len(files) == 1:
        found = read_tiff_volume(files[0])
        found.metadata["slice_count"] = 1
        return found
    shape0, dtype0 = _slice_header(files[0])
    if len(shape0) != 2:
        raise LiCellInputError(
            files[0],
            f"is not a 2D slice (shape {' x '.join(map(str, shape0))})",
            "a slice folder holds one 2D image per file; open multi-page TIFFs on their own",
        )
    for f in files[1:]:
        shape, dtype = _slice_header(f)
        if shape != shape0 or dtype != dtype0:
            raise LiCellInputError(
                f,
                f"does not match the other slices: it is {' x '.join(map(str, shape))} {dtype}, "
                f"but {files[0].name} is {' x '.join(map(str, shape0))} {dtype0}",
                "all slices must have the same size and pixel type; remove or re-export the odd slice",
            )
    tif = open_tiff(files[0])
    try:
        voxel, voxel_source, notes = tiff_voxel_size(tif, single_slice=True)
    finally:
        tif.close()
    shape3 = (len(files), int(shape0[0]), int(shape0[1]))
    source = SliceFilesSource(files, shape3, dtype0)
    data = source_to_dask(source, chunks=(1, shape3[1], shape3[2]), name_prefix="licell-slices")
    metadata: dict[str, Any] = {
        "slice_count": len(files),
        "first_slice": files[0].name,
        "last_slice": files[-1].name,
        "lazy": "one read per slice",
    }
    gaps = _numbering_gaps(files)
    if gaps:
        metadata["missing_slice_numbers"] = gaps
    if notes:
        metadata["voxel_size_note"] = "; ".join(notes)
    name = (label.name if label is not None else "") or "slices"
    return FoundVolume(
        data=data, voxel_size_um=voxel, voxel_source=voxel_source, name=name, format="tiff-slices", metadata=metadata
    )
