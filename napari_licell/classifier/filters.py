"""Separable float32 filters compiled with numba (parallel over planes), for the pixel classifier's features.

Borders follow :func:`scipy.ndimage.gaussian_filter`'s default ``reflect``
mode (``d c b a | a b c d``), so a block read with a halo at least as wide as
the summed kernel radii gives the whole-volume numbers inside the halo, and
the results match scipy's to float32 rounding.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

__all__ = ["gaussian_kernel", "gaussian3", "gradient_magnitude3", "kernel_radius"]


def kernel_radius(sigma: float, truncate: float = 3.0) -> int:
    """Half-width in voxels of the Gaussian kernel of ``sigma`` (as scipy computes it)."""
    return int(truncate * float(sigma) + 0.5)


def gaussian_kernel(sigma: float, truncate: float = 3.0) -> np.ndarray:
    """Normalised 1-D Gaussian weights (float32) of half-width :func:`kernel_radius`."""
    r = kernel_radius(sigma, truncate)
    x = np.arange(-r, r + 1, dtype=np.float64)
    w = np.exp(-0.5 * (x / float(sigma)) ** 2)
    return (w / w.sum()).astype(np.float32)


@njit(cache=True, inline="always")
def _reflect(i, n):  # pragma: no cover - compiled
    while i < 0 or i >= n:
        if i < 0:
            i = -i - 1
        if i >= n:
            i = 2 * n - i - 1
    return i


@njit(parallel=True, cache=True)
def _conv_z(src, w, out):  # pragma: no cover - compiled
    nz, ny, nx = src.shape
    r = (w.size - 1) // 2
    for z in prange(nz):
        for y in range(ny):
            for x in range(nx):
                out[z, y, x] = 0.0
        for k in range(w.size):
            zz = _reflect(z + k - r, nz)
            wk = w[k]
            for y in range(ny):
                for x in range(nx):
                    out[z, y, x] += wk * src[zz, y, x]


@njit(parallel=True, cache=True)
def _conv_y(src, w, out):  # pragma: no cover - compiled
    nz, ny, nx = src.shape
    r = (w.size - 1) // 2
    for z in prange(nz):
        for y in range(ny):
            for x in range(nx):
                out[z, y, x] = 0.0
            for k in range(w.size):
                yy = _reflect(y + k - r, ny)
                wk = w[k]
                for x in range(nx):
                    out[z, y, x] += wk * src[z, yy, x]


@njit(parallel=True, cache=True)
def _conv_x(src, w, out):  # pragma: no cover - compiled
    nz, ny, nx = src.shape
    r = (w.size - 1) // 2
    for z in prange(nz):
        row = np.empty(nx + 2 * r, dtype=np.float32)
        for y in range(ny):
            for i in range(nx + 2 * r):
                row[i] = src[z, y, _reflect(i - r, nx)]
            for x in range(nx):
                acc = np.float32(0.0)
                for k in range(w.size):
                    acc += w[k] * row[x + k]
                out[z, y, x] = acc


def gaussian3(x: np.ndarray, sigma: float, truncate: float = 3.0, out: np.ndarray | None = None) -> np.ndarray:
    """3-D Gaussian smoothing of a float32 (z, y, x) array, separable (z, then y, then x)."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    w = gaussian_kernel(sigma, truncate)
    a = np.empty_like(x)
    b = np.empty_like(x) if out is None else out
    _conv_z(x, w, a)
    _conv_y(a, w, b)
    _conv_x(b, w, a)
    b[...] = a
    return b


@njit(parallel=True, cache=True)
def _grad_mag(g, out):  # pragma: no cover - compiled
    nz, ny, nx = g.shape
    for z in prange(nz):
        z0 = z - 1 if z > 0 else 0
        z1 = z + 1 if z < nz - 1 else nz - 1
        fz = np.float32(1.0 / max(z1 - z0, 1))
        for y in range(ny):
            y0 = y - 1 if y > 0 else 0
            y1 = y + 1 if y < ny - 1 else ny - 1
            fy = np.float32(1.0 / max(y1 - y0, 1))
            for x in range(nx):
                x0 = x - 1 if x > 0 else 0
                x1 = x + 1 if x < nx - 1 else nx - 1
                fx = np.float32(1.0 / max(x1 - x0, 1))
                dz = (g[z1, y, x] - g[z0, y, x]) * fz
                dy = (g[z, y1, x] - g[z, y0, x]) * fy
                dx = (g[z, y, x1] - g[z, y, x0]) * fx
                out[z, y, x] = math.sqrt(dz * dz + dy * dy + dx * dx)


def gradient_magnitude3(g: np.ndarray) -> np.ndarray:
    """Magnitude of the central-difference gradient (one-sided at the array ends), per voxel."""
    g = np.ascontiguousarray(g, dtype=np.float32)
    out = np.empty_like(g)
    _grad_mag(g, out)
    return out
