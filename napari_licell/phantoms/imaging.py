"""From ground-truth labels to a 16-bit CT reconstruction.

Two modes:

* fast (default): attenuation map -> partial-volume blur (Gaussian PSF) ->
  Gaussian noise whose level follows photon statistics of filtered
  back-projection -> 16-bit grey values;
* faithful: parallel-beam projections over 180 degrees (1000 by default, the
  paper's), Poisson noise on the detected photons, filtered back-projection
  (scikit-image ``radon``/``iradon``), slice by slice.

Grey values are linear in attenuation: ``grey = grey_offset + grey_per_inv_cm * mu``
with mu in 1/cm. Both numbers travel with the image (:class:`GreyScale`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
from scipy import ndimage

from ..classes import BACKGROUND, CARBON, LI, METAL, SE, SE_LI, VOID
from ..physics.attenuation import MO_K_ALPHA_EV, gas_mu, material_mu, porous_mu

__all__ = [
    "GreyScale",
    "ImagingSettings",
    "class_attenuation",
    "attenuation_map",
    "fbp_noise_sigma_per_cm",
    "image_fast",
    "image_faithful",
    "to_grey",
]


@dataclass(frozen=True)
class GreyScale:
    """Linear map from attenuation (1/cm) to stored 16-bit grey values."""

    grey_offset: float = 1000.0
    grey_per_inv_cm: float = 100.0

    def to_mu(self, grey):
        """Grey values -> attenuation in 1/cm."""
        return (np.asarray(grey, dtype=np.float64) - self.grey_offset) / self.grey_per_inv_cm

    def to_grey(self, mu):
        """Attenuation in 1/cm -> (float) grey values."""
        return self.grey_offset + self.grey_per_inv_cm * np.asarray(mu, dtype=np.float64)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class ImagingSettings:
    """How the synthetic scan is acquired.

    Attributes
    ----------
    energy_ev : float
        Photon energy in eV (Mo K-alpha by default).
    psf_sigma_vox : float
        Standard deviation of the Gaussian point-spread function, voxels.
    detected_photons_per_pixel : float
        Exposure: photons detected per detector pixel and projection behind
        the sample. Sets the noise of the reconstruction.
    n_projections : int
        Projections over 180 degrees.
    carbon_porosity : float
        Pore share of the carbon interlayer (pores hold the fill gas).
    grey : GreyScale
        Grey-value scale of the 16-bit output.
    seed : int
        Seed of the noise.
    """

    energy_ev: float = MO_K_ALPHA_EV
    psf_sigma_vox: float = 0.5
    detected_photons_per_pixel: float = 6.0e6
    n_projections: int = 1000
    carbon_porosity: float = 0.5
    grey: GreyScale = GreyScale()
    seed: int = 0


def class_attenuation(
    gas: str, gas_pressure_atm: float, settings: ImagingSettings = ImagingSettings()
) -> dict[int, float]:
    """Attenuation in 1/cm of every class code of a cell filled with ``gas``.

    SE + Li voxels are given for pure SE here; :func:`attenuation_map` mixes
    in their Li share.
    """
    gas_value = gas_mu(gas, gas_pressure_atm, settings.energy_ev)
    return {
        BACKGROUND.code: gas_value,
        LI.code: material_mu("li", settings.energy_ev),
        VOID.code: gas_value,
        SE_LI.code: material_mu("se", settings.energy_ev),
        SE.code: material_mu("se", settings.energy_ev),
        CARBON.code: porous_mu(material_mu("carbon", settings.energy_ev), gas_value, settings.carbon_porosity),
        METAL.code: material_mu("steel", settings.energy_ev),
    }


def attenuation_map(
    labels: np.ndarray,
    li_fraction: np.ndarray | None,
    gas: str,
    gas_pressure_atm: float,
    settings: ImagingSettings = ImagingSettings(),
) -> np.ndarray:
    """Attenuation (1/cm, float32) of every voxel; SE + Li voxels mix Li and SE by volume."""
    table = class_attenuation(gas, gas_pressure_atm, settings)
    lut = np.zeros(256, dtype=np.float32)
    for code, mu in table.items():
        lut[code] = mu
    mu = lut[labels]
    if li_fraction is not None:
        mixed = labels == SE_LI.code
        mu[mixed] = li_fraction[mixed] * table[LI.code] + (1 - li_fraction[mixed]) * table[SE.code]
    return mu


def fbp_noise_sigma_per_cm(detected_photons_per_pixel: float, n_projections: int, voxel_size_um: float) -> float:
    """Noise (1/cm) of a ramp-filtered parallel-beam reconstruction.

    sigma = pi / (d * sqrt(12 * N * I)), with detector pixel d (cm), N
    projections and I detected photons per pixel and projection (the
    log-transformed projection has variance 1/I; the Ram-Lak kernel sums to
    1/(12 d^2) in square; back-projection averages N views with weight pi/N).
    """
    d_cm = voxel_size_um * 1e-4
    return float(np.pi / (d_cm * np.sqrt(12.0 * n_projections * detected_photons_per_pixel)))


def to_grey(mu: np.ndarray, grey: GreyScale) -> np.ndarray:
    """Attenuation (1/cm) -> uint16 grey values, clipped to the 16-bit range."""
    out = grey.to_grey(mu)
    return np.clip(np.rint(out), 0, 65535).astype(np.uint16)


def image_fast(mu: np.ndarray, voxel_size_um: float, settings: ImagingSettings = ImagingSettings()) -> np.ndarray:
    """Partial-volume blur and photon noise on an attenuation map; returns uint16."""
    rng = np.random.default_rng(settings.seed)
    blurred = ndimage.gaussian_filter(mu, settings.psf_sigma_vox) if settings.psf_sigma_vox > 0 else mu.copy()
    sigma = fbp_noise_sigma_per_cm(settings.detected_photons_per_pixel, settings.n_projections, voxel_size_um)
    blurred += rng.standard_normal(mu.shape, dtype=np.float32) * np.float32(sigma)
    return to_grey(blurred, settings.grey)


def image_faithful(
    mu: np.ndarray,
    voxel_size_um: float,
    settings: ImagingSettings = ImagingSettings(),
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """Simulate the acquisition slice by slice: projections, Poisson noise, FBP; returns uint16.

    Each z slice is projected over ``settings.n_projections`` angles in 180
    degrees (parallel beam, rotation axis along z), the detected counts are
    drawn from a Poisson law with ``detected_photons_per_pixel`` open-beam
    photons, and the slice is reconstructed by ramp-filtered back-projection.
    """
    from skimage.transform import iradon, radon

    rng = np.random.default_rng(settings.seed)
    d_cm = voxel_size_um * 1e-4
    theta = np.linspace(0.0, 180.0, settings.n_projections, endpoint=False)
    nz, ny, nx = mu.shape
    out = np.empty(mu.shape, dtype=np.float32)
    blurred = (
        ndimage.gaussian_filter(mu, (0, settings.psf_sigma_vox, settings.psf_sigma_vox))
        if settings.psf_sigma_vox > 0
        else mu
    )
    for z in range(nz):
        line_integrals = radon(blurred[z].astype(np.float64) * d_cm, theta=theta, circle=False)
        counts = rng.poisson(settings.detected_photons_per_pixel * np.exp(-line_integrals))
        measured = -np.log(np.maximum(counts, 1) / settings.detected_photons_per_pixel)
        recon = iradon(measured, theta=theta, filter_name="ramp", circle=False, output_size=max(ny, nx))
        out[z] = recon[:ny, :nx] / d_cm
        if progress is not None:
            progress(z + 1, nz)
    return to_grey(out, settings.grey)
