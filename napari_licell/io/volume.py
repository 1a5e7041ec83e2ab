"""The in-memory description of a CT volume: lazy array plus voxel size in micrometres.

Every volume reader returns a :class:`Volume`; every writer and the napari
layer builders take one. Axis order is always (z, y, x) with z the axis the
reconstruction slices are stacked along.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["Volume", "DEFAULT_VOXEL_SIZE_UM"]

#: The paper's reconstructed voxel size (540 nm cubic), used when a file has none.
DEFAULT_VOXEL_SIZE_UM = 0.54


@dataclass
class Volume:
    """A 3D scan or label volume.

    Attributes
    ----------
    data : array-like
        (z, y, x) array: numpy, numpy memmap, dask or zarr. Never loaded whole
        by the container itself.
    voxel_size_um : tuple of float
        (z, y, x) voxel size in micrometres.
    voxel_size_assumed : bool
        True when the file held no voxel size and the value was assumed or typed in.
    source : Path or None
        File or folder the data came from.
    name : str
        Display name (layer name).
    metadata : dict
        Anything else worth keeping (format, grey scale, thresholds, ...).
    """

    data: Any
    voxel_size_um: tuple[float, float, float] = (DEFAULT_VOXEL_SIZE_UM,) * 3
    voxel_size_assumed: bool = False
    source: Path | None = None
    name: str = "volume"
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(int(s) for s in self.data.shape)

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(self.data.dtype)

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape)) * self.dtype.itemsize

    def layer_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``viewer.add_image`` / ``add_labels``: name, scale, metadata."""
        meta = dict(self.metadata)
        meta["voxel_size_um"] = list(self.voxel_size_um)
        meta["voxel_size_assumed"] = self.voxel_size_assumed
        if self.voxel_size_assumed:
            meta["note"] = f"voxel size {self.voxel_size_um[0]:g} um was assumed: the file holds none"
        if self.source is not None:
            meta["source"] = str(self.source)
        return {"name": self.name, "scale": tuple(self.voxel_size_um), "units": "um", "metadata": meta}
