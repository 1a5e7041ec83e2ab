"""Separable float32 filters compiled with numba (GIL released: blocks run in parallel threads), for the pixel classifier's features.

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


import numpy as np
from numba import njit

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


@njit(cache=True)
def _span(need, zi, ny_win, y0, r, ny):  # pragma: no cover - compiled
    """Source rows [a, b) whose z pass the needed output rows of window plane ``zi`` read (b <= a: none)."""
    lo, hi = ny_win, -1
    for y in range(ny_win):
        if need.shape[0] == 0 or need[zi, y]:
            if y < lo:
                lo = y
            hi = y
    if hi < 0:
        return 0, 0
    return max(0, y0 + lo - r), min(ny, y0 + hi + 1 + r)


@njit(cache=True, inline="always")
def _gauss_rows(src, z, ya, yb, xa, xb, w, r, p):  # pragma: no cover - compiled
    """z pass of plane ``z``, rows ``ya:yb``, columns ``xa:xb``, into ``p``."""
    nz = src.shape[0]
    w0 = w[r]
    for y in range(ya, yb):
        pr = p[y, xa:xb]
        cr = src[z, y, xa:xb]
        for x in range(pr.size):
            pr[x] = w0 * np.float32(cr[x])
        for k in range(1, r + 1):
            ar = src[_reflect(z - k, nz), y, xa:xb]
            br = src[_reflect(z + k, nz), y, xa:xb]
            wk = w[r + k]
            for x in range(pr.size):
                pr[x] += wk * (np.float32(ar[x]) + np.float32(br[x]))


@njit(cache=True, inline="always")
def _gauss_line(p, y, xa, xb, x0, w, r, q, pad, row):  # pragma: no cover - compiled
    """y pass of row ``y`` of ``p`` into ``q``, then x pass (reflect-padded) into ``row``."""
    ny, nx = p.shape
    w0 = w[r]
    qr = q[xa:xb]
    pc = p[y, xa:xb]
    for x in range(qr.size):
        qr[x] = w0 * pc[x]
    for k in range(1, r + 1):
        ar = p[_reflect(y - k, ny), xa:xb]
        br = p[_reflect(y + k, ny), xa:xb]
        wk = w[r + k]
        for x in range(qr.size):
            qr[x] += wk * (ar[x] + br[x])
    for i in range(pad.size):
        pad[i] = q[_reflect(x0 - r + i, nx)]
    for x in range(row.size):
        row[x] = w0 * pad[x + r]
    for k in range(1, r + 1):
        wk = w[r + k]
        lo = pad[r - k : r - k + row.size]
        hi = pad[r + k : r + k + row.size]
        for x in range(row.size):
            row[x] += wk * (lo[x] + hi[x])


@njit(cache=True, inline="always")
def _min_rows(src, z, ya, yb, xa, xb, r, p):  # pragma: no cover - compiled
    nz = src.shape[0]
    for y in range(ya, yb):
        pr = p[y, xa:xb]
        cr = src[z, y, xa:xb]
        for x in range(pr.size):
            pr[x] = cr[x]
        for k in range(1, r + 1):
            ar = src[_reflect(z - k, nz), y, xa:xb]
            br = src[_reflect(z + k, nz), y, xa:xb]
            for x in range(pr.size):
                pr[x] = min(pr[x], min(ar[x], br[x]))


@njit(cache=True, inline="always")
def _min_line(p, y, xa, xb, x0, r, q, pad, row):  # pragma: no cover - compiled
    ny, nx = p.shape
    qr = q[xa:xb]
    pc = p[y, xa:xb]
    for x in range(qr.size):
        qr[x] = pc[x]
    for k in range(1, r + 1):
        ar = p[_reflect(y - k, ny), xa:xb]
        br = p[_reflect(y + k, ny), xa:xb]
        for x in range(qr.size):
            qr[x] = min(qr[x], min(ar[x], br[x]))
    for i in range(pad.size):
        pad[i] = q[_reflect(x0 - r + i, nx)]
    for x in range(row.size):
        row[x] = pad[x + r]
    for k in range(1, r + 1):
        lo = pad[r - k : r - k + row.size]
        hi = pad[r + k : r + k + row.size]
        for x in range(row.size):
            row[x] = min(row[x], min(lo[x], hi[x]))


@njit(nogil=True, cache=True)
def _sep3(src, w, r, is_min, start, need, out, offset, scale):  # pragma: no cover - compiled
    """Separable filter of ``src`` into the window ``out`` at ``start``: Gaussian weights ``w`` or (``is_min``)
    the minimum over ``2 r + 1``; only window rows with ``need[z, y]`` (all when ``need`` is empty);
    the Gaussian's result is mapped to ``(g - offset) scale`` unless ``scale`` is 0."""
    nz, ny, nx = src.shape
    cz, cy, cx = out.shape
    z0, y0, x0 = start[0], start[1], start[2]
    xa = max(0, x0 - r)
    xb = min(nx, x0 + cx + r)
    for zi in range(cz):
        ya, yb = _span(need, zi, cy, y0, r, ny)
        if yb <= ya:
            continue
        p = np.empty((ny, nx), np.float32)
        q = np.empty(nx, np.float32)
        pad = np.empty(cx + 2 * r, np.float32)
        if is_min:
            _min_rows(src, z0 + zi, ya, yb, xa, xb, r, p)
        else:
            _gauss_rows(src, z0 + zi, ya, yb, xa, xb, w, r, p)
        for yi in range(cy):
            if need.shape[0] == 0 or need[zi, yi]:
                if is_min:
                    _min_line(p, y0 + yi, xa, xb, x0, r, q, pad, out[zi, yi])
                else:
                    row = out[zi, yi]
                    _gauss_line(p, y0 + yi, xa, xb, x0, w, r, q, pad, row)
                    if scale != 0:
                        for x in range(cx):
                            row[x] = (row[x] - offset) * scale


_NO_ROWS = np.zeros((0, 0), dtype=np.bool_)


def _window(x: np.ndarray, window, rows):
    """Start (int64 (3,)), shape and row mask (bool (cz, cy), empty = all rows) of an output window of ``x``."""
    if window is None:
        window = (slice(None),) * 3
    window = tuple(slice(*sl.indices(n)[:2]) for sl, n in zip(window, x.shape))
    start = np.asarray([sl.start for sl in window], np.int64)
    shape = tuple(sl.stop - sl.start for sl in window)
    if rows is None:
        need = _NO_ROWS
    else:
        need = np.ascontiguousarray(rows, dtype=np.bool_)
        if need.shape != shape[:2]:
            raise ValueError(f"rows has shape {need.shape}, expected {shape[:2]}")
    return start, shape, need


def gaussian3(
    x: np.ndarray,
    sigma: float,
    truncate: float = 3.0,
    out: np.ndarray | None = None,
    window: tuple[slice, slice, slice] | None = None,
    rows: np.ndarray | None = None,
    affine: tuple[float, float] | None = None,
) -> np.ndarray:
    """3-D Gaussian smoothing of a (z, y, x) array, separable (z, then y, then x) in one pass, float32 result.

    Parameters
    ----------
    window : tuple of three slices, optional
        Compute only this part of the result (the source around it is read,
        reflected at the array ends); the result has the window's shape.
    rows : ndarray of bool (window z, window y), optional
        Compute only these rows of the window; the others are left undefined.
    affine : (offset, scale), optional
        Return ``(G(x) - offset) scale``, the smoothing of ``(x - offset) scale``
        (the weights sum to 1), without making that array: a uint16 or float32
        ``x`` is read as it is.
    """
    x = np.ascontiguousarray(x)
    if x.dtype not in (np.float32, np.uint16, np.uint8, np.int16):
        x = x.astype(np.float32)
    start, shape, need = _window(x, window, rows)
    res = np.empty(shape, np.float32) if out is None or np.shares_memory(out, x) else out
    w = gaussian_kernel(sigma, truncate)
    off, scale = (np.float32(0), np.float32(0)) if affine is None else (np.float32(affine[0]), np.float32(affine[1]))
    _sep3(x, w, (w.size - 1) // 2, False, start, need, res, off, scale)
    if out is not None and res is not out:
        out[...] = res
        return out
    return res


def minimum3(
    x: np.ndarray,
    radius: int,
    out: np.ndarray | None = None,
    window: tuple[slice, slice, slice] | None = None,
    rows: np.ndarray | None = None,
) -> np.ndarray:
    """Minimum over the cube of side ``2 radius + 1`` (``scipy.ndimage.minimum_filter``, mode ``reflect``).

    ``window`` and ``rows`` as in :func:`gaussian3`.
    """
    x = np.ascontiguousarray(x, dtype=np.float32)
    start, shape, need = _window(x, window, rows)
    res = np.empty(shape, np.float32) if out is None or np.shares_memory(out, x) else out
    _sep3(x, np.zeros(1, np.float32), int(radius), True, start, need, res, np.float32(0), np.float32(0))
    if out is not None and res is not out:
        out[...] = res
        return out
    return res


@njit(nogil=True, cache=True)
def _grad_mag(g, start, out):  # pragma: no cover - compiled
    nz, ny, nx = g.shape
    cz, cy, cx = out.shape
    d = np.empty(cx, np.float32)
    for zi in range(cz):
        z = zi + start[0]
        z0 = z - 1 if z > 0 else 0
        z1 = z + 1 if z < nz - 1 else nz - 1
        fz = np.float32(1.0 / max(z1 - z0, 1))
        for yi in range(cy):
            y = yi + start[1]
            y0 = y - 1 if y > 0 else 0
            y1 = y + 1 if y < ny - 1 else ny - 1
            fy = np.float32(1.0 / max(y1 - y0, 1))
            xs = start[2]
            a, b = g[z1, y, xs : xs + cx], g[z0, y, xs : xs + cx]
            c, e = g[z, y1, xs : xs + cx], g[z, y0, xs : xs + cx]
            row = out[zi, yi]
            for x in range(cx):
                dz = (a[x] - b[x]) * fz
                dy = (c[x] - e[x]) * fy
                row[x] = dz * dz + dy * dy
            gr = g[z, y]
            first = 1 if xs == 0 else 0  # central differences inside, one-sided at the array ends
            last = cx - 1 if xs + cx == nx else cx
            if last > first:
                hi = gr[xs + first + 1 : xs + last + 1]
                lo = gr[xs + first - 1 : xs + last - 1]
                for x in range(last - first):
                    d[first + x] = (hi[x] - lo[x]) * np.float32(0.5)
            if first == 1:
                d[0] = gr[min(1, nx - 1)] - gr[0]
            if last == cx - 1 and cx > first:
                d[cx - 1] = gr[nx - 1] - gr[max(nx - 2, 0)]
            for x in range(cx):
                row[x] = np.sqrt(row[x] + d[x] * d[x])


def gradient_magnitude3(g: np.ndarray, window: tuple[slice, slice, slice] | None = None) -> np.ndarray:
    """Magnitude of the central-difference gradient (one-sided at the array ends), per voxel (of ``window``)."""
    g = np.ascontiguousarray(g, dtype=np.float32)
    start, shape, _ = _window(g, window, None)
    out = np.empty(shape, np.float32)
    _grad_mag(g, start, out)
    return out
