"""Is a volume a label volume (class codes) or a grey-value scan? Decided from a few planes, Qt-free."""

from __future__ import annotations

import numpy as np

from .found_volume import sample_slice_indices
from .volume import Volume

__all__ = ["looks_like_labels", "MAX_CLASS_CODE"]

#: Highest class code of the class table (a uint8 volume with larger values is a scan).
MAX_CLASS_CODE = 6


def looks_like_labels(volume: Volume) -> bool:
    """True for label volumes: marked so by napari-licell, or uint8 with codes 0..6 only.

    The value check reads the first, middle and last slices only.
    """
    kind = (volume.metadata.get("licell") or {}).get("kind")
    if kind in ("labels", "image"):
        return kind == "labels"
    if volume.dtype != np.uint8:
        return False
    data = volume.data
    peak = 0
    for i in sample_slice_indices(volume.shape[0]):
        plane = np.asarray(data[i].compute() if hasattr(data[i], "compute") else data[i])
        peak = max(peak, int(plane.max()))
        if peak > MAX_CLASS_CODE:
            return False
    return peak >= 1
