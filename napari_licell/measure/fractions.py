"""Class fractions, volumes, SE porosity and depth profiles along the stack axis.

Fractions are shares of the labelled cell volume (background excluded) and
sum to one. A depth profile is each class's share of the labelled area of
every slice, slice by slice from the collector end, with the slice centres
in micrometres.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit, prange

from ..classes import CLASS_TABLE, SE_LI, VOID, class_keys

__all__ = ["N_CODE_BINS", "SliceClassCounts", "ClassFractions", "DepthProfiles", "class_fractions", "depth_profiles"]

#: Columns of a per-slice count table: codes 0..6 and one for codes outside the class table.
N_CODE_BINS = len(CLASS_TABLE) + 1


@njit(cache=True, nogil=True, parallel=True)
def _count_slab(slab, z0, counts):  # pragma: no cover - compiled
    nz, ny, nx = slab.shape
    last = counts.shape[1] - 1
    for k in prange(nz):  # one table row per plane: the threads never share a counter
        row = counts[z0 + k]
        for j in range(ny):
            for i in range(nx):
                c = slab[k, j, i]
                if c >= last:
                    row[last] += 1
                else:
                    row[c] += 1


class SliceClassCounts:
    """Voxel count of every class in every slice along the stack axis, fed slab by slab.

    Parameters
    ----------
    n_slices : int
        Slices along the (oriented) stack axis.
    """

    def __init__(self, n_slices: int) -> None:
        self.counts = np.zeros((int(n_slices), N_CODE_BINS), dtype=np.int64)

    def update(self, slab: np.ndarray, z0: int) -> None:
        """Count the class codes of oriented slices ``z0 .. z0 + len(slab)``."""
        _count_slab(slab, int(z0), self.counts)

    @property
    def total(self) -> np.ndarray:
        """Counts over the whole volume, per code (last entry: codes outside the table)."""
        return self.counts.sum(axis=0)

    @property
    def n_unknown(self) -> int:
        """Voxels whose code is not in the class table."""
        return int(self.total[-1])


@dataclass
class ClassFractions:
    """Class make-up of the labelled cell volume.

    Attributes
    ----------
    fractions : dict of str to float
        Share of the labelled volume per class key (li, void, se_li, se, carbon, metal); sums to 1.
    volumes_um3 : dict of str to float
        Volume per class key in um3.
    labelled_volume_um3 : float
        Volume of all labelled (non-background) voxels, um3.
    se_region_volume_um3 : float or None
        Volume of the SE layer (everything above the SE's lower face but metal), um3.
    se_region_void_um3 : float or None
        Gas-filled void inside the SE layer, um3.
    se_porosity : float or None
        Gas-filled void share of the SE layer.
    """

    fractions: dict[str, float]
    volumes_um3: dict[str, float]
    labelled_volume_um3: float
    se_region_volume_um3: float | None = None
    se_region_void_um3: float | None = None
    se_porosity: float | None = None

    @property
    def se_li_volume_um3(self) -> float:
        return self.volumes_um3[SE_LI.key]

    @property
    def void_volume_um3(self) -> float:
        return self.volumes_um3[VOID.key]

    def to_dict(self) -> dict[str, Any]:
        return {
            "fractions": dict(self.fractions),
            "volumes_um3": dict(self.volumes_um3),
            "labelled_volume_um3": self.labelled_volume_um3,
            "se_li_volume_um3": self.se_li_volume_um3,
            "void_volume_um3": self.void_volume_um3,
            "se_region_volume_um3": self.se_region_volume_um3,
            "se_region_void_um3": self.se_region_void_um3,
            "se_porosity": self.se_porosity,
        }


def class_fractions(
    counts: np.ndarray, voxel_volume_um3: float, se_region_counts: np.ndarray | None = None
) -> ClassFractions:
    """Fractions and volumes from class counts.

    Parameters
    ----------
    counts : ndarray of int, shape (8,) or more
        Voxels per class code (index = code); background (0) and codes beyond 6 are not counted.
    voxel_volume_um3 : float
        Volume of one voxel in um3.
    se_region_counts : ndarray of int, optional
        Voxels per class code above the SE's lower face, for the SE porosity.

    Returns
    -------
    ClassFractions
    """
    keys = class_keys()
    per_code = np.asarray(counts[1 : len(keys) + 1], dtype=np.float64)
    total = float(per_code.sum())
    fractions = {k: (float(n) / total if total else 0.0) for k, n in zip(keys, per_code)}
    volumes = {k: float(n) * voxel_volume_um3 for k, n in zip(keys, per_code)}
    region = void = porosity = None
    if se_region_counts is not None:
        r = np.asarray(se_region_counts[1 : len(keys) + 1], dtype=np.float64)
        metal = keys.index("metal")
        region_vox = float(r.sum() - r[metal])
        void_vox = float(r[keys.index(VOID.key)])
        region = region_vox * voxel_volume_um3
        void = void_vox * voxel_volume_um3
        porosity = void_vox / region_vox if region_vox else None
    return ClassFractions(fractions, volumes, total * voxel_volume_um3, region, void, porosity)


@dataclass
class DepthProfiles:
    """Area share of every class, slice by slice along the stack axis.

    Attributes
    ----------
    z_um : ndarray (nz,)
        Slice centres, micrometres from the collector-end face.
    area_fraction : dict of str to ndarray (nz,)
        Share of the slice's labelled area per class key (NaN for slices with no material).
    labelled_area_um2 : ndarray (nz,)
        Labelled area of each slice, um2.
    """

    z_um: np.ndarray
    area_fraction: dict[str, np.ndarray]
    labelled_area_um2: np.ndarray

    @property
    def n_slices(self) -> int:
        return int(self.z_um.size)

    def to_dict(self) -> dict[str, Any]:
        return {
            "z_um": self.z_um.tolist(),
            "labelled_area_um2": self.labelled_area_um2.tolist(),
            "area_fraction": {k: v.tolist() for k, v in self.area_fraction.items()},
        }

    def to_columns(self) -> dict[str, np.ndarray]:
        """Columns for a CSV table: z_um, labelled_area_um2 and one ``<key>_area_fraction`` per class."""
        cols = {"z_um": self.z_um, "labelled_area_um2": self.labelled_area_um2}
        cols.update({f"{k}_area_fraction": v for k, v in self.area_fraction.items()})
        return cols


def depth_profiles(counts_by_slice: np.ndarray, voxel_size_um: tuple[float, float, float]) -> DepthProfiles:
    """Per-slice area fractions from a (nz, 8) count table.

    Parameters
    ----------
    counts_by_slice : ndarray of int, shape (nz, 8)
        Voxels per class code per oriented slice.
    voxel_size_um : tuple of float
        Oriented (z, y, x) voxel size in micrometres.

    Returns
    -------
    DepthProfiles
    """
    vz, vy, vx = voxel_size_um
    keys = class_keys()
    per_code = counts_by_slice[:, 1 : len(keys) + 1].astype(np.float64)
    material = per_code.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = np.where(material[:, None] > 0, per_code / material[:, None], np.nan)
    z_um = (np.arange(counts_by_slice.shape[0], dtype=np.float64) + 0.5) * vz
    return DepthProfiles(z_um, {k: shares[:, n] for n, k in enumerate(keys)}, material * vy * vx)
