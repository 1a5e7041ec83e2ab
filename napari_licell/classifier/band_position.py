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
called void inside it become carbon, and the forest's carbon beyond the band
(on its side away from the collector) that does not reach it along its column
(a gas pore floating in the SE, called carbon because it has the
interlayer's grey) becomes void. Nothing else changes: no
band found, no change; carbon joined to the band along its column stays
carbon; painted voxels keep their painted code.
"""

from __future__ import annotations

from dataclasses import replace
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


#: Work codes (not class codes): the forest's carbon joined to the band along its column, and carbon
#: beyond the band (on its side away from the collector) that is not joined to it.
_JOINED = 255
_BEYOND = 254


def _mark_carbon_by_band(labels: Any, work: Any, shape: tuple[int, ...], collector_at_start: bool) -> None:
    """Mark the forest's carbon in ``work``: :data:`_JOINED` to the band along its column, else :data:`_BEYOND` it.

    Two sweeps through the planes, away from the collector then back, each
    carrying per column whether the voxel before was band or joined carbon
    (and, in the first, whether the band lies behind); slab by slab. Carbon
    between the collector and the band that is not joined stays unmarked
    (at the collector's face the forest's carbon is partial-volume Li, not gas).
    """
    away = 1 if collector_at_start else -1
    for order in (away, -away):
        joined = np.zeros(shape[1:], dtype=bool)
        passed = np.zeros(shape[1:], dtype=bool)
        for sl in list(_slabs(shape))[::order]:
            lab = np.asarray(labels[sl])
            w = np.array(work[sl])
            for k in range(w.shape[0]) if order > 0 else range(w.shape[0] - 1, -1, -1):
                band = w[k] == CARBON.code
                carbon = lab[k] == CARBON.code
                joined = band | (joined & carbon)
                plane = w[k]
                plane[joined & ~band] = _JOINED
                if order == away:
                    passed |= band
                    plane[carbon & passed & ~joined] = _BEYOND
            work[sl] = w


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
        The search result; ``n_voxels`` counts the voxels relabelled in ``labels`` (both ways).
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
    _mark_carbon_by_band(labels, work, shape, bool(band.collector_at_start))
    n_set = 0
    for sl in _slabs(shape):
        lab = np.asarray(labels[sl])
        w = np.asarray(work[sl])
        to_carbon = (w == CARBON.code) & (lab == VOID.code)
        to_void = (lab == CARBON.code) & (w == _BEYOND)
        if scribbles is not None:
            unpainted = np.asarray(scribbles[sl]) == 0
            to_carbon &= unpainted
            to_void &= unpainted
        if to_carbon.any() or to_void.any():
            lab = np.where(to_carbon, CARBON.code, lab)
            labels[sl] = np.where(to_void, VOID.code, lab).astype(lab.dtype, copy=False)
            n_set += int(np.count_nonzero(to_carbon)) + int(np.count_nonzero(to_void))
    return replace(band, n_voxels=n_set)
