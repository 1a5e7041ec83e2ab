"""After prediction: the carbon interlayer found by position is carbon, whatever the forest called its voxels.

Porous carbon and the xenon-filled voids share one attenuation, so the forest
tells them apart by features of height and neighbourhood, which transfer
poorly between cells whose interlayer lies at different heights: trained on
a cell whose carbon stayed on the collector (process 1), it called most of
the carbon of a cell whose carbon lies under the SE (process 3) void. The
threshold pipeline tells them apart by position
(:func:`~napari_licell.segmentation.carbon_band.label_carbon_band`: a gas-like
band on the collector or under the SE in most columns, capped per column at a
robust thickness, so a gas gap above it stays void). The same rule is applied
to the forest's labels: carbon and void are taken together as the gas-like
phase, the band is looked for, and where it is found the voxels the forest
called void inside it become carbon. Nothing else changes: no band found, no
change; voxels the forest called carbon stay carbon; painted voxels keep their
painted code.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..classes import CARBON, VOID
from ..segmentation.carbon_band import CarbonBand, label_carbon_band

__all__ = ["carbon_band_by_position"]

#: Planes per slab when copying labels (keeps the copies of a large scan small).
_SLAB_VOXELS = 1 << 24


def _slabs(shape: tuple[int, ...]):
    step = max(1, _SLAB_VOXELS // max(1, shape[1] * shape[2]))
    for z0 in range(0, shape[0], step):
        yield slice(z0, min(z0 + step, shape[0]))


def carbon_band_by_position(
    labels: Any,
    work: Any,
    *,
    scribbles: Any | None = None,
    voxel_size_um: float | None = None,
    collector_at_start: bool | None = None,
    cancel: Any = None,
) -> CarbonBand:
    """Relabel as carbon the voxels called void inside the carbon band found by position, in place.

    Parameters
    ----------
    labels : writable array-like (z, y, x) of uint8
        Predicted class codes (numpy, memmap or zarr), stack axis 0 (as the classifier's height feature).
    work : writable array-like of uint8, the shape of ``labels``
        Scratch for the gas-like copy the band is looked for in (numpy, or a zarr array on disk for
        scans larger than memory).
    scribbles : array-like (z, y, x), optional
        Painted codes (0 = unpainted): painted voxels are not changed.
    voxel_size_um : float, optional
        Voxel size (um): the band search judges the SE's lower face in micrometres.
    collector_at_start : bool, optional
        Collector end of axis 0 (found from the metal when None).
    cancel : callable or threading.Event, optional
        Checked by the band search.

    Returns
    -------
    CarbonBand
        The search result; ``n_voxels`` counts the voxels relabelled in ``labels``.
    """
    shape = tuple(int(s) for s in labels.shape)
    for sl in _slabs(shape):  # carbon and void together: the gas-like phase the band is cut from
        lab = np.asarray(labels[sl])
        work[sl] = np.where(lab == CARBON.code, VOID.code, lab)
    band = label_carbon_band(
        work, axis=0, collector_at_start=collector_at_start, voxel_size_um=voxel_size_um, cancel=cancel
    )
    if not band.found:
        return band
    n_set = 0
    for sl in _slabs(shape):
        lab = np.asarray(labels[sl])
        change = (np.asarray(work[sl]) == CARBON.code) & (lab == VOID.code)
        if scribbles is not None:
            change &= np.asarray(scribbles[sl]) == 0
        if change.any():
            labels[sl] = np.where(change, CARBON.code, lab).astype(lab.dtype, copy=False)
            n_set += int(np.count_nonzero(change))
    return CarbonBand(
        band.found,
        band.side,
        band.thickness_vox,
        band.cap_vox,
        band.support,
        band.axis,
        band.collector_at_start,
        n_set,
        band.reason,
    )
