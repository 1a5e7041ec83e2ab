"""The cell region: the bore of the PEEK tube, found in the scan, and the reconstruction circle.

A full-view reconstruction holds much more than the cell: the PEEK tube
around the 1 mm bore, the jig's fill gas outside it and, outside the
reconstruction circle, no data at all (zeros, NaN or a constant). PEEK
(0.9/cm) and 6 atm Xe (1.2/cm) have the grey values of gas-filled voids and
carbon, so left in they swamp the dark corner of the histogram where Li and
gas are told apart, and every column outside the bore counts as cell area
without Li. The cell region keeps them out.

The region is a cylinder along the stack axis (any array axis: the one
across which the no-data area is the outside of the reconstruction circle,
axis 0 when there is none; :attr:`CellRegion.axis`): the
bore, given by its centre at each end of the stack (it may sit off the
rotation axis and be slightly tilted) and its radius, shrunk by a margin
against the wall's partial volume; cut with the reconstruction circle when
the scan has one. :func:`find_cell_region` finds both from a few dozen
evenly spaced slabs (it never reads the whole scan); a scan that is a crop
of the cell's interior has no bore in view and gives None (the whole
volume is the cell).

A :class:`CellRegion` is a lazy boolean array: ``region[a:b]`` (or any
block index) computes that part of the mask, so it goes wherever a
streamed mask goes (:func:`~.histogram.volume_histogram`,
:func:`~.classify.classify_volume`) without ever being held whole. Saved as
JSON (:meth:`CellRegion.save`), it is what ``analyze --roi FILE`` reads and
what a viewer shows as a circle per end of the stack (:meth:`CellRegion.circles`).

Example
-------
>>> region = find_cell_region(image)            # doctest: +SKIP
>>> region.circles()                            # doctest: +SKIP
[{'plane': 0, 'centre_yx': (81.5, 72.1), 'radius_vox': 45.3}, {'plane': 159, ...}]
>>> hist = volume_histogram(image, mask=region)  # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage

from .chunks import CancelLike, ProgressCallback, raise_if_cancelled, read_block, read_slab

__all__ = ["Circle", "CellRegion", "find_cell_region", "no_data_value", "REGION_FORMAT"]

#: ``format`` key of a saved region file.
REGION_FORMAT = "napari-licell cell region v1"


@dataclass(frozen=True)
class Circle:
    """A circle in the (y, x) plane of every slice, whose centre may move linearly along axis 0.

    Attributes
    ----------
    centre_start, centre_end : (float, float)
        Centre (y, x, voxel coordinates) at plane 0 and at the last plane.
    radius_vox : float
        Radius in voxels.
    """

    centre_start: tuple[float, float]
    centre_end: tuple[float, float]
    radius_vox: float

    def centre_at(self, z: np.ndarray | float, n_planes: int) -> tuple[np.ndarray, np.ndarray]:
        t = np.asarray(z, dtype=np.float64) / max(n_planes - 1, 1)
        cy = self.centre_start[0] + t * (self.centre_end[0] - self.centre_start[0])
        cx = self.centre_start[1] + t * (self.centre_end[1] - self.centre_start[1])
        return cy, cx


@dataclass(frozen=True)
class CellRegion:
    """Where the cell is: inside the bore (and the reconstruction circle), shrunk by a margin.

    Behaves as a read-only boolean array of ``shape`` (``region[a:b]``,
    ``np.asarray(region[...])``) computed block by block.

    Attributes
    ----------
    shape : (int, int, int)
        Shape of the scan (z = stack axis, y, x).
    bore : Circle or None
        The bore of the PEEK tube; None when not in view.
    recon : Circle or None
        The reconstruction circle (data inside it only); None when the data fill the slices.
    margin_vox : float
        The bore's radius is reduced by this much (partial volume of the wall).
    no_data : float or None
        The constant the scan holds outside the reconstruction circle (None: NaN or none).
    source : str
        "found", "file" or "given".
    notes : tuple of str
        How it was found, for the report.
    whole_columns : bool
        Keep only the (y, x) columns that lie inside the bore in every plane
        (the two end circles' intersection): then every column is cell from
        the collector to the SE, as the layer measurements need, even in a
        tilted bore. False follows the tilted cylinder.
    axis : int
        The array axis the cylinder runs along (the stack axis). The circles
        are given in the planes across it: "plane" counts along ``axis``,
        (y, x) are the two other axes in their order. ``shape`` is the scan's.
    """

    shape: tuple[int, int, int]
    bore: Circle | None = None
    recon: Circle | None = None
    margin_vox: float = 2.0
    no_data: float | None = None
    source: str = "found"
    notes: tuple[str, ...] = field(default_factory=tuple)
    whole_columns: bool = True
    axis: int = 0

    # -- array-like ---------------------------------------------------------------------
    dtype = np.dtype(bool)

    @property
    def ndim(self) -> int:
        return 3

    def __getitem__(self, index: Any) -> np.ndarray:
        if not isinstance(index, tuple):
            index = (index,)
        index = index + (slice(None),) * (3 - len(index))
        ranges = []
        picks: list[tuple[int, np.ndarray]] = []
        for axis, (ix, n) in enumerate(zip(index, self.shape)):
            if isinstance(ix, (int, np.integer)):
                i = int(ix) + (n if ix < 0 else 0)
                ranges.append((i, i + 1, True))
            elif isinstance(ix, slice):
                a, b, step = ix.indices(n)
                if step != 1:
                    picks.append((axis, np.arange(0, b - a, step)))
                ranges.append((a, b, False))
            else:  # integer positions along this axis: computed over their span, then picked
                pos = np.asarray(ix, dtype=np.int64).ravel()
                pos = np.where(pos < 0, pos + n, pos)
                a, b = (int(pos.min()), int(pos.max()) + 1) if pos.size else (0, 0)
                picks.append((axis, pos - a))
                ranges.append((a, b, False))
        block = self.block(*((r[0], r[1]) for r in ranges))
        for axis, pos in picks:
            block = np.take(block, pos, axis=axis)
        squeeze = tuple(i for i, r in enumerate(ranges) if r[2])
        return block.squeeze(axis=squeeze) if squeeze else block

    def __array__(self, dtype=None, copy=None):
        out = self.block((0, self.shape[0]), (0, self.shape[1]), (0, self.shape[2]))
        return out if dtype is None else out.astype(dtype)

    @property
    def frame_shape(self) -> tuple[int, int, int]:
        """Shape with the cylinder's axis first: (planes along ``axis``, then the two other axes)."""
        a, b = (i for i in range(3) if i != self.axis)
        return (self.shape[self.axis], self.shape[a], self.shape[b])

    def block(self, r0: tuple[int, int], r1: tuple[int, int], r2: tuple[int, int]) -> np.ndarray:
        """The mask of ``[a0:a1, b0:b1, c0:c1]`` in the scan's axis order (bool)."""
        if self.axis == 0:
            return self._frame_block(r0, r1, r2)
        ranges = (r0, r1, r2)
        a, b = (i for i in range(3) if i != self.axis)
        frame = self._frame_block(ranges[self.axis], ranges[a], ranges[b])
        return np.moveaxis(frame, 0, self.axis)

    def _frame_block(self, zr: tuple[int, int], yr: tuple[int, int], xr: tuple[int, int]) -> np.ndarray:
        """The mask of ``[z0:z1, y0:y1, x0:x1]`` with the cylinder's axis first (bool)."""
        n_planes = self.frame_shape[0]
        z = np.arange(zr[0], zr[1], dtype=np.float64)
        y = np.arange(yr[0], yr[1], dtype=np.float64)[None, :, None]
        x = np.arange(xr[0], xr[1], dtype=np.float64)[None, None, :]
        out = np.ones((z.size, y.shape[1], x.shape[2]), dtype=bool)
        circles = [(self.recon, 1.5)]
        if self.bore is not None and self.whole_columns:  # inside at both ends = inside in every plane
            b = self.bore
            circles += [
                (Circle(b.centre_start, b.centre_start, b.radius_vox), self.margin_vox),
                (Circle(b.centre_end, b.centre_end, b.radius_vox), self.margin_vox),
            ]
        else:
            circles.append((self.bore, self.margin_vox))
        circles = [(c, shrink) for c, shrink in circles if c is not None]
        if z.size > 1 and all(c.centre_start == c.centre_end for c, _ in circles):  # the same in every plane
            out[:] = self._frame_block((zr[0], zr[0] + 1), yr, xr)[0]
            return out
        for circle, shrink in circles:
            cy, cx = circle.centre_at(z, n_planes)
            r = max(circle.radius_vox - shrink, 0.0)
            out &= (y - cy[:, None, None]) ** 2 + (x - cx[:, None, None]) ** 2 < r * r
        return out

    @property
    def is_whole_volume(self) -> bool:
        """True when nothing is excluded."""
        return self.bore is None and self.recon is None

    def voxel_count(self) -> int:
        """Voxels inside the region (plane by plane)."""
        return int(
            sum(int(self.block((z, z + 1), (0, self.shape[1]), (0, self.shape[2])).sum()) for z in range(self.shape[0]))
        )

    def share_of_volume(self) -> float:
        """Share of the scan's voxels inside the region."""
        return self.voxel_count() / float(np.prod(self.shape, dtype=np.float64))

    # -- for a viewer -------------------------------------------------------------------
    def circles(self) -> list[dict[str, Any]]:
        """The bore as a circle at each end of the stack (what a viewer draws and lets the user move).

        Returns
        -------
        list of dict
            ``{"plane", "centre_yx", "radius_vox", "axis"}`` for plane 0 and the last
            plane along ``axis``, with the margin already taken off; empty when no bore was found.
        """
        if self.bore is None:
            return []
        r = max(self.bore.radius_vox - self.margin_vox, 0.0)
        return [
            {
                "plane": 0,
                "centre_yx": tuple(map(float, self.bore.centre_start)),
                "radius_vox": float(r),
                "axis": self.axis,
            },
            {
                "plane": self.frame_shape[0] - 1,
                "centre_yx": tuple(map(float, self.bore.centre_end)),
                "radius_vox": float(r),
                "axis": self.axis,
            },
        ]

    def with_bore_circles(
        self, start: tuple[float, float], end: tuple[float, float], radius_vox: float
    ) -> "CellRegion":
        """A copy with the bore set from a circle per end (as drawn; the margin is not taken off again)."""
        bore = Circle(tuple(map(float, start)), tuple(map(float, end)), float(radius_vox) + self.margin_vox)
        return replace(self, bore=bore, source="given", notes=self.notes + ("bore set by hand",))

    # -- storage ------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["shape"] = list(self.shape)
        d["notes"] = list(self.notes)
        d["whole_columns"] = bool(self.whole_columns)
        for key in ("bore", "recon"):
            if d[key] is not None:
                d[key] = {
                    "centre_start": list(d[key]["centre_start"]),
                    "centre_end": list(d[key]["centre_end"]),
                    "radius_vox": float(d[key]["radius_vox"]),
                }
        if d["no_data"] is not None and not math.isfinite(d["no_data"]):
            d["no_data"] = None
        return {"format": REGION_FORMAT, **d}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "CellRegion":
        def circle(c):
            return (
                None
                if c is None
                else Circle(
                    tuple(map(float, c["centre_start"])), tuple(map(float, c["centre_end"])), float(c["radius_vox"])
                )
            )

        return cls(
            shape=tuple(int(s) for s in d["shape"]),
            bore=circle(d.get("bore")),
            recon=circle(d.get("recon")),
            margin_vox=float(d.get("margin_vox", 2.0)),
            no_data=d.get("no_data"),
            source=str(d.get("source", "file")),
            notes=tuple(d.get("notes", ())),
            whole_columns=bool(d.get("whole_columns", True)),
            axis=int(d.get("axis", 0)),
        )

    def save(self, path: str | os.PathLike) -> Path:
        """Write the region as JSON (atomically)."""
        from ..io.atomic import atomic_write_text

        path = Path(path)
        atomic_write_text(path, json.dumps(self.to_dict(), indent=2))
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> "CellRegion":
        """Read a region saved by :meth:`save`."""
        d = json.loads(Path(path).read_text(encoding="utf-8"))
        if not isinstance(d, dict) or d.get("format") != REGION_FORMAT:
            raise ValueError(f"not a cell region file (format {d.get('format') if isinstance(d, dict) else None!r})")
        return replace(cls.from_dict(d), source="file")


# --------------------------------------------------------------------------- finding
def no_data_value(plane: np.ndarray) -> float | None:
    """The constant a slice holds outside its reconstruction circle, or None.

    Taken from the slice's four corners: when they all hold one exact value
    (0, -1, 65535, ...) that value is no data. NaN no-data needs no value.
    """
    p = np.asarray(plane)
    if p.ndim != 2 or min(p.shape) < 8:
        return None
    k = max(2, min(p.shape) // 32)
    corners = np.concatenate([p[:k, :k].ravel(), p[:k, -k:].ravel(), p[-k:, :k].ravel(), p[-k:, -k:].ravel()])
    if corners.size == 0 or not np.all(np.isfinite(corners)):
        return None
    if np.all(corners == corners[0]):
        return float(corners[0])
    return None


def _touching_border(mask: np.ndarray) -> np.ndarray:
    """The parts of ``mask`` connected to the slice's border."""
    if not mask.any():
        return mask
    lab, n = ndimage.label(mask)
    border = np.unique(np.concatenate([lab[0], lab[-1], lab[:, 0], lab[:, -1]]))
    border = border[border > 0]
    return np.isin(lab, border)


def _shrink_valid(total: np.ndarray, missing: np.ndarray, factor: int) -> tuple[np.ndarray, np.ndarray]:
    """Block means of a summed plane and where the data are (the no-data area touching the border is not)."""
    ny, nx = (s // factor * factor for s in total.shape)
    t = total[:ny, :nx].reshape(ny // factor, factor, nx // factor, factor).sum(axis=(1, 3), dtype=np.float64)
    m = missing[:ny, :nx].reshape(ny // factor, factor, nx // factor, factor)
    n_ok = factor * factor - m.sum(axis=(1, 3))
    small_missing = m.any(axis=(1, 3))
    valid = ~_touching_border(small_missing)  # the no-data area lies outside; the same value inside is data
    # sums over the planes of a slab: scale by the voxels that held data
    return np.where(n_ok > 0, t / np.maximum(n_ok, 1), 0.0), valid


def _shrink(plane: np.ndarray, valid: np.ndarray, factor: int) -> tuple[np.ndarray, np.ndarray]:
    """Block means of a plane and of its valid mask (blocks with any invalid voxel are invalid)."""
    if factor == 1:
        return plane, valid
    ny, nx = (s // factor * factor for s in plane.shape)
    p = np.where(valid, plane, 0.0)[:ny, :nx].reshape(ny // factor, factor, nx // factor, factor)
    v = valid[:ny, :nx].reshape(ny // factor, factor, nx // factor, factor)
    return p.mean(axis=(1, 3)), v.all(axis=(1, 3))


def _otsu(values: np.ndarray) -> float | None:
    if values.size < 64:
        return None
    lo, hi = np.percentile(values, [0.5, 99.5])
    if not hi > lo:
        return None
    counts, edges = np.histogram(np.clip(values, lo, hi), bins=256, range=(lo, hi))
    centres = 0.5 * (edges[:-1] + edges[1:])
    w = np.cumsum(counts).astype(np.float64)
    m = np.cumsum(counts * centres)
    total_w, total_m = w[-1], m[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (total_m * w - m * total_w) ** 2 / (w * (total_w - w))
    between[~np.isfinite(between)] = -1
    return float(edges[int(np.argmax(between)) + 1])


def _disk_candidate(mask: np.ndarray, valid: np.ndarray, min_radius: float) -> tuple[float, float, float] | None:
    """(cy, cx, r) of the largest component of ``mask`` when it is a filled disk away from the data's edge."""
    lab, n = ndimage.label(mask)
    if n == 0:
        return None
    sizes = np.bincount(lab.ravel())
    sizes[0] = 0
    comp = lab == int(np.argmax(sizes))
    # a disk inside the data, not the annulus of the jig around it: it must not touch the edge of the data
    edge = ~valid
    edge[0, :] = edge[-1, :] = edge[:, 0] = edge[:, -1] = True
    if np.any(comp & ndimage.binary_dilation(edge, iterations=2)):
        return None
    filled = ndimage.binary_fill_holes(comp)
    area = float(filled.sum())
    r = math.sqrt(area / math.pi)
    if r < min_radius:
        return None
    cy, cx = ndimage.center_of_mass(filled)
    yy, xx = np.ogrid[: mask.shape[0], : mask.shape[1]]
    disk = (yy - cy) ** 2 + (xx - cx) ** 2 < r * r
    if comp.sum() < 0.85 * area or np.count_nonzero(disk & filled) < 0.93 * area:  # not a round filled disk
        return _outer_circle(comp, (float(cy), float(cx)), min_radius)
    return float(cy), float(cx), r


def _outer_circle(comp: np.ndarray, guess: tuple[float, float], min_radius: float, n_angles: int = 180):
    """(cy, cx, r) of the circle the outer edge of ``comp`` follows over most directions, or None.

    An SE riddled with Li masses is no filled disk: the masses that touch the
    bore's wall cut notches into it. Its outer edge still follows the wall
    wherever no mass touches it. The outermost pixel of ``comp`` in each of
    ``n_angles`` directions from ``guess`` is fitted with a circle (least
    squares), points far inside it (the notches) dropped and the fit repeated.
    Accepted when the circle follows the edge in at least 60 % of the
    directions, ``comp`` stays inside it and fills at least half of it.
    """
    ys, xs = np.nonzero(comp)
    dy, dx = ys - guess[0], xs - guess[1]
    rad = np.hypot(dy, dx)
    sector = ((np.arctan2(dy, dx) + math.pi) / (2 * math.pi) * n_angles).astype(np.int64) % n_angles
    order = np.lexsort((rad, sector))  # per sector, the outermost pixel last
    last = np.r_[np.flatnonzero(np.diff(sector[order])), order.size - 1]
    py, px = ys[order[last]].astype(np.float64), xs[order[last]].astype(np.float64)
    if py.size < 0.6 * n_angles:
        return None
    keep = np.ones(py.size, dtype=bool)
    for _ in range(4):  # algebraic circle fit: x^2 + y^2 = 2 a x + 2 b y + c
        a_mat = np.column_stack([2 * px[keep], 2 * py[keep], np.ones(np.count_nonzero(keep))])
        (cx, cy, c), *_ = np.linalg.lstsq(a_mat, px[keep] ** 2 + py[keep] ** 2, rcond=None)
        r = math.sqrt(max(c + cx * cx + cy * cy, 0.0))
        resid = np.hypot(py - cy, px - cx) - r
        keep = np.abs(resid) <= 1.5
    if np.count_nonzero(keep) < 0.6 * n_angles or r < min_radius:
        return None
    outside = np.hypot(ys - cy, xs - cx) > r + 1.5
    if np.count_nonzero(outside) > 0.01 * ys.size or ys.size < 0.5 * math.pi * r * r:
        return None
    return float(cy), float(cx), float(r) + 0.5  # the outermost pixel centres lie half a pixel inside the edge


def _recon_circle(valid: np.ndarray) -> tuple[float, float, float] | None:
    """(cy, cx, r) of the reconstruction circle when the data do not fill the slice."""
    if valid.all() or not valid.any():
        return None
    area = float(valid.sum())
    cy, cx = ndimage.center_of_mass(valid)
    return float(cy), float(cx), math.sqrt(area / math.pi)


def _fit_line(t: np.ndarray, v: np.ndarray, keep: np.ndarray) -> tuple[float, float]:
    if np.count_nonzero(keep) < 2 or np.ptp(t[keep]) == 0:
        return float(np.median(v[keep])), 0.0
    slope, offset = np.polyfit(t[keep], v[keep], 1)
    return float(offset), float(slope)


class _AxisView:
    """A scan seen with ``axis`` first (the two other axes keep their order), read plane by plane."""

    def __init__(self, data: Any, axis: int) -> None:
        self.data, self.axis = data, int(axis)
        src = tuple(int(n) for n in data.shape)
        a, b = (i for i in range(3) if i != self.axis)
        self.shape = (src[self.axis], src[a], src[b])
        self.dtype = np.dtype(data.dtype)
        self.ndim = 3

    def __getitem__(self, index: Any) -> np.ndarray:
        if not isinstance(index, tuple):
            index = (index,)
        first = index[0]
        if not isinstance(first, slice) or len(index) > 1 and any(ix != slice(None) for ix in index[1:]):
            raise IndexError("_AxisView reads whole planes only")
        src: list[Any] = [slice(None)] * 3
        src[self.axis] = first
        block = np.asarray(read_block(self.data, tuple(src)))
        return np.moveaxis(block, self.axis, 0)


def _no_data_pattern(data: Any, axis: int) -> str:
    """The no-data area of a plane across ``axis`` (a quarter in: a plane along the rotation axis through
    the middle can miss the circle's outside): "none", "corners" (outside a circle) or "band"."""
    view = _AxisView(data, axis) if axis else data
    m = view.shape[0] // 4
    plane = np.asarray(read_slab(view, m, m + 1)[0])
    missing = ~np.isfinite(plane) if plane.dtype.kind == "f" else np.zeros(plane.shape, dtype=bool)
    nd = no_data_value(np.where(missing, 0, plane) if missing.any() else plane)
    if nd is not None:
        missing |= plane == nd
    if missing.sum() < 0.01 * missing.size:
        return "none"
    along_rows = np.mean(missing == missing[missing.shape[0] // 2][None, :])
    along_cols = np.mean(missing == missing[:, missing.shape[1] // 2][:, None])
    return "band" if max(along_rows, along_cols) >= 0.98 else "corners"


def _rotation_axis(data: Any) -> int | None:
    """The array axis the CT rotated about, from the no-data area of a plane across each axis.

    Across the rotation axis the no-data area is what lies outside the
    reconstruction circle (the corners); in a plane along it, it is two bands
    that run the plane's whole length (the circle seen from the side). Axis 0
    is looked at first (one contiguous plane); the other axes (strided reads)
    only when axis 0 shows such bands. None when it cannot be told.
    """
    first = _no_data_pattern(data, 0)
    if first == "corners":
        return 0
    if first == "none":
        return None
    found = [axis for axis in (1, 2) if _no_data_pattern(data, axis) == "corners"]
    return found[0] if len(found) == 1 else None


def _read_sample_slabs(data, starts, planes_per_sample, factor, progress, cancel):
    """The sampled slabs, each averaged over its planes and shrunk: ([(small, valid)], recon rows, no-data value).

    Plane by plane: one plane and a few plane-sized sums in memory, whatever the plane size; the
    shrunk slabs (at most ``max_plane_pixels`` a side each) are kept for the ring estimate.
    """
    nz = int(data.shape[0])
    slabs: list[tuple[np.ndarray, np.ndarray]] = []
    recon_rows: list[tuple[float, float, float]] = []
    no_data: float | None = None
    for i, z0 in enumerate(starts):
        raise_if_cancelled(cancel)
        total = missing = None
        for z in range(int(z0), int(min(nz, z0 + planes_per_sample))):
            plane = np.asarray(read_slab(data, z, z + 1)[0], dtype=np.float32)
            nd = no_data_value(plane)
            if nd is not None:
                no_data = nd
            gone = ~np.isfinite(plane)
            if nd is not None:
                gone |= plane == np.float32(nd)
            plane[gone] = 0.0
            total = plane if total is None else total + plane
            missing = gone if missing is None else missing & gone
        small, small_valid = _shrink_valid(total, missing, factor)
        rc = _recon_circle(small_valid)
        if rc is not None:
            recon_rows.append(rc)
        slabs.append((small.astype(np.float32), small_valid))
        if progress is not None:
            progress(i + 1, len(starts))
    return slabs, recon_rows, no_data


def _suppress_rings(slabs: list[tuple[np.ndarray, np.ndarray]], centre: tuple[float, float], width: int = 7) -> float:
    """Take the ring artifacts off the shrunk slabs (in place); returns the rms of the offsets taken off.

    Rings add one grey offset per radius from the rotation axis, the same in
    every plane. Of each slab's radial profile (mean per whole-pixel radius)
    the part a running median over ``width`` radii does not follow is kept;
    the jig's walls and the bore's edge are steps and ramps in the radius,
    which a running median follows, and the cell's content changes from slab
    to slab, so the median over the slabs of what is kept is the rings. Rings
    of 0.3/cm are as large as the contrast of the Li layer against the PEEK
    wall (0.8/cm) and otherwise break the dark disk of the bore apart. Nothing
    is taken off when the offsets are within what the slabs leave uncertain or
    under a quarter of a pixel's noise.
    """
    if len(slabs) < 3:
        return 0.0
    shape = slabs[0][0].shape
    yy = np.arange(shape[0], dtype=np.float64)[:, None] - centre[0]
    xx = np.arange(shape[1], dtype=np.float64)[None, :] - centre[1]
    k = np.rint(np.hypot(yy, xx)).astype(np.int64)
    n_r = int(k.max()) + 1
    profiles: list[tuple[np.ndarray, np.ndarray]] = []  # (radii seen, mean grey per radius) of each slab
    for small, valid in slabs:
        cnt = np.bincount(k[valid], minlength=n_r)
        tot = np.bincount(k[valid], weights=small[valid], minlength=n_r)
        seen = np.flatnonzero(cnt >= 8)
        if seen.size >= 2 * width:
            profiles.append((seen, tot[seen] / cnt[seen]))
    if len(profiles) < 3:
        return 0.0
    # the running median of a profile takes up part of large rings: estimate, take off, estimate again
    offsets = np.zeros(n_r)
    for _ in range(3):
        rows = np.full((len(profiles), n_r), np.nan)
        for j, (seen, prof) in enumerate(profiles):
            left = prof - offsets[seen]
            rows[j, seen] = left - ndimage.median_filter(left, size=width, mode="nearest")
        seen = np.isfinite(rows).sum(axis=0) >= 3
        if not seen.any():
            return 0.0
        offsets[seen] += np.nanmedian(rows[:, seen], axis=0)
    # what the slabs leave uncertain (standard error of the median over slabs, robust): nothing to take off
    spread = 1.4826 * np.nanmedian(np.abs(rows[:, seen] - np.nanmedian(rows[:, seen], axis=0)), axis=0)
    error = 1.25 * float(np.median(spread)) / math.sqrt(len(profiles))
    rms = float(np.sqrt(np.mean(offsets[seen] ** 2)))
    # and what is small against a pixel's noise (neighbour differences, robust) does not hide anything:
    # the jig's walls leave a few thousandths of a grey value that look like rings in every slab
    noise = float(
        np.median(
            [1.4826 * np.median(np.abs(np.diff(sm, axis=1)[v[:, 1:] & v[:, :-1]])) / math.sqrt(2) for sm, v in slabs]
        )
    )
    if not (rms > 3.0 * error and rms > 0.25 * noise):
        return 0.0
    ring_img = offsets[k].astype(np.float32)
    for small, valid in slabs:
        small[valid] -= ring_img[valid]
    return rms


def _bore_in_slab(small: np.ndarray, small_valid: np.ndarray, min_radius: float):
    """(cy, cx, r) of the bore in one shrunk slab, or None (see :func:`_find_along_first_axis`)."""
    values = small[small_valid]
    t = _otsu(values)
    if t is None:
        return None
    lo, hi = values[values < t], values[values >= t]
    spread = math.sqrt(0.5 * (lo.var() + hi.var())) if lo.size and hi.size else 0.0
    if not (lo.size and hi.size and hi.mean() - lo.mean() > 3.0 * spread):
        return None
    for cls_mask in (small >= t, small < t):
        found = _disk_candidate(cls_mask & small_valid, small_valid, min_radius)
        if found is not None:
            return found
    return None


def find_cell_region(
    data: Any,
    *,
    stack_axis: int | None = None,
    n_samples: int = 32,
    planes_per_sample: int = 4,
    max_plane_pixels: int = 512,
    margin_vox: float | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelLike = None,
) -> CellRegion | None:
    """Find the bore of the PEEK tube (and the reconstruction circle) in a scan, along any array axis.

    ``stack_axis`` (the array axis the cell's layers are stacked along, which
    is the rotation axis of the CT) is used when given. Otherwise the axis
    across which the no-data area is the outside of the reconstruction circle
    (:func:`_rotation_axis`); axis 0 when that cannot be told (a crop of the
    interior holds no no-data).
    See :func:`_find_along_first_axis` for how the bore is found.
    """
    shape = tuple(int(s) for s in data.shape)
    if len(shape) != 3:
        raise ValueError("the cell region is found in a 3D scan")
    kwargs = dict(
        n_samples=n_samples,
        planes_per_sample=planes_per_sample,
        max_plane_pixels=max_plane_pixels,
        margin_vox=margin_vox,
        progress=progress,
        cancel=cancel,
    )
    if stack_axis is not None and int(stack_axis) != 0:
        found = _find_along_first_axis(_AxisView(data, int(stack_axis)), **kwargs)
        return None if found is None else replace(found, shape=shape, axis=int(stack_axis))
    axis = 0 if stack_axis is not None else (_rotation_axis(data) or 0)
    if axis == 0:
        return _find_along_first_axis(data, **kwargs)
    found = _find_along_first_axis(_AxisView(data, axis), **kwargs)
    if found is None:
        return None
    notes = found.notes + (f"the reconstruction circle lies across array axis {axis}: the region runs along it",)
    return replace(found, shape=shape, axis=axis, notes=notes)


def _find_along_first_axis(
    data: Any,
    *,
    n_samples: int = 32,
    planes_per_sample: int = 4,
    max_plane_pixels: int = 512,
    margin_vox: float | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelLike = None,
) -> CellRegion | None:
    """Find the bore of the PEEK tube (and the reconstruction circle) in a scan.

    Evenly spaced slabs of ``planes_per_sample`` planes are averaged (less
    noise) and shrunk to at most ``max_plane_pixels`` a side. When the
    reconstruction circle shows the rotation axis, ring artifacts (one offset
    per radius from it, the same in every slab) are measured on the slabs'
    radial profiles and taken off first (:func:`_suppress_rings`). In each, the
    valid data (finite, not the no-data constant of the corners) are split
    in two grey classes (Otsu); the bore is the class whose largest
    component is a filled round disk that does not touch the edge of the
    data: bright where the bore holds SE or the collector, dark where it
    holds the Li layer, skipped where it holds carbon (whose grey is the
    jig's). A straight line through the centres (robust to outliers) gives
    the bore's axis, the median radius its radius.

    Parameters
    ----------
    data : array-like (z, y, x)
        The scan, z along the stack axis (the cylinder's axis). Any number type.
    n_samples : int
        Slabs looked at.
    planes_per_sample : int
        Planes averaged per slab.
    max_plane_pixels : int
        Planes are shrunk (block means) to at most this many pixels a side.
    margin_vox : float, optional
        Taken off the bore's radius (default: 2 voxels + 1 % of the radius).
    progress, cancel
        As in the other streamed steps.

    Returns
    -------
    CellRegion or None
        None when neither a bore nor a reconstruction circle is in view
        (a crop of the cell's interior: the whole volume is the cell).
    """
    shape = tuple(int(s) for s in data.shape)
    if len(shape) != 3:
        raise ValueError("the cell region is found in a 3D scan")
    nz, ny, nx = shape
    factor = max(1, int(math.ceil(max(ny, nx) / max_plane_pixels)))
    starts = np.unique(np.linspace(0, max(nz - planes_per_sample, 0), min(n_samples, nz)).round().astype(int))
    slabs, recon_rows, no_data = _read_sample_slabs(data, starts, planes_per_sample, factor, progress, cancel)
    notes: list[str] = []
    if recon_rows and len(recon_rows) >= len(starts) // 2:  # rings are centred on the rotation axis
        centre = tuple(np.median(np.asarray(recon_rows)[:, :2], axis=0))
        rings = _suppress_rings(slabs, centre) / max(1, min(planes_per_sample, nz))  # slabs are sums of planes
        if rings > 0:
            notes.append(f"ring offsets of rms {rings:.3g} grey values taken off before looking for the bore")
    min_radius = 0.125 * min(ny, nx) / factor  # the bore spans at least a quarter of the slice
    rows: list[tuple[float, float, float, float]] = []
    for z0, (small, small_valid) in zip(starts, slabs):
        found = _bore_in_slab(small, small_valid, min_radius)
        if found is not None:
            rows.append((z0 + 0.5 * (planes_per_sample - 1), *found))
    scale = lambda c: (c + 0.5) * factor - 0.5  # noqa: E731 - shrunk pixel centre -> voxel coordinate
    recon = None
    if recon_rows and len(recon_rows) >= len(starts) // 2:
        arr = np.asarray(recon_rows)
        cy, cx, r = np.median(arr, axis=0)
        recon = Circle((scale(cy), scale(cx)), (scale(cy), scale(cx)), float(r) * factor)
        notes.insert(0, f"reconstruction circle of radius {recon.radius_vox:.0f} voxels")
    bore = None
    need = max(3, int(math.ceil(0.25 * len(starts))))
    if len(rows) >= need:
        arr = np.asarray(rows, dtype=np.float64)
        t, cy, cx, r = arr.T
        keep = np.abs(r - np.median(r)) <= max(1.5, 0.08 * np.median(r))
        for _ in range(3):
            oy, sy = _fit_line(t, cy, keep)
            ox, sx = _fit_line(t, cx, keep)
            resid = np.hypot(cy - (oy + sy * t), cx - (ox + sx * t))
            keep = keep & (resid <= max(1.5, 0.05 * np.median(r[keep]) if keep.any() else 1.5))
            if not keep.any():
                break
        if np.count_nonzero(keep) >= need:
            radius = float(np.median(r[keep])) * factor
            bore = Circle((scale(oy), scale(ox)), (scale(oy + sy * (nz - 1)), scale(ox + sx * (nz - 1))), radius)
            tilt = math.degrees(math.atan(math.hypot(sy, sx) * factor))
            notes.insert(
                0,
                f"bore of the cell found in {int(np.count_nonzero(keep))} of {len(starts)} sampled slabs: "
                f"radius {radius:.1f} voxels, tilt {tilt:.2f} degrees",
            )
    if bore is None and recon is None:
        return None
    if bore is None:
        notes.insert(0, "no bore in view: the region is the reconstruction circle")
    margin = float(margin_vox) if margin_vox is not None else (2.0 + 0.01 * bore.radius_vox if bore else 2.0)
    return CellRegion(shape, bore, recon, margin, no_data, "found", tuple(notes))
