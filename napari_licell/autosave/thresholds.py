"""Crash-safe autosave of threshold positions that were moved but not yet applied, Qt-free.

The Threshold dock writes one small JSON file per scan into the hidden
``.licell-autosave/`` folder beside the scan (the folder the label autosaves
of :mod:`napari_licell.autosave.labels` use), named ``<scan file name>.thresholds.json``.
It holds the whole :class:`~napari_licell.segmentation.thresholds.ThresholdSet`
(grey values, classes, levels, calibration), the scan's source file, the time
of saving and whether these thresholds were applied to the volume.

Writes go through :func:`napari_licell.io.atomic.atomic_write_text` (a
temporary sibling, fsync, :func:`os.replace`), so a crash or a kill in the
middle of an autosave leaves the previous autosave readable.

Applying the thresholds (*Apply to volume*) is recorded with
:func:`mark_thresholds_applied`; :func:`find_recoverable_thresholds` offers an
autosave only when it holds thresholds moved after the last apply.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .labels import autosave_dir, autosave_folder_for
from ..errors import LiCellInputError
from ..io.atomic import atomic_write_text
from ..segmentation.thresholds import ThresholdSet

__all__ = [
    "THRESHOLD_AUTOSAVE_FORMAT",
    "THRESHOLD_AUTOSAVE_VERSION",
    "ThresholdAutosave",
    "scan_key",
    "autosave_folder_for",
    "threshold_autosave_path",
    "write_threshold_autosave",
    "mark_thresholds_applied",
    "read_threshold_autosave",
    "find_recoverable_thresholds",
    "discard_threshold_autosave",
]

#: ``format`` field of every threshold autosave file.
THRESHOLD_AUTOSAVE_FORMAT = "napari-licell threshold autosave"
#: Layout version of the threshold autosave files.
THRESHOLD_AUTOSAVE_VERSION = 1

_SUFFIX = ".thresholds.json"


@dataclass(frozen=True)
class ThresholdAutosave:
    """One threshold autosave as read back from disk.

    Attributes
    ----------
    thresholds : ThresholdSet
        The thresholds (grey values) exactly as they were in the dock.
    key : str
        Which scan they belong to: the scan's file name, or the layer name for
        layers without a file (see :func:`scan_key`).
    source : str or None
        Absolute path of the scan's file, None for layers without a file.
    layer_name : str or None
        Name of the image layer when the autosave was written.
    saved_at : float
        Time of the autosave, seconds since the epoch.
    applied : bool
        True when these thresholds were applied to the volume (nothing to recover).
    applied_at : float or None
        Time of the last apply for this scan, seconds since the epoch (None: never applied).
    path : Path
        The autosave file.
    """

    thresholds: ThresholdSet
    key: str
    source: str | None
    layer_name: str | None
    saved_at: float
    applied: bool
    applied_at: float | None
    path: Path

    @property
    def needs_recovery(self) -> bool:
        """True for thresholds moved after the last apply (work a crash would lose)."""
        return not self.applied and (self.applied_at is None or self.saved_at > self.applied_at)


def _safe_name(name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._+-]+", "_", str(name)).strip("._")
    return cleaned or "scan"


def _normalised(source: str | os.PathLike | None) -> str | None:
    if source is None or str(source) == "":
        return None
    return str(Path(source).expanduser().resolve(strict=False))


def scan_key(source: str | os.PathLike | None, layer_name: str | None = None) -> str:
    """Name a scan's threshold autosave is stored under.

    Parameters
    ----------
    source : path-like or None
        The scan's file (or slice folder); its name is the key.
    layer_name : str, optional
        Used when the scan has no file (demo cells, arrays added from a script).

    Returns
    -------
    str
        The key (not yet made file-system safe; :func:`threshold_autosave_path` does that).
    """
    if source is not None and str(source) != "":
        return Path(source).name
    if not layer_name:
        raise ValueError("a scan without a source file needs a layer name")
    return str(layer_name)


def threshold_autosave_path(folder: str | os.PathLike, key: str) -> Path:
    """File the threshold autosave of scan ``key`` in ``folder`` is written to."""
    return autosave_dir(folder) / f"{_safe_name(key)}{_SUFFIX}"


def _jsonable(value: Any) -> Any:
    """numpy scalars and arrays inside the calibration dictionary become plain numbers/lists."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _write(
    folder: str | os.PathLike,
    key: str,
    thresholds: ThresholdSet,
    source: str | os.PathLike | None,
    layer_name: str | None,
    saved_at: float,
    applied: bool,
    applied_at: float | None,
) -> Path:
    if not isinstance(thresholds, ThresholdSet):
        raise TypeError(f"expected a ThresholdSet, got {type(thresholds).__name__}")
    record = {
        "format": THRESHOLD_AUTOSAVE_FORMAT,
        "format_version": THRESHOLD_AUTOSAVE_VERSION,
        "key": str(key),
        "source": _normalised(source),
        "layer_name": None if layer_name is None else str(layer_name),
        "saved_at": float(saved_at),
        "applied": bool(applied),
        "applied_at": None if applied_at is None else float(applied_at),
        "thresholds": thresholds.to_dict(),
    }
    path = threshold_autosave_path(folder, key)
    text = json.dumps(record, indent=1, default=_jsonable)
    return atomic_write_text(path, text)


def _previous_applied_at(folder: str | os.PathLike, key: str) -> float | None:
    try:
        return read_threshold_autosave(threshold_autosave_path(folder, key)).applied_at
    except LiCellInputError:
        return None


def write_threshold_autosave(
    folder: str | os.PathLike,
    key: str,
    thresholds: ThresholdSet,
    *,
    source: str | os.PathLike | None = None,
    layer_name: str | None = None,
    saved_at: float | None = None,
) -> Path:
    """Atomically write (or replace) the autosave of thresholds that are not applied yet.

    Parameters
    ----------
    folder : path-like
        Folder of the scan (see :func:`autosave_folder_for`); the file goes to
        ``folder/.licell-autosave/``.
    key : str
        Scan key (see :func:`scan_key`).
    thresholds : ThresholdSet
        The thresholds shown in the dock (grey values).
    source : path-like, optional
        The scan's file (stored as an absolute path).
    layer_name : str, optional
        Name of the image layer.
    saved_at : float, optional
        Time stamp, seconds since the epoch (default: now).

    Returns
    -------
    Path
        The autosave file.
    """
    stamp = time.time() if saved_at is None else float(saved_at)
    applied_at = _previous_applied_at(folder, key)
    return _write(folder, key, thresholds, source, layer_name, stamp, False, applied_at)


def mark_thresholds_applied(
    folder: str | os.PathLike,
    key: str,
    thresholds: ThresholdSet,
    *,
    source: str | os.PathLike | None = None,
    layer_name: str | None = None,
    applied_at: float | None = None,
) -> Path:
    """Record that ``thresholds`` were applied to the scan: the autosave stops being offered.

    Parameters
    ----------
    folder, key, thresholds, source, layer_name
        As for :func:`write_threshold_autosave`.
    applied_at : float, optional
        Time of the apply, seconds since the epoch (default: now).

    Returns
    -------
    Path
        The autosave file (now marked as applied).
    """
    stamp = time.time() if applied_at is None else float(applied_at)
    return _write(folder, key, thresholds, source, layer_name, stamp, True, stamp)


def _finite_or_none(value: Any, what: str) -> float | None:
    if value is None:
        return None
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{what} is not a finite number")
    return number


def read_threshold_autosave(path: str | os.PathLike) -> ThresholdAutosave:
    """Read a threshold autosave written by :func:`write_threshold_autosave`.

    Raises
    ------
    LiCellInputError
        The file is missing, is not a threshold autosave, is damaged (cut
        short, not JSON, thresholds out of order) or has another format version.
    """
    path = Path(path)
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError as exc:
        raise LiCellInputError(path, "threshold autosave not found") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise LiCellInputError(path, f"cannot read threshold autosave ({type(exc).__name__}: {exc})") from exc
    hint = "press Discard (or delete the file) to stop it being offered"
    try:
        record = json.loads(text)
    except ValueError as exc:
        raise LiCellInputError(path, f"threshold autosave is damaged (not valid JSON: {exc})", hint) from exc
    if not isinstance(record, dict) or record.get("format") != THRESHOLD_AUTOSAVE_FORMAT:
        raise LiCellInputError(path, "not a napari-licell threshold autosave", hint)
    if record.get("format_version") != THRESHOLD_AUTOSAVE_VERSION:
        raise LiCellInputError(
            path,
            f"threshold autosave has format version {record.get('format_version')}, "
            f"expected {THRESHOLD_AUTOSAVE_VERSION}",
            hint,
        )
    try:
        ts_dict = record["thresholds"]
        if not isinstance(ts_dict, dict):
            raise TypeError("'thresholds' is not a mapping")
        thresholds = ThresholdSet.from_dict(ts_dict)
        if not all(math.isfinite(v) for v in thresholds.values):
            raise ValueError("a threshold value is not finite")
        saved_at = _finite_or_none(record["saved_at"], "saved_at")
        if saved_at is None:
            raise ValueError("saved_at is missing")
        applied = record.get("applied", False)
        if not isinstance(applied, bool):
            raise TypeError("'applied' is not true/false")
        source = record.get("source")
        layer_name = record.get("layer_name")
        return ThresholdAutosave(
            thresholds=thresholds,
            key=str(record.get("key") or path.name[: -len(_SUFFIX)]),
            source=None if source is None else str(source),
            layer_name=None if layer_name is None else str(layer_name),
            saved_at=saved_at,
            applied=applied,
            applied_at=_finite_or_none(record.get("applied_at"), "applied_at"),
            path=path,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise LiCellInputError(path, f"threshold autosave is damaged ({type(exc).__name__}: {exc})", hint) from exc


def find_recoverable_thresholds(
    folder: str | os.PathLike, key: str, source: str | os.PathLike | None = None
) -> ThresholdAutosave | None:
    """The autosave of scan ``key`` when it holds thresholds moved after the last apply.

    Parameters
    ----------
    folder : path-like
        Folder of the scan (its ``.licell-autosave/`` is searched).
    key : str
        Scan key (see :func:`scan_key`).
    source : path-like, optional
        The scan's file: an autosave recorded for another file of the same
        name is not offered.

    Returns
    -------
    ThresholdAutosave or None
        None when there is no autosave, it was applied, or it belongs to another file.

    Raises
    ------
    LiCellInputError
        The autosave exists but is damaged (see :func:`read_threshold_autosave`).
    """
    path = threshold_autosave_path(folder, key)
    if not path.is_file():
        return None
    record = read_threshold_autosave(path)
    if not record.needs_recovery:
        return None
    wanted = _normalised(source)
    if wanted is not None and record.source is not None and record.source != wanted:
        return None
    return record


def discard_threshold_autosave(path: str | os.PathLike) -> None:
    """Delete a threshold autosave the user chose not to restore (a missing file is fine)."""
    try:
        Path(path).unlink()
    except FileNotFoundError:
        pass
