"""The carbon interlayer: found by where it is, not by its grey value.

In xenon, porous carbon (~1.1/cm) has the grey value of the gas-filled
voids, so after thresholding it is labelled void. It is told apart by
position: a thin band of gas-like voxels lying, column by column along the
stack axis, either directly on the collector (processes 1 and 2: the carbon
stayed on the collector) or directly under the solid electrolyte (process 3:
the Li layer grew between collector and carbon). A band is accepted when it
shows in most columns with a consistent thickness; each column then gets at
most a robust upper thickness relabelled CARBON, so a gas gap between
carbon and SE (weak bonding) stays void.

The stack axis and the collector end are found from the metal: the
brightest phase forms a slab filling whole planes at one end of one axis.
All passes read the label volume in full-depth column tiles sized to a
memory budget (:func:`default_tile`), so it may be a zarr array larger than
memory.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numba
import numpy as np

from ..classes import CARBON, METAL, SE, SE_LI, VOID
from .chunks import CancelLike, ProgressCallback, raise_if_cancelled, read_block

__all__ = ["StackAxis", "CarbonBand", "find_stack_axis", "find_carbon_band", "label_carbon_band"]

#: Shortest run of SE / SE + Li voxels taken as the SE's lower face (a lone partial-volume voxel is not).
MIN_SE_RUN_VOX = 3


@dataclass(frozen=True)
class StackAxis:
    """Axis the layers are stacked along and where the collector is.

    Attributes
    ----------
    axis : int
        Array axis normal to the layers.
    collector_at_start : bool
        True when the collector (metal slab) is at index 0 of that axis.
    metal_contrast : float
        Metal share of the fullest plane minus that of the emptiest one (0..1).
    """

    axis: int
    collector_at_start: bool
    metal_contrast: float


@dataclass(frozen=True)
class CarbonBand:
    """Result of the carbon-band search.

    Attributes
    ----------
    found : bool
        True when a band was found.
    side : str or None
        ``"collector"`` (band lies on the collector) or ``"se"`` (under the SE).
    thickness_vox : float
        Median band thickness over the supporting columns, voxels.
    cap_vox : int
        Most voxels per column labelled carbon (median + 2.5 robust sigma);
        gas beyond it stays void.
    support : float
        Share of columns showing the band.
    axis : int or None
        Stack axis.
    collector_at_start : bool or None
        Collector end of the stack axis.
    n_voxels : int
        Voxels labelled CARBON (0 before :func:`label_carbon_band`).
    reason : str
        One line saying what was found or why not.
    """

    found: bool
    side: str | None
    thickness_vox: float
    cap_vox: int
    support: float
    axis: int | None
    collector_at_start: bool | None
    n_voxels: int
    reason: str

    def thickness_um(self, voxel_size_um: float) -> float:
        """Median band thickness in micrometres."""
        return float(self.thickness_vox * voxel_size_um)


def find_stack_axis(labels: Any, cancel: CancelLike = None) -> StackAxis | None:
    """Stack axis and collector end from the metal slab of a label volume.

    The detection itself is :func:`napari_licell.measure.stack_axis.find_stack_axis`
    (one rule for the whole project); here only a metal slab counts.

    Parameters
    ----------
    labels : array-like (z, y, x) of class codes
    cancel : threading.Event or callable, optional

    Returns
    -------
    StackAxis or None
        None when no metal slab fills at least half of a plane.
    """
    from ..measure.stack_axis import find_stack_axis as stack_orientation

    if len(labels.shape) != 3:
        raise ValueError("stack-axis detection needs a 3D label volume")
    raise_if_cancelled(cancel)
    found = stack_orientation(labels)
    if found.metal_contrast < 0.5:
        return None
    return StackAxis(found.axis, found.collector_at_start, found.metal_contrast)


def _tiles(shape: tuple[int, ...], axis: int, tile: int) -> list[tuple[slice, slice]]:
    other = [s for i, s in enumerate(shape) if i != axis]
    return [
        (slice(a, min(a + tile, other[0])), slice(b, min(b + tile, other[1])))
        for a in range(0, other[0], tile)
        for b in range(0, other[1], tile)
    ]


def _index(axis: int, t: tuple[slice, slice]) -> tuple[slice, slice, slice]:
    idx = list(t)
    idx.insert(axis, slice(None))
    return tuple(idx)


def _oriented(block: np.ndarray, axis: int, at_start: bool) -> np.ndarray:
    out = np.moveaxis(block, axis, 0)
    return out if at_start else out[::-1]


@numba.njit(parallel=True, cache=True, nogil=True)
def _runs_kernel(
    col, metal, gas, se, se_li, min_se, c, run_a, bounded, s, run_b, has_se
):  # pragma: no cover - compiled
    n, ny, nx = col.shape
    for y in numba.prange(ny):
        for x in range(nx):
            k = 0
            while k < n and col[k, y, x] == metal:
                k += 1
            c[y, x] = k
            j = k
            while j < n and col[j, y, x] == gas:
                j += 1
            bounded[y, x] = j < n
            run_a[y, x] = j - k if j < n else 0
            # the SE's lower face: the first run of SE / SE + Li of at least min_se voxels (a lone
            # partial-volume voxel at the collector is not the SE)
            m = k
            while m < n:
                if col[m, y, x] == se or col[m, y, x] == se_li:
                    e = m
                    while e < n and e - m < min_se and (col[e, y, x] == se or col[e, y, x] == se_li):
                        e += 1
                    if e - m >= min_se or e == n:
                        break
                    m = e
                else:
                    m += 1
            s[y, x] = m
            has_se[y, x] = m < n
            r = 0
            if m < n:
                q = m - 1
                while q >= k and col[q, y, x] == gas:
                    q -= 1
                r = m - 1 - q
            run_b[y, x] = r


@numba.njit(parallel=True, cache=True, nogil=True)
def _mark_band(col, start, length, gas, carbon):  # pragma: no cover - compiled
    n, ny, nx = col.shape
    count = 0
    for y in numba.prange(ny):
        for x in range(nx):
            a = max(start[y, x], 0)
            b = min(start[y, x] + length[y, x], n)
            for z in range(a, b):
                if col[z, y, x] == gas:
                    col[z, y, x] = carbon
                    count += 1
    return count


@numba.njit(parallel=True, cache=True, nogil=True)
def _runs_planes(
    lab, step, metal, gas, se, se_li, min_se, c, run_a, bounded, s, run_b, has_se, cell, n_parts
):  # pragma: no cover - compiled
    """:func:`_runs_kernel` over a whole volume whose stack axis is axis 0, swept plane by plane.

    Each column keeps the state of the column scan of :func:`_runs_kernel`
    (metal prefix, the gas run on it, the current SE / SE + Li run and the
    gas run below it); the rows of columns are shared out among ``n_parts``
    threads once, and each sweeps its rows through the planes in the
    collector's order (``step`` 1 from plane 0, -1 from the last plane),
    reading each plane row contiguously. A thread stops once every column of
    its rows has found its SE face. Also marks ``cell`` (columns not all
    background).
    """
    n, ny, nx = lab.shape
    phase = np.zeros((ny, nx), dtype=np.uint8)  # 0 metal prefix, 1 gas run on it, 2 beyond, 3 done
    rs = np.full((ny, nx), -1, dtype=np.int64)  # start of the current SE run (-1: none)
    g = np.zeros((ny, nx), dtype=np.int64)  # gas run ending at the previous voxel (at or above c)
    gb = np.zeros((ny, nx), dtype=np.int64)  # gas run just below the current SE run
    parts = max(1, min(n_parts, ny))
    for t in numba.prange(parts):
        y0 = t * ny // parts
        y1 = (t + 1) * ny // parts
        for y in range(y0, y1):
            for x in range(nx):
                c[y, x] = n
                run_a[y, x] = 0
                bounded[y, x] = False
                s[y, x] = n
                run_b[y, x] = 0
                has_se[y, x] = False
                cell[y, x] = False
        open_cols = (y1 - y0) * nx
        for i in range(n):
            if open_cols == 0:
                break
            k = i if step > 0 else n - 1 - i
            for y in range(y0, y1):
                row = lab[k, y]
                for x in range(nx):
                    ph = phase[y, x]
                    if ph == 3:
                        continue
                    v = row[x]
                    if v != 0:
                        cell[y, x] = True
                    if ph == 0:
                        if v == metal:
                            continue
                        c[y, x] = i
                        ph = 1
                    if ph == 1:
                        if v != gas:
                            bounded[y, x] = True
                            run_a[y, x] = i - c[y, x]
                            ph = 2
                    # SE face search (from c on)
                    if v == se or v == se_li:
                        if rs[y, x] < 0:
                            rs[y, x] = i
                            gb[y, x] = g[y, x]
                        if i - rs[y, x] + 1 >= min_se:
                            s[y, x] = rs[y, x]
                            has_se[y, x] = True
                            run_b[y, x] = gb[y, x]
                            ph = 3
                            open_cols -= 1
                        g[y, x] = 0
                    else:
                        rs[y, x] = -1
                        g[y, x] = g[y, x] + 1 if v == gas else 0
                    phase[y, x] = ph
        # end of the columns: an SE run reaching the end counts, whatever its length
        for y in range(y0, y1):
            for x in range(nx):
                if phase[y, x] != 3 and rs[y, x] >= 0:
                    s[y, x] = rs[y, x]
                    has_se[y, x] = True
                    run_b[y, x] = gb[y, x]


@numba.njit(parallel=True, cache=True, nogil=True)
def _runs_rows(
    lab, step, metal, gas, se, se_li, min_se, c, run_a, bounded, s, run_b, has_se, cell
):  # pragma: no cover - compiled
    """:func:`_runs_planes` with each row of columns swept through the planes on its own.

    The state of one row's columns fits the L1 cache (the plane sweep's state
    of a whole plane does not), and a row stops as soon as every one of its
    columns has found its SE face.
    """
    n, ny, nx = lab.shape
    for y in numba.prange(ny):
        phase = np.zeros(nx, dtype=np.uint8)  # 0 metal prefix, 1 gas run on it, 2 beyond, 3 done
        rs = np.full(nx, -1, dtype=np.int32)  # start of the current SE run (-1: none)
        g = np.zeros(nx, dtype=np.int32)  # gas run ending at the previous voxel (at or above c)
        gb = np.zeros(nx, dtype=np.int32)  # gas run just below the current SE run
        cy = c[y]
        ray = run_a[y]
        by = bounded[y]
        sy = s[y]
        rby = run_b[y]
        hy = has_se[y]
        celly = cell[y]
        for x in range(nx):
            cy[x] = n
            ray[x] = 0
            by[x] = False
            sy[x] = n
            rby[x] = 0
            hy[x] = False
            celly[x] = False
        open_cols = nx
        for i in range(n):
            if open_cols == 0:
                break
            k = i if step > 0 else n - 1 - i
            row = lab[k, y]
            for x in range(nx):
                ph = phase[x]
                if ph == 3:
                    continue
                v = row[x]
                if v != 0:
                    celly[x] = True
                if ph == 0:
                    if v == metal:
                        continue
                    cy[x] = i
                    ph = 1
                if ph == 1:
                    if v != gas:
                        by[x] = True
                        ray[x] = i - cy[x]
                        ph = 2
                if v == se or v == se_li:
                    if rs[x] < 0:
                        rs[x] = i
                        gb[x] = g[x]
                    if i - rs[x] + 1 >= min_se:
                        sy[x] = rs[x]
                        hy[x] = True
                        rby[x] = gb[x]
                        ph = 3
                        open_cols -= 1
                    g[x] = 0
                else:
                    rs[x] = -1
                    g[x] = g[x] + 1 if v == gas else 0
                phase[x] = ph
        for x in range(nx):
            if phase[x] != 3 and rs[x] >= 0:
                sy[x] = rs[x]
                hy[x] = True
                rby[x] = gb[x]


@numba.njit(parallel=True, cache=True, nogil=True)
def _mark_planes(lab, step, start, length, lo, hi, gas, carbon, n_parts):  # pragma: no cover - compiled
    """:func:`_mark_band` over a whole volume with the stack along axis 0 (index ``i`` counted from the collector)."""
    n, ny, nx = lab.shape
    parts = max(1, min(n_parts, ny))
    count = 0
    for t in numba.prange(parts):
        for i in range(lo, hi):
            k = i if step > 0 else n - 1 - i
            for y in range(t * ny // parts, (t + 1) * ny // parts):
                row = lab[k, y]
                for x in range(nx):
                    a = start[y, x]
                    if a <= i and i < a + length[y, x] and row[x] == gas:
                        row[x] = carbon
                        count += 1
    return count


def _sweeps_planes(labels: Any, axis: int) -> bool:
    """Whether the whole-plane sweep applies: a C-ordered numpy array (memmap included) stacked along axis 0."""
    return (
        isinstance(labels, np.ndarray)
        and axis == 0
        and labels.ndim == 3
        and labels.flags.c_contiguous
        and labels.dtype == np.uint8
        and labels.flags.writeable
    )


def _min_se_run(voxel_size_um: float | tuple[float, float, float] | None, axis: int) -> int:
    """Shortest SE run (voxels) taken as the SE's lower face: 2 um along the stack axis, at least 3 voxels."""
    if voxel_size_um is None:
        return MIN_SE_RUN_VOX
    from ..measure.interfaces import SE_MIN_RUN_UM

    vz = float(voxel_size_um) if np.ndim(voxel_size_um) == 0 else float(voxel_size_um[axis])
    if not math.isfinite(vz) or vz <= 0:
        return MIN_SE_RUN_VOX
    return max(MIN_SE_RUN_VOX, int(math.ceil(SE_MIN_RUN_UM / vz)))


def default_tile(shape: tuple[int, ...], axis: int, memory_limit_bytes: int) -> int:
    """Column-tile side: 256 (the label store's chunk side) unless a full-depth tile would not fit.

    One tile of ``depth x tile x tile`` uint8 labels is held at a time; it
    gets at most an eighth of ``memory_limit_bytes``.
    """
    depth = max(int(shape[axis]), 1)
    side = int(math.sqrt(max(memory_limit_bytes, 1) / 8 / depth))
    return 256 if side >= 256 else max(16, side - side % 16)


def _column_runs(col: np.ndarray, min_se: int = MIN_SE_RUN_VOX) -> dict[str, np.ndarray]:
    """Per column (axis 0 = stack, collector at 0): collector top, band runs on both sides.

    ``c``: first non-metal index; ``run_a``: gas run starting at ``c`` (0 when it
    reaches the end, ``bounded`` False); ``s``: first voxel of the first run of at
    least ``min_se`` SE / SE + Li voxels;
    ``run_b``: gas run ending just below ``s``.
    """
    ny, nx = col.shape[1:]
    maps = {k: np.zeros((ny, nx), dtype=np.int64) for k in ("c", "run_a", "s", "run_b")}
    maps.update({k: np.zeros((ny, nx), dtype=np.bool_) for k in ("bounded", "has_se")})
    _runs_kernel(
        col,
        METAL.code,
        VOID.code,
        SE.code,
        SE_LI.code,
        int(min_se),
        maps["c"],
        maps["run_a"],
        maps["bounded"],
        maps["s"],
        maps["run_b"],
        maps["has_se"],
    )
    return maps


def _robust_cap(runs: np.ndarray) -> tuple[float, int]:
    med = float(np.median(runs))
    mad = float(np.median(np.abs(runs - med))) * 1.4826
    return med, int(math.ceil(med + 2.5 * max(mad, 0.5)))


def find_carbon_band(
    labels: Any,
    *,
    axis: int | None = None,
    collector_at_start: bool | None = None,
    min_support: float = 0.5,
    min_thickness_vox: int = 3,
    voxel_size_um: float | tuple[float, float, float] | None = None,
    tile: int | None = None,
    memory_limit_bytes: int = 2 * 2**30,
    progress: ProgressCallback | None = None,
    cancel: CancelLike = None,
    reference: bool = False,
    _maps: dict | None = None,
) -> CarbonBand:
    """Look for the carbon band in a label volume (gas-like voxels labelled VOID).

    Parameters
    ----------
    labels : array-like (3D) of class codes
        Classification before the band is labelled.
    axis, collector_at_start : int, bool, optional
        Stack axis and collector end; found from the metal slab when None.
    min_support : float
        Share of columns that must show the band.
    min_thickness_vox : int
        Thinner gas runs do not count as band (voxels).
    voxel_size_um : float or (z, y, x), optional
        Voxel size in micrometres. The SE's lower face is the first run of
        SE / SE + Li at least 2 um long along the stack axis (as in the
        measurement), so partial-volume voxels at a finely sampled collector
        are not taken for it; without a voxel size, at least 3 voxels.
    tile : int, optional
        Columns per tile side (default :func:`default_tile`).
    memory_limit_bytes : int
        Memory budget (bytes) that sets the default tile.
    progress, cancel
        See :mod:`.chunks`.
    reference : bool
        Scan column tiles (the reference) even where the whole-plane sweep
        applies (a numpy array, memmap included, stacked along axis 0); both
        give the same maps.

    Returns
    -------
    CarbonBand
        ``n_voxels`` is 0: nothing is written (see :func:`label_carbon_band`).
    """
    shape = tuple(int(s) for s in labels.shape)
    if axis is None or collector_at_start is None:
        found = find_stack_axis(labels, cancel=cancel)
        if found is None:
            return CarbonBand(
                False,
                None,
                0.0,
                0,
                0.0,
                None,
                None,
                0,
                "no metal slab found: stack axis unknown (give it to look for the carbon band)",
            )
        axis = found.axis if axis is None else axis
        collector_at_start = found.collector_at_start if collector_at_start is None else collector_at_start
    other = [s for i, s in enumerate(shape) if i != axis]
    tile = tile or default_tile(shape, axis, memory_limit_bytes)
    min_se = _min_se_run(voxel_size_um, axis)
    maps = {k: np.zeros(other, dtype=np.int32) for k in ("c", "run_a", "s", "run_b")}
    maps.update({k: np.zeros(other, dtype=bool) for k in ("bounded", "has_se")})
    cell = np.zeros(other, dtype=bool)  # columns of the cell region (not all background)
    tiles = _tiles(shape, axis, tile)
    if not reference and _sweeps_planes(labels, axis):
        raise_if_cancelled(cancel)
        m64 = {k: np.empty(other, dtype=np.int64) for k in ("c", "run_a", "s", "run_b")}
        old_chunk = numba.set_parallel_chunksize(8)  # rows stop at different planes: hand them out 8 at a time
        try:
            _runs_rows(
                labels,
                1 if collector_at_start else -1,
                METAL.code,
                VOID.code,
                SE.code,
                SE_LI.code,
                int(min_se),
                m64["c"],
                m64["run_a"],
                maps["bounded"],
                m64["s"],
                m64["run_b"],
                maps["has_se"],
                cell,
            )
        finally:
            numba.set_parallel_chunksize(old_chunk)
        for k, v in m64.items():
            maps[k][...] = v
        if progress is not None:
            for i in range(len(tiles)):
                progress(i + 1, len(tiles))
        tiles = []
    for i, t in enumerate(tiles):
        raise_if_cancelled(cancel)
        col = _oriented(read_block(labels, _index(axis, t)), axis, collector_at_start)
        for k, v in _column_runs(col, min_se).items():
            maps[k][t] = v
        cell[t] = np.any(col != 0, axis=0)
        if progress is not None:
            progress(i + 1, len(tiles))
    if _maps is not None:
        _maps.update(maps)
    sup_a = (maps["run_a"] >= min_thickness_vox) & maps["bounded"]
    sup_b = (maps["run_b"] >= min_thickness_vox) & maps["has_se"]
    n_cell = max(int(np.count_nonzero(cell)), 1)
    share_a = float(np.count_nonzero(sup_a & cell)) / n_cell
    share_b = float(np.count_nonzero(sup_b & cell)) / n_cell
    side, support, runs = (
        ("collector", share_a, maps["run_a"][sup_a]) if share_a >= share_b else ("se", share_b, maps["run_b"][sup_b])
    )
    if support < min_support or runs.size == 0:
        return CarbonBand(
            False,
            None,
            0.0,
            0,
            support,
            axis,
            collector_at_start,
            0,
            f"no band: gas-like runs of >= {min_thickness_vox} voxels on the collector or under "
            f"the SE in only {max(share_a, share_b):.0%} of columns (need {min_support:.0%})",
        )
    med, cap = _robust_cap(runs)
    where = "on the collector" if side == "collector" else "under the SE"
    return CarbonBand(
        True,
        side,
        med,
        cap,
        support,
        axis,
        collector_at_start,
        0,
        f"carbon band {where}: {med:.1f} voxels thick in {support:.0%} of columns",
    )


def label_carbon_band(
    labels: Any,
    band: CarbonBand | None = None,
    *,
    tile: int | None = None,
    memory_limit_bytes: int = 2 * 2**30,
    progress: ProgressCallback | None = None,
    cancel: CancelLike = None,
    **find_kwargs,
) -> CarbonBand:
    """Find the carbon band (unless given) and relabel it CARBON in place.

    Parameters
    ----------
    labels : writable array-like (3D) of class codes
        numpy array, memmap or zarr array; modified in place.
    band : CarbonBand, optional
        A band found before on the same labels.
    tile : int, optional
        Columns per tile side (default :func:`default_tile`).
    memory_limit_bytes : int
        Memory budget (bytes) that sets the default tile; one tile is held at a time.
    progress, cancel
        See :mod:`.chunks`; cancel is checked before each tile is written.
    **find_kwargs
        Passed to :func:`find_carbon_band`.

    Returns
    -------
    CarbonBand
        With ``n_voxels`` the number of voxels relabelled.
    """
    maps: dict = {}
    shape = tuple(int(s) for s in labels.shape)
    if band is None:
        band = find_carbon_band(
            labels, tile=tile, memory_limit_bytes=memory_limit_bytes, cancel=cancel, _maps=maps, **find_kwargs
        )
    if not band.found:
        return band
    tile = tile or default_tile(shape, band.axis, memory_limit_bytes)
    reference = bool(find_kwargs.get("reference", False))
    if not maps:
        find_carbon_band(
            labels,
            axis=band.axis,
            collector_at_start=band.collector_at_start,
            tile=tile,
            voxel_size_um=find_kwargs.get("voxel_size_um"),
            cancel=cancel,
            reference=reference,
            _maps=maps,
        )
    tiles = _tiles(shape, band.axis, tile)
    n_set = 0
    if not reference and _sweeps_planes(labels, band.axis):
        raise_if_cancelled(cancel)
        if band.side == "collector":
            start = maps["c"].astype(np.int64)
            length = np.where(maps["bounded"], np.minimum(maps["run_a"], band.cap_vox), 0).astype(np.int64)
        else:
            length = np.where(maps["has_se"], np.minimum(maps["run_b"], band.cap_vox), 0).astype(np.int64)
            start = maps["s"].astype(np.int64) - length
        some = length > 0
        if np.any(some):
            lo = max(int(start[some].min()), 0)
            hi = min(int((start + length)[some].max()), shape[0])
            n_set = int(
                _mark_planes(
                    labels,
                    1 if band.collector_at_start else -1,
                    start,
                    length,
                    lo,
                    hi,
                    VOID.code,
                    CARBON.code,
                    numba.get_num_threads(),
                )
            )
        if progress is not None:
            for i in range(len(tiles)):
                progress(i + 1, len(tiles))
        tiles = []
    for i, t in enumerate(tiles):
        raise_if_cancelled(cancel)
        idx = _index(band.axis, t)
        block = read_block(labels, idx)
        if not block.flags.writeable:
            block = block.copy()
        col = _oriented(block, band.axis, band.collector_at_start)  # a view into block
        if band.side == "collector":
            start = maps["c"][t]
            length = np.where(maps["bounded"][t], np.minimum(maps["run_a"][t], band.cap_vox), 0)
        else:
            length = np.where(maps["has_se"][t], np.minimum(maps["run_b"][t], band.cap_vox), 0)
            start = maps["s"][t] - length
        changed = int(_mark_band(col, start.astype(np.int64), length.astype(np.int64), VOID.code, CARBON.code))
        n_set += changed
        in_place = isinstance(labels, np.ndarray) and np.shares_memory(block, labels)
        if changed and not in_place:
            labels[idx] = block
        if progress is not None:
            progress(i + 1, len(tiles))
    return replace(band, n_voxels=n_set)
