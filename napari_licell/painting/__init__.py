"""Painting labels by hand, Qt-free: napari edit records as voxel changes, edit rules, the scribble mirror.

The Paint dock keeps two labels volumes per scan: the *result* (prediction
plus hand edits) and the *scribbles* (only what the user painted, the
classifier's training data). :class:`PaintSession` holds the rules an edit
must follow (paint only over one class, a depth band along the stack axis)
and mirrors every hand edit of the result into the scribbles, with an undo
and redo of its own that follow napari's.
"""

from .edits import VoxelChanges, edit_atoms_to_changes
from .session import EditOutcome, EditRules, PaintSession

__all__ = ["VoxelChanges", "edit_atoms_to_changes", "EditRules", "EditOutcome", "PaintSession"]
