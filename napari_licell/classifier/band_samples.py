"""Training samples placed by position: the carbon interlayer, found where it lies, and the voids outside it.

Strokes (a user's, and :func:`~napari_licell.phantoms.strokes.simulated_strokes`)
paint carbon well inside the interlayer, so the forest never sees carbon in the
band's top planes: there, next to Li and SE, it took gas-level carbon for
lithium (29.5 k voxels of demo cell ``process1_after_Xe6``). Carbon and the
gas-filled voids share one attenuation; the interlayer is told by where it is
(issue 17: never take the carbon interlayer, found by position, for lithium).

So, when carbon, Li, SE and metal are painted, full-depth column tiles of the
training scan around the carbon strokes are classified as the Thresholds step
would classify them, with thresholds from the painted levels (Li | gas | SE + Li
| SE | metal and the partial-volume rules, :mod:`napari_licell.segmentation`),
the carbon band is found there by position
(:func:`~napari_licell.segmentation.carbon_band.label_carbon_band`: a gas-like
band on the collector or under the SE in most columns, each column capped at a
robust thickness). Its voxels on the gas/carbon plateau (``g1`` within the
gate's 5 sd of the painted carbon level; partial-volume voxels at its faces are
left out) become carbon samples, and the plateau voxels the same segmentation
calls gas outside the band become void samples (so the forest learns where the
band ends, not only where the strokes stopped), like the boundary samples of
the partial-volume rule. No band, no samples: a scan without an interlayer
teaches nothing here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..classes import CARBON, LI, METAL, SE, VOID
from .features import default_block_shape, iter_blocks
from .transfer import ScanContext, TransferSettings, transfer_features, transfer_halo

__all__ = ["BAND_TILE", "band_samples"]

#: Side (columns) of the full-depth tile classified around the carbon strokes of a painted block.
BAND_TILE = 128


def _phases(levels: dict[int, dict[str, float]], ctx: ScanContext):
    """Phase peaks in grey values from the painted levels (carbon's level stands for the gas)."""
    from ..segmentation.peaks import HistogramPeak, PhasePeaks

    sigma = float(ctx.noise) * float(ctx.per_inv_cm)

    def peak(code: int) -> HistogramPeak:
        return HistogramPeak(ctx.offset + ctx.per_inv_cm * levels[code]["g1"], 1.0, sigma, 0.0, True)

    li, gas, se, metal = (peak(c) for c in (LI.code, CARBON.code, SE.code, METAL.code))
    return PhasePeaks(sigma, (li, gas, se, metal), (li, gas), li, gas, se, metal, ("levels of the painted strokes",))


def _tiles(shape: tuple[int, ...], scribbles: Any, regions) -> list[tuple[slice, slice]]:
    """(y, x) windows of at most ``BAND_TILE`` columns centred on the carbon strokes of each painted block."""
    out: list[tuple[slice, slice]] = []
    for region in regions:
        s = np.asarray(scribbles[region])
        _, ys, xs = np.nonzero(s == CARBON.code)
        if ys.size == 0:
            continue
        window = []
        for centre, sl, n in ((np.median(ys), region[1], shape[1]), (np.median(xs), region[2], shape[2])):
            side = min(BAND_TILE, n)
            a = int(np.clip((sl.start or 0) + int(centre) - side // 2, 0, n - side))
            window.append(slice(a, a + side))
        if tuple(window) not in out:
            out.append(tuple(window))
    return out


def band_samples(
    volume: Any,
    scribbles: Any,
    regions: list[tuple[slice, slice, slice]],
    ctx: ScanContext,
    settings: TransferSettings,
    levels: dict[int, dict[str, float]],
    *,
    cap: int,
    rng: np.random.Generator,
    g1_halfwidth: float,
    voxel_size_um: float | None = None,
    cancel: Any = None,
) -> dict[int, np.ndarray]:
    """Feature rows of unpainted plateau voxels: carbon in the band found by position, void (gas) outside it.

    Parameters
    ----------
    volume : array-like (z, y, x)
        Grey values of the training scan; the stack axis is axis 0 (as for the height feature).
    scribbles : array-like (z, y, x)
        Painted class codes (0 = unpainted); painted voxels are not sampled.
    regions : list of tuple of slices
        Blocks holding painted voxels; one full-depth tile of at most :data:`BAND_TILE`
        columns is classified around the carbon strokes of each.
    ctx : ScanContext
        Calibration, noise (``mu`` units: 1/cm, or grey values when uncalibrated) and collector map.
    settings : TransferSettings
    levels : dict
        Painted ``g1`` per class code (``mu`` units), as :attr:`~.forest.PixelClassifier.levels`.
    cap : int
        At most this many rows per class (drawn at random with ``rng``).
    rng : numpy Generator
    g1_halfwidth : float
        Half-width (``mu`` units) of the plateau around the painted carbon level (the gate's 5 sd).
    voxel_size_um : float, optional
        Voxel size (um): the band search judges the SE's lower face in micrometres.
    cancel : callable or threading.Event, optional
        Checked by the classification of each tile (raises :class:`~napari_licell.cancellation.Cancelled`).

    Returns
    -------
    dict of int to ndarray of float32 (n, n_features)
        Rows per class code (CARBON, VOID); empty when Li, carbon, SE or metal is not painted,
        their levels are not in the xenon grey order, the scan has no collector map, or no band is found.
    """
    from ..segmentation.calibration import GreyCalibration
    from ..segmentation.classify import classify_volume
    from ..segmentation.histogram import volume_histogram
    from ..segmentation.thresholds import suggest_thresholds
    from .forest import _read_with_halo  # here: forest imports this module

    needed = (LI.code, CARBON.code, SE.code, METAL.code)
    if cap < 1 or ctx.collector_thickness is None or any(c not in levels for c in needed):
        return {}
    if not levels[LI.code]["g1"] < levels[CARBON.code]["g1"] < levels[SE.code]["g1"] < levels[METAL.code]["g1"]:
        return {}  # not the xenon grey order (in argon Li and the gas look alike)
    calibration = GreyCalibration(ctx.offset, ctx.per_inv_cm, method="metadata") if ctx.calibrated else None
    phases = _phases(levels, ctx)
    level = np.float32(levels[CARBON.code]["g1"])
    halo = transfer_halo(settings)
    rows: dict[int, list[np.ndarray]] = {CARBON.code: [], VOID.code: []}
    for ys, xs in _tiles(tuple(volume.shape), scribbles, regions):
        grey = np.asarray(volume[:, ys, xs])
        thresholds = suggest_thresholds(volume_histogram(grey), phases=phases, calibration=calibration)
        result = classify_volume(
            grey,
            thresholds,
            stack_axis=0,
            collector_at_start=ctx.collector_at_start,
            voxel_size_um=voxel_size_um,
            cancel=cancel,
        )
        if result.carbon_band is None or not result.carbon_band.found:
            continue
        labels = np.asarray(result.labels)
        del grey, result
        labels[np.asarray(scribbles[:, ys, xs]) != 0] = 0
        for sub in iter_blocks(labels.shape, default_block_shape(labels.shape)):
            lab = labels[sub]
            where = (lab == CARBON.code) | (lab == VOID.code)
            if not where.any():
                continue
            region = (
                sub[0],
                slice(ys.start + sub[1].start, ys.start + sub[1].stop),
                slice(xs.start + sub[2].start, xs.start + sub[2].stop),
            )
            block, crop, origin = _read_with_halo(volume, region, halo)
            feats = transfer_features(block, ctx, settings, origin, crop, where=where)
            plateau = np.abs(feats[:, 1] - level) <= g1_halfwidth
            code = lab[where]
            for c in rows:
                rows[c].append(feats[plateau & (code == c)])
    out = {}
    for c, parts in rows.items():
        r = np.concatenate(parts) if parts else np.zeros((0, 0), np.float32)
        if r.shape[0] > cap:
            r = r[np.sort(rng.choice(r.shape[0], cap, replace=False))]
        if r.shape[0]:
            out[c] = r
    return out
