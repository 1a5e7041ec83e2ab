"""HDF5 cycler files: Indigo's time-series frames and battdat tables, read with h5py.

Indigo cyclers (and beep, which reads them with ``pandas.read_hdf``) store
the record as a pandas frame in the group ``time_series_data``, in either of
pandas' two HDF5 layouts:

* "fixed": column names in ``axis0``, values in blocks (``block0_values``
  with the names in ``block0_items``, ...), one block per dtype;
* "table": one PyTables table ``time_series_data/table`` whose fields
  ``values_block_0``, ... hold the columns of each dtype, their names in the
  table's ``values_block_<n>_kind`` attribute (a pickled list of names;
  read with an unpickler that builds nothing but lists and strings), and
  columns written as ``data_columns`` as fields of their own.

Columns: ``time_s``, ``cell_voltage_v``, ``cell_current_a``,
``cycle_count``, ``half_cycle_count``, ``system_time_us``, ...

battdat (ROVI-org/battery-data-toolkit, the Battery Data Toolkit) writes each
table as a PyTables table with named fields: ``raw_data`` with
``test_time`` (s), ``voltage`` (V), ``current`` (A, positive = charging),
``cycle_number``, ``step_index``, ...

Reading with h5py needs neither PyTables nor pandas' HDF5 layer. Other HDF5
files (a CT reconstruction, a cellpy store) are refused with the groups they
hold.
"""

from __future__ import annotations

import io
import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import LiCellInputError
from .curve_checks import checked_curve
from .cycler_formats import BATTDAT_HDF5, INDIGO_HDF5, SUPPORTED_HINT
from .voltage_curve import VoltageCurve

__all__ = ["read_indigo_hdf5", "read_battdat_hdf5", "pandas_fixed_frames", "pytables_tables", "INDIGO_GROUP"]

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


class _NamesOnly(pickle.Unpickler):
    """Unpickles lists, tuples, numbers and strings; refuses every class or function."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"{module}.{name} not allowed")


def _pickled_names(raw: Any) -> list[str]:
    data = raw if isinstance(raw, bytes) else bytes(np.asarray(raw).tobytes())
    names = _NamesOnly(io.BytesIO(data)).load()
    if not isinstance(names, (list, tuple)):
        raise ValueError("not a list of column names")
    return [n.decode() if isinstance(n, bytes) else str(n) for n in names]


def _attr_text(value: Any) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)


def pytables_tables(handle: Any) -> dict[str, dict[str, np.ndarray]]:
    """Every PyTables table in an open h5py file: path -> {column: values}.

    A pandas "table"-format frame (fields ``values_block_<n>``) is keyed by its
    group (``time_series_data``), its columns named from the
    ``values_block_<n>_kind`` attributes; any other table (battdat's
    ``raw_data``) by its own path, its fields as the columns.
    """
    import h5py

    tables: dict[str, dict[str, np.ndarray]] = {}

    def visit(name: str, obj: Any) -> None:
        if not isinstance(obj, h5py.Dataset) or _attr_text(obj.attrs.get("CLASS", b"")) != "TABLE":
            return
        fields = obj.dtype.names or ()
        if not fields or obj.ndim != 1:
            return
        data = obj[()]
        parent = obj.parent
        pandas_table = _attr_text(parent.attrs.get("pandas_type", b"")) == "frame_table"
        columns: dict[str, np.ndarray] = {}
        for field in fields:
            kind = obj.attrs.get(f"{field}_kind")
            if pandas_table and field.startswith("values_block_") and kind is not None:
                block = np.asarray(data[field])
                if block.ndim == 1:
                    block = block[:, None]
                for position, column in enumerate(_pickled_names(kind)):
                    columns[column] = block[:, position]
            elif pandas_table and field == "index":
                continue
            else:
                columns[field] = np.asarray(data[field])
        if columns:
            tables[parent.name.lstrip("/") if pandas_table else name] = columns

    handle.visititems(visit)
    return tables


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
            layout = "fixed" if INDIGO_GROUP in frames else "table"
            if INDIGO_GROUP not in frames:
                frames.update(pytables_tables(handle))
            top = sorted(handle.keys())
    except OSError as exc:
        raise LiCellInputError(p, f"damaged HDF5 file ({exc})") from exc
    except (pickle.UnpicklingError, ValueError, EOFError) as exc:
        raise LiCellInputError(p, f"damaged pandas table in the HDF5 file ({exc})") from exc
    frame = frames.get(INDIGO_GROUP)
    if frame is None or "cell_voltage_v" not in frame:
        listing = ", ".join(top[:10]) + (", ..." if len(top) > 10 else "") or "none"
        raise LiCellInputError(
            p,
            f"not a cycler file (an HDF5 file without an Indigo '{INDIGO_GROUP}' table; groups: {listing})",
            SUPPORTED_HINT,
        )
    listing = ", ".join(frame)
    if "time_s" not in frame and "system_time_us" not in frame:
        raise LiCellInputError(p, f"no time column found (columns: {listing})", "Indigo writes time_s")
    meta: dict[str, Any] = {
        "columns": list(frame),
        "group": INDIGO_GROUP,
        "layout": f"pandas {layout}",
        "reader": f"napari-licell Indigo HDF5, pandas {layout} layout (h5py)",
    }
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
        p,
        INDIGO_HDF5,
        values["time_s"],
        values["voltage_v"],
        values["current_ma"],
        values["cycle"],
        values["step"],
        meta,
    )


# battdat column -> (role, factor to the VoltageCurve unit); battdat's units are SI.
_BATTDAT_COLUMNS = {
    "test_time": ("time_s", 1.0),
    "voltage": ("voltage_v", 1.0),
    "current": ("current_ma", 1e3),
    "cycle_number": ("cycle", 1.0),
    "step_index": ("step", 1.0),
}


def read_battdat_hdf5(path: str | os.PathLike) -> VoltageCurve:
    """Read the ``raw_data`` table of a battdat (Battery Data Toolkit) HDF5 file.

    Parameters
    ----------
    path : str or PathLike
        The .h5/.hdf file.

    Returns
    -------
    VoltageCurve
        Time in minutes from ``test_time`` (s), voltage from ``voltage`` (V),
        current in mA from ``current`` (A; battdat counts charging as
        positive, as :class:`VoltageCurve` does), cycle from
        ``cycle_number``, step from ``step_index`` where present.

    Raises
    ------
    LiCellInputError
        An HDF5 file without a table of test_time and voltage.
    """
    import h5py

    p = Path(path)
    try:
        with h5py.File(p, "r") as handle:
            tables = pytables_tables(handle)
            top = sorted(handle.keys())
            version = None
            for name in tables:
                attrs = handle[name].attrs
                if "battdat_version" in attrs:
                    version = _attr_text(attrs["battdat_version"])
    except OSError as exc:
        raise LiCellInputError(p, f"damaged HDF5 file ({exc})") from exc
    candidates = [name for name, columns in tables.items() if {"test_time", "voltage"} <= set(columns)]
    if not candidates:
        listing = ", ".join(top[:10]) + (", ..." if len(top) > 10 else "") or "none"
        raise LiCellInputError(
            p, f"not a cycler file (an HDF5 file without a battdat raw_data table; groups: {listing})", SUPPORTED_HINT
        )
    # raw_data first (battdat also writes cycle_stats and other tables), else the longest
    name = min(candidates, key=lambda n: (n.split("/")[-1] != "raw_data", -len(tables[n]["voltage"])))
    frame = tables[name]
    values: dict[str, np.ndarray | None] = {role: None for role, _ in _BATTDAT_COLUMNS.values()}
    for column, (role, factor) in _BATTDAT_COLUMNS.items():
        if column in frame:
            values[role] = np.asarray(frame[column], dtype=float) * factor
    meta: dict[str, Any] = {
        "columns": list(frame),
        "table": name,
        "other_tables": [n for n in tables if n != name],
        "reader": "napari-licell battdat HDF5 (h5py)" + (f", written by battdat {version}" if version else ""),
    }
    return checked_curve(
        p,
        BATTDAT_HDF5,
        values["time_s"],
        values["voltage_v"],
        values["current_ma"],
        values["cycle"],
        values["step"],
        meta,
    )
