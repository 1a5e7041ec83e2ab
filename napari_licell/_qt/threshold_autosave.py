"""The Thresholds dock's autosave: a hand change is written a couple of seconds after the last move; the
recovery row offers a scan's thresholds that were moved but never applied.

The rules are the session's (:class:`~napari_licell.threshold_session.ThresholdSession`);
this object only owns the timer and shows the session's offer in the row.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from qtpy.QtCore import QObject, QTimer

from ..threshold_session import ScanRef, ThresholdSession
from .threshold_widgets import RecoveryRow

__all__ = ["ThresholdAutosaveTimer"]


class ThresholdAutosaveTimer(QObject):
    """Writes the session's pending hand change ``delay_seconds`` after the last one (<= 0: never by itself).

    Parameters
    ----------
    session : ThresholdSession
    row : RecoveryRow
        Shows the session's recovery offer (or a damaged autosave).
    guard : callable
        The dock's error guard: ``guard(fn)`` runs ``fn`` and reports its error.
    report : callable
        Shows one line to the user (the dock's status).
    """

    def __init__(
        self,
        session: ThresholdSession,
        row: RecoveryRow,
        delay_seconds: float,
        guard: Callable,
        report: Callable[[str], None],
        parent=None,
    ):
        super().__init__(parent)
        self.session, self.row, self.report = session, row, report
        self.delay_seconds = float(delay_seconds)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(lambda: guard(self.write_now))

    def show_offer(self, record, damaged: bool) -> None:
        """Show the session's recovery offer (connected to ``session.recovery_changed``)."""
        if damaged:
            self.row.damaged()
        else:
            self.row.offer(record)

    def schedule(self) -> None:
        """A hand change was made: write it after the delay (restarted by every change)."""
        if self.delay_seconds > 0 and self.session.pending:
            self.timer.start(int(round(self.delay_seconds * 1000)))

    def write_now(self) -> Path | None:
        """Write the pending threshold change (if any) to the scan's autosave now (atomic)."""
        self.timer.stop()
        try:
            return self.session.write_pending_now()
        except OSError as exc:
            self.report(f"Threshold autosave failed: {exc}")
            raise

    def flush(self) -> Path | None:
        """Write a pending threshold autosave at once (before closing); None when nothing was pending."""
        return self.write_now() if self.session.pending else None

    def discard(self) -> None:
        """Delete the offered (or damaged) threshold autosave."""
        self.session.discard_offered()
        self.report("Discarded the autosaved thresholds.")

    def check(self, scan: ScanRef | None):
        """Offer ``scan``'s autosaved thresholds when they were never applied (not this session's own)."""
        return self.session.check_recovery(scan)
