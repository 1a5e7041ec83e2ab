"""Lithium inside the solid electrolyte: volume, depth, connected masses and paths through the SE.

Li voxels at or above the SE's lower face (per column, see
:mod:`napari_licell.measure.interfaces`) are "Li in SE". Their depth is the
distance from that face along its normal. Connected Li masses are the
face-connected components of Li in SE (:func:`scipy.ndimage.label`), found
slab by slab and joined across slab boundaries with
:func:`scipy.sparse.csgraph.connected_components`, so the result is the same
as labelling the whole volume at once.

Paths: a component that starts at the SE's lower face and reaches the far
end of the SE in view is a continuous electronic path through the SE, the
short-circuit risk. It is checked for Li alone and for Li together with the
sub-resolution "SE + Li" mixture.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numba import get_num_threads, njit, prange
from scipy import ndimage, sparse
from scipy.sparse.csgraph import connected_components

from ..classes import LI, SE_LI
from .fractions import N_CODE_BINS
from .interfaces import Interfaces, normal_cosine

__all__ = [
    "LiInSeScan",
    "ComponentTracker",
    "ComponentStats",
    "LiMasses",
    "LiPath",
    "LiInSe",
    "li_in_se_from_scan",
    "MIN_MASS_VOXELS",
]

#: Components smaller than this (voxels) are counted as specks, not masses.
MIN_MASS_VOXELS = 27
#: A component touches the SE's lower face when its shallowest voxel is at most this deep (voxels).
_TOUCH_DEPTH_VOX = 1

_LI = LI.code
_SE_LI = SE_LI.code


@njit(cache=True, nogil=True, parallel=True)
def _li_in_se_slab(
    slab, z0, se_bottom, depth_hist, region_counts, column_count, bbox_li, bbox_path, n_threads, k_lo
):  # pragma: no cover - compiled
    # each thread takes a share of the rows of columns (j) with its own counters, added at the end
    nz, ny, nx = slab.shape
    last = region_counts.shape[0] - 1
    nt = max(1, min(n_threads, ny))
    part_depth = np.zeros((nt, depth_hist.size), dtype=np.int64)
    part_region = np.zeros((nt, region_counts.size), dtype=np.int64)
    part_box = np.empty((nt, 12), dtype=np.int64)
    for t in range(nt):
        for b in range(6):
            part_box[t, 2 * b] = 1 << 30
            part_box[t, 2 * b + 1] = -1
    for t in prange(nt):
        dh = part_depth[t]
        rc = part_region[t]
        bl = part_box[t, :6]
        bp = part_box[t, 6:]
        for j in range(t * ny // nt, (t + 1) * ny // nt):  # per-column rows stay in cache across the slices
            for k in range(k_lo, nz):  # below k_lo: below every column's SE face, nothing of the SE
                z = z0 + k
                li_first = -1
                li_last = -1
                path_first = -1
                path_last = -1
                for i in range(nx):
                    c = slab[k, j, i]
                    d = z - se_bottom[j, i]
                    is_path = False
                    if d >= 0 and c != 0:
                        rc[min(c, last)] += 1
                        if c == _LI:
                            is_path = True
                            dh[d] += 1
                            column_count[j, i] += 1
                            if li_first < 0:
                                li_first = i
                            li_last = i
                        elif c == _SE_LI:
                            is_path = True
                        if is_path:
                            if path_first < 0:
                                path_first = i
                            path_last = i
                if li_first >= 0:
                    bl[0] = min(bl[0], k)
                    bl[1] = max(bl[1], k)
                    bl[2] = min(bl[2], j)
                    bl[3] = max(bl[3], j)
                    bl[4] = min(bl[4], li_first)
                    bl[5] = max(bl[5], li_last)
                if path_first >= 0:
                    bp[0] = min(bp[0], k)
                    bp[1] = max(bp[1], k)
                    bp[2] = min(bp[2], j)
                    bp[3] = max(bp[3], j)
                    bp[4] = min(bp[4], path_first)
                    bp[5] = max(bp[5], path_last)
    for b in range(3):
        bbox_li[2 * b] = 1 << 30
        bbox_li[2 * b + 1] = -1
        bbox_path[2 * b] = 1 << 30
        bbox_path[2 * b + 1] = -1
    for t in range(nt):
        for m in range(depth_hist.size):
            depth_hist[m] += part_depth[t, m]
        for m in range(region_counts.size):
            region_counts[m] += part_region[t, m]
        for b in range(3):
            bbox_li[2 * b] = min(bbox_li[2 * b], part_box[t, 2 * b])
            bbox_li[2 * b + 1] = max(bbox_li[2 * b + 1], part_box[t, 2 * b + 1])
            bbox_path[2 * b] = min(bbox_path[2 * b], part_box[t, 6 + 2 * b])
            bbox_path[2 * b + 1] = max(bbox_path[2 * b + 1], part_box[t, 6 + 2 * b + 1])


@njit(cache=True, nogil=True, parallel=True)
def _se_mask(slab, z0, se_bottom, bbox, with_se_li, out):  # pragma: no cover - compiled
    """Li (and, ``with_se_li``, SE + Li) voxels at or above their column's SE face, inside ``bbox`` only."""
    k0 = bbox[0]
    j0 = bbox[2]
    i0 = bbox[4]
    nk, nj, ni = out.shape
    for kk in prange(nk):
        z = z0 + k0 + kk
        for jj in range(nj):
            row = slab[k0 + kk, j0 + jj]
            face = se_bottom[j0 + jj]
            o = out[kk, jj]
            for ii in range(ni):
                c = row[i0 + ii]
                o[ii] = z >= face[i0 + ii] and (c == _LI or (with_se_li and c == _SE_LI))


@njit(cache=True, nogil=True)
def _component_stats(lab, z_first, j0, i0, se_bottom, size, zmax, dmin, dmax):  # pragma: no cover - compiled
    nk, nj, ni = lab.shape
    for jj in range(nj):
        for k in range(nk):
            z = z_first + k
            for ii in range(ni):
                n = lab[k, jj, ii]
                if n == 0:
                    continue
                d = z - se_bottom[j0 + jj, i0 + ii]
                size[n] += 1
                if z > zmax[n]:
                    zmax[n] = z
                if d < dmin[n]:
                    dmin[n] = d
                if d > dmax[n]:
                    dmax[n] = d


@dataclass
class ComponentStats:
    """Merged connected components of one mask.

    Attributes
    ----------
    size_vox : ndarray of int64
        Voxels per component.
    zmax : ndarray of int64
        Highest oriented slice reached (from the collector end).
    depth_min_vox, depth_max_vox : ndarray of int64
        Shallowest and deepest voxel of the component above the SE's lower face, in voxels.
    """

    size_vox: np.ndarray
    zmax: np.ndarray
    depth_min_vox: np.ndarray
    depth_max_vox: np.ndarray

    @property
    def n(self) -> int:
        return int(self.size_vox.size)


class ComponentTracker:
    """Connected components of a mask fed slab by slab, joined across slab boundaries.

    Parameters
    ----------
    shape_yx : tuple of int
        (ny, nx) of the oriented volume.
    se_bottom_index : ndarray of int32 (ny, nx)
        SE bottom per column (voxels), for component depths.
    """

    def __init__(self, shape_yx: tuple[int, int], se_bottom_index: np.ndarray) -> None:
        self.shape_yx = shape_yx
        self.se_bottom = se_bottom_index
        self._chunks: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self._edges: list[np.ndarray] = []
        self._n = 0
        # labels of the previous slab's last slice inside its bounding box: (plane, j0, i0, id offset)
        self._last_plane: tuple[np.ndarray, int, int, int] | None = None

    def _join(self, first: tuple[np.ndarray, int, int, int]) -> None:
        """Record which components of the previous slab's last slice touch those of this slab's first slice."""
        if self._last_plane is None:
            return
        (pa, pj, pi, po), (fa, fj, fi, fo) = self._last_plane, first
        j0, j1 = max(pj, fj), min(pj + pa.shape[0], fj + fa.shape[0])
        i0, i1 = max(pi, fi), min(pi + pa.shape[1], fi + fa.shape[1])
        if j1 <= j0 or i1 <= i0:
            return
        a = pa[j0 - pj : j1 - pj, i0 - pi : i1 - pi]
        b = fa[j0 - fj : j1 - fj, i0 - fi : i1 - fi]
        both = (a > 0) & (b > 0)
        if not np.any(both):
            return
        ga = a[both].astype(np.int64) + (po - 1)
        gb = b[both].astype(np.int64) + (fo - 1)
        # neighbouring voxels mostly repeat the same pair: drop runs before the sort
        keep = np.ones(ga.size, dtype=bool)
        keep[1:] = (ga[1:] != ga[:-1]) | (gb[1:] != gb[:-1])
        key = np.unique((ga[keep] << 32) | gb[keep])
        self._edges.append(np.stack([key >> 32, key & 0xFFFFFFFF], axis=1))

    def update(self, mask: np.ndarray, z0: int, bbox: np.ndarray, n_slices: int | None = None) -> None:
        """Label ``mask`` (oriented slices from ``z0``) inside its bounding box ``bbox`` (k0, k1, j0, j1, i0, i1, inclusive).

        With ``n_slices`` (the slab's depth), ``mask`` is only the part inside ``bbox``.
        """
        nz = mask.shape[0] if n_slices is None else int(n_slices)
        if bbox[1] < 0:
            self._last_plane = None
            return
        k0, k1, j0, j1, i0, i1 = (int(v) for v in bbox)
        sub = mask[k0 : k1 + 1, j0 : j1 + 1, i0 : i1 + 1] if n_slices is None else mask
        lab, n = ndimage.label(sub, output=np.int32)
        size = np.zeros(n + 1, dtype=np.int64)
        zmax = np.full(n + 1, -1, dtype=np.int64)
        dmin = np.full(n + 1, np.iinfo(np.int64).max, dtype=np.int64)
        dmax = np.full(n + 1, np.iinfo(np.int64).min, dtype=np.int64)
        _component_stats(lab, z0 + k0, j0, i0, self.se_bottom, size, zmax, dmin, dmax)
        offset = self._n
        self._chunks.append((size[1:], zmax[1:], dmin[1:], dmax[1:]))
        if k0 == 0:
            self._join((lab[0], j0, i0, offset))
        self._last_plane = (lab[-1].copy(), j0, i0, offset) if k1 == nz - 1 else None
        self._n += n

    def result(self) -> ComponentStats:
        """Merge the per-slab components; the result does not depend on the slab size."""
        if self._n == 0:
            empty = np.zeros(0, dtype=np.int64)
            return ComponentStats(empty, empty.copy(), empty.copy(), empty.copy())
        size, zmax, dmin, dmax = (np.concatenate(parts) for parts in zip(*self._chunks))
        if self._edges:
            edges = np.concatenate(self._edges)
            graph = sparse.coo_matrix(
                (np.ones(len(edges), dtype=np.int8), (edges[:, 0], edges[:, 1])), shape=(self._n, self._n)
            )
            n_merged, root = connected_components(graph, directed=False)
        else:
            n_merged, root = self._n, np.arange(self._n)
        m_size = np.bincount(root, weights=size, minlength=n_merged).astype(np.int64)
        m_zmax = np.full(n_merged, -1, dtype=np.int64)
        np.maximum.at(m_zmax, root, zmax)
        m_dmin = np.full(n_merged, np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(m_dmin, root, dmin)
        m_dmax = np.full(n_merged, np.iinfo(np.int64).min, dtype=np.int64)
        np.maximum.at(m_dmax, root, dmax)
        order = np.argsort(-m_size, kind="stable")
        return ComponentStats(m_size[order], m_zmax[order], m_dmin[order], m_dmax[order])


class LiInSeScan:
    """Second-pass state for Li inside the SE, fed slab by slab.

    Parameters
    ----------
    interfaces : Interfaces
        Gives the SE's lower face per column.
    n_slices : int
        Oriented depth of the volume.
    find_components : bool
        Label connected masses and paths (the costly part); off for quick re-measurements.
    """

    def __init__(self, interfaces: Interfaces, n_slices: int, find_components: bool = True) -> None:
        self.interfaces = interfaces
        shape_yx = interfaces.cell_columns.shape
        self.depth_hist = np.zeros(int(n_slices) + 1, dtype=np.int64)
        self.region_counts = np.zeros(N_CODE_BINS, dtype=np.int64)
        self.column_count = np.zeros(shape_yx, dtype=np.int32)
        self.find_components = find_components
        self.masses = ComponentTracker(shape_yx, interfaces.se_bottom_index)
        self.paths = ComponentTracker(shape_yx, interfaces.se_bottom_index)
        self._bbox_li = np.zeros(6, dtype=np.int64)
        self._bbox_path = np.zeros(6, dtype=np.int64)
        se_bottom = interfaces.se_bottom_index
        self._lowest_face = int(se_bottom.min()) if se_bottom.size else 0  # no column's SE starts below it

    def update(self, slab: np.ndarray, z0: int) -> None:
        """Feed oriented slices ``z0 .. z0 + len(slab)``."""
        se_bottom = self.interfaces.se_bottom_index
        _li_in_se_slab(
            slab,
            int(z0),
            se_bottom,
            self.depth_hist,
            self.region_counts,
            self.column_count,
            self._bbox_li,
            self._bbox_path,
            get_num_threads(),
            min(max(self._lowest_face - int(z0), 0), len(slab)),
        )
        if self.find_components:  # masks of the bounding boxes only (no slab-sized copies per class)
            for tracker, bbox, with_se_li in ((self.masses, self._bbox_li, False), (self.paths, self._bbox_path, True)):
                mask = np.empty(tuple(max(int(bbox[2 * b + 1] - bbox[2 * b]) + 1, 0) for b in range(3)), dtype=np.bool_)
                if bbox[1] >= 0:
                    _se_mask(slab, int(z0), se_bottom, bbox, with_se_li, mask)
                tracker.update(mask, int(z0), bbox, n_slices=len(slab))


@dataclass
class LiMasses:
    """Connected Li masses inside the SE.

    Attributes
    ----------
    count : int
        Masses of at least ``min_mass_voxels`` voxels.
    n_specks : int
        Smaller components.
    sizes_um3 : ndarray
        Volume of every mass, largest first, um3.
    largest_um3, mean_um3 : float
        Largest and mean mass volume, um3 (0 without masses).
    n_touching_interface : int
        Masses that start at the SE's lower face (grown from it).
    max_depth_um : ndarray
        Deepest reach of every mass from the SE's lower face, um (same order as ``sizes_um3``).
    min_mass_voxels : int
        Size limit between specks and masses.
    """

    count: int
    n_specks: int
    sizes_um3: np.ndarray
    largest_um3: float
    mean_um3: float
    n_touching_interface: int
    max_depth_um: np.ndarray
    min_mass_voxels: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "n_specks": self.n_specks,
            "largest_um3": self.largest_um3,
            "mean_um3": self.mean_um3,
            "n_touching_interface": self.n_touching_interface,
            "min_mass_voxels": self.min_mass_voxels,
            "sizes_um3": self.sizes_um3.tolist(),
            "max_depth_um": self.max_depth_um.tolist(),
        }


@dataclass
class LiPath:
    """How far connected Li (and Li with SE + Li) reaches into the SE from its lower face.

    Attributes
    ----------
    se_thickness_in_view_um : float
        Distance from the SE's lower face to the far end of the SE in the volume, um.
    li_reach_um : float
        Deepest reach of Li connected to the SE's lower face, um.
    li_se_li_reach_um : float
        The same for Li and SE + Li together, um.
    li_reaches_far_end, li_se_li_reaches_far_end : bool
        Whether such a path reaches the far end of the SE in view.
    short_circuit_risk : bool
        True when either path reaches the far end.
    """

    se_thickness_in_view_um: float
    li_reach_um: float
    li_se_li_reach_um: float
    li_reaches_far_end: bool
    li_se_li_reaches_far_end: bool

    @property
    def short_circuit_risk(self) -> bool:
        return bool(self.li_reaches_far_end or self.li_se_li_reaches_far_end)

    def to_dict(self) -> dict[str, Any]:
        return {
            "se_thickness_in_view_um": self.se_thickness_in_view_um,
            "li_reach_um": self.li_reach_um,
            "li_se_li_reach_um": self.li_se_li_reach_um,
            "li_reaches_far_end": self.li_reaches_far_end,
            "li_se_li_reaches_far_end": self.li_se_li_reaches_far_end,
            "short_circuit_risk": self.short_circuit_risk,
        }


@dataclass
class LiInSe:
    """Lithium inside the solid electrolyte.

    Attributes
    ----------
    volume_um3 : float
        Li voxels at or above the SE's lower face, um3.
    fraction_of_li : float
        Share of all Li voxels that lie in the SE (0 without Li).
    max_depth_um : float
        Deepest Li in the SE, from the SE's lower face along its normal, um (0 without).
    p50_depth_um, p90_depth_um, p99_depth_um : float
        Depth percentiles of Li in the SE by volume, um.
    depth_um, depth_volume_um3 : ndarray
        Depth distribution: voxel-layer centres (um) and Li volume per layer (um3).
    column_thickness_map_um : ndarray of float32 (ny, nx)
        Li-in-SE voxels per column times the voxel depth (projected Li), um.
    masses : LiMasses or None
        Connected masses (None when components were not computed).
    path : LiPath or None
        Reach of connected Li through the SE (None when components were not computed).
    """

    volume_um3: float
    fraction_of_li: float
    max_depth_um: float
    p50_depth_um: float
    p90_depth_um: float
    p99_depth_um: float
    depth_um: np.ndarray
    depth_volume_um3: np.ndarray
    column_thickness_map_um: np.ndarray
    masses: LiMasses | None = None
    path: LiPath | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "volume_um3": self.volume_um3,
            "fraction_of_li": self.fraction_of_li,
            "max_depth_um": self.max_depth_um,
            "p50_depth_um": self.p50_depth_um,
            "p90_depth_um": self.p90_depth_um,
            "p99_depth_um": self.p99_depth_um,
            "depth_distribution": {"depth_um": self.depth_um.tolist(), "volume_um3": self.depth_volume_um3.tolist()},
            "masses": self.masses.to_dict() if self.masses else None,
            "path": self.path.to_dict() if self.path else None,
        }


def _percentile_from_hist(hist: np.ndarray, q: float) -> int:
    cum = np.cumsum(hist)
    return int(np.searchsorted(cum, q / 100.0 * cum[-1], side="left"))


def li_in_se_from_scan(
    scan: LiInSeScan, li_total_voxels: int, se_far_end_slice: int | None, min_mass_voxels: int = MIN_MASS_VOXELS
) -> LiInSe:
    """Li-in-SE numbers from a finished :class:`LiInSeScan`.

    Parameters
    ----------
    scan : LiInSeScan
        The finished pass.
    li_total_voxels : int
        All Li voxels of the volume (for the share).
    se_far_end_slice : int or None
        Last oriented slice holding SE or SE + Li (None without SE).
    min_mass_voxels : int
        Components below this size count as specks.
    """
    interfaces: Interfaces = scan.interfaces
    vz, vy, vx = interfaces.se_bottom.voxel_size_um
    cos = normal_cosine(interfaces.se_bottom.plane)
    voxel_um3 = vz * vy * vx
    hist = scan.depth_hist
    n_li = int(hist.sum())
    nonzero = np.flatnonzero(hist)
    top = int(nonzero[-1]) + 1 if nonzero.size else 0
    depth_um = (np.arange(top) + 0.5) * vz * cos
    depth_volume = hist[:top] * voxel_um3
    if n_li:
        max_depth = float(top) * vz * cos
        p50, p90, p99 = ((_percentile_from_hist(hist, q) + 0.5) * vz * cos for q in (50.0, 90.0, 99.0))
    else:
        max_depth = p50 = p90 = p99 = 0.0
    cell = interfaces.cell_columns
    column_map = np.where(cell, scan.column_count * vz, np.nan).astype(np.float32)

    masses = path = None
    if scan.find_components:
        li_c = scan.masses.result()
        big = li_c.size_vox >= min_mass_voxels
        sizes = li_c.size_vox[big] * voxel_um3
        masses = LiMasses(
            count=int(big.sum()),
            n_specks=int((~big).sum()),
            sizes_um3=sizes,
            largest_um3=float(sizes[0]) if sizes.size else 0.0,
            mean_um3=float(sizes.mean()) if sizes.size else 0.0,
            n_touching_interface=int(np.count_nonzero(li_c.depth_min_vox[big] <= _TOUCH_DEPTH_VOX)),
            max_depth_um=(li_c.depth_max_vox[big] + 1) * vz * cos,
            min_mass_voxels=int(min_mass_voxels),
        )
        path_c = scan.paths.result()
        mean_bottom = float(np.nanmean(interfaces.se_bottom.height_vox)) if interfaces.se_found else 0.0
        se_thick = max(0.0, (se_far_end_slice + 1 - mean_bottom) * vz * cos) if se_far_end_slice is not None else 0.0

        def reach(stats) -> tuple[float, bool]:
            rooted = stats.depth_min_vox <= _TOUCH_DEPTH_VOX
            if not np.any(rooted):
                return 0.0, False
            deepest = float(stats.depth_max_vox[rooted].max() + 1) * vz * cos
            far = se_far_end_slice is not None and bool(np.any(stats.zmax[rooted] >= se_far_end_slice - 1))
            return deepest, far

        li_reach, li_far = reach(li_c)
        mix_reach, mix_far = reach(path_c)
        path = LiPath(se_thick, li_reach, mix_reach, li_far, mix_far)

    fraction = (n_li / li_total_voxels) if li_total_voxels else 0.0
    return LiInSe(
        n_li * voxel_um3, fraction, max_depth, p50, p90, p99, depth_um, depth_volume, column_map, masses, path
    )
