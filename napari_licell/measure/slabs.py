"""Reading a 3D volume slab by slab along the stack axis, collector end first.

Measurement never needs the whole volume in memory: every pass walks the
stack axis in slabs of a few slices. :class:`OrientedVolume` hides where the
stack axis is and which end the collector sits at, so the passes always see
``(z, y, x)`` arrays with ``z = 0`` on the collector side. ``y`` and ``x``
are the two other axes in their original order.

Works on anything that slices like numpy: numpy arrays, ``np.memmap``,
dask arrays (only the slab is computed) and zarr arrays.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["OrientedVolume", "default_slab_slices", "DEFAULT_SLAB_VOXELS"]

#: Voxels per slab by default (32 M voxels: 32 MB of labels, ~250 MB of work arrays).
DEFAULT_SLAB_VOXELS = 32 * 1024 * 1024


def default_slab_slices(shape_zyx: tuple[int, int, int], slab_voxels: int = DEFAULT_SLAB_VOXELS, chunk: int = 1) -> int:
    """Slices per slab so that one slab holds about ``slab_voxels`` voxels (at least one slice).

    With ``chunk`` > 1 (the storage's chunk length along the stack axis) the
    slab is a whole number of chunks, so each chunk is decoded once.
    """
    per_slice = max(int(shape_zyx[1]) * int(shape_zyx[2]), 1)
    n = int(max(1, min(int(shape_zyx[0]), slab_voxels // per_slice)))
    chunk = max(1, int(chunk))
    if chunk > 1 and n < int(shape_zyx[0]):
        n = max(chunk, n - n % chunk)
    return int(min(n, int(shape_zyx[0])))


@dataclass(frozen=True)
class OrientedVolume:
    """A volume seen with its stack axis first and the collector at ``z = 0``.

    Parameters
    ----------
    data : array-like
        3D array (numpy, memmap, dask, zarr) in its original axis order.
    stack_axis : int
        Axis of ``data`` that runs across the layers (0, 1 or 2).
    collector_at_start : bool
        True when the collector is at index 0 of ``stack_axis``.
    """

    data: Any
    stack_axis: int = 0
    collector_at_start: bool = True

    def __post_init__(self) -> None:
        if len(self.data.shape) != 3:
            raise ValueError(f"need a 3D volume, got shape {tuple(self.data.shape)}")
        if self.stack_axis not in (0, 1, 2):
            raise ValueError(f"stack axis must be 0, 1 or 2, not {self.stack_axis!r}")

    @property
    def source_shape(self) -> tuple[int, int, int]:
        return tuple(int(s) for s in self.data.shape)  # type: ignore[return-value]

    @property
    def other_axes(self) -> tuple[int, int]:
        """The two source axes that become (y, x), in their original order."""
        a, b = (ax for ax in range(3) if ax != self.stack_axis)
        return a, b

    @property
    def shape(self) -> tuple[int, int, int]:
        """Oriented shape (nz, ny, nx)."""
        s = self.source_shape
        a, b = self.other_axes
        return (s[self.stack_axis], s[a], s[b])

    def oriented_voxel_size(self, voxel_size_um: tuple[float, float, float]) -> tuple[float, float, float]:
        """(z, y, x) voxel size in micrometres of the oriented view, from the source-order size."""
        a, b = self.other_axes
        return (float(voxel_size_um[self.stack_axis]), float(voxel_size_um[a]), float(voxel_size_um[b]))

    def _source_range(self, z0: int, z1: int) -> slice:
        n = self.shape[0]
        if self.collector_at_start:
            return slice(z0, z1)
        return slice(n - z1, n - z0)

    def slab(self, z0: int, z1: int, y: int | slice | np.ndarray | None = None) -> np.ndarray:
        """Oriented slices ``z0 <= z < z1`` as a C-contiguous numpy array.

        Parameters
        ----------
        z0, z1 : int
            Slice range along the stack axis, counted from the collector end.
        y : int or slice or index array, optional
            Restrict the oriented y axis (e.g. one cross-section, or a subsample of rows).

        Returns
        -------
        ndarray
            ``(z1 - z0, ny', nx)`` array (``(z1 - z0, nx)`` when ``y`` is an int).
        """
        index: list[Any] = [slice(None)] * 3
        index[self.stack_axis] = self._source_range(z0, z1)
        a, _ = self.other_axes
        if y is not None and not isinstance(y, np.ndarray):
            index[a] = y
        block = np.asarray(self.data[tuple(index)])
        if y is not None and isinstance(y, np.ndarray):
            block = np.take(block, y, axis=a)
        if isinstance(y, (int, np.integer)):
            # the y axis has been dropped: stack axis is the first remaining axis, or the second if a < stack
            axis = self.stack_axis - (1 if a < self.stack_axis else 0)
            block = np.moveaxis(block, axis, 0)
        else:
            block = np.moveaxis(block, self.stack_axis, 0)
        if not self.collector_at_start:
            block = block[::-1]
        return np.ascontiguousarray(block)

    def iter_slabs(self, slab_slices: int) -> Iterator[tuple[int, int]]:
        """Yield ``(z0, z1)`` ranges covering the stack axis in steps of ``slab_slices``."""
        n = self.shape[0]
        step = max(int(slab_slices), 1)
        for z0 in range(0, n, step):
            yield z0, min(z0 + step, n)

    def to_source_index(self, z: int, y: int, x: int) -> tuple[int, int, int]:
        """Source (axis 0, 1, 2) index of the oriented voxel (z, y, x)."""
        n = self.shape[0]
        zs = z if self.collector_at_start else n - 1 - z
        index = [0, 0, 0]
        a, b = self.other_axes
        index[self.stack_axis], index[a], index[b] = zs, y, x
        return tuple(index)  # type: ignore[return-value]
