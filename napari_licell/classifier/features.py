"""Per-voxel features at several scales for the pixel classifier, computed block by block.

Every feature is a Gaussian smoothing of the grey values, or central
differences of it (gradient, Hessian), so a block read with a halo of
:func:`feature_halo` voxels on every side gives exactly the same numbers as
filtering the whole volume. Big scans are processed z-slab by z-slab (slabs
of large planes are further tiled in y and x, see :func:`default_block_shape`)
and never held as a feature stack in memory.

Scales (``sigmas``) are in voxels. Grey values are used as they are (no
per-volume normalisation), so a model trained on one scan applies to other
scans with the same grey scale.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import numpy as np
from scipy import ndimage as ndi

__all__ = [
    "FeatureSettings",
    "feature_names",
    "feature_halo",
    "default_block_shape",
    "iter_blocks",
    "block_features",
    "region_features",
    "slab_features",
    "compute_features",
    "symmetric_eigvals3",
]


@dataclass(frozen=True)
class FeatureSettings:
    """Which features to compute and at which scales.

    Attributes
    ----------
    sigmas : tuple of float
        Gaussian scales in voxels (standard deviations), ascending.
    intensity : bool
        Include the raw grey value.
    gaussian : bool
        Gaussian-smoothed grey value (Gaussian-weighted local mean) per sigma.
    difference_of_gaussians : bool
        Difference of Gaussians between consecutive sigmas (band-pass).
    gradient_magnitude : bool
        Gradient magnitude of the smoothed image per sigma, central
        differences (grey value per voxel).
    hessian_eigenvalues : bool
        The three eigenvalues of the Hessian of the smoothed image per sigma
        (central differences), ascending, scaled by sigma**2 (blob, sheet or
        tube shape; grey value).
    local_std : bool
        Gaussian-weighted local standard deviation of the grey value per sigma.
    truncate : float
        Kernel radius in standard deviations (as in :func:`scipy.ndimage.gaussian_filter`).
    """

    sigmas: tuple[float, ...] = (1.0, 2.0, 4.0)
    intensity: bool = True
    gaussian: bool = True
    difference_of_gaussians: bool = True
    gradient_magnitude: bool = True
    hessian_eigenvalues: bool = True
    local_std: bool = True
    truncate: float = 4.0

    def __post_init__(self) -> None:
        sigmas = tuple(float(s) for s in self.sigmas)
        if not sigmas or min(sigmas) <= 0:
            raise ValueError("sigmas must be one or more positive scales in voxels")
        object.__setattr__(self, "sigmas", tuple(sorted(sigmas)))
        if self.truncate <= 0:
            raise ValueError("truncate must be positive")
        if not feature_names(self):
            raise ValueError("at least one feature must be switched on")

    def as_dict(self) -> dict:
        """Plain-Python form (for model files)."""
        d = asdict(self)
        d["sigmas"] = list(self.sigmas)
        return d

    @classmethod
    def from_dict(cls, data: dict) -> "FeatureSettings":
        """Inverse of :meth:`as_dict`; unknown keys are ignored."""
        known = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in known}
        if "sigmas" in kwargs:
            kwargs["sigmas"] = tuple(kwargs["sigmas"])
        return cls(**kwargs)


def feature_names(settings: FeatureSettings) -> list[str]:
    """Names of the features in the order :func:`block_features` stacks them."""
    names: list[str] = []
    if settings.intensity:
        names.append("intensity")
    for s in settings.sigmas:
        if settings.gaussian:
            names.append(f"gaussian_s{s:g}")
        if settings.gradient_magnitude:
            names.append(f"gradient_magnitude_s{s:g}")
        if settings.hessian_eigenvalues:
            names += [f"hessian_eig{i}_s{s:g}" for i in (1, 2, 3)]
        if settings.local_std:
            names.append(f"local_std_s{s:g}")
    if settings.difference_of_gaussians:
        names += [f"dog_s{a:g}_s{b:g}" for a, b in zip(settings.sigmas[:-1], settings.sigmas[1:])]
    return names


def feature_halo(settings: FeatureSettings) -> int:
    """Voxels of context each side of a slab needed for exact features.

    The largest Gaussian kernel radius plus 2 voxels for the central
    differences of the gradient and Hessian.
    """
    return int(settings.truncate * max(settings.sigmas) + 0.5) + 2


def default_block_shape(
    shape: tuple[int, ...], max_voxels: int = 1 << 21, min_tile: int = 64, slab_depth: int | None = None
) -> tuple[int, int, int]:
    """Block (z, y, x) in voxels for chunked features: at most ``max_voxels`` voxels per block.

    Large planes are tiled in y and x (down to ``min_tile``) before the slab
    gets thinner, which keeps the halo overhead and the memory (about
    ``max_voxels`` x n_features x 4 bytes) bounded for any scan size.
    ``slab_depth`` fixes the z size.
    """
    bz, by, bx = (int(n) for n in shape[-3:])
    if slab_depth is not None:
        bz = max(1, min(int(slab_depth), bz))
    while bz * by * bx > max_voxels:
        if max(by, bx) > min_tile:
            if by >= bx:
                by = max(min_tile, -(-by // 2))
            else:
                bx = max(min_tile, -(-bx // 2))
        elif slab_depth is None and bz > 1:
            bz = -(-bz // 2)
        else:
            break
    return bz, by, bx


def iter_blocks(shape: tuple[int, ...], block_shape: tuple[int, int, int]) -> list[tuple[slice, slice, slice]]:
    """Blocks tiling a (z, y, x) volume, z-slab by z-slab (z outermost)."""
    starts = [range(0, n, b) for n, b in zip(shape[-3:], block_shape)]
    return [
        (
            slice(z, min(z + block_shape[0], shape[0])),
            slice(y, min(y + block_shape[1], shape[1])),
            slice(x, min(x + block_shape[2], shape[2])),
        )
        for z in starts[0]
        for y in starts[1]
        for x in starts[2]
    ]


def symmetric_eigvals3(
    a11: np.ndarray, a22: np.ndarray, a33: np.ndarray, a12: np.ndarray, a13: np.ndarray, a23: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Eigenvalues of symmetric 3x3 matrices given element-wise, ascending (closed form).

    Uses the trigonometric solution of the characteristic cubic, voxel by
    voxel, in float64. Returns three arrays of the input shape.
    """
    a11, a22, a33, a12, a13, a23 = (np.asarray(a, dtype=np.float64) for a in (a11, a22, a33, a12, a13, a23))
    q = (a11 + a22 + a33) / 3.0
    p1 = a12 * a12 + a13 * a13 + a23 * a23
    b11, b22, b33 = a11 - q, a22 - q, a33 - q
    p2 = b11 * b11 + b22 * b22 + b33 * b33 + 2.0 * p1
    p = np.sqrt(p2 / 6.0)
    safe = np.where(p > 0, p, 1.0)
    det = (b11 * (b22 * b33 - a23 * a23) - a12 * (a12 * b33 - a23 * a13) + a13 * (a12 * a23 - b22 * a13)) / (safe**3)
    r = np.clip(det / 2.0, -1.0, 1.0)
    phi = np.arccos(r) / 3.0
    e_max = q + 2.0 * p * np.cos(phi)
    e_min = q + 2.0 * p * np.cos(phi + 2.0 * math.pi / 3.0)
    e_mid = 3.0 * q - e_max - e_min
    return e_min, e_mid, e_max


def block_features(
    block: np.ndarray, settings: FeatureSettings, crop: tuple[slice, slice, slice] | None = None
) -> np.ndarray:
    """Features of a 3-D block, optionally cropped along z.

    Parameters
    ----------
    block : ndarray (z, y, x)
        Grey values (any real dtype); filtered as float32 with mirror-reflect
        borders.
    settings : FeatureSettings
        Which features.
    crop : tuple of three slices, optional
        Keep only this part of the block (the region inside its halo); each
        feature is cropped as soon as it is computed.

    Returns
    -------
    ndarray of float32, shape (z, y, x, n_features) of the cropped region
    """
    x = np.asarray(block, dtype=np.float32)
    if x.ndim != 3:
        raise ValueError(f"features need a 3-D (z, y, x) block, got shape {x.shape}")
    crop = tuple(crop) if crop is not None else (slice(None),) * 3
    names = feature_names(settings)
    out_shape = np.empty(x.shape, dtype=bool)[crop].shape
    out = np.empty((*out_shape, len(names)), dtype=np.float32)
    k = 0
    t = settings.truncate

    def put(arr: np.ndarray) -> None:
        nonlocal k
        out[..., k] = arr[crop]
        k += 1

    if settings.intensity:
        put(x)
    smoothed: list[np.ndarray] = []
    x64 = None
    for s in settings.sigmas:
        g = ndi.gaussian_filter(x, s, truncate=t)
        if settings.difference_of_gaussians:
            smoothed.append(g[crop])
        if settings.gaussian:
            put(g)
        if settings.gradient_magnitude or settings.hessian_eigenvalues:
            # derivatives of the smoothed image by central differences (one-sided at the block ends,
            # which lie in the halo except at the true volume ends)
            gz, gy, gx = np.gradient(g)
            if settings.gradient_magnitude:
                put(np.sqrt(gz * gz + gy * gy + gx * gx))
            if settings.hessian_eigenvalues:
                hzz, hzy, hzx = (d[crop] for d in np.gradient(gz))
                hyy, hyx = (d[crop] for d in np.gradient(gy, axis=(1, 2)))
                hxx = np.gradient(gx, axis=2)[crop]
                del gz, gy, gx
                for e in symmetric_eigvals3(hzz, hyy, hxx, hzy, hzx, hyx):
                    out[..., k] = e * (s * s)
                    k += 1
        if settings.local_std:
            if x64 is None:
                x64 = x.astype(np.float64)
            m = ndi.gaussian_filter(x64, s, truncate=t)
            m2 = ndi.gaussian_filter(x64 * x64, s, truncate=t)
            put(np.sqrt(np.maximum(m2 - m * m, 0.0)))
    if settings.difference_of_gaussians:
        for a, b in zip(smoothed[:-1], smoothed[1:]):
            out[..., k] = a - b
            k += 1
    assert k == len(names)
    return out


def region_features(volume, region: tuple[slice, slice, slice], settings: FeatureSettings) -> np.ndarray:
    """Features of ``volume[region]``, read with a halo so they equal whole-volume features.

    Parameters
    ----------
    volume : array-like (z, y, x)
        Grey values; numpy, memmap, zarr or dask (only the region plus halo is read).
    region : tuple of three slices
        Part of the volume (voxels, step 1).
    settings : FeatureSettings
        Which features.

    Returns
    -------
    ndarray of float32, shape (dz, dy, dx, n_features)
    """
    h = feature_halo(settings)
    read, crop = [], []
    for sl, n in zip(region, volume.shape):
        a, b, step = sl.indices(n)
        if step != 1 or a >= b:
            raise ValueError(f"region {region} is not a non-empty step-1 part of a volume of shape {volume.shape}")
        lo, hi = max(0, a - h), min(n, b + h)
        read.append(slice(lo, hi))
        crop.append(slice(a - lo, b - lo))
    block = np.asarray(volume[tuple(read)])
    return block_features(block, settings, crop=tuple(crop))


def slab_features(volume, z0: int, z1: int, settings: FeatureSettings) -> np.ndarray:
    """Features of z planes ``z0:z1`` of ``volume`` (whole planes), equal to whole-volume features.

    Returns
    -------
    ndarray of float32, shape (z1 - z0, y, x, n_features)
    """
    if not 0 <= z0 < z1 <= volume.shape[0]:
        raise ValueError(f"slab {z0}:{z1} outside a volume of depth {volume.shape[0]}")
    return region_features(volume, (slice(z0, z1), slice(None), slice(None)), settings)


def compute_features(
    volume,
    settings: FeatureSettings | None = None,
    slab_depth: int | None = None,
    block_shape: tuple[int, int, int] | None = None,
) -> np.ndarray:
    """Feature stack of a whole (small) volume, optionally computed block by block.

    Parameters
    ----------
    volume : array-like (z, y, x)
    settings : FeatureSettings, optional
    slab_depth : int, optional
        Compute in z-slabs of this many planes.
    block_shape : (int, int, int), optional
        Compute in blocks of this shape (voxels); overrides ``slab_depth``.

    Returns
    -------
    ndarray of float32, shape (z, y, x, n_features)
    """
    settings = settings or FeatureSettings()
    shape = tuple(volume.shape)
    if slab_depth is None and block_shape is None:
        return block_features(np.asarray(volume), settings)
    if block_shape is None:
        block_shape = (int(slab_depth), shape[1], shape[2])
    out = np.empty((*shape, len(feature_names(settings))), dtype=np.float32)
    for region in iter_blocks(shape, block_shape):
        out[region] = region_features(volume, region, settings)
    return out
