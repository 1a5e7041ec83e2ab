"""Every number of a measurement as tables: one flat key/value/unit list plus per-slice and per-mass tables.

Units follow the key's ending (``_um``, ``_um2``, ``_um3``, ``_deg``,
``_min``, ``_ma_cm2``, ...); shares and counts have none.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["flatten_numbers", "unit_of", "write_measurement_tables", "study_rows"]

_UNITS = (
    ("_um3", "um3"),
    ("_um2", "um2"),
    ("_um", "um"),
    ("_deg", "degree"),
    ("_min", "min"),
    ("_ma_cm2", "mA/cm2"),
    ("_atm", "atm"),
    ("_v", "V"),
)

#: Keys whose values are long per-slice or per-mass lists; they get their own tables.
_LONG_KEYS = {
    "depth_profiles",
    "depth_distribution",
    "sizes_um3",
    "max_depth_um",
    "share_histogram",
    "rows",
    "provenance",
}


def unit_of(key: str) -> str:
    """Unit from the ending of a dotted key's last part that has one ('' for shares, counts and flags)."""
    for part in reversed(key.split(".")):
        for ending, unit in _UNITS:
            if part.endswith(ending):
                return unit
    return ""


def flatten_numbers(d: Mapping[str, Any], prefix: str = "") -> list[dict[str, Any]]:
    """Rows ``{key, value, unit}`` for every scalar in a nested measurement dictionary.

    Long lists (profiles, distributions, mass lists) and the provenance are
    left out; short lists (voxel size) become ``key.0``, ``key.1``, ...
    """
    rows: list[dict[str, Any]] = []
    for k, v in d.items():
        key = f"{prefix}{k}"
        if k in _LONG_KEYS and isinstance(v, (Mapping, list)):
            continue
        if isinstance(v, Mapping):
            rows.extend(flatten_numbers(v, key + "."))
        elif isinstance(v, (list, tuple)):
            if len(v) <= 3 and all(not isinstance(x, (Mapping, list)) for x in v):
                rows.extend({"key": f"{key}.{i}", "value": x, "unit": unit_of(key)} for i, x in enumerate(v))
        else:
            rows.append({"key": key, "value": v, "unit": unit_of(key)})
    return rows


def write_measurement_tables(measurements: Any, out_dir: str | os.PathLike, stem: str = "") -> dict[str, Path]:
    """Write the CSV/JSON/TIFF tables of one cell into ``out_dir``.

    Files (prefixed by ``stem`` when given): ``measurements.csv`` (every
    scalar: key, value, unit), ``depth_profiles.csv`` (per slice),
    ``li_in_se_depth.csv`` (Li volume per depth layer), ``li_masses.csv``
    (per mass), ``sensitivity.csv`` (when measured) and
    ``li_thickness_map_um.tif`` (float32 map, micrometres).

    Parameters
    ----------
    measurements : CellMeasurements
        The results.
    out_dir : path-like
        Output folder (created).
    stem : str
        File-name prefix.

    Returns
    -------
    dict of str to Path
        The written files by role.
    """
    from ..io.writers import write_table_csv, write_volume_tiff

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    pre = f"{stem}_" if stem else ""
    d = measurements.to_dict()
    files: dict[str, Path] = {}
    files["numbers"] = write_table_csv(
        out / f"{pre}measurements.csv", flatten_numbers(d), columns=["key", "value", "unit"]
    )
    files["depth_profiles"] = write_table_csv(out / f"{pre}depth_profiles.csv", measurements.depth.to_columns())
    in_se = measurements.li_in_se
    files["li_in_se_depth"] = write_table_csv(
        out / f"{pre}li_in_se_depth.csv", {"depth_um": in_se.depth_um, "li_volume_um3": in_se.depth_volume_um3}
    )
    if in_se.masses is not None:
        files["li_masses"] = write_table_csv(
            out / f"{pre}li_masses.csv",
            {
                "rank": np.arange(1, in_se.masses.count + 1),
                "volume_um3": in_se.masses.sizes_um3,
                "max_depth_um": in_se.masses.max_depth_um,
            },
        )
    if measurements.sensitivity is not None:
        files["sensitivity"] = write_table_csv(out / f"{pre}sensitivity.csv", measurements.sensitivity.to_rows())
    vz, vy, vx = measurements.oriented_voxel_size_um
    files["thickness_map"] = write_volume_tiff(
        out / f"{pre}li_thickness_map_um.tif",
        measurements.li_layer.thickness_map_um[None].astype(np.float32),
        (vz, vy, vx),
        metadata={"quantity": "Li layer thickness", "unit": "um", "stack_axis": measurements.orientation.axis},
    )
    return files


def study_rows(cells: list[Any]) -> list[dict[str, Any]]:
    """One row of headline numbers per cell of a study."""
    rows = []
    for m in cells:
        f = m.fractions.fractions
        rows.append(
            {
                "cell": m.name,
                "verdict": m.verdict.verdict,
                "li_volume_um3": m.li_volume_um3,
                "li_layer_mean_thickness_um": m.li_layer.mean_thickness_um,
                "li_layer_std_thickness_um": m.li_layer.std_thickness_um,
                "li_layer_coverage": m.li_layer.coverage,
                "li_in_se_volume_um3": m.li_in_se.volume_um3,
                "li_in_se_fraction_of_li": m.li_in_se.fraction_of_li,
                "li_in_se_fraction_including_se_li": m.li_in_se_share_with_se_li,
                "ambiguous_gas_pore_or_li_um3": (m.parameters.get("gas_pores") or {}).get("ambiguous_um3"),
                "li_in_se_max_depth_um": m.li_in_se.max_depth_um,
                "n_li_masses": m.li_in_se.masses.count if m.li_in_se.masses else None,
                "faraday_thickness_um": m.faraday_thickness_um,
                "se_porosity": m.fractions.se_porosity,
                **{f"fraction_{k}": v for k, v in f.items()},
                "li_void_cnr": m.contrast.get("li_void_cnr"),
                "separable": m.contrast.get("separable"),
            }
        )
    return rows
