"""napari Labels history items as explicit voxel changes (indices, old values, new values)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["VoxelChanges", "edit_atoms_to_changes"]


@dataclass
class VoxelChanges:
    """Voxels one edit changed.

    Attributes
    ----------
    index : tuple of ndarray
        Voxel indices, one array per axis.
    old, new : ndarray
        Values before and after, one per voxel.
    """

    index: tuple[np.ndarray, ...]
    old: np.ndarray
    new: np.ndarray

    @property
    def size(self) -> int:
        return int(self.old.size)

    def subset(self, keep: np.ndarray) -> VoxelChanges:
        """The changes where ``keep`` is True."""
        return VoxelChanges(tuple(i[keep] for i in self.index), self.old[keep], self.new[keep])

    def as_atom(self) -> tuple:
        """An index atom ``(indices, old, new)`` as napari's history holds them."""
        return (self.index, self.old, self.new)


def edit_atoms_to_changes(item: list[Any], ndim: int) -> list[VoxelChanges]:
    """Explicit voxel changes of a napari Labels history item.

    Parameters
    ----------
    item : list
        History atoms as napari's ``paint`` event gives them: mask atoms
        ``(slice_key, mask, old_values, new_value)`` or index atoms
        ``(indices, old_values, new_values)``.
    ndim : int
        Dimensions of the layer.

    Returns
    -------
    list of VoxelChanges
        One per atom.
    """
    changes = []
    for atom in item:
        if hasattr(atom, "slice_key"):
            starts = [s.start or 0 for s in atom.slice_key]
            old = np.asarray(atom.old_values).reshape(-1)
            if atom.mask is None:
                local = np.nonzero(np.ones(np.asarray(atom.old_values).shape, dtype=bool))
            else:
                local = np.nonzero(atom.mask)
            idx = tuple(np.asarray(l, dtype=np.intp) + s for l, s in zip(local, starts))
            new = np.full(old.shape, atom.new_value, dtype=old.dtype)
        else:
            indices, old, new = atom
            idx = tuple(np.asarray(i, dtype=np.intp).reshape(-1) for i in indices)
            old = np.asarray(old).reshape(-1)
            new = np.broadcast_to(np.asarray(new, dtype=old.dtype), old.shape).copy()
        if len(idx) != ndim:
            raise ValueError(f"history atom with {len(idx)} index arrays on a {ndim}-D layer")
        changes.append(VoxelChanges(idx, old, new))
    return changes
