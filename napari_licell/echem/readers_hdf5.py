"""HDF5 cycler files: Indigo's time-series tables, read with h5py.

Indigo cyclers (and beep, which reads them) store the record as a pandas
"fixed" frame in the group ``time_series_data``: column names in ``axis0``,
and the values in blocks (``block0_values`` with the names in
``block0_items``, ...), one block per dtype. Columns: ``time_s``,
``cell_voltage_v``, ``cell_current_a``, ``cycle_count``,
``half_cycle_count``, ``system_time_us``, ...

Reading the blocks with h5py needs neither PyTables nor pandas' HDF5 layer.
Other HDF5 files (a CT reconstruction, a cellpy or battdat store) are refused
with the groups they hold.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import LiCellInputError
from .curve_checks import checked_curve
from .cycler_formats import INDIGO_HDF5, SUPPORTED_HINT
from .voltage_curve import VoltageCurve

__all__ = ["read_indigo_hdf5", "pandas_fixed_frames", "INDIGO_GROUP"]

#: The group Indigo writes its record to.
INDIGO_GROUP = "time_series_data"

# Indigo column -> (role, factor to the VoltageCurve unit).
_INDIGO_COLUMNS = {
    "time_s": ("time_s", 1.0),
    "cell_voltage_v": ("voltage_v", 1.0),
    "cell_current_a": ("current_ma", 1e3),
    "cycle_count": ("cycle", 1.0),
    "half_cycle_count": ("step", 1.0),
}


def _text(values: Any) -> list[str]:
    return [v.decode("utf-8", errors="replace") if isinstance(v, bytes) else str(v) for v in np.asarray(values)]


def pandas_fixed_frames(handle: Any) -> dict[str, dict[str, np.ndarray]]:
    """Every pandas fixed-format frame in an open h5py file: group path -> {column: values}.

    Parameters
    ----------
    handle : h5py.File
        The open file.

    Returns
    -------
    dict
        Columns of each frame by name, in the order pandas wrote them.
    """
    import h5py

    frames: dict[str, dict[str, np.ndarray]] = {}

    def visit(name: str, obj: Any) -> None:
        if not isinstance(obj, h5py.Group):
            return
        kind = obj.attrs.get("pandas_type")
        if kind is None or (kind.decode() if isinstance(kind, bytes) else str(kind)) != "frame":
            return
        n_blocks = int(obj.attrs.get("nblocks", 0))
        columns: dict[str, np.ndarray] = {}
        for block in range(n_blocks):
            items = obj.get(f"block{block}_items")
            values = obj.get(f"block{block}_values")
            if items is None or values is None or not isinstance(values, h5py.Dataset):
                continue
            data = values[()]
            if data.ndim != 2:
                continue
            for position, column in enumerate(_text(items[()])):
                columns[column] = data[:, position]
        if columns:
            frames[name] = columns

    handle.visititems(visit)
    return frames


def read_indigo_hdf5(path: str | os.PathLike) -> VoltageCurve:
    """Read an Indigo cycler HDF5 file.

    Parameters
    ----------
    path : str or PathLike
        The .h5 file.

    Returns
    -------
    VoltageCurve
        Time in minutes from the first row (``time_s``), voltage in V
        (``cell_voltage_v``), current in mA (``cell_current_a`` x 1000), cycle
        from ``cycle_count``, step from ``half_cycle_count`` (as beep numbers
        Indigo's steps). ``metadata["start_time"]`` from ``system_time_us``.

    Raises
    ------
    LiCellInputError
        An HDF5 file without an Indigo record, or one without time or voltage.
    """
    import h5py

    p = Path(path)
    try:
        with h5py.File(p, "r") as handle:
            frames = pandas_fixed_frames(handle)
            top = sorted(handle.keys())
    except OSError as exc:
        raise LiCellInputError(p, f"damaged HDF5 file ({exc})") from exc
    frame = frames.get(INDIGO_GROUP)
    if frame is None or "cell_voltage_v" not in frame:
        listing = ", ".join(top[:10]) + (", ..." if len(top) > 10 else "") or "none"
        raise LiCellInputError(
            p, f"not a cycler file (an HDF5 file without an Indigo '{INDIGO_GROUP}' table; groups: {listing})",
            SUPPORTED_HINT,
        )
    listing = ", ".join(frame)
    if "time_s" not in frame and "system_time_us" not in frame:
        raise LiCellInputError(p, f"no time column found (columns: {listing})", "Indigo writes time_s")
    meta: dict[str, Any] = {"columns": list(frame), "group": INDIGO_GROUP, "reader": "napari-licell Indigo HDF5 (h5py)"}
    values: dict[str, np.ndarray | None] = {role: None for role, _ in _INDIGO_COLUMNS.values()}
    for column, (role, factor) in _INDIGO_COLUMNS.items():
        if column in frame:
            values[role] = np.asarray(frame[column], dtype=float) * factor
    if values["time_s"] is None:
        values["time_s"] = np.asarray(frame["system_time_us"], dtype=float) * 1e-6
        meta["notes"] = ["time from system_time_us (no time_s column)"]
    if "system_time_us" in frame and len(frame["system_time_us"]):
        first = int(frame["system_time_us"][0])
        meta["start_time"] = np.datetime64(first, "us").astype(str) + "Z"
    if "cell_id" in frame:
        ids = np.unique(frame["cell_id"])
        meta["cell_id"] = [int(i) for i in ids[:10]]
    return checked_curve(
        p, INDIGO_HDF5, values["time_s"], values["voltage_v"], values["current_ma"], values["cycle"], values["step"], meta
    )
