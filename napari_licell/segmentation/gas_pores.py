"""Gas pores in the solid electrolyte are not lithium (issue 17, item 5).

A pore of a few voxels is all partial volume: SE + gas has the grey of
SE + Li, so the classification labels most of it "SE + Li" (or Li, void).
Grey alone cannot decide; this step uses what can, on the connected regions
of dark classes (Li, void, SE + Li) inside the SE:

* **where the region starts.** Li grows from the anode side, so a region that
  reaches the SE's lower face (or holds the Li layer) is left as classified.
* **its darkest core.** A region whose core (the darkest 3 x 3 x 3 mean inside
  it) is darker than half-way between the Li and the gas grey holds
  lithium and is left as classified. A core at the gas grey (within the
  noise of that mean) is a gas pore.
* **where the regions lie.** Gas pores are scattered through the whole SE,
  also far from the anode. The isolated regions without a Li core are
  counted per depth from the SE's lower face: their density deep in the
  SE (or in the scan before charging, when given) is the pore population.
  Near the anode, what exceeds that population beyond its counting noise
  could be Li or gas: it is reported as **ambiguous** (its own quantity,
  never Li in the SE).

Isolated regions without a Li core are relabelled as gas: their voxels
darker than half-way between the gas and the SE become void, the rest SE
(the usual half-way rule for a partial-volume phase, so the void volume is
not inflated by the blurred rim). Regions at the anode and regions with a
Li core keep their labels, so real Li in the SE is not hidden.

Streamed: the labels are read (and written back) slab by slab along the
stack axis, regions are joined across slab boundaries, so memory stays at
a few slabs whatever the volume size.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import ndimage
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from ..cancellation import CancelLike, raise_if_cancelled
from ..classes import LI, SE, SE_LI, VOID

__all__ = [
    "GasPores",
    "resolve_gas_pores",
    "pore_population",
    "NEAR_ANODE_UM",
    "SLAB_BYTES_PER_VOXEL",
    "ambiguous_sentence",
]

#: Bytes :func:`resolve_gas_pores` holds at its peak per voxel of a slab (codes, dark mask, region ids,
#: smoothed grey, and the dark voxels' values), an upper bound for sizing slabs from a memory budget:
#: 17.8 measured on a porous cell (tests/core/test_gas_pores.py pins it); 29.5 before the passes
#: stopped building slab-sized depth and value arrays.
SLAB_BYTES_PER_VOXEL = 24

#: Depth from the SE's lower face (um) within which Li grown from the anode is expected;
#: pores deeper than this set the pore population.
NEAR_ANODE_UM = 15.0
#: A region reaching this close to the SE's lower face (voxels) starts at the anode.
_ROOT_DEPTH_VOX = 1
_DARK = np.zeros(256, dtype=bool)
_DARK[[LI.code, SE_LI.code, VOID.code]] = True


@dataclass
class GasPores:
    """What :func:`resolve_gas_pores` decided.

    Attributes
    ----------
    n_regions : int
        Connected regions of Li, void and SE + Li inside the SE.
    n_at_anode, n_li_core, n_pores : int
        Regions reaching the SE's lower face, regions with a Li core (both kept
        as classified) and isolated regions without a Li core (relabelled as gas).
    n_gas_core : int
        Of the pores, those whose core reaches the gas grey.
    pore_volume_um3 : float
        Voxels of the pores before relabelling (what was Li, void or SE + Li).
    relabelled_se_li_um3, relabelled_li_um3 : float
        SE + Li and Li volume taken off by the relabelling.
    void_volume_um3 : float
        Void volume the pores hold after relabelling.
    ambiguous_um3 : float
        Pore volume near the anode beyond the pore population: gas pore or Li,
        the data cannot tell (never counted as Li in the SE).
    near_anode_um : float
        Depth limit of "near the anode".
    population : dict
        Pore densities near and far from the anode and where the population came from.
    levels : dict
        Li, gas and SE grey values used.
    notes : list of str
    """

    n_regions: int = 0
    n_at_anode: int = 0
    n_li_core: int = 0
    n_pores: int = 0
    n_gas_core: int = 0
    pore_volume_um3: float = 0.0
    relabelled_se_li_um3: float = 0.0
    relabelled_li_um3: float = 0.0
    void_volume_um3: float = 0.0
    ambiguous_um3: float = 0.0
    near_anode_um: float = NEAR_ANODE_UM
    population: dict[str, Any] = field(default_factory=dict)
    levels: dict[str, float | None] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_regions": self.n_regions,
            "n_at_anode": self.n_at_anode,
            "n_li_core": self.n_li_core,
            "n_pores": self.n_pores,
            "n_gas_core": self.n_gas_core,
            "pore_volume_um3": self.pore_volume_um3,
            "relabelled_se_li_um3": self.relabelled_se_li_um3,
            "relabelled_li_um3": self.relabelled_li_um3,
            "void_volume_um3": self.void_volume_um3,
            "ambiguous_um3": self.ambiguous_um3,
            "near_anode_um": self.near_anode_um,
            "population": dict(self.population),
            "levels": dict(self.levels),
            "notes": list(self.notes),
        }


def _level(thresholds: Any, code: int) -> float | None:
    levels = getattr(thresholds, "levels", None)
    if not levels:
        return None
    for c, v in zip(thresholds.classes, levels):
        if c == code and np.isfinite(v):
            return float(v)
    return None


def _write_slab(data: Any, oriented: Any, z0: int, z1: int, block: np.ndarray) -> None:
    """Write an oriented block back into the source array (inverse of ``OrientedVolume.slab``)."""
    if not oriented.collector_at_start:
        block = block[::-1]
    block = np.moveaxis(block, 0, oriented.stack_axis)
    index: list[Any] = [slice(None)] * 3
    index[oriented.stack_axis] = oriented._source_range(z0, z1)
    data[tuple(index)] = block


@dataclass
class _Regions:
    size: list[np.ndarray] = field(default_factory=list)
    min_depth: list[np.ndarray] = field(default_factory=list)
    core: list[np.ndarray] = field(default_factory=list)
    n_li: list[np.ndarray] = field(default_factory=list)
    edges: list[np.ndarray] = field(default_factory=list)
    offsets: list[int] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)
    n: int = 0


def _min_per_label(ids: np.ndarray, values: np.ndarray, n: int, fill: Any) -> np.ndarray:
    """Minimum of ``values`` per label 1..n (``ids`` are the labels of the voxels, all > 0)."""
    out = np.full(n + 1, fill, dtype=values.dtype)
    np.minimum.at(out, ids, values)
    return out[1:]


def _dark_in_se(codes: np.ndarray, z0: int, se_bottom: np.ndarray, cell: np.ndarray) -> np.ndarray:
    """Dark voxels (Li, void, SE + Li) of a slab at or above the SE's lower face, in the cell's columns.

    Built plane by plane: no slab-sized depth array (4 bytes per voxel) or comparison temporaries.
    """
    mask = _DARK[codes]
    for i in range(codes.shape[0]):
        mask[i] &= cell & (se_bottom <= z0 + i)
    return mask


def _label(mask: np.ndarray) -> tuple[np.ndarray, int]:
    return ndimage.label(mask, output=np.int32)


def resolve_gas_pores(
    labels: Any,
    image: Any,
    thresholds: Any,
    voxel_size_um: tuple[float, float, float],
    *,
    stack_axis: int | None = None,
    collector_at_start: bool | None = None,
    before_density: float | None = None,
    near_anode_um: float = NEAR_ANODE_UM,
    slab_slices: int = 32,
    progress: Callable[[int, int], None] | None = None,
    cancel: CancelLike = None,
) -> GasPores:
    """Relabel isolated gas pores in the SE as gas; report what stays ambiguous.

    Parameters
    ----------
    labels : array-like (3D, class codes), written in place
        The classified scan (numpy, memmap or zarr).
    image : array-like
        The grey values the labels were made from (same shape).
    thresholds : ThresholdSet
        Thresholds with the classes' pure grey levels (``levels``); without
        a gas and an SE level nothing is changed (without a Li level, e.g.
        before charging, no region has a Li core).
    voxel_size_um : (3,) floats
        Voxel size in micrometres, in the input's axis order.
    stack_axis, collector_at_start : optional
        Orientation (found from the labels when None).
    before_density : float, optional
        Share of the SE held by isolated dark regions in the scan before
        charging (:func:`pore_population`); what was there before is not Li.
    near_anode_um : float
        Depth from the SE's lower face where Li grown from the anode is expected.

    Returns
    -------
    GasPores
    """
    from ..measure.interfaces import ColumnScan, find_se_bottom_index
    from ..measure.slabs import OrientedVolume
    from ..measure.stack_axis import find_stack_axis

    out = GasPores(near_anode_um=float(near_anode_um))
    li_g, gas_g, se_g = _level(thresholds, LI.code), _level(thresholds, VOID.code), _level(thresholds, SE.code)
    out.levels = {"li": li_g, "gas": gas_g, "se": se_g}
    if len(labels.shape) != 3 or se_g is None or gas_g is None or not gas_g < se_g:
        out.notes.append("no gas and SE grey levels: gas pores not looked for")
        return out
    if li_g is not None and not li_g < gas_g:
        out.notes.append("no gas grey between Li and SE (light gas?): pores left as classified")
        return out
    orientation = find_stack_axis(labels, stack_axis=stack_axis, collector_at_start=collector_at_start)
    lab = OrientedVolume(labels, orientation.axis, orientation.collector_at_start)
    img = OrientedVolume(image, orientation.axis, orientation.collector_at_start)
    vox = lab.oriented_voxel_size(tuple(float(v) for v in voxel_size_um))
    nz, ny, nx = lab.shape
    ranges = list(lab.iter_slabs(slab_slices))
    total = 3 * len(ranges)  # at most: planes below the SE are skipped in the region passes
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        raise_if_cancelled(cancel)
        if progress is not None:
            progress(done, total)

    # pass 1: the SE's lower face per column
    cols = ColumnScan(lab.shape, vox)
    for z0, z1 in ranges:
        cols.update(np.asarray(lab.slab(z0, z1), dtype=np.uint8), z0)
        tick()
    se_bottom, cell = find_se_bottom_index(cols)  # not the surfaces' fits: a third of the memory per column
    del cols
    if se_bottom is None:
        out.notes.append("no SE found: gas pores not looked for")
        return out
    voxel_um3 = vox[0] * vox[1] * vox[2]
    near_vox = max(1, int(round(near_anode_um / vox[0])))
    # a core darker than half-way between Li and gas holds Li (no Li grey, e.g. before charging: no Li core)
    li_core_limit = 0.5 * (li_g + gas_g) if li_g is not None else -np.inf
    # noise of a 3x3x3 mean, for "the core reaches the gas grey"
    sigma = float(getattr(thresholds, "noise_sigma", None) or 0.0)
    gas_core_limit = gas_g + max(3.0 * sigma / np.sqrt(27.0), 0.1 * (se_g - gas_g))
    # SE-layer voxels per depth from its lower face (for densities): columns whose SE reaches that deep
    heights = np.clip(nz - se_bottom[cell].astype(np.int64), 0, nz)
    se_depth_counts = np.cumsum(np.bincount(heights, minlength=nz + 1)[::-1])[::-1][1:]
    se_depth_counts = np.append(se_depth_counts, 0)
    # only the planes from the SE's lowest face up hold regions in the SE
    z_start = int(se_bottom[cell].min()) if np.any(cell) else nz
    ranges_se = [(max(z0, z_start), z1) for z0, z1 in ranges if z1 > z_start]

    # pass 2: regions slab by slab, joined across slab boundaries. A slab holds its codes, the mask, the
    # region ids and the smoothed grey (SLAB_BYTES_PER_VOXEL); per-voxel values are
    # gathered only for the dark voxels (flat indices), never as slab-sized depth or value arrays
    reg = _Regions()
    prev_plane: np.ndarray | None = None
    prev_offset = 0
    plane = ny * nx
    se_bottom_flat = se_bottom.ravel()
    for z0, z1 in ranges_se:
        codes = np.ascontiguousarray(lab.slab(z0, z1), dtype=np.uint8)
        mask = _dark_in_se(codes, z0, se_bottom, cell)
        lab_slab, n = _label(mask)
        offset = reg.n
        if n:
            idx = np.flatnonzero(mask)
            ids = lab_slab.ravel()[idx]
            depth = idx // plane + z0 - se_bottom_flat[idx % plane]
            a, b = max(z0 - 1, 0), min(z1 + 1, nz)
            grey = np.array(img.slab(a, b), dtype=np.float32, order="C", copy=True)  # own copy: smoothed in place
            np.nan_to_num(grey, copy=False, nan=se_g)
            ndimage.uniform_filter(grey, size=3, mode="nearest", output=grey)
            smooth = grey.ravel()[(z0 - a) * plane + idx]
            reg.size.append(np.bincount(ids, minlength=n + 1)[1:].astype(np.int64))
            reg.min_depth.append(_min_per_label(ids, depth.astype(np.int64), n, np.iinfo(np.int64).max))
            reg.core.append(_min_per_label(ids, smooth.astype(np.float64), n, np.inf))
            reg.n_li.append(
                np.bincount(ids, weights=codes.ravel()[idx] == LI.code, minlength=n + 1)[1:].astype(np.int64)
            )
            del grey, idx, ids, depth, smooth
        del mask
        if prev_plane is not None and n:
            both = (prev_plane > 0) & (lab_slab[0] > 0)
            if np.any(both):
                ga = prev_plane[both].astype(np.int64) + prev_offset - 1
                gb = lab_slab[0][both].astype(np.int64) + offset - 1
                reg.edges.append(np.unique(np.stack([ga, gb], axis=1), axis=0))
        prev_plane, prev_offset = (lab_slab[-1].copy(), offset) if n else (None, 0)
        del lab_slab, codes
        reg.offsets.append(offset)
        reg.counts.append(n)
        reg.n += n
        tick()

    if reg.n == 0:
        return out
    size = np.concatenate(reg.size)
    min_depth = np.concatenate(reg.min_depth)
    core = np.concatenate(reg.core)
    n_li = np.concatenate(reg.n_li)
    if reg.edges:
        e = np.concatenate(reg.edges)
        graph = sparse.coo_matrix((np.ones(len(e), dtype=np.int8), (e[:, 0], e[:, 1])), shape=(reg.n, reg.n))
        n_root, root = connected_components(graph, directed=False)
    else:
        n_root, root = reg.n, np.arange(reg.n)
    r_size = np.bincount(root, weights=size, minlength=n_root)
    r_depth = np.full(n_root, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(r_depth, root, min_depth)
    r_core = np.full(n_root, np.inf)
    np.minimum.at(r_core, root, core)
    r_li = np.bincount(root, weights=n_li, minlength=n_root)

    at_anode = r_depth <= _ROOT_DEPTH_VOX
    li_core = ~at_anode & (r_core < li_core_limit)
    pore = ~at_anode & ~li_core
    gas_core = pore & (r_core <= gas_core_limit)
    out.n_regions = int(n_root)
    out.n_at_anode = int(at_anode.sum())
    out.n_li_core = int(li_core.sum())
    out.n_pores = int(pore.sum())
    out.n_gas_core = int(gas_core.sum())
    out.pore_volume_um3 = float(r_size[pore].sum()) * voxel_um3
    out.relabelled_li_um3 = float(r_li[pore].sum()) * voxel_um3

    # population: pore volume per SE volume near the anode and deep in the SE
    near = pore & (r_depth < near_vox)
    se_near = float(se_depth_counts[:near_vox].sum())
    se_far = float(se_depth_counts[near_vox:].sum())
    pore_near = float(r_size[near].sum())
    pore_far = float(r_size[pore & ~near].sum())
    n_far = int((pore & ~near).sum())
    population: dict[str, Any] = {
        "se_near_um3": se_near * voxel_um3,
        "se_far_um3": se_far * voxel_um3,
        "pores_near_um3": pore_near * voxel_um3,
        "pores_far_um3": pore_far * voxel_um3,
        "n_pores_near": int(near.sum()),
        "n_pores_far": n_far,
    }
    if before_density is not None:
        density, source = float(before_density), "scan before charging"
    elif se_far >= 0.5 * se_near and n_far >= 5:
        density, source = pore_far / se_far, "pores deep in the SE"
    else:
        density, source = None, "none (too little SE beyond the anode zone in view)"
    population["density_source"] = source
    population["density"] = density
    population["density_near"] = pore_near / se_near if se_near else None
    if density is None:
        # position cannot decide: what is not a gas core near the anode stays ambiguous
        ambiguous = float(r_size[near & ~gas_core].sum())
    else:
        expected = density * se_near
        mean_size = pore_near / max(int(near.sum()), 1)
        noise = 2.0 * np.sqrt(max(expected, 0.0) * mean_size) + mean_size  # counting noise of the regions
        excess = pore_near - expected
        ambiguous = excess if excess > noise else 0.0
        population["expected_near_um3"] = expected * voxel_um3
    out.ambiguous_um3 = float(ambiguous) * voxel_um3
    out.population = population

    # pass 3: relabel the pores (voxels darker than half-way gas/SE are void, the rest SE)
    decide = pore[root]  # per slab-local region id (global index) -> pore
    gas_se_mid = 0.5 * (gas_g + se_g)
    se_li_off = 0
    void_kept = 0
    for (z0, z1), offset, n_slab in zip(ranges_se, reg.offsets, reg.counts):
        if n_slab == 0 or not decide[offset : offset + n_slab].any():  # no pore in this slab
            tick()
            continue
        codes = np.ascontiguousarray(lab.slab(z0, z1), dtype=np.uint8)
        lab_slab, n = _label(_dark_in_se(codes, z0, se_bottom, cell))
        if n:
            lut = np.zeros(n + 1, dtype=bool)
            lut[1:] = decide[offset : offset + n]
            idx = np.flatnonzero(lut[lab_slab])
            del lab_slab
            if idx.size:
                dark = np.asarray(img.slab(z0, z1)).ravel()[idx].astype(np.float32) < gas_se_mid
                se_li_off += int(np.count_nonzero(codes.ravel()[idx] == SE_LI.code))
                new = codes.copy()
                new.ravel()[idx] = np.where(dark, VOID.code, SE.code)
                void_kept += int(np.count_nonzero(dark))
                _write_slab(labels, lab, z0, z1, new)
        tick()
    out.relabelled_se_li_um3 = se_li_off * voxel_um3
    out.void_volume_um3 = void_kept * voxel_um3
    return out


def pore_population(
    labels: Any, image: Any, thresholds: Any, voxel_size_um: tuple[float, float, float], **kwargs: Any
) -> float | None:
    """Share of the SE held by isolated dark regions in a scan before charging (for ``before_density``).

    Nothing is written: the labels are copied. Returns None when it cannot be measured.
    """
    copy = np.array(labels, dtype=np.uint8)
    res = resolve_gas_pores(copy, image, thresholds, voxel_size_um, **kwargs)
    pop = res.population
    se = pop.get("se_near_um3", 0.0) + pop.get("se_far_um3", 0.0)
    if not se:
        return None
    return (pop.get("pores_near_um3", 0.0) + pop.get("pores_far_um3", 0.0)) / se


def ambiguous_sentence(pores: GasPores | dict[str, Any] | None, li_volume_um3: float) -> str:
    """The sentence the verdict adds when pore-or-Li regions stayed ambiguous ("" when none)."""
    if pores is None:
        return ""
    amb = pores["ambiguous_um3"] if isinstance(pores, dict) else pores.ambiguous_um3
    if amb <= 0:
        return ""
    share = f" ({100.0 * amb / li_volume_um3:.1f} % of the Li volume)" if li_volume_um3 > 0 else ""
    return (
        f" Ambiguous, gas pore or Li: {amb:.0f} µm³{share} of isolated dark regions near the anode, "
        "beyond the SE's pore population; not counted as Li in the SE."
    )
