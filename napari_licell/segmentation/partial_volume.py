"""Partial-volume aware assignment of the dark phases (Li, gas-filled void).

Plain ordered thresholds mislabel the one-voxel shells where a dark phase
meets a bright one: a Li voxel next to SE + Li or SE picks up enough of its
neighbour through the point-spread function to land in the void range (or
above), and a void voxel next to SE lands in the SE + Li range. The grey
value alone cannot tell "Li plus a little SE" from "pure gas". Its
neighbourhood can:

1. **Cores.** A voxel whose whole 3x3x3 neighbourhood lies in the dark
   range (below the threshold above the dark classes) is interior to a dark
   region. It is Li when most of those 27 values are below the Li | void
   threshold (a 27-voxel majority, i.e. a median test), void otherwise.
2. **Growth with a two-phase mixing test** (repeated ``n_iter`` times, each
   pass reading only the previous pass so the result does not depend on
   the order or the chunking). A voxel next to assigned dark voxels:

   * in the dark range: keeps its own dark class when that class is among
     its assigned neighbours; otherwise it takes the neighbours' class when
     it is explained as that phase mixed with its brightest neighbour at a
     dark share >= 0.5 (the Li shell in front of SE + Li), else its own;
   * above the dark range: with ``D`` the pure grey of the neighbouring dark
     class (majority) and ``B`` the brightest of its 26 neighbours, the dark
     share of a two-phase mix is ``f = (B - v) / (B - D)``; ``f >= 0.5``
     assigns the dark class. A voxel of the intermediate class (SE + Li) with
     ``f < 0.5`` whose brightest neighbour is SE or metal is the bright side
     of the same interface and takes that class.

Everything else keeps its plain threshold class. The dependency radius is
``1 + n_iter`` voxels: chunked runs need that many planes of halo.
"""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = ["partial_volume_classify", "pv_halo"]


def pv_halo(n_iter: int) -> int:
    """Planes of overlap a chunk needs for an exact result with ``n_iter`` growth passes."""
    return 1 + int(n_iter)


@numba.njit(inline="always")
def _class_of(val, thr, codes):  # pragma: no cover - compiled
    k = 0
    n = thr.size
    while k < n and val >= thr[k]:
        k += 1
    return k


@numba.njit(parallel=True, cache=True, nogil=True)
def _box3(m, mode_sum):  # pragma: no cover - compiled
    """3x3x3 box max (mode_sum False) or sum (True) of a uint8 volume, edges clamped; separable.

    Inner loops run over contiguous rows without index clamping so they vectorise.
    """
    nz, ny, nx = m.shape
    t1 = np.empty_like(m)
    t2 = np.empty_like(m)
    for z in numba.prange(nz):
        for y in range(ny):
            row = m[z, y]
            out = t1[z, y]
            if nx == 1:
                out[0] = row[0] * 3 if mode_sum else row[0]
                continue
            if mode_sum:
                out[0] = row[0] + row[0] + row[1]
                for x in range(1, nx - 1):
                    out[x] = row[x - 1] + row[x] + row[x + 1]
                out[nx - 1] = row[nx - 2] + row[nx - 1] + row[nx - 1]
            else:
                out[0] = max(row[0], row[1])
                for x in range(1, nx - 1):
                    out[x] = max(row[x - 1], max(row[x], row[x + 1]))
                out[nx - 1] = max(row[nx - 2], row[nx - 1])
    for z in numba.prange(nz):
        for y in range(ny):
            a = t1[z, max(y - 1, 0)]
            b = t1[z, y]
            c = t1[z, min(y + 1, ny - 1)]
            out = t2[z, y]
            if mode_sum:
                for x in range(nx):
                    out[x] = a[x] + b[x] + c[x]
            else:
                for x in range(nx):
                    out[x] = max(a[x], max(b[x], c[x]))
    for z in numba.prange(nz):
        pa = t2[max(z - 1, 0)]
        pb = t2[z]
        pc = t2[min(z + 1, nz - 1)]
        out = t1[z]
        for y in range(ny):
            a = pa[y]
            b = pb[y]
            c = pc[y]
            o = out[y]
            if mode_sum:
                for x in range(nx):
                    o[x] = a[x] + b[x] + c[x]
            else:
                for x in range(nx):
                    o[x] = max(a[x], max(b[x], c[x]))
    return t1


@numba.njit(parallel=True, cache=True, nogil=True)
def _initial_masks(v, thr, codes, t_li, t_dark, l0, bright, below_li):  # pragma: no cover
    nz, ny, nx = v.shape
    for z in numba.prange(nz):
        for y in range(ny):
            for x in range(nx):
                val = v[z, y, x]
                l0[z, y, x] = codes[_class_of(val, thr, codes)]
                bright[z, y, x] = 0 if val < t_dark else 1
                below_li[z, y, x] = 1 if val < t_li else 0


@numba.njit(parallel=True, cache=True, nogil=True)
def _initial_masks_lut(v, lut, l0, bright, below_li):  # pragma: no cover
    # lut[g] = code | 64 (bright) | 128 (below the Li | void threshold) for integer data
    nz, ny, nx = v.shape
    for z in numba.prange(nz):
        for y in range(ny):
            for x in range(nx):
                e = lut[v[z, y, x]]
                l0[z, y, x] = e & 63
                bright[z, y, x] = (e >> 6) & 1
                below_li[z, y, x] = e >> 7


@numba.njit(parallel=True, cache=True, nogil=True)
def _initial_cores(bright, near_bright, n_below_li, li_code, void_code, assigned):  # pragma: no cover
    nz, ny, nx = bright.shape
    for z in numba.prange(nz):
        for y in range(ny):
            for x in range(nx):
                if bright[z, y, x] == 0 and near_bright[z, y, x] == 0:
                    assigned[z, y, x] = li_code if n_below_li[z, y, x] >= 14 else void_code
                else:
                    assigned[z, y, x] = 0


@numba.njit(parallel=True, cache=True, nogil=True)
def _dark_mask(a, li_code, void_code, out):  # pragma: no cover
    nz, ny, nx = a.shape
    for z in numba.prange(nz):
        for y in range(ny):
            for x in range(nx):
                c = a[z, y, x]
                out[z, y, x] = 1 if (c != 0 and (c == li_code or c == void_code)) else 0


@numba.njit(parallel=True, cache=True, nogil=True)
def _grow_pass(
    v, l0, a_in, near, a_out, thr, codes, t_dark, li_code, void_code, lev_li, lev_void, inter_rank
):  # pragma: no cover
    nz, ny, nx = v.shape
    for z in numba.prange(nz):
        for y in range(ny):
            for x in range(nx):
                cur = a_in[z, y, x]
                a_out[z, y, x] = cur
                if cur != 0 or near[z, y, x] == 0:
                    continue
                cl = 0
                cv = 0
                vmax = -np.inf
                for dz in range(-1, 2):
                    zz = min(max(z + dz, 0), nz - 1)
                    for dy in range(-1, 2):
                        yy = min(max(y + dy, 0), ny - 1)
                        for dx in range(-1, 2):
                            if dz == 0 and dy == 0 and dx == 0:
                                continue
                            xx = min(max(x + dx, 0), nx - 1)
                            a = a_in[zz, yy, xx]
                            if a != 0:
                                if a == li_code:
                                    cl += 1
                                elif a == void_code:
                                    cv += 1
                            w = float(v[zz, yy, xx])
                            if w > vmax:
                                vmax = w
                if cl + cv == 0:
                    continue
                val = float(v[z, y, x])
                own = l0[z, y, x]
                if val < t_dark:
                    if (own == li_code and cl > 0) or (own == void_code and cv > 0):
                        a_out[z, y, x] = own
                        continue
                    c = li_code if cl > 0 else void_code
                    d = lev_li if c == li_code else lev_void
                    if vmax >= t_dark and vmax > d and (vmax - val) >= 0.5 * (vmax - d):
                        a_out[z, y, x] = c
                    else:
                        a_out[z, y, x] = own
                    continue
                if cl > cv:
                    c = li_code
                elif cv > cl:
                    c = void_code
                else:
                    c = li_code if abs(val - lev_li) <= abs(val - lev_void) else void_code
                d = lev_li if c == li_code else lev_void
                if vmax > d and (vmax - val) >= 0.5 * (vmax - d):
                    a_out[z, y, x] = c
                elif inter_rank >= 0 and own == codes[inter_rank]:
                    k = _class_of(vmax, thr, codes)
                    if k > inter_rank:
                        a_out[z, y, x] = codes[k]


@numba.njit(parallel=True, cache=True, nogil=True)
def _merge(l0, assigned, out):  # pragma: no cover
    nz, ny, nx = l0.shape
    for z in numba.prange(nz):
        for y in range(ny):
            for x in range(nx):
                a = assigned[z, y, x]
                out[z, y, x] = a if a != 0 else l0[z, y, x]


def partial_volume_classify(
    block: np.ndarray,
    values: tuple[float, ...],
    classes: tuple[int, ...],
    li_code: int | None,
    void_code: int | None,
    level_li: float,
    level_void: float,
    inter_code: int | None,
    n_iter: int = 3,
) -> np.ndarray:
    """Class codes of a 3D block with the partial-volume rules of this module.

    Parameters
    ----------
    block : ndarray (z, y, x)
        Grey values (any real dtype).
    values, classes : tuple
        Ordered thresholds (grey values) and class codes (see ThresholdSet).
    li_code, void_code : int or None
        Codes of the dark classes present (None when absent; at least one is needed).
    level_li, level_void : float
        Pure grey value of Li and of the gas (the histogram peaks).
    inter_code : int or None
        Code of the intermediate class above the dark ones (SE + Li), if present.
    n_iter : int
        Growth passes.

    Returns
    -------
    ndarray of uint8
        Class codes, same shape as ``block``.
    """
    if block.ndim != 3:
        raise ValueError("partial-volume classification works on 3D blocks")
    if li_code is None and void_code is None:
        raise ValueError("no dark class to assign")
    thr = np.asarray(values, dtype=np.float64)
    codes = np.asarray(classes, dtype=np.uint8)
    dark_codes = [c for c in (li_code, void_code) if c is not None]
    top_dark_rank = max(classes.index(c) for c in dark_codes)
    t_dark = float(thr[top_dark_rank]) if top_dark_rank < thr.size else math.inf
    if li_code is not None and void_code is not None:
        t_li = float(thr[classes.index(li_code)])
    elif li_code is not None:
        t_li = math.inf
    else:
        t_li = -math.inf
    li = int(li_code if li_code is not None else void_code)
    vo = int(void_code if void_code is not None else li_code)
    lev_li = float(level_li if li_code is not None else level_void)
    lev_vo = float(level_void if void_code is not None else level_li)
    inter_rank = classes.index(inter_code) if inter_code is not None and inter_code in classes else -1

    v = np.ascontiguousarray(block)
    shape = v.shape
    l0 = np.empty(shape, dtype=np.uint8)
    bright = np.empty(shape, dtype=np.uint8)
    below_li = np.empty(shape, dtype=np.uint8)
    if v.dtype in (np.uint8, np.uint16):
        greys = np.arange(256 if v.dtype == np.uint8 else 65536, dtype=np.float64)
        lut = codes[np.searchsorted(thr, greys, side="right")].astype(np.uint8)
        lut |= np.where(greys < t_dark, 0, 64).astype(np.uint8)
        lut |= np.where(greys < t_li, 128, 0).astype(np.uint8)
        _initial_masks_lut(v, lut, l0, bright, below_li)
    else:
        _initial_masks(v, thr, codes, t_li, t_dark, l0, bright, below_li)
    a = np.empty(shape, dtype=np.uint8)
    _initial_cores(bright, _box3(bright, False), _box3(below_li, True), np.uint8(li), np.uint8(vo), a)
    del bright, below_li
    b = np.empty(shape, dtype=np.uint8)
    dark = np.empty(shape, dtype=np.uint8)
    for _ in range(int(n_iter)):
        _dark_mask(a, np.uint8(li), np.uint8(vo), dark)
        near = _box3(dark, False)
        _grow_pass(v, l0, a, near, b, thr, codes, t_dark, np.uint8(li), np.uint8(vo), lev_li, lev_vo, inter_rank)
        a, b = b, a
    out = np.empty(v.shape, dtype=np.uint8)
    _merge(l0, a, out)
    return out
