"""The lithium layer on the collector side: Li between the collector and the SE's lower face.

Per (y, x) column the layer runs from its lowest to its highest Li voxel
below the SE bottom; its thickness is the distance between those two
surfaces along their mean normal (tilt-corrected), in micrometres. Columns
without Li have thickness 0. Statistics are taken over the cell area, so
the mean thickness is the layer volume per area of the cell, comparable
with the Faraday thickness.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit, prange

from ..classes import LI
from .interfaces import Interfaces, Surface, normal_cosine

__all__ = ["LiLayerScan", "LiLayer", "li_layer_from_scan", "MIN_COVERED_THICKNESS_UM"]

#: A column counts as covered by the layer when its Li is at least this thick (micrometres).
MIN_COVERED_THICKNESS_UM = 1.0

_LI = LI.code


@njit(cache=True, nogil=True, parallel=True)
def _li_columns(slab, z0, lower, upper, count, first, last, k_lo, k_hi):  # pragma: no cover - compiled
    # one row of columns at a time, copied into local buffers (see interfaces._scan_columns);
    # only slices k_lo..k_hi can lie between a column's collector top and SE bottom
    nz, ny, nx = slab.shape
    for j in prange(ny):
        rows = np.empty((nz, nx), dtype=np.uint8)
        for k in range(k_lo, k_hi):
            rows[k] = slab[k, j]
        st = np.empty((5, nx), dtype=np.int32)
        st[0] = lower[j]
        st[1] = upper[j]
        st[2] = count[j]
        st[3] = first[j]
        st[4] = last[j]
        for k in range(k_lo, k_hi):
            z = z0 + k
            for i in range(nx):
                if rows[k, i] == _LI and z >= st[0, i] and z < st[1, i]:
                    st[2, i] += 1
                    if st[3, i] < 0:
                        st[3, i] = z
                    st[4, i] = z
        count[j] = st[2]
        first[j] = st[3]
        last[j] = st[4]


class LiLayerScan:
    """Per-column Li voxels between the collector top and the SE bottom, fed slab by slab.

    Parameters
    ----------
    interfaces : Interfaces
        Gives the lower (collector top) and upper (SE bottom) bound of every column.
    """

    def __init__(self, interfaces: Interfaces) -> None:
        self.interfaces = interfaces
        shape = interfaces.cell_columns.shape
        self.count = np.zeros(shape, dtype=np.int32)
        self.first = np.full(shape, -1, dtype=np.int32)
        self.last = np.full(shape, -1, dtype=np.int32)
        self._span: tuple[int, int] | None = None

    def update(self, slab: np.ndarray, z0: int) -> None:
        """Feed oriented slices ``z0 .. z0 + len(slab)``."""
        lower, upper = self.interfaces.collector_top_index, self.interfaces.se_bottom_index
        if self._span is None:  # slices any column's layer can reach: [min lower, max upper)
            open_ = upper > lower
            self._span = (int(lower[open_].min()), int(upper[open_].max())) if np.any(open_) else (0, 0)
        k_lo = min(max(self._span[0] - int(z0), 0), len(slab))
        k_hi = max(min(self._span[1] - int(z0), len(slab)), k_lo)
        _li_columns(slab, int(z0), lower, upper, self.count, self.first, self.last, k_lo, k_hi)


@dataclass
class LiLayer:
    """The Li layer between collector and SE.

    Attributes
    ----------
    thickness_map_um : ndarray of float32 (ny, nx)
        Layer thickness per column along the layer normal, micrometres (NaN outside the cell).
    mean_thickness_um, std_thickness_um : float
        Mean and standard deviation over the cell area (uncovered columns count as 0), um.
    mean_covered_thickness_um : float
        Mean over covered columns only, um.
    coverage : float
        Share of the cell area with at least :data:`MIN_COVERED_THICKNESS_UM` of Li.
    uniformity : float
        ``1 - std / mean`` over the cell area, clipped to [0, 1] (1 = perfectly even).
    p5_thickness_um, p95_thickness_um : float
        5th and 95th percentiles of the thickness over covered columns, um.
    volume_um3 : float
        Li voxels in the layer, um3.
    dense_equivalent_thickness_um : float
        Layer volume over cell area, um (lower than the mean thickness when the layer holds voids).
    cos_normal : float
        Cosine of the layer tilt used to turn vertical into normal distances.
    li_bottom, li_top : Surface
        Lower and upper face of the layer.
    """

    thickness_map_um: np.ndarray
    mean_thickness_um: float
    std_thickness_um: float
    mean_covered_thickness_um: float
    coverage: float
    uniformity: float
    p5_thickness_um: float
    p95_thickness_um: float
    volume_um3: float
    dense_equivalent_thickness_um: float
    cos_normal: float
    li_bottom: Surface
    li_top: Surface

    @property
    def range_5_95_um(self) -> float:
        """Spread between the 95th and the 5th percentile thickness, um."""
        return self.p95_thickness_um - self.p5_thickness_um

    @property
    def tilt_deg(self) -> float:
        return float(np.degrees(np.arccos(min(1.0, self.cos_normal))))

    def to_dict(self) -> dict[str, Any]:
        return {
            "mean_thickness_um": self.mean_thickness_um,
            "std_thickness_um": self.std_thickness_um,
            "coverage": self.coverage,
            "mean_covered_thickness_um": self.mean_covered_thickness_um,
            "uniformity": self.uniformity,
            "p5_thickness_um": self.p5_thickness_um,
            "p95_thickness_um": self.p95_thickness_um,
            "range_5_95_um": self.range_5_95_um,
            "volume_um3": self.volume_um3,
            "dense_equivalent_thickness_um": self.dense_equivalent_thickness_um,
            "tilt_deg": self.tilt_deg,
            "min_covered_thickness_um": MIN_COVERED_THICKNESS_UM,
        }


def li_layer_from_scan(scan: LiLayerScan) -> LiLayer:
    """Thickness map and statistics from a finished :class:`LiLayerScan`."""
    interfaces = scan.interfaces
    vox = interfaces.collector_top.voxel_size_um
    vz, vy, vx = vox
    cell = interfaces.cell_columns
    has_li = cell & (scan.count > 0)
    bottom = Surface.from_heights("li_bottom", np.where(has_li, scan.first, np.nan), cell, vox)
    top = Surface.from_heights("li_top", np.where(has_li, scan.last + 1, np.nan), cell, vox)
    cos = normal_cosine(bottom.plane, top.plane)
    vertical = np.where(has_li, scan.last + 1 - scan.first, 0).astype(np.float64)
    thickness = np.where(cell, vertical * vz * cos, np.nan).astype(np.float32)

    values = thickness[cell].astype(np.float64)
    n_cell = values.size
    mean = float(values.mean()) if n_cell else 0.0
    std = float(values.std()) if n_cell else 0.0
    covered_values = values[values >= MIN_COVERED_THICKNESS_UM]
    coverage = covered_values.size / n_cell if n_cell else 0.0
    if covered_values.size:
        mean_covered = float(covered_values.mean())
        p5, p95 = (float(v) for v in np.percentile(covered_values, [5.0, 95.0]))
    else:
        mean_covered = p5 = p95 = 0.0
    uniformity = float(np.clip(1.0 - std / mean, 0.0, 1.0)) if mean > 0 else 0.0
    volume = float(scan.count[cell].sum()) * vz * vy * vx
    area = n_cell * vy * vx
    dense = volume / area if area else 0.0
    return LiLayer(thickness, mean, std, mean_covered, coverage, uniformity, p5, p95, volume, dense, cos, bottom, top)
