"""Measurements of lithium deposition from class labels (Qt-free).

Everything works slab by slab along the stack axis, so gigavoxel label
volumes (numpy memmaps, dask or zarr arrays) are measured with bounded
memory. Start with :func:`measure_cell`; its :class:`CellMeasurements`
holds the interfaces, the Li layer, Li inside the SE, class fractions and
depth profiles, the SE + Li unmixing, the Faraday check and the verdict.
"""

from .faraday_check import FaradayCheck, faraday_check
from .fractions import ClassFractions, DepthProfiles, class_fractions, depth_profiles
from .interfaces import Interfaces, PlaneFit, Surface, fit_plane, normal_cosine
from .li_in_se import LiInSe, LiMasses, LiPath
from .li_layer import LiLayer
from .provenance import Provenance, input_record, make_provenance, sha256_file, software_versions
from .results import CellMeasurements, MeasurementCancelled, measure_cell
from .sensitivity import ThresholdSensitivity, threshold_sensitivity
from .stack_axis import StackOrientation, find_stack_axis
from .unmixing import SeLiUnmixing, unmix_li_share
from .verdict import NON_UNIFORM, UNDETERMINED, UNIFORM, Verdict, judge_deposition

__all__ = [
    "CellMeasurements",
    "ClassFractions",
    "DepthProfiles",
    "FaradayCheck",
    "Interfaces",
    "LiInSe",
    "LiLayer",
    "LiMasses",
    "LiPath",
    "MeasurementCancelled",
    "NON_UNIFORM",
    "PlaneFit",
    "Provenance",
    "SeLiUnmixing",
    "StackOrientation",
    "Surface",
    "ThresholdSensitivity",
    "UNDETERMINED",
    "UNIFORM",
    "Verdict",
    "class_fractions",
    "depth_profiles",
    "faraday_check",
    "find_stack_axis",
    "fit_plane",
    "input_record",
    "judge_deposition",
    "make_provenance",
    "measure_cell",
    "normal_cosine",
    "sha256_file",
    "software_versions",
    "threshold_sensitivity",
    "unmix_li_share",
]
