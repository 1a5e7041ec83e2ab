"""Hooks a pair of napari labels layers (result, scribbles) to a :class:`~napari_licell.painting.PaintSession`.

napari reports every edit of a Labels layer on its ``paint`` event with the
history item of the edit. The binding judges the edit against the session's
rules, puts back what the rules forbid (rewriting the history item, so
napari's undo and redo stay exact), and mirrors hand edits of the result into
the scribbles. napari's undo/redo of the result also undo/redo the mirror.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from qtpy.QtCore import QTimer

from ..classes import CLASS_TABLE
from ..painting import PaintSession, edit_atoms_to_changes

__all__ = ["PaintBinding", "PALETTE"]

#: Classes on the palette (everything but background), in code order; keys 1..6 select them.
PALETTE = tuple(c for c in CLASS_TABLE if c.code != 0)


class PaintBinding:
    """Binds the result and scribble layers of one scan to a paint session.

    Parameters
    ----------
    result, scribbles : napari.layers.Labels
        The real layers (not plugin proxies).
    session : PaintSession
        Holds the rules and the scribble mirror (its ``scribbles`` is ``scribbles.data``).
    on_class_key : callable(code)
        Called when a palette key (1..6) is pressed on either layer.
    on_message : callable(text)
        Told when voxels were put back.
    """

    def __init__(
        self,
        result,
        scribbles,
        session: PaintSession,
        on_class_key: Callable[[int], None],
        on_message: Callable[[str], None],
    ):
        self.result, self.scribbles, self.session = result, scribbles, session
        self.on_message = on_message
        self.internal_write = False
        self._pending: list[tuple[Any, tuple, np.ndarray]] = []
        session.scribbles_changed.connect(self._refresh_scribbles)
        for layer in (result, scribbles):
            layer.events.paint.connect(self._on_paint)
            for i, cls in enumerate(PALETTE):
                layer.bind_key(str(i + 1), _key_callback(on_class_key, cls.code), overwrite=True)
        result.undo = self._undo
        result.redo = self._redo

    def release(self) -> None:
        """Unhook the layers (they stay in the viewer as plain labels layers)."""
        self.session.scribbles_changed.disconnect(self._refresh_scribbles)
        for layer in (self.result, self.scribbles):
            try:
                layer.events.paint.disconnect(self._on_paint)
            except (TypeError, ValueError):
                pass
            for i in range(len(PALETTE)):
                layer.bind_key(str(i + 1), None, overwrite=True)
        for name in ("undo", "redo"):
            self.result.__dict__.pop(name, None)

    def _refresh_scribbles(self) -> None:
        self.scribbles.refresh()

    # ------------------------------------------------------------------ edits
    @property
    def pending_reverts(self) -> int:
        return len(self._pending)

    def write_result(self, index: tuple, values: Any) -> None:
        """A programmatic write of the result (prediction, interpolation): one undo step, not a stroke."""
        self.internal_write = True
        try:
            self.result.data_setitem(index, values)
        finally:
            self.internal_write = False

    def write_result_steps(self, index: tuple, values: Any, chunk_voxels: int = 200_000) -> Iterator[None]:
        """Write a prediction in chunks, one per ``next``, as one undo step.

        Each chunk costs the GUI thread a few tens of milliseconds, so a dock can
        write a whole volume's prediction between event-loop turns (see
        ``LicellDock.start_task``). The classes layer takes no strokes meanwhile.
        """
        layer = self.result
        editable, mode = layer.editable, layer.mode  # napari drops to pan_zoom when a layer is made read-only
        layer.editable = False
        self.internal_write = True
        history = layer.block_history()
        history.__enter__()
        try:
            n = int(index[0].size)
            for start in range(0, n, chunk_voxels):
                part = tuple(axis[start : start + chunk_voxels] for axis in index)
                layer.data_setitem(part, values[start : start + chunk_voxels], refresh=False)
                yield
        finally:
            try:
                history.__exit__(None, None, None)  # one undo item; its paint event is judged as ours
            finally:
                self.internal_write = False
                layer.editable = editable
                if editable and layer.mode != mode:
                    layer.mode = mode  # the user's brush back, to correct the prediction at once
                layer.refresh()

    def _on_paint(self, event) -> None:
        layer = event.source
        if self.internal_write:
            if layer is self.result:
                self.session.mirror_nothing()
            return
        self.apply_pending()
        item = event.value
        outcome = self.session.judge(edit_atoms_to_changes(item, layer.ndim), layer.translate, layer.scale)
        if outcome.n_reverted:
            item[:] = [c.as_atom() for c in outcome.kept if c.size]
            for change in reversed(outcome.reverted):
                self._pending.append((layer, change.index, change.old))
            # Interactive strokes report after writing; programmatic paint()/fill()/data_setitem() report
            # just before writing. Reverts of edits not yet written run once control is back in the event loop.
            self.apply_pending(only_written=True)
            if self._pending:
                QTimer.singleShot(0, self.apply_pending)
            self.on_message(f"{outcome.n_reverted} voxel(s) outside the allowed class / depth band were put back.")
            if not item:  # nothing allowed was changed: drop the empty step so Ctrl+Z undoes the previous edit
                history = getattr(layer, "_undo_history", None)
                if history is not None and len(history) and history[-1] is item:
                    history.pop()
                self.session.dirty = True
                return
        if layer is self.result:
            self.session.mirror(outcome.kept)
        else:
            self.session.dirty = True

    def apply_pending(self, only_written: bool = False) -> None:
        """Put back voxels an edit may not change (from the event loop after programmatic edits)."""
        if not self._pending:
            return
        keep, touched = [], []
        for layer, index, old in self._pending:
            if only_written and np.array_equal(np.asarray(layer.data[index]), old):
                keep.append((layer, index, old))  # not written yet: napari writes right after the event
                continue
            layer.data[index] = old
            if layer not in touched:
                touched.append(layer)
        self._pending = keep
        for layer in touched:
            layer.refresh()

    # ------------------------------------------------------------------ undo
    def _undo(self) -> None:
        """napari's undo of the result, and the mirrored strokes out of the scribbles."""
        type(self.result).undo(self.result)
        self.session.undo()

    def _redo(self) -> None:
        type(self.result).redo(self.result)
        self.session.redo()


def _key_callback(on_class_key: Callable[[int], None], code: int):
    def select(layer=None):
        on_class_key(code)

    select.__doc__ = f"Paint class code {code}"
    return select
