"""Interfaces of the layer stack as surfaces: one height per (y, x) column plus a fitted plane.

Heights are positions of boundaries along the oriented stack axis, in voxels
from the collector-end face of the volume (``z = 0``); a boundary at height
``h`` lies between slice ``h - 1`` and slice ``h``. Four surfaces are found:

* collector top: the first voxel above the metal slab;
* carbon bottom and top: the carbon band between collector and SE, where there is one;
* SE bottom: the lower face of the solid electrolyte, where a run of at
  least ~2 um of SE or SE + Li begins (thinner runs are partial-volume rims
  on the metal). Columns in which something (a Li mass, a gas gap) sits on
  the SE's lower face start their SE higher than their neighbours; the SE
  bottom is therefore the robust lower envelope of the per-column values:
  a plane fitted with upper outliers trimmed, plus a smooth local offset,
  and the column's own value only where it agrees with that envelope.

Plane fits give the tilt; :func:`normal_cosine` turns vertical distances
between two surfaces into distances along the surface normal.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit, prange

from ..classes import CARBON, METAL, SE, SE_LI

__all__ = [
    "PlaneFit",
    "Surface",
    "ColumnScan",
    "Interfaces",
    "fit_plane",
    "lower_envelope",
    "find_interfaces",
    "normal_cosine",
    "SE_MIN_RUN_UM",
]

#: Minimum SE (or SE + Li) run, micrometres, that marks the SE's lower face.
SE_MIN_RUN_UM = 2.0
#: Lateral length, micrometres, over which the SE-bottom envelope may bend away from its plane.
ENVELOPE_SMOOTH_UM = 10.0

#: Plane fits use at most this many columns (a regular subset of bigger maps).
_MAX_FIT_COLUMNS = 262_144

_METAL = METAL.code
_SE = SE.code
_SE_LI = SE_LI.code
_CARBON = CARBON.code


@njit(cache=True, nogil=True, parallel=True)
def _scan_columns(
    slab, z0, min_se_run, collector_top, material_first, se_first, se_run, se_run_start, carbon_first, carbon_last
):  # pragma: no cover - compiled
    # One row of columns at a time: its slab rows and its state are copied into small local
    # buffers first, so the slab's planes (a multiple of 4 KiB apart for many scan widths)
    # and the seven state maps never alias one another in the L1 cache.
    nz, ny, nx = slab.shape
    for j in prange(ny):
        st = np.empty((7, nx), dtype=np.int32)
        st[0] = collector_top[j]
        st[1] = material_first[j]
        st[2] = se_first[j]
        st[3] = se_run[j]
        st[4] = se_run_start[j]
        st[5] = carbon_first[j]
        st[6] = carbon_last[j]
        n_open = 0  # columns still looking for the SE's lower face; nothing changes once it is found
        for i in range(nx):
            if st[2, i] < 0:
                n_open += 1
        row = np.empty(nx, dtype=np.uint8)
        for k in range(nz):
            if n_open == 0:
                break
            z = z0 + k
            row[:] = slab[k, j]
            for i in range(nx):
                c = row[i]
                if c == 0:
                    continue
                if st[1, i] < 0:
                    st[1, i] = z
                if st[0, i] < 0:
                    if c == _METAL:
                        continue
                    st[0, i] = z
                if st[2, i] >= 0:
                    continue
                if c == _SE or c == _SE_LI:
                    if st[3, i] == 0:
                        st[4, i] = z
                    st[3, i] += 1
                    if st[3, i] >= min_se_run:
                        st[2, i] = st[4, i]
                        n_open -= 1
                else:
                    st[3, i] = 0
                    if c == _CARBON:
                        if st[5, i] < 0:
                            st[5, i] = z
                        st[6, i] = z
        collector_top[j] = st[0]
        material_first[j] = st[1]
        se_first[j] = st[2]
        se_run[j] = st[3]
        se_run_start[j] = st[4]
        carbon_first[j] = st[5]
        carbon_last[j] = st[6]


@njit(cache=True, nogil=True, parallel=True)
def _smooth_axis0(a, w, out):  # pragma: no cover - compiled
    """Symmetric kernel ``w`` (centre first) along axis 0 with 'nearest' edges, summed as scipy's correlate1d."""
    ny, nx = a.shape
    r = w.size - 1
    for y in prange(ny):
        o = out[y]
        c = a[y]
        for x in range(nx):
            o[x] = c[x] * w[0]
        for j in range(r, 0, -1):  # farthest taps first, as ndimage adds them
            lo = a[max(y - j, 0)]
            hi = a[min(y + j, ny - 1)]
            wj = w[j]
            for x in range(nx):
                o[x] += (lo[x] + hi[x]) * wj


def _half_gaussian(sigma: float, truncate: float = 4.0) -> np.ndarray:
    """Weights of ``scipy.ndimage.gaussian_filter1d`` (order 0) from the centre out: ``w[j]`` at distance ``j``."""
    lw = int(truncate * float(sigma) + 0.5)
    x = np.arange(-lw, lw + 1)
    phi = np.exp(-0.5 / (sigma * sigma) * x**2)
    phi = phi / phi.sum()
    return np.ascontiguousarray(phi[::-1][lw:])


def _gaussian_nearest(a: np.ndarray, sigma: tuple[float, float]) -> np.ndarray:
    """``ndimage.gaussian_filter(a, sigma, mode="nearest")`` of a 2D float64 map, same sums, on all cores.

    The taps are added in ndimage's order (centre, then pairs from the
    farthest in), so the result is the same to the last bit. Along x the
    map is transposed, smoothed along its first axis and transposed back.
    """
    out = np.array(a, dtype=np.float64, order="C")
    if sigma[0] > 1e-15:
        tmp = np.empty_like(out)
        _smooth_axis0(out, _half_gaussian(sigma[0]), tmp)
        out = tmp
    if sigma[1] > 1e-15:  # along x: on the transpose, whose rows then run along y (vectorises over them)
        t = np.ascontiguousarray(out.T)
        tmp = np.empty_like(t)
        _smooth_axis0(t, _half_gaussian(sigma[1]), tmp)
        out = np.ascontiguousarray(tmp.T)
    return out


class ColumnScan:
    """Per-column state of the first pass along the stack axis, fed slab by slab.

    Parameters
    ----------
    shape_zyx : tuple of int
        Oriented volume shape.
    voxel_size_um : tuple of float
        Oriented (z, y, x) voxel size in micrometres.
    """

    def __init__(self, shape_zyx: tuple[int, int, int], voxel_size_um: tuple[float, float, float]) -> None:
        self.shape = tuple(int(s) for s in shape_zyx)
        self.voxel_size_um = tuple(float(v) for v in voxel_size_um)
        ny, nx = self.shape[1:]
        self.min_se_run = max(2, int(math.ceil(SE_MIN_RUN_UM / self.voxel_size_um[0])))
        full = lambda: np.full((ny, nx), -1, dtype=np.int32)  # noqa: E731
        self.collector_top = full()
        self.material_first = full()
        self.se_first = full()
        self.se_run = np.zeros((ny, nx), dtype=np.int32)
        self.se_run_start = full()
        self.carbon_first = full()
        self.carbon_last = full()
        self._finished = False

    def update(self, slab: np.ndarray, z0: int) -> None:
        """Feed oriented slices ``z0 .. z0 + len(slab)`` (uint8 class codes), in order."""
        _scan_columns(
            slab,
            int(z0),
            self.min_se_run,
            self.collector_top,
            self.material_first,
            self.se_first,
            self.se_run,
            self.se_run_start,
            self.carbon_first,
            self.carbon_last,
        )

    def finish(self) -> None:
        """Accept an SE run cut short by the end of the volume as the SE's lower face."""
        if not self._finished:
            open_run = (self.se_first < 0) & (self.se_run > 0)
            self.se_first[open_run] = self.se_run_start[open_run]
            self._finished = True

    @property
    def cell_columns(self) -> np.ndarray:
        """Columns that hold cell material above the collector (the cell area)."""
        return self.collector_top >= 0


@dataclass(frozen=True)
class PlaneFit:
    """Least-squares plane ``z = offset + slope_y * y + slope_x * x`` (all micrometres).

    Attributes
    ----------
    offset_um : float
        Height at ``y = x = 0`` in micrometres.
    slope_y, slope_x : float
        Height change per micrometre along y and x.
    rms_um : float
        RMS distance of the fitted columns from the plane (roughness), micrometres.
    n_columns : int
        Columns the plane was fitted to (all valid columns, or a regular subset of
        262144 of them for bigger maps).
    """

    offset_um: float
    slope_y: float
    slope_x: float
    rms_um: float
    n_columns: int

    @property
    def tilt_deg(self) -> float:
        """Angle between the plane's normal and the stack axis, degrees."""
        return math.degrees(math.atan(math.hypot(self.slope_y, self.slope_x)))

    @property
    def cos_normal(self) -> float:
        """Cosine of :attr:`tilt_deg`: vertical distance x this = distance along the normal."""
        return 1.0 / math.sqrt(1.0 + self.slope_y**2 + self.slope_x**2)

    def height_um(self, y_um: np.ndarray, x_um: np.ndarray) -> np.ndarray:
        return self.offset_um + self.slope_y * y_um + self.slope_x * x_um


def _grids_um(shape_yx: tuple[int, int], vy: float, vx: float) -> tuple[np.ndarray, np.ndarray]:
    ny, nx = shape_yx
    return (np.arange(ny, dtype=np.float64)[:, None] + 0.5) * vy, (np.arange(nx, dtype=np.float64)[None, :] + 0.5) * vx


def fit_plane(height_um: np.ndarray, valid: np.ndarray, vy: float, vx: float) -> PlaneFit | None:
    """Fit a plane to a height map.

    Parameters
    ----------
    height_um : ndarray (ny, nx)
        Heights in micrometres.
    valid : ndarray of bool (ny, nx)
        Columns to use.
    vy, vx : float
        Column spacing in micrometres.

    Returns
    -------
    PlaneFit or None
        None when fewer than 3 columns are valid.
    """
    n = int(np.count_nonzero(valid))
    if n < 3:
        return None
    flat = np.flatnonzero(valid)  # row-major, as np.nonzero
    if n > _MAX_FIT_COLUMNS:  # a regular subset fits a plane just as well
        step = int(np.ceil(n / _MAX_FIT_COLUMNS))
        flat = flat[::step]
    jj, ii = np.divmod(flat, valid.shape[1])
    y = (jj + 0.5) * vy
    x = (ii + 0.5) * vx
    z = np.asarray(height_um, dtype=np.float64).reshape(-1)[flat]
    a = np.column_stack([np.ones_like(y), y - y.mean(), x - x.mean()])
    coef, *_ = np.linalg.lstsq(a, z, rcond=None)
    rms = float(np.sqrt(np.mean((z - a @ coef) ** 2)))
    offset = float(coef[0] - coef[1] * y.mean() - coef[2] * x.mean())
    return PlaneFit(offset, float(coef[1]), float(coef[2]), rms, int(z.size))


@dataclass
class Surface:
    """One interface: a height per column and its plane.

    Attributes
    ----------
    name : str
        "collector_top", "li_bottom", "li_top", "carbon_bottom", "carbon_top" or "se_bottom".
    height_vox : ndarray of float32 (ny, nx)
        Boundary height in voxels from the collector-end face; NaN where the surface is absent.
    voxel_size_um : tuple of float
        Oriented (z, y, x) voxel size in micrometres.
    coverage : float
        Share of the cell area where the surface is present.
    plane : PlaneFit or None
        Plane fitted to the present columns (micrometres).
    """

    name: str
    height_vox: np.ndarray
    voxel_size_um: tuple[float, float, float]
    coverage: float
    plane: PlaneFit | None

    @classmethod
    def from_heights(
        cls, name: str, height_vox: np.ndarray, cell: np.ndarray, voxel_size_um: tuple[float, float, float]
    ) -> "Surface":
        """Build a surface from a height map (NaN = absent) over the cell area ``cell``."""
        h = np.where(cell, height_vox, np.nan).astype(np.float32)
        present = np.isfinite(h)
        n_cell = int(np.count_nonzero(cell))
        coverage = float(np.count_nonzero(present)) / n_cell if n_cell else 0.0
        vz, vy, vx = voxel_size_um
        plane = fit_plane(np.nan_to_num(h) * vz, present, vy, vx)
        return cls(name, h, tuple(voxel_size_um), coverage, plane)

    @property
    def height_um(self) -> np.ndarray:
        """Heights in micrometres from the collector-end face (NaN where absent)."""
        return self.height_vox * np.float32(self.voxel_size_um[0])

    @property
    def mean_height_um(self) -> float:
        h = self.height_vox[np.isfinite(self.height_vox)]
        return float(h.mean()) * self.voxel_size_um[0] if h.size else float("nan")

    def to_dict(self) -> dict[str, Any]:
        """Mean height (um), coverage, tilt (degrees), slopes and roughness (um)."""
        p = self.plane
        return {
            "mean_height_um": self.mean_height_um,
            "coverage": self.coverage,
            "tilt_deg": p.tilt_deg if p else None,
            "slope_y": p.slope_y if p else None,
            "slope_x": p.slope_x if p else None,
            "roughness_um": p.rms_um if p else None,
        }


def normal_cosine(*planes: PlaneFit | None) -> float:
    """Cosine between the stack axis and the mean normal of ``planes`` (1.0 when none is known).

    Multiply a vertical distance between two (near-parallel) surfaces by
    this to get the distance along their normal.
    """
    fits = [p for p in planes if p is not None]
    if not fits:
        return 1.0
    sy = float(np.mean([p.slope_y for p in fits]))
    sx = float(np.mean([p.slope_x for p in fits]))
    return 1.0 / math.sqrt(1.0 + sy * sy + sx * sx)


def lower_envelope(
    height_vox: np.ndarray,
    valid: np.ndarray,
    voxel_size_um: tuple[float, float, float],
    *,
    smooth_um: float = ENVELOPE_SMOOTH_UM,
    start_quantile: float = 10.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Robust lower envelope of a height map whose outliers lie only above the true surface.

    Parameters
    ----------
    height_vox : ndarray (ny, nx)
        Per-column heights in voxels.
    valid : ndarray of bool (ny, nx)
        Columns with a height.
    voxel_size_um : tuple of float
        Oriented (z, y, x) voxel size in micrometres.
    smooth_um : float
        Gaussian length, micrometres, of the local offset from the plane.
    start_quantile : float
        Percentile of the heights whose columns seed the plane fit. 10: Li
        masses grown up from the SE's face can cover most columns of a small
        bore (process 2 in full view: the median column's SE starts 38 voxels
        above the face); seeded from the lowest 30 % the fit settled on top of
        them and the masses' lower parts were measured as an 18.5 um layer.

    Returns
    -------
    envelope : ndarray of float64 (ny, nx)
        Envelope height in voxels for every column.
    agrees : ndarray of bool (ny, nx)
        Valid columns whose own height lies on the envelope (within tolerance).
    """
    vz, vy, vx = voxel_size_um
    h = np.asarray(height_vox, dtype=np.float64)
    yy, xx = _grids_um(h.shape, vy, vx)
    inlier = valid & (h <= np.percentile(h[valid], start_quantile))
    plane = fit_plane(h * vz, inlier, vy, vx)
    sigma = 0.5
    for _ in range(20):
        if plane is None:
            break
        resid = h - plane.height_um(yy, xx) / vz
        sigma = max(1.4826 * float(np.median(np.abs(resid[inlier]))), 0.5)
        new = valid & (resid <= 3.0 * sigma) & (resid >= -6.0 * sigma)
        if np.array_equal(new, inlier):
            break
        inlier = new
        plane = fit_plane(h * vz, inlier, vy, vx)
    if plane is None:
        base = np.full(h.shape, float(np.median(h[valid])))
    else:
        base = plane.height_um(yy, xx) / vz
    resid = np.where(inlier, h - base, 0.0)
    s = (smooth_um / vy, smooth_um / vx)
    weight = _gaussian_nearest(inlier, s)  # = ndimage.gaussian_filter(..., mode="nearest"), bit for bit
    offset = _gaussian_nearest(resid, s)
    with np.errstate(invalid="ignore", divide="ignore"):
        local = np.where(weight > 1e-3, offset / weight, 0.0)
    envelope = base + local
    tolerance = max(2.0, 3.0 * sigma)
    agrees = valid & (np.abs(h - envelope) <= tolerance)
    return envelope, agrees


@dataclass
class Interfaces:
    """The interfaces of one cell.

    Attributes
    ----------
    cell_columns : ndarray of bool (ny, nx)
        Columns holding cell material above the collector (the cell area).
    collector_top, se_bottom : Surface
        Collector top; lower face of the solid electrolyte.
    carbon_bottom, carbon_top : Surface or None
        Carbon band between collector and SE, None where there is none.
    se_found : bool
        False when the volume holds no solid electrolyte.
    collector_top_index, se_bottom_index : ndarray of int32 (ny, nx)
        Integer boundary heights for the voxel passes (outside the cell: the
        volume's depth, so no voxel counts).
    min_se_run_vox : int
        SE run length (voxels) that marked the SE's lower face.
    """

    cell_columns: np.ndarray
    collector_top: Surface
    se_bottom: Surface
    carbon_bottom: Surface | None
    carbon_top: Surface | None
    se_found: bool
    collector_top_index: np.ndarray
    se_bottom_index: np.ndarray
    min_se_run_vox: int

    @property
    def cell_area_um2(self) -> float:
        vz, vy, vx = self.collector_top.voxel_size_um
        return float(np.count_nonzero(self.cell_columns)) * vy * vx

    def surfaces(self) -> list[Surface]:
        return [s for s in (self.collector_top, self.carbon_bottom, self.carbon_top, self.se_bottom) if s is not None]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {s.name: s.to_dict() for s in self.surfaces()}
        out["se_found"] = self.se_found
        out["cell_area_um2"] = self.cell_area_um2
        return out


#: Largest cell area (columns) whose surfaces are fitted in two threads at once; a wider scan fits them one
#: after the other (the 2688^2 benchmark labels: 97 -> 85.5 bytes per column at the peak, same surfaces).
PARALLEL_FITS_MAX_COLUMNS = 2**22


def find_interfaces(scan: ColumnScan) -> Interfaces:
    """Turn the first pass's per-column state into surfaces.

    Parameters
    ----------
    scan : ColumnScan
        The finished first pass.

    Returns
    -------
    Interfaces
    """
    scan.finish()
    nz = scan.shape[0]
    vox = scan.voxel_size_um
    cell = scan.cell_columns
    collector = np.where(cell, scan.collector_top, np.nan).astype(np.float64)
    has_carbon = cell & (scan.carbon_first >= 0)
    if cell.size <= PARALLEL_FITS_MAX_COLUMNS:
        # the collector and carbon planes are fitted in a worker thread while this one finds the SE bottom
        # (numpy and LAPACK release the GIL; the fits do not depend on one another)
        with ThreadPoolExecutor(max_workers=1) as pool:
            side = pool.submit(_collector_and_carbon, scan, collector, has_carbon, vox)
            se_surface, se_height, se_found = _se_bottom(scan, cell, vox)
            collector_surface, carbon_bottom, carbon_top = side.result()
    else:  # one after the other: the peak is the larger step's per-column arrays, not both steps' at once
        se_surface, se_height, se_found = _se_bottom(scan, cell, vox)
        collector_surface, carbon_bottom, carbon_top = _collector_and_carbon(scan, collector, has_carbon, vox)

    collector_index = np.where(cell, scan.collector_top, nz).astype(np.int32)
    se_index = np.where(cell, se_height, nz).astype(np.int32)
    return Interfaces(
        cell,
        collector_surface,
        se_surface,
        carbon_bottom,
        carbon_top,
        se_found,
        collector_index,
        se_index,
        scan.min_se_run,
    )


def _collector_and_carbon(scan: ColumnScan, collector: np.ndarray, has_carbon: np.ndarray, vox: tuple) -> tuple:
    """Collector-top surface and the carbon band's two surfaces (None where there is no carbon)."""
    cell = scan.cell_columns
    collector_surface = Surface.from_heights("collector_top", collector, cell, vox)
    if np.count_nonzero(has_carbon):
        carbon_bottom = Surface.from_heights(
            "carbon_bottom", np.where(has_carbon, scan.carbon_first, np.nan), cell, vox
        )
        carbon_top = Surface.from_heights("carbon_top", np.where(has_carbon, scan.carbon_last + 1, np.nan), cell, vox)
    else:
        carbon_bottom = carbon_top = None
    return collector_surface, carbon_bottom, carbon_top


def _se_bottom(scan: ColumnScan, cell: np.ndarray, vox: tuple) -> tuple:
    """SE-bottom surface, its integer heights and whether the volume holds SE."""
    se_height, se_found = _se_heights(scan, cell, vox)
    se_surface = Surface.from_heights("se_bottom", np.where(cell & se_found, se_height, np.nan), cell, vox)
    return se_surface, se_height, se_found


def _se_heights(scan: ColumnScan, cell: np.ndarray, vox: tuple) -> tuple[np.ndarray, bool]:
    """Per column, the plane index of the SE's lower face (float; ``nz`` where there is none), and whether SE was found."""
    nz = scan.shape[0]
    se_valid = cell & (scan.se_first >= 0)
    se_found = bool(np.count_nonzero(se_valid) >= 3)
    if se_found:
        envelope, agrees = lower_envelope(scan.se_first.astype(np.float64), se_valid, vox)
        se_height = np.where(agrees, scan.se_first, np.rint(envelope))
        del envelope, agrees
        se_height = np.maximum(se_height, np.where(cell, scan.collector_top, 0))
        se_height = np.clip(se_height, 0, nz)
    else:
        se_height = np.full(cell.shape, float(nz))
    return se_height, se_found


def find_se_bottom_index(scan: ColumnScan) -> tuple[np.ndarray | None, np.ndarray]:
    """The SE's lower face per column as :func:`find_interfaces` finds it, without the surfaces' fits.

    For steps that need only where the SE starts (the gas-pore step): about a
    third of :func:`find_interfaces`'s peak memory per column (no plane fits,
    no collector or carbon surfaces).

    Returns
    -------
    se_bottom_index : (ny, nx) int32 array or None
        Equal to ``find_interfaces(scan).se_bottom_index``; None when the
        volume holds no SE.
    cell_columns : (ny, nx) bool array
    """
    scan.finish()
    cell = scan.cell_columns
    se_height, se_found = _se_heights(scan, cell, scan.voxel_size_um)
    if not se_found:
        return None, cell
    return np.where(cell, se_height, scan.shape[0]).astype(np.int32), cell
