"""The partial-volume rules of :mod:`.partial_volume`, done only where a voxel's class is in doubt.

Same result as :func:`.partial_volume.partial_volume_classify`, voxel for
voxel (``tests/core/test_classify_fast.py`` compares both on the demo cells),
at the speed of the lookup table for most of a scan. The rules only change
a voxel's plain class within ``R = 1 + n_iter`` voxels of a dark voxel (Li or
gas range), and inside a dark region they reduce to the 27-voxel majority of
the cores. So each row of the block (one ``(z, y)``, all ``x``) is sorted by
what the rows around it hold:

* **bright rows** - no dark voxel within ``R`` rows (z and y): the plain
  class (lookup table) is final: no core is near enough for the growth passes
  to reach any of its voxels;
* **dark rows** - the row and its 8 neighbour rows hold dark voxels only:
  every voxel is a core; its class is the Li / gas majority of its 27
  neighbours (rule 1), which the growth passes never change;
* **mixed rows** - the rest (interfaces, pores, the partial-volume shells):
  cores, growth passes and merge exactly as :mod:`.partial_volume`, computed
  for these rows only, reading the fixed values of the rows around them.

One pass of the lookup table writes the plain classes and a flag byte per
voxel (bright, below the Li | gas threshold); the other passes touch the dark
and mixed rows only. Edges are clamped as in the reference, so a block gives
the same codes as the reference on the same block, and the chunked volume
(halo :func:`.partial_volume.pv_halo`) the same as the whole.
"""

from __future__ import annotations

import contextlib
import math

import numba
import numpy as np

__all__ = ["PvScratch", "partial_volume_classify_fast", "pv_entry_lut"]

_BRIGHT = 64
_BELOW = 128
_CODE = 63

#: Row kinds.
_ROW_BRIGHT = 0
_ROW_DARK = 1
_ROW_MIXED = 2


def pv_entry_lut(dtype: np.dtype, thr: np.ndarray, codes: np.ndarray, t_dark: float, t_li: float) -> np.ndarray:
    """Flag byte per grey value of an 8/16-bit integer dtype: code | 64 (bright) | 128 (below the Li | gas threshold).

    Signed dtypes are indexed by their unsigned view (the table is built on
    the signed values of those bits).
    """
    dtype = np.dtype(dtype)
    bits = 8 * dtype.itemsize
    raw = np.arange(2**bits, dtype=np.dtype(f"u{dtype.itemsize}"))
    greys = (raw.view(dtype) if dtype.kind == "i" else raw).astype(np.float64)
    lut = codes[np.searchsorted(thr, greys, side="right")].astype(np.uint8)
    lut |= np.where(greys < t_dark, 0, _BRIGHT).astype(np.uint8)
    lut |= np.where(greys < t_li, _BELOW, 0).astype(np.uint8)
    return lut


@numba.njit(inline="always")
def _class_of(val, thr):  # pragma: no cover - compiled
    k = 0
    n = thr.size
    while k < n and val >= thr[k]:
        k += 1
    return k


@numba.njit(parallel=True, cache=True, nogil=True)
def _entries_lut(v, lut, e, rowf):  # pragma: no cover - compiled
    """Flag bytes (code | bright | below) and, per row, 1 (has bright) | 2 (has dark)."""
    nz, ny, nx = v.shape
    for z in numba.prange(nz):
        for y in range(ny):
            vr = v[z, y]
            er = e[z, y]
            hb = 0
            hd = 0
            for x in range(nx):
                q = lut[vr[x]]
                er[x] = q
                hb |= q
                hd |= ~q
            rowf[z, y] = ((hb >> 6) & 1) | (((hd >> 6) & 1) << 1)


@numba.njit(parallel=True, cache=True, nogil=True)
def _entries_float(v, thr, codes, t_dark, t_li, e, rowf):  # pragma: no cover - compiled
    nz, ny, nx = v.shape
    for z in numba.prange(nz):
        for y in range(ny):
            hb = 0
            hd = 0
            for x in range(nx):
                val = v[z, y, x]
                c = codes[_class_of(val, thr)]
                q = c
                if val < t_dark:
                    hd = 2
                else:
                    q |= _BRIGHT
                    hb = 1
                if val < t_li:
                    q |= _BELOW
                e[z, y, x] = q
            rowf[z, y] = hb | hd


@numba.njit(cache=True, nogil=True)
def _row_kinds(rowf, radius):  # pragma: no cover - compiled
    """Bright (no dark within ``radius`` rows), dark (3 x 3 rows all dark) or mixed, per row."""
    nz, ny = rowf.shape
    kind = np.empty((nz, ny), dtype=np.uint8)
    # OR over the (2 radius + 1) and 3 row neighbourhoods (clamped), separable
    t = np.empty((nz, ny), dtype=np.uint8)
    t1 = np.empty((nz, ny), dtype=np.uint8)
    for z in range(nz):
        for y in range(ny):
            a = 0
            b = 0
            for d in range(-radius, radius + 1):
                zz = min(max(z + d, 0), nz - 1)
                a |= rowf[zz, y]
                if -1 <= d <= 1:
                    b |= rowf[zz, y]
            t[z, y] = a
            t1[z, y] = b
    for z in range(nz):
        for y in range(ny):
            a = 0
            b = 0
            for d in range(-radius, radius + 1):
                yy = min(max(y + d, 0), ny - 1)
                a |= t[z, yy]
                if -1 <= d <= 1:
                    b |= t1[z, yy]
            if (a & 2) == 0:
                kind[z, y] = _ROW_BRIGHT
            elif b == 2:
                kind[z, y] = _ROW_DARK
            else:
                kind[z, y] = _ROW_MIXED
    return kind


@numba.njit(inline="always")
def _core_bits(q):  # pragma: no cover - compiled
    """Bright voxel -> 1 (low byte), below the Li | gas threshold -> 256 (high byte)."""
    q16 = np.uint16(q)
    return ((q16 >> 6) & 1) | ((q16 >> 7) << 8)


@numba.njit(parallel=True, cache=True, nogil=True)
def _cores(e, kind, li_code, void_code, a, rowcore):  # pragma: no cover - compiled
    """Assigned dark class of the cores (rule 1) in dark and mixed rows; 0 elsewhere.

    ``rowcore`` per row: 1 when it holds a core, | 2 when it holds a voxel that is not one.
    The 9 rows around a row are summed as three sums over z (of rows ``y - 1``,
    ``y``, ``y + 1``, clamped, so an edge row counts twice as in the
    reference), each kept in a ring of three and reused by the next rows.
    """
    nz, ny, nx = e.shape
    for z in numba.prange(nz):
        z_lo = max(z - 1, 0)
        z_hi = min(z + 1, nz - 1)
        ring = np.empty((3, nx), dtype=np.uint16)  # per x, over 3 planes: bright (low byte), below (high byte)
        held = np.full(3, -1, dtype=np.int64)  # the row whose sums each ring slot holds
        acc = np.empty(nx, dtype=np.uint16)
        for y in range(ny):
            ar = a[z, y]
            if kind[z, y] == _ROW_BRIGHT:
                for x in range(nx):
                    ar[x] = 0
                rowcore[z, y] = 2
                continue
            for dy in range(-1, 2):
                yy = min(max(y + dy, 0), ny - 1)
                slot = yy % 3
                if held[slot] != yy:
                    r = ring[slot]
                    e0 = e[z_lo, yy]
                    e1 = e[z, yy]
                    e2 = e[z_hi, yy]
                    for x in range(nx):
                        r[x] = _core_bits(e0[x]) + _core_bits(e1[x]) + _core_bits(e2[x])
                    held[slot] = yy
            r0 = ring[max(y - 1, 0) % 3]
            r1 = ring[y % 3]
            r2 = ring[min(y + 1, ny - 1) % 3]
            for x in range(nx):
                acc[x] = r0[x] + r1[x] + r2[x]
            n_core = 0
            for x in range(nx):  # the edges (clamped); the loop below skips them
                if 0 < x < nx - 1:
                    continue
                t = acc[max(x - 1, 0)] + acc[x] + acc[min(x + 1, nx - 1)]
                core = (t & 255) == 0
                ar[x] = (li_code if (t >> 8) >= 14 else void_code) if core else np.uint8(0)
                n_core += core
            for x in range(1, nx - 1):  # branch-free, so it vectorises
                t = acc[x - 1] + acc[x] + acc[x + 1]
                core = np.uint8((t & 255) == 0)
                ar[x] = core * (li_code if (t >> 8) >= 14 else void_code)
                n_core += core
            rowcore[z, y] = np.uint8(n_core > 0) | (np.uint8(n_core < nx) << 1)


@numba.njit(inline="always")
def _neighbour_max(v, z, y, x, lowest):  # pragma: no cover - compiled
    """Brightest of the 26 neighbours of voxel ``(z, y, x)`` as the reference's growth pass takes it.

    Indices are clamped at the edges (so an edge voxel may count itself);
    NaN is ignored; in float64.
    """
    nz, ny, nx = v.shape
    xm = max(x - 1, 0)
    xp = min(x + 1, nx - 1)
    m = lowest
    for dz in range(-1, 2):
        zz = min(max(z + dz, 0), nz - 1)
        for dy in range(-1, 2):
            yy = min(max(y + dy, 0), ny - 1)
            w = v[zz, yy, xm]
            m = w if w > m else m
            w = v[zz, yy, xp]
            m = w if w > m else m
            if dz != 0 or dy != 0:
                w = v[zz, yy, x]
                m = w if w > m else m
    return np.float64(m)


@numba.njit(parallel=True, cache=True, nogil=True)
def _grow_rows(
    v, e, zs, ys, a_in, rows_out, thr, codes, t_dark, li_code, void_code, lev_li, lev_void, inter_rank, lowest
):  # pragma: no cover - compiled
    """One growth pass (rule 2) of :func:`.partial_volume._grow_pass`, over the active rows only.

    The assigned Li and gas among the 26 neighbours are counted separably (the
    9 rows around, clamped, then over x); the row's own voxel counts nothing,
    since only unassigned voxels are looked at. Only the few voxels with an
    assigned neighbour (under a tenth of an active row's) go on to the rule,
    and their brightest neighbour is read where needed. Row
    ``(zs[i], ys[i])`` is written to ``rows_out[i]``.
    """
    nz, ny, nx = v.shape
    for i in numba.prange(zs.size):
        cnt = np.zeros(nx, dtype=np.uint16)  # assigned Li (low byte) and gas (high byte), 9 rows
        z = zs[i]
        y = ys[i]
        a_out = rows_out[i]
        for dz in range(-1, 2):
            zz = min(max(z + dz, 0), nz - 1)
            for dy in range(-1, 2):
                ar = a_in[zz, min(max(y + dy, 0), ny - 1)]
                for x in range(nx):
                    c = ar[x]
                    cnt[x] += np.uint16(c == li_code) | (np.uint16(c == void_code) << 8)
        ac = a_in[z, y]
        a_out[:] = ac
        vc = v[z, y]
        er = e[z, y]
        for x in range(nx):
            xm = max(x - 1, 0)
            xp = min(x + 1, nx - 1)
            if ac[x] != 0 or (cnt[xm] | cnt[x] | cnt[xp]) == 0:
                continue
            t = np.int64(cnt[xm]) + cnt[x] + cnt[xp]
            cl = t & 255
            cv = t >> 8
            vmax = _neighbour_max(v, z, y, x, lowest)
            val = np.float64(vc[x])
            own = er[x] & _CODE
            if val < t_dark:
                if (own == li_code and cl > 0) or (own == void_code and cv > 0):
                    a_out[x] = own
                    continue
                c = li_code if cl > 0 else void_code
                d = lev_li if c == li_code else lev_void
                if vmax >= t_dark and vmax > d and (vmax - val) >= 0.5 * (vmax - d):
                    a_out[x] = c
                else:
                    a_out[x] = own
                continue
            if cl > cv:
                c = li_code
            elif cv > cl:
                c = void_code
            else:
                c = li_code if abs(val - lev_li) <= abs(val - lev_void) else void_code
            d = lev_li if c == li_code else lev_void
            if vmax > d and (vmax - val) >= 0.5 * (vmax - d):
                a_out[x] = c
            elif inter_rank >= 0 and own == codes[inter_rank]:
                k = _class_of(vmax, thr)
                if k > inter_rank:
                    a_out[x] = codes[k]


@numba.njit(parallel=True, cache=True, nogil=True)
def _scatter_rows(rows, zs, ys, a):  # pragma: no cover - compiled
    for i in numba.prange(zs.size):
        a[zs[i], ys[i]] = rows[i]


@numba.njit(parallel=True, cache=True, nogil=True)
def _merge_rows_into(kind, a, e, dest, k0):  # pragma: no cover - compiled
    """:func:`_merge_rows` of planes ``k0 .. k0 + len(dest)`` written into ``dest`` (``e`` keeps its flags)."""
    nd, ny, nx = dest.shape
    for i in numba.prange(nd):
        z = i + k0
        for y in range(ny):
            drow = dest[i, y]
            erow = e[z, y]
            if kind[z, y] == _ROW_BRIGHT:
                for x in range(nx):
                    drow[x] = erow[x] & _CODE
                continue
            ar = a[z, y]
            for x in range(nx):
                c = ar[x]
                drow[x] = c if c != 0 else erow[x] & _CODE


@numba.njit(parallel=True, cache=True, nogil=True)
def _merge_rows(kind, a, out):  # pragma: no cover - compiled
    """Flag bytes to codes: the assigned dark class where there is one, else the plain class."""
    nz, ny, nx = out.shape
    for z in numba.prange(nz):
        for y in range(ny):
            orow = out[z, y]
            if kind[z, y] == _ROW_BRIGHT:
                for x in range(nx):
                    orow[x] &= _CODE
                continue
            ar = a[z, y]
            for x in range(nx):
                c = ar[x]
                orow[x] = c if c != 0 else orow[x] & _CODE


def partial_volume_classify_fast(
    block: np.ndarray,
    values: tuple[float, ...],
    classes: tuple[int, ...],
    li_code: int | None,
    void_code: int | None,
    level_li: float,
    level_void: float,
    inter_code: int | None,
    n_iter: int = 3,
    *,
    out: np.ndarray | None = None,
    scratch: "PvScratch | None" = None,
    stats: dict | None = None,
    dest: np.ndarray | None = None,
    keep: tuple[int, int] | None = None,
) -> np.ndarray:
    """Class codes of a 3D block: the same as :func:`.partial_volume.partial_volume_classify`.

    Parameters are those of the reference, and:

    out : ndarray of uint8, optional
        C-contiguous array of the block's shape to write the codes into.
    scratch : PvScratch, optional
        Work arrays reused between calls (blocks of one volume).
    stats : dict, optional
        Receives the share of rows of each kind (``bright``, ``dark``, ``mixed``).
    dest, keep : ndarray of uint8, (int, int), optional
        Write only the codes of planes ``keep[0]:keep[1]`` of the block, into
        ``dest`` (shape ``(keep[1] - keep[0], y, x)``, rows along x contiguous),
        and return ``dest``; ``out`` (or a scratch array) then holds work bytes.
        Saves copying the kept planes of a block out of a work array.
    """
    if block.ndim != 3:
        raise ValueError("partial-volume classification works on 3D blocks")
    if li_code is None and void_code is None:
        raise ValueError("no dark class to assign")
    thr = np.asarray(values, dtype=np.float64)
    codes = np.asarray(classes, dtype=np.uint8)
    if codes.size and int(codes.max()) > _CODE:
        raise ValueError(f"class codes above {_CODE} do not fit the flag byte")
    dark_codes = [c for c in (li_code, void_code) if c is not None]
    top_dark_rank = max(classes.index(c) for c in dark_codes)
    t_dark = float(thr[top_dark_rank]) if top_dark_rank < thr.size else math.inf
    if li_code is not None and void_code is not None:
        t_li = float(thr[classes.index(li_code)])
    elif li_code is not None:
        t_li = math.inf
    else:
        t_li = -math.inf
    li = np.uint8(li_code if li_code is not None else void_code)
    vo = np.uint8(void_code if void_code is not None else li_code)
    lev_li = float(level_li if li_code is not None else level_void)
    lev_vo = float(level_void if void_code is not None else level_li)
    inter_rank = classes.index(inter_code) if inter_code is not None and inter_code in classes else -1

    # rows along x must be contiguous; classify_volume still copies tiles (the growth pass is ~4x
    # slower on a strided view than the copy costs)
    v = block if block.strides[-1] == block.itemsize and min(block.strides) >= 0 else np.ascontiguousarray(block)
    shape = v.shape
    scratch = scratch if scratch is not None else PvScratch()
    if dest is not None:
        k0, k1 = (0, shape[0]) if keep is None else (int(keep[0]), int(keep[1]))
        if not 0 <= k0 <= k1 <= shape[0] or tuple(dest.shape) != (k1 - k0, *shape[1:]) or dest.dtype != np.uint8:
            raise ValueError("dest must be a uint8 array of the kept planes of the block")
        if dest.shape[2] > 1 and dest.strides[2] != 1:
            raise ValueError("dest rows along x must be contiguous")
        if out is None:
            out = scratch.get(2, shape)
    e = out if out is not None else np.empty(shape, dtype=np.uint8)  # flag bytes first, codes at the end
    if e.shape != shape or e.dtype != np.uint8 or not e.flags.c_contiguous:
        raise ValueError("out must be a C-contiguous uint8 array of the block's shape")
    rowf = np.empty(shape[:2], dtype=np.uint8)
    if v.dtype.kind in "ui" and v.dtype.itemsize <= 2:
        lut = pv_entry_lut(v.dtype, thr, codes, t_dark, t_li)
        _entries_lut(v.view(np.dtype(f"u{v.dtype.itemsize}")), lut, e, rowf)
    else:
        _entries_float(v, thr, codes, t_dark, t_li, e, rowf)
    kind = _row_kinds(rowf, 1 + int(n_iter))
    if stats is not None:
        n = max(kind.size, 1)
        stats.update(
            {
                name: float(np.count_nonzero(kind == k)) / n
                for name, k in (("bright", _ROW_BRIGHT), ("dark", _ROW_DARK), ("mixed", _ROW_MIXED))
            }
        )
    a = scratch.get(0, shape)
    if np.any(kind != _ROW_BRIGHT):
        rowcore = np.empty(shape[:2], dtype=np.uint8)
        with _chunks(1):  # dark and mixed rows gather in some planes: hand out planes one by one
            _cores(e, kind, li, vo, a, rowcore)
        # pass k can only assign voxels within k of a core: rows with a voxel that is not a core and a
        # core row within k rows (a set that grows with k, so a row is left alone until its first pass)
        has_core = (rowcore & 1).astype(bool)
        open_rows = (rowcore & 2).astype(bool)
        if int(n_iter) > 0 and np.any(has_core) and np.any(open_rows & (kind == _ROW_MIXED)):
            from scipy import ndimage

            lowest = np.array(-np.inf, dtype=v.dtype) if v.dtype.kind == "f" else np.iinfo(v.dtype).min
            lowest = v.dtype.type(lowest)
            for k in range(1, int(n_iter) + 1):
                active = open_rows & ndimage.maximum_filter(has_core, size=2 * k + 1, mode="nearest")
                zs, ys = np.nonzero(active)
                if stats is not None:
                    stats[f"active_{k}"] = float(zs.size) / max(active.size, 1)
                rows = scratch.get(1, (zs.size, shape[2]))  # the pass reads a, writes here (Jacobi)
                with _chunks(4):
                    _grow_rows(v, e, zs, ys, a, rows, thr, codes, t_dark, li, vo, lev_li, lev_vo, inter_rank, lowest)
                _scatter_rows(rows, zs, ys, a)
    if dest is not None:
        _merge_rows_into(kind, a, e, dest, k0)
        return dest
    _merge_rows(kind, a, e)
    return e


@contextlib.contextmanager
def _chunks(n: int):
    """Hand out parallel loop iterations ``n`` at a time (dynamic), not in one static share per thread."""
    old = numba.set_parallel_chunksize(n)
    try:
        yield
    finally:
        numba.set_parallel_chunksize(old)


class PvScratch:
    """Work arrays kept between the blocks of one classification (no fresh pages per block)."""

    def __init__(self) -> None:
        self._arrays: dict[int, np.ndarray] = {}

    def get(self, slot: int, shape: tuple[int, ...]) -> np.ndarray:
        n = int(np.prod(shape))
        buf = self._arrays.get(slot)
        if buf is None or buf.size < n:
            buf = self._arrays[slot] = np.empty(n, dtype=np.uint8)
        return buf[:n].reshape(shape)

    def clear(self) -> None:
        self._arrays.clear()
