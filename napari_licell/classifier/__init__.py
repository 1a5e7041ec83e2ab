"""Pixel classifier (Qt-free): multi-scale voxel features, a random forest trained on painted voxels, slice interpolation."""

from .features import FeatureSettings, compute_features, feature_halo, feature_names, slab_features
from .forest import MODEL_FORMAT_VERSION, PixelClassifier, PredictionCancelled, TrainingSummary
from .interpolate import interpolate_between_slices, signed_distance

__all__ = [
    "FeatureSettings",
    "MODEL_FORMAT_VERSION",
    "PixelClassifier",
    "PredictionCancelled",
    "TrainingSummary",
    "compute_features",
    "feature_halo",
    "feature_names",
    "interpolate_between_slices",
    "signed_distance",
    "slab_features",
]
