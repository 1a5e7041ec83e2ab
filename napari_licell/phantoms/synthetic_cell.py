"""A complete synthetic scan: labels, attenuation, 16-bit image, voltage curve, metadata."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..echem.voltage_curve import VoltageCurve
from .cell_geometry import CellTruth, generate_cell_geometry
from .cell_spec import CellSpec, PROCESS_DESCRIPTIONS
from .dummy_cell import dummy_cell_labels
from .imaging import ImagingSettings, attenuation_map, image_faithful, image_fast
from .voltage_curves import synthetic_voltage_curve

__all__ = ["SyntheticCell", "make_synthetic_cell", "make_dummy_cell"]


@dataclass
class SyntheticCell:
    """One generated scan with its ground truth.

    Attributes
    ----------
    name : str
        Display name.
    image : ndarray of uint16
        The reconstruction (z, y, x).
    labels : ndarray of uint8
        Ground-truth class codes.
    li_fraction : ndarray of float32 or None
        Li share inside SE + Li voxels.
    voxel_size_um : float
        Cubic voxel size in micrometres.
    gas, gas_pressure_atm : str, float
        Fill gas and its pressure (atm).
    spec : CellSpec or None
        What the cell was made from (None for the dummy cell).
    truth : CellTruth or None
        Known answers.
    voltage : VoltageCurve or None
        Charging curve.
    metadata : dict
        Grey scale, imaging settings, process description.
    """

    name: str
    image: np.ndarray
    labels: np.ndarray
    li_fraction: np.ndarray | None
    voxel_size_um: float
    gas: str
    gas_pressure_atm: float
    spec: CellSpec | None = None
    truth: CellTruth | None = None
    voltage: VoltageCurve | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def scale(self) -> tuple[float, float, float]:
        """napari layer scale in micrometres."""
        return (self.voxel_size_um,) * 3


def _imaging_metadata(settings: ImagingSettings, faithful: bool) -> dict[str, Any]:
    return {
        "grey_offset": settings.grey.grey_offset,
        "grey_per_inv_cm": settings.grey.grey_per_inv_cm,
        "energy_ev": settings.energy_ev,
        "psf_sigma_vox": settings.psf_sigma_vox,
        "detected_photons_per_pixel": settings.detected_photons_per_pixel,
        "n_projections": settings.n_projections,
        "acquisition": "faithful-fbp" if faithful else "fast",
    }


def cell_spec_metadata(spec: CellSpec) -> dict[str, Any]:
    """What a synthetic cell's scan says of the cell: process, gas, charge, pressures (MPa), seed."""
    return {
        "process": spec.process.value,
        "process_description": PROCESS_DESCRIPTIONS[spec.process],
        "state": spec.state.value,
        "gas": spec.gas,
        "gas_pressure_atm": spec.gas_pressure_atm,
        "current_density_ma_cm2": spec.current_density_ma_cm2,
        "charge_minutes": spec.charge_minutes,
        "se_pressure_mpa": spec.se_pressure_mpa,
        "carbon_pressure_mpa": spec.carbon_pressure_mpa,
        "stack_pressure_mpa": 3.0,
        "seed": spec.seed,
        "synthetic": True,
    }


def _image(mu, vox, settings, faithful, progress):
    if faithful:
        return image_faithful(mu, vox, settings, progress=progress)
    return image_fast(mu, vox, settings)


def make_synthetic_cell(
    spec: CellSpec,
    imaging: ImagingSettings | None = None,
    faithful: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> SyntheticCell:
    """Generate the labels, the 16-bit scan and the voltage curve of ``spec``.

    Parameters
    ----------
    spec : CellSpec
        The cell.
    imaging : ImagingSettings, optional
        Acquisition settings; the noise seed defaults to the spec's seed.
    faithful : bool
        Simulate projections and filtered back-projection instead of the fast model.
    progress : callable(done, total), optional
        Called per reconstructed slice in faithful mode.
    """
    settings = imaging or ImagingSettings(seed=spec.seed)
    geometry = generate_cell_geometry(spec)
    mu = attenuation_map(geometry.labels, geometry.li_fraction, spec.gas, spec.gas_pressure_atm, settings)
    image = _image(mu, spec.voxel_size_um, settings, faithful, progress)
    voltage = synthetic_voltage_curve(spec) if spec.state.value == "after" else None
    metadata = _imaging_metadata(settings, faithful)
    metadata.update(cell_spec_metadata(spec))
    return SyntheticCell(
        name=spec.name,
        image=image,
        labels=geometry.labels,
        li_fraction=geometry.li_fraction,
        voxel_size_um=spec.voxel_size_um,
        gas=spec.gas,
        gas_pressure_atm=spec.gas_pressure_atm,
        spec=spec,
        truth=geometry.truth,
        voltage=voltage,
        metadata=metadata,
    )


def make_dummy_cell(
    gas: str,
    gas_pressure_atm: float,
    shape: tuple[int, int, int] = (160, 128, 128),
    voxel_size_um: float = 0.54,
    seed: int = 11,
    imaging: ImagingSettings | None = None,
) -> SyntheticCell:
    """The Li + carbon dummy cell filled with ``gas`` at ``gas_pressure_atm`` atm.

    The same labels are imaged for every gas (same seed), so an Ar/Xe pair
    differs only by the fill gas.
    """
    settings = imaging or ImagingSettings(seed=seed)
    labels = dummy_cell_labels(shape, voxel_size_um, seed)
    mu = attenuation_map(labels, None, gas, gas_pressure_atm, settings)
    image = image_fast(mu, voxel_size_um, settings)
    metadata = _imaging_metadata(settings, False)
    metadata.update({"gas": gas, "gas_pressure_atm": gas_pressure_atm, "dummy_cell": True, "synthetic": True})
    return SyntheticCell(
        name=f"dummy_{gas}{gas_pressure_atm:g}",
        image=image,
        labels=labels,
        li_fraction=None,
        voxel_size_um=voxel_size_um,
        gas=gas,
        gas_pressure_atm=gas_pressure_atm,
        metadata=metadata,
    )
