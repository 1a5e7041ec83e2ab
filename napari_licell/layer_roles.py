"""What a layer is to napari-licell: a CT scan, or something made from one (labels, a preview, a map...).

Every layer the project makes carries ``metadata["role"]`` and, when it was
made from a scan, ``metadata["scan"]`` (the scan layer's name). The docks use
these two keys to decide what to follow: only CT scans are thresholded,
painted on or measured against; when the user switches cells, the layers of
the other cells' scans are hidden. Layers from elsewhere (another plugin,
File > Open) carry no role: a 2D or 3D grey image counts as a scan.

Qt-free; duck-typed on napari's layer classes (``layer.metadata``, ``layer.ndim``,
``layer.rgb``), so the core never imports napari.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

__all__ = ["Role", "role_of", "scan_of", "is_ct_scan", "tagged", "belongs_to"]


class Role(str, Enum):
    """Roles of layers made by napari-licell."""

    SCAN = "scan"
    """A reconstructed CT volume (or one section of it)."""
    LABELS = "labels"
    """Class codes of a whole scan (thresholds applied, opened, or from ``analyze``)."""
    PREVIEW = "preview"
    """Class codes of the displayed section only (Thresholds dock live preview)."""
    CLASSES = "classes"
    """The Paint dock's result: prediction plus hand edits."""
    SCRIBBLES = "scribbles"
    """Only the strokes painted by hand (the classifier's training data)."""
    UNCERTAINTY = "uncertainty"
    """1 - max class probability of the pixel classifier."""
    THICKNESS_MAP = "thickness_map"
    """The Li layer thickness map (µm) over the collector plane."""
    TRUTH = "truth"
    """Ground-truth labels of a synthetic cell (hidden)."""
    COMPARE = "compare"
    """A copy of a cell shown in the Compare view's grid."""
    TIMELAPSE = "timelapse"
    """A (scan, z, y, x) series of scans of one cell."""
    REGION = "region"
    """The cell region (inside the PEEK bore) the analysis is limited to."""


#: Legacy metadata keys that mark a role (layers written by earlier versions).
_LEGACY_KEYS = (
    ("preview_of", Role.PREVIEW),
    ("ground_truth", Role.TRUTH),
    ("compare_cell", Role.COMPARE),
    ("measurement", Role.THICKNESS_MAP),
)


def _metadata(layer: Any) -> dict[str, Any]:
    meta = getattr(layer, "metadata", None)
    return meta if isinstance(meta, dict) else {}


def role_of(layer: Any) -> Role | None:
    """The layer's role, or None for a layer napari-licell did not make (or tag)."""
    meta = _metadata(layer)
    value = meta.get("role")
    if value is not None:
        try:
            return Role(value)
        except ValueError:
            return None
    for key, role in _LEGACY_KEYS:
        if meta.get(key) is not None:
            return role
    if getattr(layer, "ndim", 0) >= 4 and meta.get("scan_times_min") is not None:
        return Role.TIMELAPSE
    return None


def scan_of(layer: Any) -> str | None:
    """Name of the scan a derived layer was made from (the layer's own name for a scan)."""
    meta = _metadata(layer)
    for key in ("scan", "preview_of", "source_image"):
        if meta.get(key):
            return str(meta[key])
    if role_of(layer) in (None, Role.SCAN):
        return str(getattr(layer, "name", "")) or None
    if meta.get("cell"):
        return str(meta["cell"])
    return None


def is_ct_scan(layer: Any, allow_2d: bool = True) -> bool:
    """True for a grey-value CT scan: an image layer, not RGB, 2D or 3D, role scan or none.

    Thickness maps, uncertainty, compare copies and 4D time-lapses are not scans
    (a time-lapse becomes one when a time point is taken out of it).
    """
    if type(layer).__name__ != "Image" and not any(c.__name__ == "Image" for c in type(layer).__mro__):
        return False
    if getattr(layer, "rgb", False):
        return False
    ndim = int(getattr(layer, "ndim", 0))
    if ndim not in ((2, 3) if allow_2d else (3,)):
        return False
    return role_of(layer) in (None, Role.SCAN)


def belongs_to(layer: Any, scan_name: str) -> bool:
    """Whether ``layer`` is the scan ``scan_name`` or was made from it."""
    return scan_of(layer) == scan_name


def tagged(metadata: dict[str, Any] | None, role: Role, scan: str | None = None) -> dict[str, Any]:
    """A copy of ``metadata`` with the role (and the scan it was made from)."""
    meta = dict(metadata or {})
    meta["role"] = Role(role).value
    if scan is not None:
        meta["scan"] = str(scan)
    return meta
