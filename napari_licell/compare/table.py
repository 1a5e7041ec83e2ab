"""The key numbers of every cell in one table: Li layer thickness (µm), Li-in-SE share, verdict.

Numbers come from a ``measure(cell) -> dict`` callable so that the table does
not depend on how they were obtained: :func:`measured_numbers` runs
``napari_licell.measure.measure_cell`` on the cell's labels when that module
is installed, :func:`truth_numbers` reads the ground truth of a synthetic
cell. :func:`default_measure` picks the first that works.

A *cell* here is anything with ``name``, ``metadata`` (dict) and, depending on
the measure, ``labels`` (uint8 class codes, z = stack axis), ``voxel_size_um``
and ``truth`` attributes, e.g. a :class:`~napari_licell.phantoms.SyntheticCell`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from ..physics.faraday import faraday_thickness_um
from .cell_titles import pressures_text, process_of

__all__ = [
    "KEY_COLUMNS",
    "THICKNESS",
    "LI_IN_SE",
    "VERDICT",
    "truth_numbers",
    "measured_numbers",
    "default_measure",
    "key_numbers_table",
    "pick",
]

#: Column names of the key numbers (units in the names).
THICKNESS = "li_layer_thickness_um"
LI_IN_SE = "li_in_se_fraction"
VERDICT = "verdict"

#: All columns of :func:`key_numbers_table`, in display order.
KEY_COLUMNS: tuple[str, ...] = (
    "cell",
    "process",
    "pressures",
    "charge_minutes",
    "faraday_thickness_um",
    THICKNESS,
    LI_IN_SE,
    VERDICT,
    "source",
)

#: Where each key number may sit in a measure's dict (dotted = nested), first match wins.
_KEY_PATHS: dict[str, tuple[str, ...]] = {
    THICKNESS: ("li_layer.mean_thickness_um", "li_layer_mean_thickness_um", THICKNESS),
    LI_IN_SE: ("li_in_se.fraction_of_li", "li_in_se_fraction_of_li", LI_IN_SE),
    VERDICT: ("verdict.label", "verdict.text", "verdict.summary", "verdict"),
}

#: A Li layer at least this share of the Faraday thickness, with little Li in the SE, is "uniform".
_UNIFORM_MIN_FARADAY_SHARE = 0.5
_UNIFORM_MAX_LI_IN_SE = 0.2


def pick(numbers: Mapping[str, Any], path: str) -> Any:
    """Value at ``path`` in ``numbers``: a flat key (``"a.b"`` as is) or a nested path; None if absent."""
    if path in numbers:
        return numbers[path]
    node: Any = numbers
    for part in path.split("."):
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        else:
            return None
    return node


def _first(numbers: Mapping[str, Any], key: str) -> Any:
    for path in _KEY_PATHS[key]:
        value = pick(numbers, path)
        if value is not None and not isinstance(value, Mapping):
            return value
    return None


def _truth_verdict(thickness_um: float, li_in_se: float, faraday_um: float | None) -> str:
    if faraday_um and thickness_um >= _UNIFORM_MIN_FARADAY_SHARE * faraday_um and li_in_se <= _UNIFORM_MAX_LI_IN_SE:
        return "uniform Li layer"
    if li_in_se > _UNIFORM_MAX_LI_IN_SE:
        return "Li grew into SE"
    return "thin Li layer"


def truth_numbers(cell: Any) -> dict[str, Any]:
    """Key numbers from a synthetic cell's ground truth.

    Parameters
    ----------
    cell : SyntheticCell
        Needs ``truth`` (a :class:`~napari_licell.phantoms.CellTruth`).

    Returns
    -------
    dict
        ``li_layer.mean_thickness_um`` (µm), ``li_in_se.fraction_of_li`` (share
        of the Li volume inside the SE, 0..1) and ``verdict``, nested like
        ``CellMeasurements.to_dict()``.
    """
    truth = getattr(cell, "truth", None)
    if truth is None:
        raise ValueError(f"{getattr(cell, 'name', 'cell')} has no ground truth to read numbers from")
    share = float(truth.li_in_se_volume_um3 / truth.li_volume_um3) if truth.li_volume_um3 > 0 else 0.0
    thickness = float(truth.li_layer_thickness_um)
    return {
        "li_layer": {"mean_thickness_um": thickness},
        "li_in_se": {"fraction_of_li": share},
        "verdict": _truth_verdict(thickness, share, truth.faraday_thickness_um),
        "source": "ground truth",
    }


def measured_numbers(cell: Any) -> dict[str, Any]:
    """Key numbers measured on the cell's labels by ``napari_licell.measure.measure_cell``.

    The current density (mA/cm²) and charge time (minutes) from the metadata
    are passed when ``measure_cell`` accepts them.

    Raises
    ------
    ImportError
        When the measure module is not installed.
    """
    from ..measure import measure_cell  # noqa: PLC0415 - optional until the module lands

    labels = getattr(cell, "labels", None)
    if labels is None:
        raise ValueError(f"{getattr(cell, 'name', 'cell')} has no labels to measure")
    params = inspect.signature(measure_cell).parameters
    meta = dict(getattr(cell, "metadata", {}) or {})
    extra = {
        k: meta[k] for k in ("current_density_ma_cm2", "charge_minutes") if k in params and meta.get(k) is not None
    }
    result = measure_cell(labels, float(cell.voxel_size_um), **extra)
    numbers = result.to_dict() if hasattr(result, "to_dict") else dict(result)
    numbers.setdefault("source", "measured")
    return numbers


def default_measure() -> Callable[[Any], dict[str, Any]]:
    """:func:`measured_numbers` when ``measure_cell`` exists, else :func:`truth_numbers`."""
    try:
        from ..measure import measure_cell  # noqa: F401, PLC0415
    except ImportError:
        return truth_numbers
    return measured_numbers


def _row(cell: Any, numbers: Mapping[str, Any]) -> dict[str, Any]:
    meta = dict(getattr(cell, "metadata", {}) or {})
    j = meta.get("current_density_ma_cm2")
    minutes = meta.get("charge_minutes")
    if meta.get("state") == "before":
        faraday = 0.0
    elif j is not None and minutes is not None:
        faraday = float(faraday_thickness_um(j, minutes))
    else:
        faraday = np.nan
    thickness = _first(numbers, THICKNESS)
    share = _first(numbers, LI_IN_SE)
    verdict = _first(numbers, VERDICT)
    return {
        "cell": str(getattr(cell, "name", "?")),
        "process": process_of(meta),
        "pressures": pressures_text(meta),
        "charge_minutes": float(minutes) if minutes is not None else np.nan,
        "faraday_thickness_um": faraday,
        THICKNESS: float(thickness) if thickness is not None else np.nan,
        LI_IN_SE: float(share) if share is not None else np.nan,
        VERDICT: "" if verdict is None else str(verdict),
        "source": str(numbers.get("source", "")),
    }


def key_numbers_table(cells: Iterable[Any], measure: Callable[[Any], Mapping[str, Any]] | None = None):
    """One row of key numbers per cell.

    Parameters
    ----------
    cells : iterable
        Cells with ``name`` and ``metadata`` (plus what ``measure`` needs).
    measure : callable(cell) -> dict, optional
        Returns the numbers of one cell, nested or flat (``li_layer.mean_thickness_um``
        in µm, ``li_in_se.fraction_of_li`` as 0..1, ``verdict``). Defaults to
        :func:`default_measure`.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`KEY_COLUMNS`: thickness and Faraday thickness in µm,
        charge time in minutes, Li-in-SE share 0..1 (NaN where unknown).
    """
    import pandas as pd

    measure = measure or default_measure()
    rows = [_row(cell, measure(cell)) for cell in cells]
    return pd.DataFrame(rows, columns=list(KEY_COLUMNS))
