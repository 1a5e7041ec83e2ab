"""Features that mean the same thing in every cell, computed fast per block (float32, numba filters).

Per voxel, with ``mu`` the grey value calibrated to 1/cm (``(grey - offset) /
per_inv_cm``; grey units when the scan has no calibration) and ``noise`` the
scan's noise in the same units (estimated on the scan, see
:func:`estimate_noise`):

* ``mu`` and its Gaussian means ``g1`` (sigma 1 voxel) and ``g2.5`` (sigma 2.5,
  cascaded from ``g1``): absolute attenuation, 1/cm;
* ``dog_per_noise``: ``(g1 - g2.5) / noise``, local contrast in noise units;
* ``gradient_per_noise``: ``|grad g1| / noise``;
* ``texture_per_noise``: Gaussian-weighted (sigma 2.5) RMS of ``mu - g1``
  over ``noise`` (about 1 in a flat phase, larger in a mixed SE + Li region);
* ``height_um`` (when the model knows the metal's attenuation): height above
  the current collector's face in micrometres, from the per-column thickness
  of the metal slab at the collector end of the stack axis (axis 0), so a
  carbon interlayer on the collector and a gas void higher up are told apart
  although their attenuation is the same.

Everything is computed on a block read with :func:`transfer_halo` voxels of
context on every side, so block-wise features equal whole-volume features.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import numpy as np
from numba import njit, prange

from .filters import gaussian3, gaussian_kernel, gradient_magnitude3, kernel_radius, minimum3

__all__ = [
    "TransferSettings",
    "ScanContext",
    "scan_context",
    "estimate_noise",
    "transfer_feature_names",
    "transfer_halo",
    "transfer_stage1",
    "transfer_features",
    "transfer_columns",
]


@dataclass(frozen=True)
class TransferSettings:
    """The transferable feature set.

    Attributes
    ----------
    small, large : float
        Gaussian scales in voxels.
    truncate : float
        Kernel half-width in standard deviations.
    position : bool
        Include ``height_um`` (needs the metal's attenuation, learnt from a metal stroke).
    """

    small: float = 1.0
    large: float = 2.5
    truncate: float = 3.0
    position: bool = True
    min_radius: int = 2
    kind: str = "transfer"

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "TransferSettings":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def transfer_feature_names(settings: TransferSettings) -> list[str]:
    names = [
        "mu",
        f"g{settings.small:g}",
        f"g{settings.large:g}",
        "dog_per_noise",
        "gradient_per_noise",
        "texture_per_noise",
        f"darkest_g{settings.small:g}_within_{settings.min_radius}",
        "plane_dark_fraction",
    ]
    if settings.position:
        names.append("height_um")
    return names


def _large_step(settings: TransferSettings) -> float:
    return math.sqrt(settings.large**2 - settings.small**2)


def transfer_halo(settings: TransferSettings) -> int:
    """Voxels of context each side of a block needed for exact features."""
    r1 = kernel_radius(settings.small, settings.truncate)
    r2 = kernel_radius(_large_step(settings), settings.truncate)
    rt = kernel_radius(settings.large, settings.truncate)
    return max(r1 + r2, r1 + rt, r1 + 1, r1 + settings.min_radius) + 1


@dataclass
class ScanContext:
    """What the features need to know about one scan.

    Attributes
    ----------
    offset, per_inv_cm : float
        ``mu = (grey - offset) / per_inv_cm`` (1/cm; 0 and 1 when uncalibrated).
    calibrated : bool
        True when ``mu`` is in 1/cm.
    noise : float
        Noise standard deviation of ``mu`` (same units).
    voxel_um : float
        Voxel size, micrometres (1 when unknown: heights are then in voxels).
    shape : tuple of int
        Scan shape (z, y, x).
    collector_thickness : ndarray (y, x) of float32 or None
        Voxels of metal per column at the collector end.
    collector_at_start : bool
        The collector lies at ``z = 0`` (else at the last plane).
    dark_profile : ndarray (z,) of float32 or None
        Per plane, the fraction of voxels darker than the model's dark threshold.
    """

    offset: float
    per_inv_cm: float
    calibrated: bool
    noise: float
    voxel_um: float
    shape: tuple[int, int, int]
    collector_thickness: np.ndarray | None = None
    collector_at_start: bool = True
    dark_profile: np.ndarray | None = None

    def to_mu(self, grey: np.ndarray) -> np.ndarray:
        x = np.asarray(grey, dtype=np.float32)
        if self.offset != 0.0 or self.per_inv_cm != 1.0:
            x = (x - np.float32(self.offset)) * np.float32(1.0 / self.per_inv_cm)
        return x


def _residual_factor(settings: TransferSettings) -> float:
    """Std of ``x - G_small(x)`` over std of ``x`` for white noise."""
    w = gaussian_kernel(settings.small, settings.truncate).astype(np.float64)
    w0 = w[(w.size - 1) // 2]
    return math.sqrt(1.0 - 2.0 * w0**3 + float((w**2).sum()) ** 3)


def estimate_noise(volume, ctx: ScanContext, settings: TransferSettings, samples: int = 6, side: int = 40) -> float:
    """Noise of ``mu`` from the median absolute residual ``mu - g1`` in a few sub-blocks spread over the scan."""
    shape = tuple(volume.shape)
    d = [min(side, n) for n in shape]
    vals = []
    for f in np.linspace(0.1, 0.9, samples):
        z0 = int(f * (shape[0] - d[0]))
        y0, x0 = (shape[1] - d[1]) // 2, (shape[2] - d[2]) // 2
        x = ctx.to_mu(np.asarray(volume[z0 : z0 + d[0], y0 : y0 + d[1], x0 : x0 + d[2]]))
        res = x - gaussian3(x, settings.small, settings.truncate)
        r = kernel_radius(settings.small, settings.truncate)
        core = res[r : -r or None, r : -r or None, r : -r or None] if min(d) > 2 * r + 2 else res
        vals.append(core.ravel())
    res = np.concatenate(vals)
    mad = float(np.median(np.abs(res - np.median(res)))) * 1.4826
    noise = mad / _residual_factor(settings)
    return noise if noise > 0 else 1.0


@njit(parallel=True, cache=True)
def _profile_pass(chunk, z0, half, offset, scale, metal, dark, lo, hi, dark_rows):  # pragma: no cover - compiled
    """Per column, metal voxels in each half of axis 0; per (plane, row), dark voxels (``mu = (v - offset) scale``)."""
    nz, ny, nx = chunk.shape
    for y in prange(ny):
        for z in range(nz):
            plane = chunk[z, y]
            first_half = z0 + z < half
            count = 0
            for x in range(nx):
                mu = (np.float32(plane[x]) - offset) * scale
                if mu > metal:
                    if first_half:
                        lo[y, x] += 1
                    else:
                        hi[y, x] += 1
                if mu < dark:
                    count += 1
            dark_rows[z0 + z, y] = count


def _scan_profiles(volume, ctx: ScanContext, metal_threshold: float | None, dark_threshold: float | None):
    """One pass over the scan: the collector map (metal voxels per column in each half of axis 0, the collector
    end being the half with more metal) and the per-plane fraction of voxels darker than ``dark_threshold``."""
    nz, ny, nx = ctx.shape
    lo = np.zeros((ny, nx), dtype=np.float32)
    hi = np.zeros((ny, nx), dtype=np.float32)
    dark_rows = np.zeros((nz, ny), dtype=np.int64)
    offset, scale = (0.0, 1.0) if (ctx.offset == 0.0 and ctx.per_inv_cm == 1.0) else (ctx.offset, 1.0 / ctx.per_inv_cm)
    metal = np.float32(np.inf if metal_threshold is None else metal_threshold)
    dark = np.float32(-np.inf if dark_threshold is None else dark_threshold)
    step = max(1, (1 << 23) // max(1, ny * nx))
    for z0 in range(0, nz, step):
        chunk = np.ascontiguousarray(volume[z0 : min(z0 + step, nz)])
        _profile_pass(chunk, z0, nz // 2, np.float32(offset), np.float32(scale), metal, dark, lo, hi, dark_rows)
    at_start = float(lo.sum()) >= float(hi.sum())
    collector = (lo if at_start else hi) if metal_threshold is not None else None
    profile = (dark_rows.sum(axis=1) / float(ny * nx)).astype(np.float32) if dark_threshold is not None else None
    return collector, at_start, profile


def scan_context(
    volume,
    settings: TransferSettings,
    calibration=None,
    voxel_size_um: float | None = None,
    metal_threshold: float | None = None,
    dark_threshold: float | None = None,
) -> ScanContext:
    """Calibration, noise and collector map of a scan.

    Parameters
    ----------
    volume : array-like (z, y, x)
    settings : TransferSettings
    calibration : GreyCalibration-like (``offset``, ``per_inv_cm``) or None
        None: features in grey units.
    voxel_size_um : float, optional
    metal_threshold : float, optional
        ``mu`` above which a voxel counts as metal (from the model); None: no collector map.
    dark_threshold : float, optional
        ``mu`` below which a voxel counts as dark (gas, carbon, Li) for the per-plane fraction.
    """
    shape = tuple(int(n) for n in volume.shape)
    if calibration is not None:
        offset, per = float(calibration.offset), float(calibration.per_inv_cm)
    else:
        offset, per = 0.0, 1.0
    ctx = ScanContext(offset, per, calibration is not None, 1.0, float(voxel_size_um or 1.0), shape)
    ctx.noise = estimate_noise(volume, ctx, settings)
    metal = metal_threshold if settings.position else None
    if metal is not None or dark_threshold is not None:
        collector, at_start, profile = _scan_profiles(volume, ctx, metal, dark_threshold)
        if collector is not None:
            ctx.collector_thickness, ctx.collector_at_start = collector, at_start
        ctx.dark_profile = profile
    return ctx


def _affine(ctx: ScanContext):
    """``(offset, 1 / per_inv_cm)`` of :meth:`ScanContext.to_mu`, or None when it is the identity."""
    if ctx.offset == 0.0 and ctx.per_inv_cm == 1.0:
        return None
    return (ctx.offset, 1.0 / ctx.per_inv_cm)


def transfer_stage1(block: np.ndarray, ctx: ScanContext, settings: TransferSettings, crop=None):
    """The block as read, ``g1`` (whole block, in ``mu`` units) and ``|grad g1|`` (of ``crop``, default the
    whole block): the gate's part. ``mu`` itself is not made: ``g1`` is the smoothing of the grey values
    mapped to ``mu`` afterwards (the weights sum to 1), the features read ``mu`` off the block voxel by voxel."""
    g1 = gaussian3(block, settings.small, settings.truncate, affine=_affine(ctx))
    return block, g1, gradient_magnitude3(g1, crop)


@njit(nogil=True, cache=True)
def _residual_sq(raw, g1, offset, scale, mapped, out):  # pragma: no cover - compiled
    """``out = (mu - g1) ** 2`` with ``mu = (raw - offset) scale`` (``raw`` itself unless ``mapped``)."""
    nz, ny, nx = raw.shape
    for z in range(nz):
        for y in range(ny):
            r = raw[z, y]
            g = g1[z, y]
            o = out[z, y]
            for x in range(nx):
                m = (np.float32(r[x]) - offset) * scale if mapped else np.float32(r[x])
                d = m - g[x]
                o[x] = d * d


def transfer_features(
    block: np.ndarray,
    ctx: ScanContext,
    settings: TransferSettings,
    origin: tuple[int, int, int],
    crop: tuple[slice, slice, slice] | None = None,
    stage1=None,
    where: np.ndarray | None = None,
) -> np.ndarray:
    """Features of a block (read from the scan at ``origin``), cropped to ``crop``.

    Parameters
    ----------
    where : ndarray of bool, optional
        Mask over the cropped region: return rows only for these voxels
        (shape (n, n_features)), in C order.

    Returns
    -------
    ndarray of float32, shape (dz, dy, dx, n_features), or (n, n_features) with ``where``
    """
    if block.ndim != 3:
        raise ValueError(f"features need a 3-D (z, y, x) block, got shape {block.shape}")
    crop = tuple(crop) if crop is not None else (slice(None),) * 3
    crop = tuple(slice(*c.indices(n)[:2]) for c, n in zip(crop, block.shape))
    cshape = tuple(c.stop - c.start for c in crop)
    index = None if where is None else np.flatnonzero(np.asarray(where).reshape(-1))
    cols = transfer_columns(block, ctx, settings, origin, crop, stage1=stage1, index=index)
    if where is None:
        return np.ascontiguousarray(cols.T).reshape((*cshape, cols.shape[0]))
    return np.ascontiguousarray(cols.T)


def transfer_columns(
    block: np.ndarray,
    ctx: ScanContext,
    settings: TransferSettings,
    origin: tuple[int, int, int],
    crop: tuple[slice, slice, slice],
    stage1=None,
    index: np.ndarray | None = None,
) -> np.ndarray:
    """Features of the voxels ``index`` (C-order positions in the cropped region; None: all) as columns.

    The wide filters (``g2.5``, texture, darkest ``g1`` nearby) run over the
    whole block (numba, one pass each); the columns are gathered in one
    compiled loop that also derives the noise-scaled features and the height.

    Returns
    -------
    ndarray of float32, shape (n_features, n)
    """
    crop = tuple(slice(*c.indices(n)[:2]) for c, n in zip(crop, block.shape))
    cshape = tuple(c.stop - c.start for c in crop)
    x, g1, grad = stage1 if stage1 is not None else transfer_stage1(block, ctx, settings, crop)
    if grad.shape != cshape:
        raise ValueError(f"stage-1 gradient of shape {grad.shape} is not of the crop {cshape}")
    rows = None
    if index is None:
        index = np.arange(int(np.prod(cshape)), dtype=np.int64)
    else:
        index = np.ascontiguousarray(index, dtype=np.int64)
        rows = np.zeros(cshape[0] * cshape[1], dtype=bool)
        rows[index // cshape[2]] = True
        rows = rows.reshape(cshape[:2])
    g2 = gaussian3(g1, _large_step(settings), settings.truncate, window=crop, rows=rows)
    affine = _affine(ctx)
    offset, scale = (np.float32(0), np.float32(1)) if affine is None else (np.float32(affine[0]), np.float32(affine[1]))
    raw = np.ascontiguousarray(x)
    res = np.empty(g1.shape, np.float32)
    _residual_sq(raw, g1, offset, scale, affine is not None, res)
    tex = gaussian3(res, settings.large, settings.truncate, window=crop, rows=rows)
    del res
    dark = minimum3(g1, settings.min_radius, window=crop, rows=rows)
    n_features = len(transfer_feature_names(settings))
    out = np.empty((n_features, index.size), dtype=np.float32)
    profile = ctx.dark_profile if ctx.dark_profile is not None else np.zeros(0, np.float32)
    height = settings.position and ctx.collector_thickness is not None
    thick = ctx.collector_thickness if height else np.zeros((0, 0), np.float32)
    _gather_columns(
        index,
        np.asarray(cshape, np.int64),
        np.asarray([c.start for c in crop], np.int64),
        np.asarray(origin, np.int64),
        raw,
        offset,
        scale,
        affine is not None,
        g1,
        g2,
        tex,
        dark,
        grad,
        np.float32(1.0 / ctx.noise),
        np.ascontiguousarray(profile, dtype=np.float32),
        np.ascontiguousarray(thick, dtype=np.float32),
        bool(settings.position),
        bool(ctx.collector_at_start),
        int(ctx.shape[0]),
        np.float32(ctx.voxel_um),
        out,
    )
    return out


@njit(nogil=True, cache=True)
def _gather_columns(
    index,
    cshape,
    cstart,
    origin,
    raw,
    offset,
    scale,
    mapped,
    g1,
    g2,
    tex,
    dark,
    grad,
    inv,
    profile,
    thick,
    position,
    at_start,
    nz,
    voxel,
    out,
):  # pragma: no cover - compiled
    n = index.size
    cy, cx = cshape[1], cshape[2]
    row, zi, yi, row_start = 0, 0, 0, 0  # the crop row (zi, yi) holding index[i]: walked forward, no division
    for i in range(n):
        f = index[i]
        if f < row_start or f >= row_start + cx * 64:  # a jump (or an unsorted index): divide once
            row = f // cx
            zi, yi = row // cy, row - (row // cy) * cy
            row_start = row * cx
        while f >= row_start + cx:
            row_start += cx
            yi += 1
            if yi == cy:
                yi = 0
                zi += 1
        xi = f - row_start
        z, y, xx = zi + cstart[0], yi + cstart[1], xi + cstart[2]
        a = g1[z, y, xx]
        b = g2[zi, yi, xi]
        v = np.float32(raw[z, y, xx])
        out[0, i] = (v - offset) * scale if mapped else v
        out[1, i] = a
        out[2, i] = b
        out[3, i] = (a - b) * inv
        out[4, i] = grad[zi, yi, xi] * inv
        out[5, i] = np.sqrt(max(tex[zi, yi, xi], np.float32(0.0))) * inv
        out[6, i] = dark[zi, yi, xi]
        za = z + origin[0]
        out[7, i] = profile[za] if profile.size else np.float32(0.0)
        if position:
            if thick.size:
                zz = np.float32(za) if at_start else np.float32(nz - 1 - za)
                out[8, i] = (zz - thick[y + origin[1], xx + origin[2]]) * voxel
            else:
                out[8, i] = np.float32(0.0)


def calibration_from_scan_metadata(metadata: dict | None):
    """Grey -> 1/cm calibration stored with a scan: flat keys (``grey_offset``, ``grey_per_inv_cm``,
    ``grey_scale``) or the napari-licell block of a TIFF (``licell`` -> ``metadata``); None when absent."""
    from ..segmentation.calibration import calibration_from_metadata

    if not metadata:
        return None
    cal = calibration_from_metadata(metadata)
    if cal is None and isinstance(metadata.get("licell"), dict):
        inner = metadata["licell"].get("metadata")
        if isinstance(inner, dict):
            cal = calibration_from_metadata(inner)
    return cal
