"""Separable float32 filters compiled with numba (parallel over planes), for the pixel classifier's features.

Borders follow :func:`scipy.ndimage.gaussian_filter`'s default ``reflect``
mode (``d c b a | a b c d``), so a block read with a halo at least as wide as
the summed kernel radii gives the whole-volume numbers inside the halo, and
the results match scipy's to float32 rounding.

Each output plane is made in one go: the z pass (symmetric kernel, the pairs
``src[z - k] + src[z + k]`` folded before the multiply) into a plane buffer,
the y pass into a second one and the x pass from a reflect-padded row into
the output, every inner loop running over contiguous x (vectorised by LLVM).
One read and one write of the volume per filter, the planes in cache.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

__all__ = ["gaussian_kernel", "gaussian3", "gradient_magnitude3", "kernel_radius", "minimum3"]


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


@njit(cache=True, inline="always")
def _pad_row(row, r, pad):  # pragma: no cover - compiled
    n = row.size
    for i in range(r):
        pad[i] = row[_reflect(i - r, n)]
        pad[r + n + i] = row[_reflect(n + i, n)]
    for x in range(n):
        pad[r + x] = row[x]


@njit(parallel=True, cache=True)
def _gauss3(src, w, out):  # pragma: no cover - compiled
    nz, ny, nx = src.shape
    r = (w.size - 1) // 2
    w0 = w[r]
    for z in prange(nz):
        p = np.empty((ny, nx), np.float32)
        q = np.empty((ny, nx), np.float32)
        pad = np.empty(nx + 2 * r, np.float32)
        c = src[z]
        for y in range(ny):
            for x in range(nx):
                p[y, x] = w0 * c[y, x]
        for k in range(1, r + 1):
            a = src[_reflect(z - k, nz)]
            b = src[_reflect(z + k, nz)]
            wk = w[r + k]
            for y in range(ny):
                for x in range(nx):
                    p[y, x] += wk * (a[y, x] + b[y, x])
        for y in range(ny):
            for x in range(nx):
                q[y, x] = w0 * p[y, x]
            for k in range(1, r + 1):
                a = p[_reflect(y - k, ny)]
                b = p[_reflect(y + k, ny)]
                wk = w[r + k]
                for x in range(nx):
                    q[y, x] += wk * (a[x] + b[x])
        o = out[z]
        for y in range(ny):
            _pad_row(q[y], r, pad)
            for x in range(nx):
                o[y, x] = w0 * pad[x + r]
            for k in range(1, r + 1):
                wk = w[r + k]
                for x in range(nx):
                    o[y, x] += wk * (pad[x + r - k] + pad[x + r + k])


@njit(parallel=True, cache=True)
def _min3(src, r, out):  # pragma: no cover - compiled
    nz, ny, nx = src.shape
    for z in prange(nz):
        p = np.empty((ny, nx), np.float32)
        q = np.empty((ny, nx), np.float32)
        pad = np.empty(nx + 2 * r, np.float32)
        c = src[z]
        for y in range(ny):
            for x in range(nx):
                p[y, x] = c[y, x]
        for k in range(1, r + 1):
            a = src[_reflect(z - k, nz)]
            b = src[_reflect(z + k, nz)]
            for y in range(ny):
                for x in range(nx):
                    p[y, x] = min(p[y, x], min(a[y, x], b[y, x]))
        for y in range(ny):
            for x in range(nx):
                q[y, x] = p[y, x]
            for k in range(1, r + 1):
                a = p[_reflect(y - k, ny)]
                b = p[_reflect(y + k, ny)]
                for x in range(nx):
                    q[y, x] = min(q[y, x], min(a[x], b[x]))
        o = out[z]
        for y in range(ny):
            _pad_row(q[y], r, pad)
            for x in range(nx):
                o[y, x] = pad[x + r]
            for k in range(1, r + 1):
                for x in range(nx):
                    o[y, x] = min(o[y, x], min(pad[x + r - k], pad[x + r + k]))


def _out_for(x: np.ndarray, out: np.ndarray | None) -> np.ndarray:
    if out is None or out is x or np.shares_memory(out, x):
        return np.empty_like(x)
    return out


def gaussian3(x: np.ndarray, sigma: float, truncate: float = 3.0, out: np.ndarray | None = None) -> np.ndarray:
    """3-D Gaussian smoothing of a float32 (z, y, x) array, separable (z, then y, then x) in one pass."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    res = _out_for(x, out)
    _gauss3(x, gaussian_kernel(sigma, truncate), res)
    if out is not None and res is not out:
        out[...] = res
        return out
    return res


def minimum3(x: np.ndarray, radius: int, out: np.ndarray | None = None) -> np.ndarray:
    """Minimum over the cube of side ``2 radius + 1`` (``scipy.ndimage.minimum_filter``, mode ``reflect``)."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    res = _out_for(x, out)
    _min3(x, int(radius), res)
    if out is not None and res is not out:
        out[...] = res
        return out
    return res


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
