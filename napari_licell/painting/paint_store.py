"""Where a scan's painting lives outside the viewer, Qt-free: the start labels, the autosave.

(A scan whose labels and strokes do not fit in memory is painted in label
stores on disk: :mod:`napari_licell.painting.paint_volumes`.)

* :func:`start_labels` checks a labels volume the user starts from;
* :class:`PaintAutosave` writes the classes and scribbles of the scan being
  painted into its autosave folder and offers autosaves newer than the last
  explicit save (:mod:`napari_licell.autosave.labels`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from .. import autosave
from ..classes import CLASS_TABLE, LABEL_DTYPE
from ..errors import LiCellInputError

__all__ = ["PaintAutosave", "start_labels", "interpolated_voxels"]


def start_labels(shape: tuple[int, ...], source: Any = None, source_name: str = "") -> np.ndarray:
    """The labels painting starts from: zeros, or a copy of ``source`` (same shape, class-table codes only).

    Raises
    ------
    LiCellInputError
        ``source`` has another shape or codes outside the class table.
    """
    if source is None:
        return np.zeros(shape, dtype=LABEL_DTYPE)
    src = np.asarray(source)
    if src.shape != tuple(shape):
        raise LiCellInputError(None, f"labels layer {source_name!r} has shape {src.shape}, the scan {tuple(shape)}")
    if src.max(initial=0) > max(c.code for c in CLASS_TABLE):
        raise LiCellInputError(None, f"labels layer {source_name!r} holds codes outside the class table")
    return src.astype(LABEL_DTYPE)


def interpolated_voxels(scribbles: Any, code: int, spacing_um: tuple[float, float]) -> tuple[np.ndarray, ...]:
    """Voxels between slices painted with ``code`` in ``scribbles`` that interpolation fills (``np.nonzero`` form).

    Only the planes from the first to the last one painted with ``code`` are
    read (found a few planes at a time), so a label store larger than memory
    is fine as long as that span is not.
    """
    from ..classifier import interpolate_between_slices

    planes = [
        z0 + np.flatnonzero((np.asarray(scribbles[z0 : z0 + 16]) == code).any(axis=(1, 2)))
        for z0 in range(0, scribbles.shape[0], 16)
    ]
    painted = np.concatenate(planes) if planes else np.zeros(0, int)
    if painted.size < 2:
        return tuple(np.zeros(0, np.intp) for _ in range(3))
    first, last = int(painted[0]), int(painted[-1])
    span = np.asarray(scribbles[first : last + 1])
    z, y, x = np.nonzero(interpolate_between_slices(span, code, sampling=tuple(spacing_um)))
    return z + first, y, x


class PaintAutosave:
    """The autosave of the scan being painted: its folder, the last file written, the autosaves on offer."""

    def __init__(self) -> None:
        self.folder: Path | None = None
        self.last: Path | None = None
        self.recoverable: list[autosave.Recoverable] = []

    def follow_scan(self, source: str | os.PathLike | None) -> Path:
        """Autosave beside the scan's file (the cache folder for a scan without one); returns the folder."""
        self.folder = autosave.autosave_folder_for(source)
        return self.folder

    def write(
        self, name: str, labels: Any, scribbles: Any, scan: str | None = None, scale_um: Any = None
    ) -> Path | None:
        """Write the classes ``labels`` and ``scribbles`` of ``scan`` as ``name`` now (atomic); None without a folder.

        Raises
        ------
        OSError
            When the autosave cannot be written.
        """
        if self.folder is None:
            return None
        metadata = {"scan": scan, "scale_um": None if scale_um is None else [float(s) for s in scale_um]}
        self.last = autosave.write_autosave(
            self.folder,
            name,
            np.asarray(labels),
            None if scribbles is None else np.asarray(scribbles),
            metadata=metadata,
        )
        return self.last

    def find(self, name: str | None) -> list[autosave.Recoverable]:
        """Autosaves of ``name`` newer than its last explicit save (none without a folder or name)."""
        self.recoverable = []
        if name is not None and self.folder is not None:
            self.recoverable = [r for r in autosave.find_recoverable(self.folder) if r.name == name]
        return self.recoverable

    def take(self, recoverable: autosave.Recoverable | None, shape: tuple[int, ...]):
        """Read the offered (or given) autosave for a scan of ``shape``; None when nothing is offered.

        Raises
        ------
        LiCellInputError
            The autosave is of another shape than the scan, or damaged.
        """
        r = recoverable or (self.recoverable[0] if self.recoverable else None)
        if r is None:
            return None
        record = autosave.restore(r.path)
        if record.labels.shape != tuple(shape):
            raise LiCellInputError(r.path, f"autosave has shape {record.labels.shape}, not the scan's")
        self.recoverable = []
        return r, record

    def discard(self) -> None:
        """Delete the autosaves on offer."""
        for r in self.recoverable:
            autosave.discard(r.path)
        self.recoverable = []
