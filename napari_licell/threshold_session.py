"""The state of thresholding scans interactively: thresholds per scan, histograms, autosave. Qt-free.

The Thresholds dock is a view of a :class:`ThresholdSession`: it shows the
session's histograms and thresholds and forwards the user's changes; the
session keeps one :class:`~napari_licell.segmentation.ThresholdSet` per scan,
caches the histograms (counted once per scan, in the dock's worker), and
runs the autosave rules of :mod:`napari_licell.autosave.thresholds`:

* a hand change is *pending* until it is written (the dock calls
  :meth:`ThresholdSession.write_pending` a couple of seconds after the last change);
* applying thresholds to the volume retires their autosave
  (:meth:`ThresholdSession.mark_applied`), unless they were moved again meanwhile;
* a scan whose autosave holds thresholds moved after the last apply is offered
  for recovery (:meth:`ThresholdSession.recoverable`), but never the autosaves
  this session wrote itself.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from psygnal import Signal

from .autosave import thresholds as ts_autosave
from .errors import LiCellInputError
from .pipeline import ScanHistograms

__all__ = ["ScanRef", "ThresholdSession"]


@dataclass(frozen=True)
class ScanRef:
    """Where a scan's threshold autosave lives.

    Attributes
    ----------
    token : int
        Identity of the scan in this session (e.g. ``id`` of its layer).
    name : str
        Layer name.
    source : str or None
        The scan's file (None for scans without one).
    """

    token: int
    name: str
    source: str | None = None

    @property
    def folder(self) -> Path:
        return ts_autosave.autosave_folder_for(self.source)

    @property
    def key(self) -> str:
        return ts_autosave.scan_key(self.source, self.name)

    @property
    def autosave_path(self) -> Path:
        return ts_autosave.threshold_autosave_path(self.folder, self.key)


class ThresholdSession:
    """Thresholds and histograms of the scans being thresholded, and their autosave."""

    #: ``(token, ThresholdSet or None)`` after the thresholds of a scan changed.
    thresholds_changed = Signal(int, object)

    def __init__(self) -> None:
        self._thresholds: dict[int, Any] = {}
        self._histograms: dict[int, ScanHistograms] = {}
        self._regions: dict[int, Any] = {}
        self._pending: tuple[ScanRef, Any] | None = None
        self._own: dict[Path, float] = {}
        self.last_autosave: Path | None = None

    # ------------------------------------------------------------------ histograms
    def histograms(self, data_token: int) -> ScanHistograms | None:
        """Cached histograms of a scan's data (None until counted)."""
        return self._histograms.get(data_token)

    def store_histograms(self, data_token: int, histograms: ScanHistograms, region: Any = None) -> None:
        """Keep a scan's histograms and the cell region they were counted in (None: the whole volume)."""
        self._histograms[data_token] = histograms
        self._regions[data_token] = region

    def region(self, data_token: int) -> Any:
        """The cell region found with the scan's histograms (None: the whole volume, or not counted yet)."""
        return self._regions.get(data_token)

    # ------------------------------------------------------------------ thresholds
    def thresholds(self, scan: ScanRef | int) -> Any:
        """The scan's current thresholds (None before the first suggestion)."""
        token = scan.token if isinstance(scan, ScanRef) else int(scan)
        return self._thresholds.get(token)

    def set_thresholds(self, scan: ScanRef, thresholds: Any, by_hand: bool = False) -> Any:
        """Use ``thresholds`` for ``scan``; a change ``by_hand`` becomes pending for autosave."""
        self._thresholds[scan.token] = thresholds
        if by_hand:
            if self._pending is not None and self._pending[0].token != scan.token:
                self.write_pending()  # another scan's change is not dropped
            self._pending = (scan, thresholds)
        self.thresholds_changed.emit(scan.token, thresholds)
        return thresholds

    def move(self, scan: ScanRef, index: int, value: float, by_hand: bool = True) -> Any:
        """Move threshold ``index`` of ``scan`` to ``value`` grey (kept between its neighbours)."""
        current = self.thresholds(scan)
        if current is None:
            raise LiCellInputError(None, "no thresholds yet", "press Suggest first")
        if not 0 <= index < len(current.values):
            raise IndexError(f"threshold index {index} out of range 0..{len(current.values) - 1}")
        return self.set_thresholds(scan, current.with_value(index, float(value)), by_hand=by_hand)

    # ------------------------------------------------------------------ autosave
    @property
    def pending(self) -> bool:
        return self._pending is not None

    def write_pending(self) -> Path | None:
        """Write the pending hand change (if any) to its scan's autosave now (atomic).

        Raises
        ------
        OSError
            When the autosave cannot be written (the change stays pending).
        """
        if self._pending is None:
            return None
        scan, ts = self._pending
        stamp = time.time()
        path = ts_autosave.write_threshold_autosave(scan.folder, scan.key, ts, source=scan.source,
                                                    layer_name=scan.name, saved_at=stamp)
        self._pending = None
        self._own[path] = stamp
        self.last_autosave = path
        return path

    def mark_applied(self, scan: ScanRef, applied: Any) -> None:
        """Thresholds ``applied`` were applied to the whole scan: their autosave needs no recovery."""
        pending = self._pending
        if pending is not None and pending[0].token == scan.token and pending[1].to_dict() == applied.to_dict():
            self._pending = None
        current = self.thresholds(scan)
        if current is not None and current.to_dict() != applied.to_dict():
            return  # moved again while applying: that newer change stays recoverable
        if not scan.autosave_path.exists():
            return
        stamp = time.time()
        path = ts_autosave.mark_thresholds_applied(scan.folder, scan.key, applied, source=scan.source,
                                                   layer_name=scan.name, applied_at=stamp)
        self._own[path] = stamp

    def recoverable(self, scan: ScanRef) -> ts_autosave.ThresholdAutosave | None:
        """The scan's autosave when it holds thresholds moved after the last apply, not written by this session.

        Raises
        ------
        LiCellInputError
            The autosave is damaged.
        """
        record = ts_autosave.find_recoverable_thresholds(scan.folder, scan.key, scan.source)
        if record is not None and self._own.get(record.path) == record.saved_at:
            return None
        return record

    def restore(self, scan: ScanRef, record: ts_autosave.ThresholdAutosave) -> Any:
        """Use the autosaved thresholds (exact grey values); they are not offered again."""
        self._own[record.path] = record.saved_at
        return self.set_thresholds(scan, record.thresholds)

    def discard(self, path: Path) -> None:
        """Delete an autosave the user chose not to restore."""
        ts_autosave.discard_threshold_autosave(path)
        self._own.pop(path, None)
