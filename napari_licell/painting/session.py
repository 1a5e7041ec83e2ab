"""The state of painting one scan: edit rules, the scribble mirror and its undo/redo. Qt-free."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from psygnal import Signal

from .edits import VoxelChanges

__all__ = ["EditRules", "EditOutcome", "PaintSession"]


@dataclass
class EditRules:
    """What a hand edit may change.

    Attributes
    ----------
    target_class : int or None
        Edits may only change voxels of this class code (None: any).
    band_um : (float, float) or None
        Edits may only change voxels whose position along the stack axis lies
        in this range, world micrometres (None: anywhere).
    stack_axis : int
        Axis of the layer that the band is measured along, counted from the end
        (-3 for z in a (z, y, x) or (t, z, y, x) layer).
    """

    target_class: int | None = None
    band_um: tuple[float, float] | None = None
    stack_axis: int = -3

    def allowed(self, changes: VoxelChanges, translate: Any, scale: Any) -> np.ndarray:
        """Per changed voxel: True when the rules let the edit change it."""
        ok = np.ones(changes.old.shape, dtype=bool)
        if self.target_class is not None:
            ok &= changes.old == self.target_class
        if self.band_um is not None:
            axis = len(changes.index) + self.stack_axis
            lo, hi = sorted(self.band_um)
            z_um = float(translate[axis]) + float(scale[axis]) * changes.index[axis]
            eps = 1e-6 * abs(float(scale[axis]))
            ok &= (z_um >= lo - eps) & (z_um <= hi + eps)
        return ok


@dataclass
class EditOutcome:
    """An edit judged against the rules: the changes kept and those to put back."""

    kept: list[VoxelChanges] = field(default_factory=list)
    reverted: list[VoxelChanges] = field(default_factory=list)

    @property
    def n_reverted(self) -> int:
        return sum(c.size for c in self.reverted)

    @property
    def n_kept(self) -> int:
        return sum(c.size for c in self.kept)


#: One mirrored edit: (index, scribble values before, scribble values after) per atom.
MirrorRecord = list[tuple[tuple[np.ndarray, ...], np.ndarray, np.ndarray]]


class PaintSession:
    """Rules and the scribble mirror of one painted scan.

    Parameters
    ----------
    scribbles : writable array
        The strokes volume (class codes, 0 = unpainted): written by :meth:`mirror`.
    history : int
        Edits kept for undo.
    """

    #: Emitted after the scribbles were written (mirror, undo, redo).
    scribbles_changed = Signal()

    def __init__(self, scribbles: Any, history: int = 100):
        self.scribbles = scribbles
        self.rules = EditRules()
        self.dirty = False
        self._undo: deque[MirrorRecord] = deque(maxlen=history)
        self._redo: deque[MirrorRecord] = deque(maxlen=history)

    def judge(self, changes: list[VoxelChanges], translate: Any, scale: Any) -> EditOutcome:
        """Split an edit's changes into those the rules allow and those to put back."""
        outcome = EditOutcome()
        for change in changes:
            ok = self.rules.allowed(change, translate, scale)
            outcome.kept.append(change.subset(ok))
            if not ok.all():
                outcome.reverted.append(change.subset(~ok))
        return outcome

    def mirror(self, kept: list[VoxelChanges]) -> int:
        """Write a hand edit of the result into the scribbles (undoable); returns voxels written."""
        record: MirrorRecord = []
        for change in kept:
            if change.size:
                before = np.array(self.scribbles[change.index], copy=True)
                self.scribbles[change.index] = change.new
                record.append((change.index, before, change.new))
        self._push(record)
        self.dirty = True
        if record:
            self.scribbles_changed.emit()
        return sum(r[1].size for r in record)

    def mirror_nothing(self) -> None:
        """A programmatic write of the result (prediction, interpolation): undo steps stay aligned."""
        self._push([])
        self.dirty = True

    def _push(self, record: MirrorRecord) -> None:
        self._undo.append(record)
        self._redo.clear()

    def undo(self) -> bool:
        """Take the last mirrored edit out of the scribbles (call with napari's undo); True when one was."""
        if not self._undo:
            return False
        record = self._undo.pop()
        for index, before, _after in reversed(record):
            self.scribbles[index] = before
        self._redo.append(record)
        self.dirty = True
        if record:
            self.scribbles_changed.emit()
        return True

    def redo(self) -> bool:
        """Put the last undone edit back into the scribbles; True when one was."""
        if not self._redo:
            return False
        record = self._redo.pop()
        for index, _before, after in record:
            self.scribbles[index] = after
        self._undo.append(record)
        self.dirty = True
        if record:
            self.scribbles_changed.emit()
        return True

    def reset(self, scribbles: Any) -> None:
        """Start over on a new scribbles volume (history cleared)."""
        self.scribbles = scribbles
        self._undo.clear()
        self._redo.clear()
        self.dirty = False

    def painted_classes(self) -> list[int]:
        """Class codes present in the scribbles (what the classifier would learn)."""
        values = np.unique(np.asarray(self.scribbles))
        return [int(v) for v in values if v != 0]
