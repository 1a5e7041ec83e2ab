"""How much the headline numbers move when a grey-value threshold moves.

Every threshold is moved down and up by a step, the image is re-classified
on a subsample of cross-sections along the stack axis (every cross-section
holds whole columns, so layer thickness and depth stay measurable), and the
Li volume, the mean Li layer thickness and the Li-in-SE share are measured
again. The classifier is passed in as a callable, so this module does not
depend on how the segmentation works.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from .slabs import OrientedVolume, default_slab_slices

__all__ = [
    "SensitivityRow",
    "ThresholdSensitivity",
    "threshold_sensitivity",
    "default_steps",
    "HEADLINE_QUANTITIES",
    "SHARE_QUANTITIES",
]

#: Quantities followed, with their units.
HEADLINE_QUANTITIES: dict[str, str] = {
    "li_volume_um3": "um3",
    "li_layer_mean_thickness_um": "um",
    "li_in_se_fraction_of_li": "",
}
#: Quantities that are shares (0..1): their change is given in share units, not relative to the baseline.
SHARE_QUANTITIES = ("li_in_se_fraction_of_li",)

Classifier = Callable[[np.ndarray, Mapping[str, float]], np.ndarray]


@dataclass(frozen=True)
class SensitivityRow:
    """The headline numbers with one threshold moved.

    Attributes
    ----------
    threshold : str
        Name of the moved threshold.
    value : float
        Its moved grey value.
    delta : float
        The move (negative = down), grey values.
    values : dict of str to float
        Headline numbers (see :data:`HEADLINE_QUANTITIES`).
    """

    threshold: str
    value: float
    delta: float
    values: dict[str, float]


@dataclass
class ThresholdSensitivity:
    """Sensitivity of the headline numbers to every threshold.

    Attributes
    ----------
    thresholds : dict of str to float
        The unperturbed thresholds.
    baseline : dict of str to float
        Headline numbers with the unperturbed thresholds (same subsample).
    rows : list of SensitivityRow
        One row per threshold and direction.
    n_sections : int
        Cross-sections re-classified.
    sampled_fraction : float
        Share of the volume they make up (Li volume is scaled up by its inverse).
    """

    thresholds: dict[str, float]
    baseline: dict[str, float]
    rows: list[SensitivityRow] = field(default_factory=list)
    n_sections: int = 0
    sampled_fraction: float = 0.0

    def largest_change(self) -> dict[str, dict[str, float | None]]:
        """Largest change of every quantity per threshold moved by one step.

        Volumes and thicknesses: relative to the baseline (None when the
        baseline is 0 but the moved value is not). Shares (see
        :data:`SHARE_QUANTITIES`): absolute, in share units, since a relative
        change of a share near 0 says nothing.
        """
        out: dict[str, dict[str, float | None]] = {}
        for row in self.rows:
            per = out.setdefault(row.threshold, {q: 0.0 for q in HEADLINE_QUANTITIES})
            for q in HEADLINE_QUANTITIES:
                base, moved = self.baseline[q], row.values[q]
                if per[q] is None:
                    continue
                if q in SHARE_QUANTITIES:
                    per[q] = max(per[q], abs(moved - base))
                elif base == 0:
                    per[q] = None if moved != 0 else per[q]
                else:
                    per[q] = max(per[q], abs(moved - base) / abs(base))
        return out

    def slope_per_grey(self) -> dict[str, dict[str, float]]:
        """Central-difference change of every quantity per grey-value unit of each threshold."""
        out: dict[str, dict[str, float]] = {}
        by_name: dict[str, dict[int, SensitivityRow]] = {}
        for row in self.rows:
            by_name.setdefault(row.threshold, {})[int(np.sign(row.delta))] = row
        for name, pair in by_name.items():
            if -1 in pair and 1 in pair:
                lo, hi = pair[-1], pair[1]
                span = hi.value - lo.value
                out[name] = {q: (hi.values[q] - lo.values[q]) / span for q in HEADLINE_QUANTITIES}
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "thresholds": dict(self.thresholds),
            "baseline": dict(self.baseline),
            "rows": [asdict(r) for r in self.rows],
            "largest_change": self.largest_change(),
            "change_kind": {q: "absolute" if q in SHARE_QUANTITIES else "relative" for q in HEADLINE_QUANTITIES},
            "slope_per_grey": self.slope_per_grey(),
            "n_sections": self.n_sections,
            "sampled_fraction": self.sampled_fraction,
            "units": dict(HEADLINE_QUANTITIES),
        }

    def to_rows(self) -> list[dict[str, Any]]:
        """Flat rows (threshold, value, delta, quantities) for a CSV table; the baseline first."""
        rows = [{"threshold": "baseline", "value": float("nan"), "delta": 0.0, **self.baseline}]
        rows += [{"threshold": r.threshold, "value": r.value, "delta": r.delta, **r.values} for r in self.rows]
        return rows


def default_steps(thresholds: Mapping[str, float], share: float = 0.1) -> dict[str, float]:
    """Step per threshold: ``share`` of the gap to the nearest other threshold (at least 1 grey value)."""
    values = {k: float(v) for k, v in thresholds.items()}
    steps = {}
    for name, v in values.items():
        gaps = [abs(v - w) for k, w in values.items() if k != name and w != v]
        gap = min(gaps) if gaps else abs(v)
        steps[name] = max(1.0, share * gap)
    return steps


def _sample_sections(image: OrientedVolume, n_sections: int) -> tuple[np.ndarray, np.ndarray]:
    nz, ny, nx = image.shape
    rows = np.unique(np.linspace(0, ny - 1, max(1, min(int(n_sections), ny))).round().astype(int))
    step = default_slab_slices(image.shape)
    parts = [image.slab(z0, z1, y=rows) for z0, z1 in image.iter_slabs(step)]
    return np.concatenate(parts, axis=0), rows


def threshold_sensitivity(
    image: Any,
    thresholds: Mapping[str, float],
    classify: Classifier,
    voxel_size_um: float | tuple[float, float, float],
    *,
    steps: float | Mapping[str, float] | None = None,
    n_sections: int = 16,
    stack_axis: int = 0,
    collector_at_start: bool = True,
    progress: Callable[[int, int], None] | None = None,
    region: Any = None,
) -> ThresholdSensitivity:
    """Move each threshold down and up by a step and measure again on a subsample.

    Parameters
    ----------
    image : array-like (3D)
        The grey-value scan (numpy, memmap, dask, zarr).
    thresholds : mapping of str to float
        Named grey-value thresholds; only these are moved.
    classify : callable(image, thresholds) -> labels
        Turns an image block (stack axis first, collector at index 0) and
        thresholds into class codes of the same shape.
    voxel_size_um : float or (3,) floats
        Voxel size in micrometres, in the image's axis order.
    steps : float or mapping, optional
        Step per threshold in grey values (default: :func:`default_steps`).
    n_sections : int
        Cross-sections along the stack axis to re-classify.
    stack_axis, collector_at_start : int, bool
        Orientation of the image (take them from the full measurement).
    progress : callable(done, total), optional
        Called after every re-classification.
    region : array-like of bool, optional
        The cell region (same shape as ``image``); voxels outside it are
        background in every re-classification.

    Returns
    -------
    ThresholdSensitivity
    """
    from .results import measure_cell

    base_thresholds = {k: float(v) for k, v in thresholds.items()}
    if steps is None:
        step_map = default_steps(base_thresholds)
    elif isinstance(steps, Mapping):
        step_map = {k: float(steps.get(k, default_steps(base_thresholds)[k])) for k in base_thresholds}
    else:
        step_map = {k: float(steps) for k in base_thresholds}

    oriented = OrientedVolume(image, int(stack_axis), bool(collector_at_start))
    if np.ndim(voxel_size_um) == 0:
        voxel = (float(voxel_size_um),) * 3
    else:
        voxel = tuple(float(v) for v in voxel_size_um)  # type: ignore[union-attr]
    vox = oriented.oriented_voxel_size(voxel)  # type: ignore[arg-type]
    sample, rows = _sample_sections(oriented, n_sections)
    outside = None
    if region is not None:
        outside = ~_sample_sections(OrientedVolume(region, int(stack_axis), bool(collector_at_start)), n_sections)[
            0
        ].astype(bool)
    fraction = rows.size / oriented.shape[1]
    total = 1 + 2 * len(base_thresholds)
    done = 0

    def headline(th: Mapping[str, float]) -> dict[str, float]:
        nonlocal done
        labels = np.asarray(classify(sample, th))
        if outside is not None:
            labels = labels.copy() if not labels.flags.writeable else labels
            labels[outside] = 0
        m = measure_cell(
            labels, vox, stack_axis=0, collector_at_start=True, find_masses=False, keep_cross_section=False
        )
        done += 1
        if progress is not None:
            progress(done, total)
        return {
            "li_volume_um3": m.li_volume_um3 / fraction,
            "li_layer_mean_thickness_um": m.li_layer.mean_thickness_um,
            "li_in_se_fraction_of_li": m.li_in_se.fraction_of_li,
        }

    result = ThresholdSensitivity(
        base_thresholds, headline(base_thresholds), n_sections=int(rows.size), sampled_fraction=float(fraction)
    )
    for name, value in base_thresholds.items():
        for sign in (-1.0, 1.0):
            moved = dict(base_thresholds)
            moved[name] = value + sign * step_map[name]
            result.rows.append(SensitivityRow(name, moved[name], sign * step_map[name], headline(moved)))
    return result
