"""Physics-grounded synthetic cells: ground-truth labels, simulated CT and voltage curves (Qt-free)."""

from .cell_geometry import CellGeometry, CellTruth, generate_cell_geometry
from .cell_spec import BondingProcess, CellSpec, CellState, PROCESS_DESCRIPTIONS, paper_cell
from .full_view import EXPORT_TYPES, JigView, make_full_view_cell
from .demo_study import DEMO_CELL_NAMES, load_demo_cell, load_demo_study, make_demo_cell
from .imaging import GreyScale, ImagingSettings, attenuation_map, image_faithful, image_fast
from .synthetic_cell import SyntheticCell, make_dummy_cell, make_synthetic_cell
from .voltage_curves import INLI_VS_LI_V, synthetic_voltage_curve

__all__ = [
    "BondingProcess",
    "CellGeometry",
    "EXPORT_TYPES",
    "JigView",
    "make_full_view_cell",
    "CellSpec",
    "CellState",
    "CellTruth",
    "DEMO_CELL_NAMES",
    "GreyScale",
    "ImagingSettings",
    "INLI_VS_LI_V",
    "PROCESS_DESCRIPTIONS",
    "SyntheticCell",
    "attenuation_map",
    "generate_cell_geometry",
    "image_faithful",
    "image_fast",
    "load_demo_cell",
    "load_demo_study",
    "make_demo_cell",
    "make_dummy_cell",
    "make_synthetic_cell",
    "paper_cell",
    "synthetic_voltage_curve",
]
