"""The user's settings of napari-licell: the memory limit and the cache folder. Qt-free.

:class:`Settings` is the single description of them: each field carries its
label, unit, range and help text in its dataclass metadata, and the settings
dialog (:mod:`napari_licell._qt.settings`) is generated from it with magicgui.
They are kept in a small JSON file, ``settings.json`` in ``$LICELL_CONFIG_DIR``
(by default ``$XDG_CONFIG_HOME/napari-licell``, i.e. ``~/.config/napari-licell``).

* ``memory_limit_gb``: as ``--memory-limit`` on the command line, it bounds the
  resident memory of the whole process; the volume work started from the GUI
  gets what is left after the program's own memory and a reserve, measured when
  the work starts (:func:`work_budget_bytes`, the rule of
  :mod:`napari_licell.memory_limit`).
* ``cache_folder``: where the demo study, label stores of big scans and
  autosaves of scans without a writable folder go (:func:`napari_licell.cache_dir.cache_root`;
  ``$LICELL_CACHE_DIR`` overrides it). None is the default, ``~/.cache/napari-licell``.

A value that cannot be read (a damaged file, a number out of range) is the
default; the others are kept.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from .pipeline import DEFAULT_MEMORY_LIMIT_GB

__all__ = [
    "Settings",
    "SettingSpec",
    "spec_of",
    "settings_path",
    "load_settings",
    "save_settings",
    "memory_limit_gb",
    "memory_limit_bytes",
    "set_memory_limit_gb",
    "work_budget_bytes",
    "MIN_MEMORY_LIMIT_GB",
    "MAX_MEMORY_LIMIT_GB",
]

#: Smallest and largest memory limit accepted, GB.
MIN_MEMORY_LIMIT_GB = 0.25
MAX_MEMORY_LIMIT_GB = 4096.0
_FORMAT = "napari-licell settings"


@dataclass(frozen=True)
class SettingSpec:
    """How one setting is shown: label, unit, range and step (numbers), folder (paths), a help line."""

    label: str
    unit: str = ""
    minimum: float = 0.0
    maximum: float = 0.0
    step: float = 0.0
    decimals: int = 0
    folder: bool = False
    help: str = ""


@dataclass(frozen=True)
class Settings:
    """The user's settings.

    Attributes
    ----------
    memory_limit_gb : float
        Memory limit of the whole program, GB (2**30 bytes); the same as ``--memory-limit``.
    cache_folder : Path or None
        The cache folder (None: the default, ``~/.cache/napari-licell``).
    """

    memory_limit_gb: float = field(
        default=DEFAULT_MEMORY_LIMIT_GB,
        metadata={
            "spec": SettingSpec(
                "Memory limit for volume work",
                "GB",
                MIN_MEMORY_LIMIT_GB,
                MAX_MEMORY_LIMIT_GB,
                step=0.5,
                decimals=2,
                help="Bounds the whole program's memory, as --memory-limit on the command line",
            )
        },
    )
    cache_folder: Path | None = field(
        default=None,
        metadata={
            "spec": SettingSpec(
                "Cache folder",
                folder=True,
                help="The demo study, label stores of big scans, autosaves of scans in read-only folders",
            )
        },
    )

    def checked(self) -> Settings:
        """These settings with every unreadable or out-of-range value replaced by its default."""
        limit = _number(self.memory_limit_gb)
        if limit is None or not MIN_MEMORY_LIMIT_GB <= limit <= MAX_MEMORY_LIMIT_GB:
            limit = DEFAULT_MEMORY_LIMIT_GB
        folder = self.cache_folder
        folder = Path(folder).expanduser() if isinstance(folder, (str, os.PathLike)) and str(folder) else None
        return replace(self, memory_limit_gb=limit, cache_folder=folder)

    def to_json(self) -> dict[str, Any]:
        """The settings as written to the file (paths as text, None kept)."""
        values = asdict(self)
        values["cache_folder"] = None if self.cache_folder is None else str(self.cache_folder)
        return values


def spec_of(name: str) -> SettingSpec:
    """The :class:`SettingSpec` of :class:`Settings` field ``name``."""
    return next(f.metadata["spec"] for f in fields(Settings) if f.name == name)


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number else None  # NaN is unreadable


def settings_path() -> Path:
    """The settings file: ``$LICELL_CONFIG_DIR/settings.json`` (default ``~/.config/napari-licell``)."""
    root = os.environ.get("LICELL_CONFIG_DIR")
    if not root:
        base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
        root = str(Path(base) / "napari-licell")
    return Path(root) / "settings.json"


def load_settings(path: str | os.PathLike | None = None) -> Settings:
    """The settings in ``path`` (default :func:`settings_path`); defaults for what is missing or unreadable."""
    path = Path(path) if path is not None else settings_path()
    try:
        record = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return Settings()
    if not isinstance(record, dict):
        return Settings()
    known = {f.name for f in fields(Settings)}
    return Settings(**{k: v for k, v in record.items() if k in known}).checked()


def save_settings(settings: Settings, path: str | os.PathLike | None = None) -> Path:
    """Write ``settings`` (checked) to ``path`` (default :func:`settings_path`) atomically; returns the path."""
    from .io.atomic import atomic_write_text

    path = Path(path) if path is not None else settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"format": _FORMAT, **settings.checked().to_json()}
    return atomic_write_text(path, json.dumps(record, indent=2) + "\n")


def memory_limit_gb() -> float:
    """The memory limit in GB (the default when unset or unreadable)."""
    return load_settings().memory_limit_gb


def memory_limit_bytes() -> int:
    """The memory limit in bytes."""
    return int(memory_limit_gb() * 2**30)


def set_memory_limit_gb(value: float) -> float:
    """Store the memory limit (GB), clipped to the accepted range; returns the stored value."""
    value = min(max(float(value), MIN_MEMORY_LIMIT_GB), MAX_MEMORY_LIMIT_GB)
    save_settings(replace(load_settings(), memory_limit_gb=value))
    return value


def work_budget_bytes(limit_bytes: int | None = None) -> int:
    """What volume work started now may hold: the limit minus this process's resident memory and the reserve.

    Parameters
    ----------
    limit_bytes : int, optional
        The limit (default: the setting, :func:`memory_limit_bytes`).
    """
    from .memory_limit import process_budget

    limit = memory_limit_bytes() if limit_bytes is None else int(limit_bytes)
    return process_budget(limit, strict=False).work_bytes
