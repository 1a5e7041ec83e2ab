"""Crash-safe autosave of hand-edited label volumes (and their scribbles), Qt-free.

Autosaves live in a hidden ``.licell-autosave/`` folder next to the study or
scan: ``<name>.autosave.npz`` holds the labels, optionally the scribble
volume, the time of saving and free metadata. Every write goes to a
temporary file in the same folder and is moved over the old autosave with
:func:`os.replace`, so a crash or an error mid-write leaves the previous
autosave intact.

An explicit save (the user choosing *Save*) is recorded with
:func:`mark_explicit_save`; :func:`find_recoverable` then lists only the
autosaves written after it, i.e. work that would otherwise be lost.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import LiCellInputError

__all__ = [
    "AUTOSAVE_DIRNAME",
    "AUTOSAVE_FORMAT_VERSION",
    "AutosaveRecord",
    "Recoverable",
    "autosave_dir",
    "autosave_path",
    "autosave_folder_for",
    "write_autosave",
    "mark_explicit_save",
    "last_explicit_save",
    "find_recoverable",
    "remove_stale_temporaries",
    "restore",
    "discard",
]

#: Hidden folder beside the study/scan that holds the autosaves.
AUTOSAVE_DIRNAME = ".licell-autosave"
#: Layout version of the autosave files.
AUTOSAVE_FORMAT_VERSION = 1

_SUFFIX = ".autosave.npz"
_SAVED_SUFFIX = ".saved.json"


@dataclass
class AutosaveRecord:
    """A restored autosave.

    Attributes
    ----------
    name : str
        Name the labels were saved under (usually the labels layer name).
    labels : ndarray
        The label volume.
    scribbles : ndarray or None
        The hand-painted scribble volume, when it was saved.
    saved_at : float
        Time of the autosave, seconds since the epoch (UTC).
    metadata : dict
        Free metadata given to :func:`write_autosave`.
    path : Path
        The autosave file.
    """

    name: str
    labels: np.ndarray
    scribbles: np.ndarray | None
    saved_at: float
    metadata: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None


@dataclass(frozen=True)
class Recoverable:
    """An autosave newer than the last explicit save of the same name.

    Attributes
    ----------
    path : Path
        The autosave file (pass to :func:`restore`).
    name : str
        Name of the labels.
    saved_at : float
        Autosave time, seconds since the epoch.
    explicit_saved_at : float or None
        Time of the last explicit save, or None when there was none.
    """

    path: Path
    name: str
    saved_at: float
    explicit_saved_at: float | None


def _safe_name(name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._+-]+", "_", str(name)).strip("._")
    return cleaned or "labels"


def autosave_dir(folder: str | os.PathLike) -> Path:
    """The ``.licell-autosave`` folder inside ``folder`` (not created)."""
    return Path(folder) / AUTOSAVE_DIRNAME


def autosave_path(folder: str | os.PathLike, name: str) -> Path:
    """File the autosave of ``name`` in ``folder`` is written to."""
    return autosave_dir(folder) / f"{_safe_name(name)}{_SUFFIX}"


def _atomic_write(path: Path, write) -> None:
    """Call ``write(fh)`` on a temporary file beside ``path``, fsync, then rename it over ``path``."""
    from ..io.atomic import atomic_path

    with atomic_path(path, suffix="") as tmp, open(tmp, "wb") as fh:
        write(fh)
        fh.flush()


def autosave_folder_for(source: str | os.PathLike | None) -> Path:
    """Folder whose ``.licell-autosave/`` holds the autosaves of a scan.

    The scan's folder when the scan has a file and that folder is writable,
    else ``$LICELL_CACHE_DIR/unsaved-scans`` (by default
    ``~/.cache/napari-licell/unsaved-scans``).

    Parameters
    ----------
    source : path-like or None
        The scan's file or slice folder.
    """
    if source is not None and str(source) != "":
        p = Path(source)
        folder = p if p.is_dir() else p.parent
        if os.access(folder, os.W_OK):
            return folder
    from ..cache_dir import cache_root

    return cache_root() / "unsaved-scans"


def write_autosave(
    folder: str | os.PathLike,
    name: str,
    labels,
    scribbles=None,
    metadata: dict[str, Any] | None = None,
    saved_at: float | None = None,
) -> Path:
    """Atomically write (or replace) the autosave of ``name`` in ``folder/.licell-autosave``.

    Parameters
    ----------
    folder : path
        Folder of the study or scan.
    name : str
        Name of the labels (file-system-unsafe characters are replaced).
    labels : array-like
        Label volume (stored with its dtype, compressed).
    scribbles : array-like, optional
        Scribble volume of the same shape.
    metadata : dict, optional
        JSON-serialisable extras (layer scale, source file, ...).
    saved_at : float, optional
        Time stamp, seconds since the epoch (default: now).

    Returns
    -------
    Path
        The autosave file.
    """
    labels = np.asarray(labels)
    arrays = {"labels": labels}
    if scribbles is not None:
        scribbles = np.asarray(scribbles)
        if scribbles.shape != labels.shape:
            raise ValueError(f"scribbles shape {scribbles.shape} differs from labels shape {labels.shape}")
        arrays["scribbles"] = scribbles
    header = {
        "format_version": AUTOSAVE_FORMAT_VERSION,
        "name": str(name),
        "saved_at": float(time.time() if saved_at is None else saved_at),
        "metadata": dict(metadata or {}),
    }
    arrays["header"] = np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8)
    path = autosave_path(folder, name)
    _atomic_write(path, lambda fh: np.savez_compressed(fh, **arrays))
    return path


def mark_explicit_save(folder: str | os.PathLike, name: str, saved_at: float | None = None) -> Path:
    """Record that ``name`` was saved explicitly now; older autosaves stop being offered."""
    stamp = {"name": str(name), "saved_at": float(time.time() if saved_at is None else saved_at)}
    path = autosave_dir(folder) / f"{_safe_name(name)}{_SAVED_SUFFIX}"
    _atomic_write(path, lambda fh: fh.write(json.dumps(stamp).encode("utf-8")))
    return path


def last_explicit_save(folder: str | os.PathLike, name: str) -> float | None:
    """Time of the last explicit save of ``name`` (seconds since the epoch), or None."""
    path = autosave_dir(folder) / f"{_safe_name(name)}{_SAVED_SUFFIX}"
    try:
        return float(json.loads(path.read_text("utf-8"))["saved_at"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _read_header(path: Path) -> dict[str, Any]:
    with np.load(path, allow_pickle=False) as npz:
        header = json.loads(npz["header"].tobytes().decode("utf-8"))
    if header.get("format_version") != AUTOSAVE_FORMAT_VERSION:
        raise LiCellInputError(
            path, f"autosave has format version {header.get('format_version')}, expected {AUTOSAVE_FORMAT_VERSION}"
        )
    return header


#: Temporary files of an interrupted write older than this (seconds) are removed.
STALE_TEMPORARY_SECONDS = 3600.0


def remove_stale_temporaries(directory: str | os.PathLike, older_than_s: float = STALE_TEMPORARY_SECONDS) -> int:
    """Remove hidden ``.*.tmp`` files left in an autosave folder by a killed write; returns how many.

    Only files older than ``older_than_s`` go, so a write in progress in
    another window is never touched.
    """
    from ..io.atomic import TEMP_SUFFIX

    removed = 0
    now = time.time()
    for path in Path(directory).glob(f".*{TEMP_SUFFIX}"):
        try:
            if path.is_file() and now - path.stat().st_mtime > older_than_s:
                path.unlink()
                removed += 1
        except OSError:
            continue
    return removed


def find_recoverable(folder: str | os.PathLike) -> list[Recoverable]:
    """Autosaves in ``folder/.licell-autosave`` newer than their last explicit save, newest first.

    Unreadable files (a foreign or damaged file) are skipped.
    """
    directory = autosave_dir(folder)
    if not directory.is_dir():
        return []
    remove_stale_temporaries(directory)
    found = []
    for path in directory.glob(f"*{_SUFFIX}"):
        try:
            header = _read_header(path)
        except Exception:  # noqa: BLE001 - a damaged autosave is not offered
            continue
        name = header.get("name", path.name[: -len(_SUFFIX)])
        saved_at = float(header["saved_at"])
        explicit = last_explicit_save(folder, name)
        if explicit is None or saved_at > explicit:
            found.append(Recoverable(path, name, saved_at, explicit))
    return sorted(found, key=lambda r: r.saved_at, reverse=True)


def restore(path: str | os.PathLike) -> AutosaveRecord:
    """Read an autosave written by :func:`write_autosave`.

    Raises
    ------
    LiCellInputError
        The file is missing, damaged or of another format version.
    """
    path = Path(path)
    try:
        header = _read_header(path)
        with np.load(path, allow_pickle=False) as npz:
            labels = npz["labels"]
            scribbles = npz["scribbles"] if "scribbles" in npz.files else None
    except LiCellInputError:
        raise
    except Exception as exc:  # noqa: BLE001 - any unreadable file is bad input
        raise LiCellInputError(path, f"cannot read autosave ({type(exc).__name__}: {exc})") from exc
    return AutosaveRecord(
        name=header["name"],
        labels=labels,
        scribbles=scribbles,
        saved_at=float(header["saved_at"]),
        metadata=dict(header.get("metadata", {})),
        path=path,
    )


def discard(path: str | os.PathLike) -> None:
    """Delete an autosave the user chose not to restore (missing files are fine)."""
    try:
        Path(path).unlink()
    except FileNotFoundError:
        pass
