"""Pixel classifier (Qt-free): multi-scale voxel features, a random forest trained on painted voxels, slice interpolation."""

from .features import FeatureSettings, compute_features, feature_halo, feature_names, slab_features
from .forest import MODEL_FORMAT_VERSION, PixelClassifier, PredictionCancelled, TrainingSummary
from .interpolate import interpolate_between_slices, signed_distance
from .transfer import TransferSettings
from .uncertainty import SliceSuggestion, next_best_slice

__all__ = [
    "FeatureSettings",
    "MODEL_FORMAT_VERSION",
    "PixelClassifier",
    "PredictionCancelled",
    "SliceSuggestion",
    "TrainingSummary",
    "TransferSettings",
    "compute_features",
    "feature_halo",
    "feature_names",
    "interpolate_between_slices",
    "next_best_slice",
    "signed_distance",
    "slab_features",
]
