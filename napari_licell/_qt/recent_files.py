"""Recently opened studies and scans, kept in Qt's per-user settings."""

from __future__ import annotations

from qtpy.QtCore import QSettings

__all__ = ["recent_files", "remember_file", "MAX_RECENT"]

MAX_RECENT = 10
_KEY = "recent_files"


def _settings() -> QSettings:
    return QSettings("napari-licell", "napari-licell")


def recent_files() -> list[str]:
    """Most recent first."""
    value = _settings().value(_KEY, [])
    if isinstance(value, str):
        value = [value]
    return [str(v) for v in (value or [])]


def remember_file(path: str) -> list[str]:
    """Put ``path`` first in the recent list (without duplicates); returns the new list."""
    files = [path] + [f for f in recent_files() if f != path]
    files = files[:MAX_RECENT]
    _settings().setValue(_KEY, files)
    return files
