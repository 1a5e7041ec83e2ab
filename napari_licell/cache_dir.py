"""The per-user cache folder: ``$LICELL_CACHE_DIR``, else the settings' cache folder, else ``~/.cache/napari-licell``.

Holds the generated demo study, autosaves of scans without a writable
folder, and label stores of big scans classified in the GUI.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cache_root", "default_cache_root"]


def default_cache_root() -> Path:
    """The cache folder when neither ``$LICELL_CACHE_DIR`` nor the settings name one: ``~/.cache/napari-licell``."""
    return Path.home() / ".cache" / "napari-licell"


def cache_root() -> Path:
    """The cache folder (not created): ``$LICELL_CACHE_DIR``, the settings' cache folder, or the default."""
    root = os.environ.get("LICELL_CACHE_DIR")
    if root:
        return Path(root)
    from .settings import load_settings

    return load_settings().cache_folder or default_cache_root()
