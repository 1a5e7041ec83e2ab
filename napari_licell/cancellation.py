"""Progress and cancellation for long work: the one ``Cancelled`` exception of the project.

Every streamed operation (histograms, classification, measurement, the pixel
classifier, the pipeline) takes ``progress(done, total)`` and a ``cancel``
argument (a :class:`threading.Event` or a callable returning True), and
raises :class:`Cancelled` when asked to stop. The GUI's workers catch this
one type.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Union

__all__ = ["Cancelled", "CancelLike", "ProgressCallback", "is_cancelled", "raise_if_cancelled"]

#: ``progress(done, total)``: called after each unit of work (slab, tile, ...).
ProgressCallback = Callable[[int, int], None]

#: A ``threading.Event`` (set = stop) or a callable returning True to stop.
CancelLike = Union[threading.Event, Callable[[], bool], None]


class Cancelled(RuntimeError):
    """Raised when long work is stopped through its ``cancel`` argument; nothing is written."""


def is_cancelled(cancel: CancelLike) -> bool:
    """True when ``cancel`` asks to stop (an Event that is set, or a callable returning True)."""
    if cancel is None:
        return False
    if isinstance(cancel, threading.Event):
        return cancel.is_set()
    return bool(cancel())


def raise_if_cancelled(cancel: CancelLike) -> None:
    """Raise :class:`Cancelled` when ``cancel`` asks to stop."""
    if is_cancelled(cancel):
        raise Cancelled("stopped on request")
