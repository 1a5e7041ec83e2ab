"""Crash-safe autosave and recovery of the user's work (Qt-free).

* :mod:`.labels` - painted labels and strokes (one ``.npz`` per labels layer),
  and the autosave folder rule shared by all autosaves (``.licell-autosave/``
  beside the scan, or the cache folder for layers without a file);
* :mod:`.thresholds` - threshold positions moved but not yet applied;
* :mod:`.study` - edited cell metadata of an open study.

The names of :mod:`.labels` are available here directly
(``from napari_licell import autosave; autosave.write_autosave(...)``).
"""

from .labels import *  # noqa: F403 - the label autosave is this package's main surface
from .labels import __all__ as _labels_all

__all__ = list(_labels_all)
