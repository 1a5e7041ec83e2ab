"""The per-user cache folder: ``$LICELL_CACHE_DIR``, by default ``~/.cache/napari-licell``.

Holds the generated demo study, autosaves of scans without a writable
folder, and label stores of big scans classified in the GUI.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cache_root"]


def cache_root() -> Path:
    """The cache folder (not created)."""
    root = os.environ.get("LICELL_CACHE_DIR")
    return Path(root) if root else Path.home() / ".cache" / "napari-licell"
