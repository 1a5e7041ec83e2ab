"""Xenon-contrast thresholding (Qt-free): histogram, threshold suggestion, classification,
carbon band, Li/void contrast verdict, grey-scale calibration and threshold sensitivity.

Typical use::

    from napari_licell.segmentation import volume_histogram, suggest_thresholds, classify_volume
    hist = volume_histogram(image)                 # exact, streamed
    inner = interior_histogram(image, estimate_noise_sigma(hist))  # uniform voxels only
    ts = suggest_thresholds(hist, interior=inner)  # ThresholdSet (JSON via to_dict)
    result = classify_volume(image, ts, histogram=hist)
    labels = result.labels                         # uint8 class codes (napari_licell.classes)
"""

from .calibration import GreyCalibration, ReferencePhase, auto_calibrate, calibrate, calibration_from_metadata
from .carbon_band import CarbonBand, StackAxis, find_carbon_band, find_stack_axis, label_carbon_band
from .cell_region import CellRegion, find_cell_region
from .chunks import Cancelled
from .classify import (
    DENOISE_METHODS,
    ClassificationResult,
    classify_block,
    classify_slice,
    classify_volume,
    denoise_block,
    with_levels,
)
from .contrast import DEFAULT_MIN_CNR, ContrastVerdict, li_void_contrast
from .fill_gas import GasInference, infer_fill_gas
from .histogram import Histogram, interior_histogram, value_grid, volume_histogram
from .materials import phase_mu
from .rings import RingCorrectedScan, RingProfile, estimate_rings
from .peaks import HistogramPeak, PhasePeaks, estimate_noise_sigma, find_phase_peaks, identify_phases
from .sensitivity import SensitivityRow, threshold_sensitivity
from .thresholds import (
    THRESHOLD_METHODS,
    ThresholdSet,
    class_levels,
    find_phases,
    multi_otsu,
    suggest_thresholds,
    threshold_lut,
)

__all__ = [
    "Cancelled",
    "CarbonBand",
    "CellRegion",
    "ClassificationResult",
    "ContrastVerdict",
    "DEFAULT_MIN_CNR",
    "DENOISE_METHODS",
    "GasInference",
    "GreyCalibration",
    "Histogram",
    "HistogramPeak",
    "PhasePeaks",
    "ReferencePhase",
    "RingCorrectedScan",
    "RingProfile",
    "SensitivityRow",
    "StackAxis",
    "THRESHOLD_METHODS",
    "ThresholdSet",
    "auto_calibrate",
    "calibrate",
    "calibration_from_metadata",
    "class_levels",
    "classify_block",
    "classify_slice",
    "classify_volume",
    "denoise_block",
    "estimate_noise_sigma",
    "estimate_rings",
    "find_cell_region",
    "find_carbon_band",
    "find_phase_peaks",
    "find_phases",
    "find_stack_axis",
    "identify_phases",
    "infer_fill_gas",
    "interior_histogram",
    "label_carbon_band",
    "li_void_contrast",
    "multi_otsu",
    "phase_mu",
    "suggest_thresholds",
    "threshold_lut",
    "threshold_sensitivity",
    "value_grid",
    "volume_histogram",
    "with_levels",
]
