"""Crash-safe autosave of a cell region the user corrected by hand, Qt-free.

When the user moves the bore circles of a scan's cell region (Thresholds dock,
*Cell region* tab), the corrected region is written at once as
``<scan file name>.region.json`` into the hidden ``.licell-autosave/`` folder
beside the scan (the folder the label and threshold autosaves use; the cache
folder for scans without a file). It is the JSON that ``analyze --roi FILE``
reads (:meth:`~napari_licell.segmentation.cell_region.CellRegion.save`), so
the next time the scan is opened, in the GUI or by ``analyze --roi`` with
that file, the corrected region is used instead of the one found.

Writes are atomic (a temporary sibling, fsync, rename): a crash leaves the
previous file readable.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .labels import autosave_dir, autosave_folder_for
from .thresholds import _safe_name, scan_key

__all__ = ["region_autosave_path", "write_region_autosave", "find_region_autosave", "discard_region_autosave"]

_SUFFIX = ".region.json"


def region_autosave_path(source: str | os.PathLike | None, layer_name: str | None = None) -> Path:
    """File the corrected region of a scan is autosaved to (it may not exist).

    Parameters
    ----------
    source : path-like or None
        The scan's file or slice folder.
    layer_name : str, optional
        Names scans without a file (demo cells, arrays from a script).
    """
    folder = autosave_folder_for(source)
    return autosave_dir(folder) / f"{_safe_name(scan_key(source, layer_name))}{_SUFFIX}"


def write_region_autosave(region: Any, source: str | os.PathLike | None, layer_name: str | None = None) -> Path:
    """Write ``region`` (a :class:`~napari_licell.segmentation.cell_region.CellRegion`) as the scan's corrected region."""
    path = region_autosave_path(source, layer_name)
    path.parent.mkdir(parents=True, exist_ok=True)
    return region.save(path)


def find_region_autosave(source: str | os.PathLike | None, layer_name: str | None = None) -> Path | None:
    """The scan's autosaved corrected region, or None when the user never corrected it."""
    path = region_autosave_path(source, layer_name)
    return path if path.is_file() else None


def discard_region_autosave(source: str | os.PathLike | None, layer_name: str | None = None) -> None:
    """Forget the corrected region (the next count finds the region again)."""
    path = region_autosave_path(source, layer_name)
    try:
        path.unlink()
    except FileNotFoundError:
        pass
