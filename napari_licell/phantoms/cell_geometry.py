"""Ground-truth class labels of a synthetic anode-less half-cell crop.

The crop runs along the stack axis z from the stainless-steel collector
(z = 0) into the solid electrolyte. Morphologies follow Kodama et al. 2024:

* process 3 after charging: a dense, flat Li layer between the collector and
  the carbon interlayer whose thickness follows Faraday's law;
* no interlayer, processes 1 and 2 after charging: Li masses grown into the
  SE from its lower interface, each wrapped in a fine "SE + Li" halo, and an
  "SE + Li" band along that interface; the carbon stays on the collector.
  Only part of the Faraday charge shows up as Li in the crop (the rest went
  deeper or into sub-resolution SE + Li), as in the paper's images.

Everything is drawn from a seeded random generator: the same spec gives the
same cell, voxel for voxel.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from ..classes import CARBON, LABEL_DTYPE, LI, METAL, SE, SE_LI, VOID
from .cell_spec import BondingProcess, CellSpec, CellState

__all__ = ["CellTruth", "CellGeometry", "generate_cell_geometry"]

#: Share of the Faraday charge that appears as Li masses in the crop, per non-uniform process.
_MASS_SHARE_OF_FARADAY = {BondingProcess.NONE: 0.30, BondingProcess.PROCESS1: 0.30, BondingProcess.PROCESS2: 0.25}


@dataclass
class CellTruth:
    """Known answers of a synthetic cell, for tests and for the user's comparison.

    Heights are along z, in voxels from the crop bottom, per (y, x) column.
    """

    collector_top_vox: np.ndarray
    li_top_vox: np.ndarray | None
    carbon_top_vox: np.ndarray | None
    se_bottom_vox: np.ndarray
    li_layer_thickness_um: float
    li_volume_um3: float
    li_in_se_volume_um3: float
    faraday_thickness_um: float
    n_li_masses: int
    notes: dict = field(default_factory=dict)


@dataclass
class CellGeometry:
    """Labels (uint8 class codes), Li volume share of SE + Li voxels, and the truth."""

    labels: np.ndarray
    li_fraction: np.ndarray
    truth: CellTruth


def _smooth_field(rng: np.random.Generator, shape: tuple[int, ...], corr_vox: float) -> np.ndarray:
    """Gaussian random field with unit standard deviation and correlation length ``corr_vox``."""
    noise = rng.standard_normal(shape).astype(np.float32)
    field_ = ndimage.gaussian_filter(noise, corr_vox, mode="wrap")
    std = float(field_.std())
    return field_ / std if std > 0 else field_


def _surface(rng, base_vox, amplitude_vox, corr_vox, tilt_map, shape_yx) -> np.ndarray:
    return base_vox + amplitude_vox * _smooth_field(rng, shape_yx, corr_vox) + tilt_map


def _paint_ellipsoid(mask: np.ndarray, centre, radii) -> None:
    """Set voxels inside an axis-aligned ellipsoid (centre and radii in voxels) to True."""
    lo = [max(int(np.floor(c - r)), 0) for c, r in zip(centre, radii)]
    hi = [min(int(np.ceil(c + r)) + 1, s) for c, r, s in zip(centre, radii, mask.shape)]
    if any(h <= l for l, h in zip(lo, hi)):
        return
    grids = np.ogrid[tuple(slice(l, h) for l, h in zip(lo, hi))]
    inside = sum(((g + 0.5 - c) / r) ** 2 for g, c, r in zip(grids, centre, radii)) <= 1.0
    mask[tuple(slice(l, h) for l, h in zip(lo, hi))] |= inside


def _pores(rng, shape, region: np.ndarray, porosity: float, radius_vox: tuple[float, float]) -> np.ndarray:
    """Spherical gas pores inside ``region`` until ``porosity`` of it is pore."""
    pores = np.zeros(shape, dtype=bool)
    target = porosity * float(region.sum())
    if target <= 0:
        return pores
    zs, ys, xs = np.nonzero(region[:, ::4, ::4])
    placed = 0.0
    for _ in range(10000):
        if placed >= target or zs.size == 0:
            break
        i = rng.integers(zs.size)
        r = rng.uniform(*radius_vox)
        centre = (zs[i] + 0.5, ys[i] * 4 + 2.0, xs[i] * 4 + 2.0)
        radii = (r * rng.uniform(0.8, 1.2), r, r * rng.uniform(0.8, 1.2))
        _paint_ellipsoid(pores, centre, radii)
        placed = float((pores & region).sum())
    return pores & region


def _li_masses(rng, shape, interface_vox: np.ndarray, target_voxels: float, vox_um: float):
    """Dendrite-like chains of Li ellipsoids grown upward from the SE's lower interface."""
    nz, ny, nx = shape
    li = np.zeros(shape, dtype=bool)
    n_chains = 0
    for _ in range(400):
        if li.sum() >= target_voxels:
            break
        y, x = rng.uniform(0, ny), rng.uniform(0, nx)
        z = float(interface_vox[int(y), int(x)])
        for _link in range(int(rng.integers(2, 5))):
            r_xy = rng.uniform(6.0, 12.0) / vox_um
            r_z = rng.uniform(7.0, 14.0) / vox_um
            z_c = z + r_z * rng.uniform(0.3, 0.8)
            if z_c > nz - 4.0 / vox_um:
                break
            _paint_ellipsoid(li, (z_c, y, x), (r_z, r_xy, r_xy * rng.uniform(0.7, 1.3)))
            z = z_c + r_z * 0.6
            y = float(np.clip(y + rng.normal(0, 4.0 / vox_um), 0, ny - 1))
            x = float(np.clip(x + rng.normal(0, 4.0 / vox_um), 0, nx - 1))
        n_chains += 1
    return li, n_chains


def generate_cell_geometry(spec: CellSpec) -> CellGeometry:
    """Draw the ground-truth labels of the cell described by ``spec``.

    Parameters
    ----------
    spec : CellSpec
        Process, state, crop shape, voxel size (micrometres) and seed.

    Returns
    -------
    CellGeometry
        ``labels`` (uint8 class codes, (z, y, x)), ``li_fraction`` (float32, Li
        volume share inside SE + Li voxels, 0 elsewhere) and the truth.
    """
    rng = np.random.default_rng(spec.seed)
    nz, ny, nx = spec.shape
    vox = spec.voxel_size_um
    zz = np.arange(nz, dtype=np.float32)[:, None, None] + 0.5
    x_um = (np.arange(nx, dtype=np.float32) - nx / 2) * vox
    tilt = np.broadcast_to(np.tan(np.radians(spec.tilt_deg)) * x_um / vox, (ny, nx)).astype(np.float32)

    collector_top = _surface(rng, spec.collector_um / vox, 0.3 / vox, 6.0, tilt, (ny, nx))
    labels = np.full(spec.shape, SE.code, dtype=LABEL_DTYPE)
    labels[zz < collector_top[None]] = METAL.code
    li_fraction = np.zeros(spec.shape, dtype=np.float32)

    li_top = carbon_top = None
    level = collector_top
    after = spec.state is CellState.AFTER
    faraday_um = spec.faraday_thickness_um
    layer_um = 0.0
    if spec.process is BondingProcess.PROCESS3 and after:
        li_top = _surface(rng, 0.0, 1.0 / vox, 10.0, 0.0, (ny, nx)) + level + faraday_um / vox
        labels[(zz >= level[None]) & (zz < li_top[None])] = LI.code
        layer_um = float(np.mean(li_top - level)) * vox
        level = li_top
    if spec.process.has_interlayer:
        carbon_top = level + _surface(rng, spec.carbon_um / vox, 0.5 / vox, 8.0, 0.0, (ny, nx))
        labels[(zz >= level[None]) & (zz < carbon_top[None])] = CARBON.code
        level = carbon_top
    se_bottom = level

    se_region = labels == SE.code
    clearance = 3.0 / vox
    pore_region = se_region & (zz >= se_bottom[None] + clearance)
    r_lo, r_hi = spec.se_pore_radius_um
    pores = _pores(rng, spec.shape, pore_region, spec.se_porosity, (r_lo / vox, r_hi / vox))
    labels[pores] = VOID.code

    n_masses = 0
    if after and not spec.process.deposits_uniformly:
        if spec.process is BondingProcess.PROCESS1:
            # weak bonding: lens-shaped gas gaps open between carbon and SE
            gap = np.clip(_smooth_field(rng, (ny, nx), 12.0) - 0.6, 0, None) * (2.5 / vox)
            gap_mask = (zz >= se_bottom[None]) & (zz < (se_bottom + gap)[None])
            labels[gap_mask] = VOID.code
        area_vox = ny * nx
        target = _MASS_SHARE_OF_FARADAY[spec.process] * faraday_um / vox * area_vox
        masses, n_masses = _li_masses(rng, spec.shape, se_bottom, target, vox)
        masses &= zz >= se_bottom[None]
        # a fine SE + Li band along the interface and a halo around every mass
        band_top = se_bottom + np.clip(4.0 / vox + 2.0 / vox * _smooth_field(rng, (ny, nx), 8.0), 1.0, None)
        band = (zz >= se_bottom[None]) & (zz < band_top[None])
        halo = ndimage.distance_transform_edt(~masses) <= 2.5 / vox
        se_li = (band | halo) & ~masses & (labels == SE.code)
        labels[se_li] = SE_LI.code
        labels[masses & (labels != METAL.code)] = LI.code
        share = 0.45 + 0.1 * _smooth_field(rng, spec.shape, 3.0)
        li_fraction[se_li] = np.clip(share[se_li], 0.25, 0.65)

    li_voxels = labels == LI.code
    voxel_um3 = vox**3
    above_se = li_voxels & (zz >= se_bottom[None])
    truth = CellTruth(
        collector_top_vox=collector_top,
        li_top_vox=li_top,
        carbon_top_vox=carbon_top,
        se_bottom_vox=se_bottom,
        li_layer_thickness_um=layer_um,
        li_volume_um3=float(li_voxels.sum()) * voxel_um3,
        li_in_se_volume_um3=float(above_se.sum()) * voxel_um3,
        faraday_thickness_um=faraday_um,
        n_li_masses=n_masses,
    )
    return CellGeometry(labels=labels, li_fraction=li_fraction, truth=truth)
