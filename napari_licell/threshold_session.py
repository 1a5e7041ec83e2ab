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

import re
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from psygnal import Signal

from . import pipeline
from .autosave import thresholds as ts_autosave
from .errors import LiCellInputError
from .layer_roles import Role, tagged
from .pipeline import ScanHistograms

__all__ = [
    "ScanRef",
    "ThresholdSession",
    "describe_thresholds",
    "classify_to_labels",
    "count_histograms",
    "labels_metadata",
    "new_store_folder",
    "verdict_with_gas_note",
]


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
    #: ``(record or None, damaged)`` when the autosave offered for recovery changed.
    recovery_changed = Signal(object, bool)

    def __init__(self) -> None:
        self._thresholds: dict[int, Any] = {}
        self._histograms: dict[int, ScanHistograms] = {}
        self._regions: dict[int, Any] = {}
        self._corrected: dict[int, Any] = {}
        self._pending: tuple[ScanRef, Any] | None = None
        self._own: dict[Path, float] = {}
        self.last_autosave: Path | None = None
        #: The autosave offered for recovery of the scan shown (None: nothing offered).
        self.offered: ts_autosave.ThresholdAutosave | None = None
        self._damaged: Path | None = None

    # ------------------------------------------------------------------ histograms
    def histograms(self, data_token: int) -> ScanHistograms | None:
        """Cached histograms of a scan's data (None until counted)."""
        return self._histograms.get(data_token)

    def store_histograms(
        self, data_token: int, histograms: ScanHistograms, region: Any = None, corrected: Any = None
    ) -> None:
        """Keep a scan's histograms, the cell region they were counted in (None: the whole volume) and the scan
        with rings and cupping taken off that they were counted from (None: the scan as it is)."""
        self._histograms[data_token] = histograms
        self._regions[data_token] = region
        if corrected is not None:
            self._corrected[data_token] = corrected

    def corrected(self, data_token: int, data: Any) -> Any:
        """The scan ``data`` as its histograms were counted (rings and cupping taken off), to classify it alike."""
        return self._corrected.get(data_token, data)

    def forget_histograms(self, data_token: int) -> None:
        """Drop a scan's histograms and region (e.g. after the user corrected the region): counted again next."""
        for store in (self._histograms, self._regions):
            store.pop(data_token, None)

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
        path = ts_autosave.write_threshold_autosave(
            scan.folder, scan.key, ts, source=scan.source, layer_name=scan.name, saved_at=stamp
        )
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
        path = ts_autosave.mark_thresholds_applied(
            scan.folder, scan.key, applied, source=scan.source, layer_name=scan.name, applied_at=stamp
        )
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

    # ------------------------------------------------------------------ recovery offer of the scan shown
    def offer(self, record: ts_autosave.ThresholdAutosave | None, damaged: Path | None = None) -> None:
        """Offer ``record`` for recovery (None: nothing), or a ``damaged`` autosave that can only be discarded."""
        self.offered, self._damaged = record, damaged
        self.recovery_changed.emit(record, damaged is not None)

    def check_recovery(self, scan: ScanRef | None) -> ts_autosave.ThresholdAutosave | None:
        """Offer ``scan``'s autosaved thresholds when they were never applied (not this session's own).

        Raises
        ------
        LiCellInputError
            The autosave is damaged (then only discarding it is offered).
        """
        if scan is None:
            self.offer(None)
            return None
        try:
            record = self.recoverable(scan)
        except LiCellInputError:
            self.offer(None, damaged=scan.autosave_path)
            raise
        self.offer(record)
        return record

    def restore_offered(self, scan: ScanRef) -> Any:
        """Use the offered autosave's thresholds for ``scan``; None when nothing was offered."""
        record = self.offered
        if record is None:
            return None
        self.restore(scan, record)
        self.offer(None)
        return record.thresholds

    def discard_offered(self) -> None:
        """Delete the offered (or damaged) autosave."""
        path = self.offered.path if self.offered is not None else self._damaged
        if path is not None:
            self.discard(path)
        self.offer(None)

    def write_pending_now(self) -> Path | None:
        """:meth:`write_pending`, and withdraw an offer the newer thresholds just replaced."""
        path = self.write_pending()
        if path is not None and self.offered is not None and self.offered.path == path:
            self.offer(None)  # the user kept working: the newer thresholds replaced the offer
        return path

    def applied_elsewhere(self) -> None:
        """Withdraw an offer whose autosave no longer exists (applying retired it)."""
        if self.offered is not None and not self.offered.path.exists():
            self.offer(None)

    # ------------------------------------------------------------------ judging a scan
    def verdict(self, data_token: int, options: pipeline.AnalysisOptions, calibration: Any = None):
        """The scan's Li/void contrast verdict as analyze judges it (None until its histograms are counted)."""
        hists = self.histograms(data_token)
        return None if hists is None else verdict_with_gas_note(hists, options, calibration)

    def resolved_options(
        self, data_token: int, options: pipeline.AnalysisOptions, calibration: Any = None
    ) -> pipeline.AnalysisOptions:
        """``options`` with the fill gas inferred from the scan when none is set (as analyze does)."""
        hists = self.histograms(data_token)
        if hists is None or options.gas is not None:
            return options
        return pipeline.resolve_fill_gas(hists, options, calibration)[0]


def verdict_with_gas_note(hists: ScanHistograms, options: pipeline.AnalysisOptions, calibration: Any = None):
    """:func:`pipeline.judge_scan_contrast`'s verdict, its reason saying when the fill gas was inferred."""
    resolved, inference, verdict = pipeline.judge_scan_contrast(hists, options, calibration)
    if inference is not None and inference.gas is not None:  # as analyze: the gas the data show
        pressure = f" {resolved.gas_pressure_atm:.1f} atm" if resolved.gas_pressure_atm is not None else ""
        verdict = replace(
            verdict, reason=f"{verdict.reason} (fill gas not given: {resolved.gas}{pressure} inferred from the data)"
        )
    return verdict


def describe_thresholds(ts: Any) -> str:
    """One line naming the method and every threshold (grey values), with the suggestion's notes."""
    text = f"({ts.method}): " + ", ".join(f"{n} {v:.0f}" for n, v in zip(ts.boundary_names, ts.values))
    return text + ("; " + "; ".join(ts.notes) if ts.notes else "")


def count_histograms(
    scans: list[tuple[int, Any]],
    options: pipeline.AnalysisOptions,
    *,
    progress: Callable[[int, int], None],
    cancel: Any = None,
    region_files: dict[int, Any] | None = None,
) -> list[tuple[int, Any, Any, Any]]:
    """Prepare ``(token, data)`` scans as analyze does: the cell region (the jig stays out), rings and cupping off.

    ``region_files`` maps a token to the region file the user corrected (``analyze --roi FILE``);
    the other scans' regions are found.

    Returns
    -------
    list of (token, histograms, region, corrected data)
    """
    from dataclasses import replace

    counted = []
    for token, data in scans:
        region_file = (region_files or {}).get(token)
        scan_options = options if region_file is None else replace(options, roi=str(region_file))
        prepared = pipeline.prepare_scan(
            data, scan_options, cancel=cancel, progress=lambda stage, done, total: progress(done, total)
        )
        counted.append((token, prepared.histograms, prepared.region, prepared.data))
    return counted


def new_store_folder(name: str) -> Path:
    """A fresh folder in the cache (``$LICELL_CACHE_DIR/label-stores``) for a big scan's label store."""
    from .cache_dir import cache_root

    base = cache_root() / "label-stores"
    base.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "labels"
    return Path(tempfile.mkdtemp(prefix=f"{stem}-", dir=base))


def classify_to_labels(
    data: Any,
    thresholds: Any,
    options: pipeline.AnalysisOptions,
    *,
    name: str,
    voxel_size_um: tuple[float, float, float],
    histograms: ScanHistograms | None = None,
    region: Any = None,
    progress: Callable[[int, int], None] | None = None,
    cancel: Any = None,
):
    """Classify a whole scan into labels in memory, or into a new label store when they do not fit (one rule).

    A cancelled or failed run leaves no half-written store behind.
    """
    if data.ndim == 2:
        return pipeline.classify_scan(data, thresholds, options)
    out, store = pipeline.new_label_output(
        data.shape, voxel_size_um, options.memory_limit_bytes, lambda: new_store_folder(name)
    )
    try:
        return pipeline.classify_scan(
            data,
            thresholds,
            options,
            histograms=histograms,
            voxel_size_um=voxel_size_um,
            out=out if store is not None else None,
            progress=progress,
            cancel=cancel,
            region=region,
        )
    except BaseException:
        if store is not None:
            shutil.rmtree(store.parent, ignore_errors=True)
        raise


def labels_metadata(result: Any, scan_name: str, denoise: str, contrast: dict[str, Any] | None) -> dict[str, Any]:
    """Metadata of a scan's thresholded labels: thresholds, rules, carbon band and the scan's contrast record."""
    meta = tagged(
        {
            "thresholds": result.thresholds.to_dict(),
            "source_image": scan_name,
            "denoise": denoise,
            "partial_volume": bool(result.partial_volume),
        },
        Role.LABELS,
        scan_name,
    )
    if result.carbon_band is not None:
        meta["carbon_band"] = asdict(result.carbon_band)
    if contrast is not None:  # the scan's one CNR travels with its labels (Results dock, reports)
        meta["contrast"] = contrast
    if getattr(result, "gas_pores", None) is not None:  # what the gas-pore step relabelled and left ambiguous
        meta["gas_pores"] = result.gas_pores.to_dict()
    return meta
