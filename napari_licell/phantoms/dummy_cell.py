"""The paper's dummy cell: lithium metal and carbon loaded into the jig, no electrolyte.

Filled once with 1 atm argon and once with 6 atm xenon, it shows why xenon
is needed: in argon Li and the gas-filled space look the same.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ..classes import CARBON, LABEL_DTYPE, LI, METAL, VOID
from .cell_geometry import _paint_ellipsoid, _smooth_field

__all__ = ["dummy_cell_labels"]


def dummy_cell_labels(
    shape: tuple[int, int, int] = (160, 128, 128), voxel_size_um: float = 0.54, seed: int = 11
) -> np.ndarray:
    """Labels of a dummy cell: steel plunger, a Li foil piece, porous carbon grains, gas around.

    Parameters
    ----------
    shape : tuple of int
        (z, y, x) voxels; z = 0 is the steel plunger.
    voxel_size_um : float
        Cubic voxel size in micrometres.
    seed : int
        Random seed.

    Returns
    -------
    ndarray of uint8
        Class codes: metal, Li, carbon, gas-filled void.
    """
    rng = np.random.default_rng(seed)
    nz, ny, nx = shape
    vox = voxel_size_um
    labels = np.full(shape, VOID.code, dtype=LABEL_DTYPE)
    zz = np.arange(nz)[:, None, None] + 0.5
    steel_top = 8.0 / vox + 0.3 / vox * _smooth_field(rng, (ny, nx), 6.0)
    labels[zz < steel_top[None]] = METAL.code
    # a Li foil piece with a ragged cut edge on the left half, resting on the plunger
    xx = np.arange(nx)[None, None, :]
    edge = nx * 0.45 + 4.0 / vox * _smooth_field(rng, (nz, ny), 10.0)[:, :, None]
    foil_top = steel_top + 40.0 / vox + 2.0 / vox * _smooth_field(rng, (ny, nx), 12.0)
    foil = (xx < edge) & (zz >= steel_top[None]) & (zz < foil_top[None])
    labels[foil] = LI.code
    # porous carbon grains piled on the right half
    grains = np.zeros(shape, dtype=bool)
    for _ in range(60):
        r = rng.uniform(5.0, 10.0) / vox
        centre = (rng.uniform(steel_top.mean(), nz * 0.8), rng.uniform(0, ny), rng.uniform(nx * 0.55, nx))
        _paint_ellipsoid(grains, centre, (r, r * rng.uniform(0.8, 1.2), r * rng.uniform(0.8, 1.2)))
    grains = ndimage.binary_opening(grains, iterations=1)
    labels[grains & (labels == VOID.code)] = CARBON.code
    return labels
