"""Full-view scans: the cell inside its jig, as a lab CT reconstructs it.

The demo cells are clean crops of the cell's interior. A real reconstruction
shows the whole field of view: the cell fills the 1 mm bore of a PEEK tube,
the tube sits in a second PEEK tube with the jig's fill gas (6 atm Xe)
between and around them, and outside the reconstruction circle there is no
data (zeros, NaN or a constant). The bore can be off the rotation axis and
slightly tilted. On top come the reconstruction's artifacts: rings (a grey
offset per radius from the rotation axis), cupping (grey values rising
towards the rim from beam hardening) and slow drift along the stack axis.

Everything is physics: the jig's materials get their attenuation from
xraydb through :mod:`napari_licell.physics.attenuation` (PEEK C19H12O3 at
1.32 g/cm3, the gas by the ideal-gas law), the cell inside the bore is the
same ground truth as the crops (:func:`~.cell_geometry.generate_cell_geometry`),
imaged with the same blur and photon noise (:mod:`.imaging`). The
reconstruction is float32 in 1/cm; :func:`as_export` turns it into the
number types instruments export (uint8, uint16, int16 with negatives,
float32 quantized on a regular grid, float64).

Example
-------
>>> from napari_licell.phantoms import paper_cell
>>> from napari_licell.phantoms.full_view import JigView, make_full_view_cell
>>> spec = paper_cell("process3", shape=(160, 160, 160), charge_minutes=2474)
>>> cell = make_full_view_cell(spec, JigView.scaled_to_view(160 * 0.54))   # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from scipy import ndimage

from ..classes import BACKGROUND, LI
from ..physics.attenuation import gas_mu, material_mu
from .cell_geometry import generate_cell_geometry
from .cell_spec import CellSpec, CellState
from .imaging import ImagingSettings, attenuation_map, fbp_noise_sigma_per_cm
from .synthetic_cell import SyntheticCell, _imaging_metadata, cell_spec_metadata
from .voltage_curves import synthetic_voltage_curve

__all__ = ["JigView", "EXPORT_TYPES", "make_full_view_cell", "full_view_attenuation", "as_export", "bore_geometry"]

#: Number types :func:`as_export` writes.
EXPORT_TYPES = ("float32", "float32-quantized", "float64", "uint16", "int16", "uint8")


@dataclass(frozen=True)
class JigView:
    """The jig around the cell and the reconstruction's artifacts (lengths in micrometres).

    Attributes
    ----------
    bore_diameter_um : float
        Inner diameter of the PEEK tube holding the cell (the paper's: 1 mm).
    tube_wall_um : float
        Wall of that tube.
    gas_gap_um : float
        Fill gas between the tube and the outer PEEK tube of the jig.
    outer_wall_um : float
        Wall of the outer tube; beyond it the jig's gas again.
    jig_gas, jig_gas_pressure_atm : str, float
        Gas of the jig around the tubes (the paper's: 6 atm Xe).
    centre_offset_um : (float, float)
        Bore centre (y, x) relative to the rotation axis at the collector end (z = 0).
    tilt_deg : float
        Tilt of the bore axis from the stack axis, towards +x.
    recon_diameter_um : float or None
        Diameter of the reconstruction circle (centred on the rotation axis);
        None: the circle inscribed in the slice.
    no_data : float
        Value outside the reconstruction circle (0 or NaN; any constant).
    rings_per_cm : float
        Standard deviation of the ring offsets (1/cm), one random offset per
        whole-voxel radius from the rotation axis; 0 for none.
    cupping : float
        Relative rise of the attenuation at the rim of the reconstruction
        circle (``mu * (1 + cupping * (r / R)**2)``); 0 for none.
    drift : float
        Relative change of the grey scale from the first to the last plane; 0 for none.
    seed : int
        Seed of the ring offsets.
    """

    bore_diameter_um: float = 1000.0
    tube_wall_um: float = 500.0
    gas_gap_um: float = 250.0
    outer_wall_um: float = 1000.0
    jig_gas: str = "Xe"
    jig_gas_pressure_atm: float = 6.0
    centre_offset_um: tuple[float, float] = (0.0, 0.0)
    tilt_deg: float = 0.0
    recon_diameter_um: float | None = None
    no_data: float = 0.0
    rings_per_cm: float = 0.0
    cupping: float = 0.0
    drift: float = 0.0
    seed: int = 0

    @classmethod
    def scaled_to_view(cls, view_um: float, bore_share: float = 0.6, **changes: Any) -> "JigView":
        """The paper's jig shrunk so its bore is ``bore_share`` of a ``view_um`` wide slice.

        Small test volumes then show the bore, the tube wall (0.2 bore radii),
        the gas gap (0.1), the outer tube (0.15), the jig's gas beyond and the
        no-data corners.
        """
        base = cls()
        k = bore_share * float(view_um) / base.bore_diameter_um
        r = base.bore_diameter_um * k / 2.0
        return replace(
            base, bore_diameter_um=2.0 * r, tube_wall_um=0.2 * r, gas_gap_um=0.1 * r, outer_wall_um=0.15 * r, **changes
        )

    def with_(self, **changes: Any) -> "JigView":
        return replace(self, **changes)


def bore_geometry(jig: JigView, shape: tuple[int, int, int], voxel_size_um: float) -> dict[str, Any]:
    """The bore as the region finder should find it: centre (y, x) per end and radius, in voxels.

    Returns
    -------
    dict
        ``centre_start`` and ``centre_end`` (y, x voxel coordinates of the bore
        axis at plane 0 and at the last plane), ``radius_vox``.
    """
    nz, ny, nx = shape
    cy, cx = (ny - 1) / 2.0, (nx - 1) / 2.0
    oy, ox = (o / voxel_size_um for o in jig.centre_offset_um)
    slope = np.tan(np.radians(jig.tilt_deg))
    return {
        "centre_start": (cy + oy, cx + ox),
        "centre_end": (cy + oy, cx + ox + slope * (nz - 1)),
        "radius_vox": jig.bore_diameter_um / 2.0 / voxel_size_um,
    }


def _radius_from_bore(jig: JigView, shape, voxel_size_um: float, z: int) -> np.ndarray:
    """Distance (um) of every (y, x) of plane ``z`` from the bore axis."""
    g = bore_geometry(jig, shape, voxel_size_um)
    t = z / max(shape[0] - 1, 1)
    cy = g["centre_start"][0] + t * (g["centre_end"][0] - g["centre_start"][0])
    cx = g["centre_start"][1] + t * (g["centre_end"][1] - g["centre_start"][1])
    yy = np.arange(shape[1], dtype=np.float32)[:, None] - np.float32(cy)
    xx = np.arange(shape[2], dtype=np.float32)[None, :] - np.float32(cx)
    return np.hypot(yy, xx) * np.float32(voxel_size_um)


def full_view_attenuation(spec: CellSpec, jig: JigView, settings: ImagingSettings):
    """Ground truth of a full view: labels (0 outside the bore), Li share, attenuation (1/cm) and truth.

    Returns
    -------
    labels : ndarray of uint8
        Class codes; BACKGROUND (0) outside the bore.
    li_fraction : ndarray of float32
    mu : ndarray of float32
        Attenuation in 1/cm before blur, noise and artifacts.
    truth : CellTruth
        Volumes counted inside the bore only.
    inside : ndarray of bool
        The bore.
    """
    geometry = generate_cell_geometry(spec)
    labels, li_fraction = geometry.labels, geometry.li_fraction
    mu = attenuation_map(labels, li_fraction, spec.gas, spec.gas_pressure_atm, settings)
    peek = np.float32(material_mu("peek", settings.energy_ev))
    jig_gas = np.float32(gas_mu(jig.jig_gas, jig.jig_gas_pressure_atm, settings.energy_ev))
    r_bore = jig.bore_diameter_um / 2.0
    edges = np.cumsum([r_bore, jig.tube_wall_um, jig.gas_gap_um, jig.outer_wall_um])
    inside = np.zeros(labels.shape, dtype=bool)
    for z in range(spec.shape[0]):
        r = _radius_from_bore(jig, spec.shape, spec.voxel_size_um, z)
        inside[z] = r < r_bore
        ring = np.searchsorted(edges, r, side="right")  # 0 bore, 1 tube, 2 gap, 3 outer tube, 4 jig gas
        plane = mu[z]
        plane[ring == 1] = peek
        plane[ring == 2] = jig_gas
        plane[ring == 3] = peek
        plane[ring >= 4] = jig_gas
    labels[~inside] = BACKGROUND.code
    li_fraction[~inside] = 0.0
    truth = geometry.truth
    voxel_um3 = spec.voxel_size_um**3
    li = labels == LI.code
    zz = np.arange(spec.shape[0])[:, None, None] + 0.5
    truth.li_volume_um3 = float(li.sum()) * voxel_um3
    truth.li_in_se_volume_um3 = float((li & (zz >= truth.se_bottom_vox[None])).sum()) * voxel_um3
    truth.notes["full_view"] = True
    return labels, li_fraction, mu, truth, inside


def _reconstruct(mu: np.ndarray, spec: CellSpec, jig: JigView, settings: ImagingSettings) -> np.ndarray:
    """Blur, photon noise and artifacts in 1/cm (float32); no data outside the reconstruction circle."""
    rng = np.random.default_rng(settings.seed)
    nz, ny, nx = mu.shape
    vox = spec.voxel_size_um
    out = ndimage.gaussian_filter(mu, settings.psf_sigma_vox) if settings.psf_sigma_vox > 0 else mu.copy()
    sigma = fbp_noise_sigma_per_cm(settings.detected_photons_per_pixel, settings.n_projections, vox)
    out += rng.standard_normal(mu.shape, dtype=np.float32) * np.float32(sigma)
    yy = np.arange(ny, dtype=np.float32)[:, None] - np.float32((ny - 1) / 2.0)
    xx = np.arange(nx, dtype=np.float32)[None, :] - np.float32((nx - 1) / 2.0)
    r_axis = np.hypot(yy, xx)  # voxels from the rotation axis
    r_recon = (min(ny, nx) / 2.0) if jig.recon_diameter_um is None else jig.recon_diameter_um / 2.0 / vox
    if jig.cupping:
        out *= (1.0 + np.float32(jig.cupping) * (r_axis / np.float32(r_recon)) ** 2)[None]
    if jig.rings_per_cm:
        ring_rng = np.random.default_rng(jig.seed + 7919)
        offsets = ring_rng.standard_normal(int(r_axis.max()) + 2).astype(np.float32) * np.float32(jig.rings_per_cm)
        out += offsets[np.rint(r_axis).astype(np.int64)][None]  # one offset per whole-voxel radius
    if jig.drift:
        out *= (1.0 + np.float32(jig.drift) * np.linspace(0, 1, nz, dtype=np.float32))[:, None, None]
    out[:, r_axis >= r_recon] = np.float32(jig.no_data)
    return out


def as_export(mu: np.ndarray, kind: str, no_data: float = 0.0) -> tuple[np.ndarray, dict[str, float]]:
    """A float32 reconstruction in 1/cm as an instrument would export it.

    Parameters
    ----------
    mu : ndarray of float32
        Reconstruction in 1/cm (no-data voxels hold ``no_data``).
    kind : str
        One of :data:`EXPORT_TYPES`: ``float32`` (as is), ``float64``,
        ``float32-quantized`` (converted from a 16-bit export: values on a
        grid of 0.01/cm), ``uint16`` (1000 + 100 per 1/cm), ``int16``
        (-2000 + 100 per 1/cm: negatives for the dark phases),
        ``uint8`` (20 + 0.8 per 1/cm).

    Returns
    -------
    image : ndarray
    grey_scale : dict
        ``grey_offset`` and ``grey_per_inv_cm`` of the export (NaN no-data stays NaN in floats, 0 in integers).
    """
    scales = {
        "float32": (0.0, 1.0),
        "float64": (0.0, 1.0),
        "float32-quantized": (0.0, 1.0),
        "uint16": (1000.0, 100.0),
        "int16": (-2000.0, 100.0),
        "uint8": (20.0, 0.8),
    }
    if kind not in scales:
        raise ValueError(f"unknown export {kind!r}; choose from {EXPORT_TYPES}")
    offset, per = scales[kind]
    missing = ~np.isfinite(mu) | (mu == np.float32(no_data)) if np.isfinite(no_data) else ~np.isfinite(mu)
    if kind == "float32":
        return mu.astype(np.float32, copy=False), {"grey_offset": offset, "grey_per_inv_cm": per}
    if kind == "float64":
        return mu.astype(np.float64), {"grey_offset": offset, "grey_per_inv_cm": per}
    if kind == "float32-quantized":
        grey = np.clip(np.rint(1000.0 + 100.0 * mu.astype(np.float64)), 0, 65535)
        out = ((grey - 1000.0) / 100.0).astype(np.float32)
        out[missing] = np.float32(no_data)
        return out, {"grey_offset": offset, "grey_per_inv_cm": per}
    dt = np.dtype(kind)
    info = np.iinfo(dt)
    grey = np.clip(np.rint(offset + per * np.nan_to_num(mu.astype(np.float64))), info.min, info.max).astype(dt)
    grey[missing] = 0
    return grey, {"grey_offset": offset, "grey_per_inv_cm": per}


def make_full_view_cell(
    spec: CellSpec, jig: JigView | None = None, imaging: ImagingSettings | None = None, export: str = "float32"
) -> SyntheticCell:
    """A cell in its jig, reconstructed over the whole field of view.

    Parameters
    ----------
    spec : CellSpec
        The cell; ``spec.shape`` is the whole reconstructed volume (z, y, x),
        z the stack and rotation axis.
    jig : JigView, optional
        Jig, bore position and artifacts (default: the paper's jig scaled so
        the bore is 60 % of the slice width).
    imaging : ImagingSettings, optional
        Blur and photon noise (noise seed defaults to the spec's seed).
    export : str
        Number type of the image (:data:`EXPORT_TYPES`; default float32 in 1/cm).

    Returns
    -------
    SyntheticCell
        ``labels`` are 0 (background) outside the bore; ``metadata["bore"]``
        holds the bore (centre per end, radius, in voxels) and
        ``metadata["full_view"]`` the jig.
    """
    settings = imaging or ImagingSettings(seed=spec.seed)
    if jig is None:
        jig = JigView.scaled_to_view(min(spec.shape[1:]) * spec.voxel_size_um)
    labels, li_fraction, mu, truth, _inside = full_view_attenuation(spec, jig, settings)
    recon = _reconstruct(mu, spec, jig, settings)
    image, grey = as_export(recon, export, jig.no_data)
    metadata = _imaging_metadata(settings, False)
    metadata.update(grey)
    metadata.update(cell_spec_metadata(spec))
    metadata.update(
        {
            "export": export,
            "full_view": {k: (list(v) if isinstance(v, tuple) else v) for k, v in jig.__dict__.items()},
            "bore": {
                k: (list(v) if isinstance(v, tuple) else v)
                for k, v in bore_geometry(jig, spec.shape, spec.voxel_size_um).items()
            },
        }
    )
    return SyntheticCell(
        name=f"{spec.name}_fullview_{export}",
        image=image,
        labels=labels,
        li_fraction=li_fraction,
        voxel_size_um=spec.voxel_size_um,
        gas=spec.gas,
        gas_pressure_atm=spec.gas_pressure_atm,
        spec=spec,
        truth=truth,
        voltage=synthetic_voltage_curve(spec) if spec.state is CellState.AFTER else None,
        metadata=metadata,
    )
