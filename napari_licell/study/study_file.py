"""The study file: cells, their bonding process and charge, and their CT scans, in YAML.

A study file (``*.licell.yaml``) looks like::

    schema_version: 1
    name: Kodama 2024 carbon interlayer
    cells:
      - name: process3
        bonding_process: process3
        se_pressure_mpa: 100
        carbon_pressure_mpa: 400
        stack_pressure_mpa: 3.0
        current_density_ma_cm2: 0.2
        charge_minutes: 4000
        voltage_file: echem/process3.mpr
        scans:
          - path: ct/process3_after
            gas: Xe
            gas_pressure_atm: 6
            state: after
            time_min: 4000
            voxel_size_um: 0.54
            labels_path: labels/process3_after.tif
            thresholds: {li_void: 1450.0, void_se_li: 5200.0}

Paths are stored relative to the study file (forward slashes) and resolved
to absolute paths on load, so a study folder can be moved or shared. Keys
this version does not know are kept in ``extra`` and written back unchanged.
Units are in the key names: MPa, mA/cm2, minutes, atm, micrometres.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

import numpy as np
import yaml

from ..errors import LiCellInputError
from ..io.atomic import atomic_write_text
from ..io.voxel_size import check_voxel_size_um

__all__ = [
    "SCHEMA_VERSION",
    "BONDING_PROCESSES",
    "GASES",
    "SCAN_STATES",
    "STUDY_SUFFIX",
    "Study",
    "CellRecord",
    "ScanRecord",
    "load_study",
    "save_study",
    "study_from_dict",
    "study_to_dict",
]

#: Version of the study file layout written by this code.
SCHEMA_VERSION = 1
#: Carbon-interlayer bonding processes of the paper ("none" = no interlayer); free text is allowed too.
BONDING_PROCESSES = ("none", "process1", "process2", "process3")
#: Gases a cell can be filled with for CT.
GASES = ("Xe", "Ar")
#: When a scan was taken relative to charging.
SCAN_STATES = ("before", "after", "during")
#: Usual file name ending of study files.
STUDY_SUFFIX = ".licell.yaml"

_GAS_NAMES = {"xe": "Xe", "xenon": "Xe", "ar": "Ar", "argon": "Ar"}


@dataclass
class ScanRecord:
    """One CT scan of a cell.

    Attributes
    ----------
    path : Path
        Volume file or slice folder (absolute after loading).
    gas : {"Xe", "Ar"} or None
        Gas filling the cell during the scan.
    gas_pressure_atm : float or None
        Gas pressure in atm.
    state : {"before", "after", "during"} or None
        Scan taken before, after or during charging.
    time_min : float or None
        Charging time at the scan in minutes.
    voxel_size_um : (z, y, x) or None
        Voxel size in micrometres when the file holds none.
    labels_path : Path or None
        Label volume (class codes) of this scan.
    thresholds : dict of str to float
        Grey-value thresholds used for the labels, by name.
    extra : dict
        Keys this version does not know, kept for writing back.
    """

    path: Path
    gas: str | None = None
    gas_pressure_atm: float | None = None
    state: str | None = None
    time_min: float | None = None
    voxel_size_um: tuple[float, float, float] | None = None
    labels_path: Path | None = None
    thresholds: dict[str, float] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class CellRecord:
    """One cell: how it was built, how it was charged, and its scans.

    Attributes
    ----------
    name : str
        Unique name within the study.
    bonding_process : str or None
        "none", "process1", "process2", "process3" or free text.
    se_pressure_mpa, carbon_pressure_mpa, stack_pressure_mpa : float or None
        Pressing pressures and stack pressure in MPa.
    current_density_ma_cm2 : float or None
        Plating current density in mA/cm2.
    charge_minutes : float or None
        Charging time in minutes.
    scans : list of ScanRecord
    voltage_file : Path or None
        Cycler file with the voltage curve.
    notes : str
    extra : dict
        Keys this version does not know.
    """

    name: str
    bonding_process: str | None = None
    se_pressure_mpa: float | None = None
    carbon_pressure_mpa: float | None = None
    stack_pressure_mpa: float | None = None
    current_density_ma_cm2: float | None = None
    charge_minutes: float | None = None
    scans: list[ScanRecord] = field(default_factory=list)
    voltage_file: Path | None = None
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Study:
    """A set of cells and scans, saved as one YAML file.

    Attributes
    ----------
    name : str
    cells : list of CellRecord
    schema_version : int
        Layout version of the file it came from (written as :data:`SCHEMA_VERSION`).
    extra : dict
        Top-level keys this version does not know.
    """

    name: str
    cells: list[CellRecord] = field(default_factory=list)
    schema_version: int = SCHEMA_VERSION
    extra: dict[str, Any] = field(default_factory=dict)

    def cell(self, name: str) -> CellRecord:
        """The cell called ``name`` (KeyError if none)."""
        for c in self.cells:
            if c.name == name:
                return c
        raise KeyError(f"no cell {name!r} in study {self.name!r}; cells: {[c.name for c in self.cells]}")


_SCAN_KEYS = ("path", "gas", "gas_pressure_atm", "state", "time_min", "voxel_size_um", "labels_path", "thresholds")
_CELL_KEYS = (
    "name",
    "bonding_process",
    "se_pressure_mpa",
    "carbon_pressure_mpa",
    "stack_pressure_mpa",
    "current_density_ma_cm2",
    "charge_minutes",
    "voltage_file",
    "notes",
    "scans",
)
_STUDY_KEYS = ("schema_version", "name", "cells")


class _Where:
    """The study file and the key being checked, for error messages."""

    def __init__(self, path: Path | None) -> None:
        self.path = path

    def fail(self, key: str, problem: str, hint: str = "") -> LiCellInputError:
        return LiCellInputError(self.path, f"{key}: {problem}", hint)


def normalise_bonding_process(value: str) -> str:
    """ "Process 1", "process_1", "P1" -> "process1"; "None", "no interlayer" -> "none"; else unchanged."""
    squashed = re.sub(r"[\s_\-]+", "", str(value)).lower()
    m = re.fullmatch(r"(?:process|p)([123])", squashed)
    if m:
        return f"process{m.group(1)}"
    if squashed in ("none", "nointerlayer", "nocarbon", "bare"):
        return "none"
    return str(value)


def _number(where: _Where, key: str, value: Any, *, minimum: float | None = 0.0, unit: str = "") -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise where.fail(key, f"{value!r} is not a number", f"write a plain number{' in ' + unit if unit else ''}")
    v = float(value)
    if not math.isfinite(v):
        raise where.fail(key, f"{value!r} is not a finite number", "write a plain number")
    if minimum is not None and v < minimum:
        raise where.fail(key, f"{v:g} is below {minimum:g}", f"write a value of {minimum:g} or more")
    if isinstance(value, (int, np.integer)):
        return int(value)  # keep "400" as 400 in the file
    return v


def _text(where: _Where, key: str, value: Any, *, allow_none: bool = True) -> str | None:
    if value is None and allow_none:
        return None
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return str(value)
    raise where.fail(key, f"{value!r} is not text", "write it as a plain string")


def _path_in(where: _Where, key: str, value: Any, base: Path, *, required: bool = False) -> Path | None:
    if value is None or value == "":
        if required:
            raise where.fail(key, "is missing", "give the path of the scan file or folder, relative to the study file")
        return None
    if not isinstance(value, (str, PurePath)):
        raise where.fail(key, f"{value!r} is not a path", "write the path as text")
    text = str(value).replace("\\", "/")
    p = Path(os.path.expanduser(text))
    if not p.is_absolute():
        p = Path(os.path.normpath(base / p))
    return p


def _path_out(value: Path | str | None, base: Path) -> str | None:
    if value is None:
        return None
    p = Path(value)
    if not p.is_absolute():
        return p.as_posix()
    try:
        return Path(os.path.relpath(p, base)).as_posix()
    except ValueError:  # another drive on Windows
        return p.as_posix()


def _gas(where: _Where, key: str, value: Any) -> str | None:
    if value is None:
        return None
    gas = _GAS_NAMES.get(str(value).strip().lower())
    if gas is None:
        raise where.fail(key, f"{value!r} is not a known gas", f"use one of {', '.join(GASES)}")
    return gas


def _state(where: _Where, key: str, value: Any) -> str | None:
    if value is None:
        return None
    state = str(value).strip().lower()
    if state not in SCAN_STATES:
        raise where.fail(key, f"{value!r} is not a scan state", f"use one of {', '.join(SCAN_STATES)}")
    return state


def _voxel(where: _Where, key: str, value: Any) -> tuple[float, float, float] | None:
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        if len(value) != 3:
            raise where.fail(
                key, f"needs 1 or 3 numbers (z, y, x), got {len(value)}", "e.g. 0.54 or [0.54, 0.54, 0.54]"
            )
        nums = [_number(where, key, v, minimum=None) for v in value]
        voxel = (float(nums[0]), float(nums[1]), float(nums[2]))  # type: ignore[arg-type]
    else:
        v = _number(where, key, value, minimum=None)
        voxel = (v, v, v)  # type: ignore[assignment]
    try:
        check_voxel_size_um(voxel, None, origin="")
    except LiCellInputError as exc:
        raise where.fail(key, exc.problem.replace("voxel size  ", "voxel size "), exc.hint) from None
    return voxel


def _thresholds(where: _Where, key: str, value: Any) -> dict[str, float]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise where.fail(key, f"{value!r} is not a mapping of names to numbers", "e.g. {li_void: 1450}")
    return {str(k): _number(where, f"{key}.{k}", v, minimum=None) for k, v in value.items()}  # type: ignore[misc]


def _mapping(where: _Where, key: str, value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise where.fail(key, f"is {type(value).__name__}, expected a mapping of keys to values", "")
    return value


def _scan_from(where: _Where, key: str, doc: Any, base: Path) -> ScanRecord:
    doc = _mapping(where, key, doc)
    return ScanRecord(
        path=_path_in(where, f"{key}.path", doc.get("path"), base, required=True),  # type: ignore[arg-type]
        gas=_gas(where, f"{key}.gas", doc.get("gas")),
        gas_pressure_atm=_number(where, f"{key}.gas_pressure_atm", doc.get("gas_pressure_atm"), unit="atm"),
        state=_state(where, f"{key}.state", doc.get("state")),
        time_min=_number(where, f"{key}.time_min", doc.get("time_min"), unit="minutes"),
        voxel_size_um=_voxel(where, f"{key}.voxel_size_um", doc.get("voxel_size_um")),
        labels_path=_path_in(where, f"{key}.labels_path", doc.get("labels_path"), base),
        thresholds=_thresholds(where, f"{key}.thresholds", doc.get("thresholds")),
        extra={str(k): v for k, v in doc.items() if k not in _SCAN_KEYS},
    )


def _cell_from(where: _Where, key: str, doc: Any, base: Path) -> CellRecord:
    doc = _mapping(where, key, doc)
    name = _text(where, f"{key}.name", doc.get("name"))
    if not name:
        raise where.fail(f"{key}.name", "is missing", "give every cell a unique name")
    key = f"{key} ({name!r})"
    process = _text(where, f"{key}.bonding_process", doc.get("bonding_process"))
    scans_doc = doc.get("scans") or []
    if not isinstance(scans_doc, list):
        raise where.fail(f"{key}.scans", f"is {type(scans_doc).__name__}, expected a list of scans", "")
    return CellRecord(
        name=name,
        bonding_process=None if process is None else normalise_bonding_process(process),
        se_pressure_mpa=_number(where, f"{key}.se_pressure_mpa", doc.get("se_pressure_mpa"), unit="MPa"),
        carbon_pressure_mpa=_number(where, f"{key}.carbon_pressure_mpa", doc.get("carbon_pressure_mpa"), unit="MPa"),
        stack_pressure_mpa=_number(where, f"{key}.stack_pressure_mpa", doc.get("stack_pressure_mpa"), unit="MPa"),
        current_density_ma_cm2=_number(
            where, f"{key}.current_density_ma_cm2", doc.get("current_density_ma_cm2"), unit="mA/cm2"
        ),
        charge_minutes=_number(where, f"{key}.charge_minutes", doc.get("charge_minutes"), unit="minutes"),
        scans=[_scan_from(where, f"{key}.scans[{i}]", s, base) for i, s in enumerate(scans_doc)],
        voltage_file=_path_in(where, f"{key}.voltage_file", doc.get("voltage_file"), base),
        notes=_text(where, f"{key}.notes", doc.get("notes")) or "",
        extra={str(k): v for k, v in doc.items() if k not in _CELL_KEYS},
    )


def study_from_dict(doc: Any, path: str | os.PathLike | None = None, *, base: str | os.PathLike | None = None) -> Study:
    """Build and check a :class:`Study` from parsed YAML.

    Parameters
    ----------
    doc : mapping
        The parsed file.
    path : path-like, optional
        The study file (for messages; its folder is the base of relative paths).
    base : path-like, optional
        Folder relative paths are resolved against (default: the study file's
        folder, else the current folder).

    Raises
    ------
    LiCellInputError
        Naming the file and the key (e.g. ``cells[1] ('p3').scans[0].gas``).
    """
    p = None if path is None else Path(path)
    where = _Where(p)
    root = Path(base) if base is not None else (p.absolute().parent if p is not None else Path.cwd())
    if doc is None:
        raise LiCellInputError(p, "is empty", "a study file starts with 'schema_version: 1'")
    if not isinstance(doc, Mapping):
        raise LiCellInputError(p, f"is not a napari-licell study file (its top level is a {type(doc).__name__})", "")
    if "schema_version" not in doc and "cells" not in doc:
        raise LiCellInputError(p, "is not a napari-licell study file (no 'schema_version' or 'cells')", "")
    version = doc.get("schema_version", SCHEMA_VERSION)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise where.fail("schema_version", f"{version!r} is not a positive whole number", "write 'schema_version: 1'")
    if version > SCHEMA_VERSION:
        raise where.fail(
            "schema_version",
            f"{version} is newer than this napari-licell reads ({SCHEMA_VERSION})",
            "update napari-licell",
        )
    default_name = p.name.removesuffix(STUDY_SUFFIX).removesuffix(".yaml").removesuffix(".yml") if p else "study"
    name = _text(where, "name", doc.get("name")) or default_name
    cells_doc = doc.get("cells") or []
    if not isinstance(cells_doc, list):
        raise where.fail("cells", f"is {type(cells_doc).__name__}, expected a list of cells", "")
    cells = [_cell_from(where, f"cells[{i}]", c, root) for i, c in enumerate(cells_doc)]
    seen: set[str] = set()
    for i, c in enumerate(cells):
        if c.name in seen:
            raise where.fail(f"cells[{i}].name", f"{c.name!r} is used by another cell", "give every cell a unique name")
        seen.add(c.name)
    return Study(
        name=name,
        cells=cells,
        schema_version=version,
        extra={str(k): v for k, v in doc.items() if k not in _STUDY_KEYS},
    )


def _plain(value: Any) -> Any:
    """YAML-safe version of a value (numpy scalars, tuples, paths)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, PurePath):
        return value.as_posix()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_plain(v) for v in value]
    return value


def _put(doc: dict[str, Any], key: str, value: Any) -> None:
    if value is not None:
        doc[key] = _plain(value)


def _voxel_out(voxel: tuple[float, float, float] | None) -> Any:
    if voxel is None:
        return None
    z, y, x = (float(v) for v in voxel)
    return z if z == y == x else [z, y, x]


def study_to_dict(
    study: Study, path: str | os.PathLike | None = None, *, base: str | os.PathLike | None = None
) -> dict[str, Any]:
    """The YAML document of a study: checked values, paths relative to ``base``.

    Parameters
    ----------
    study : Study
    path : path-like, optional
        Where it will be saved (for messages; its folder is the default base).
    base : path-like, optional
        Folder paths are made relative to.

    Raises
    ------
    LiCellInputError
        For values that would not load back (unknown gas, negative pressure, ...).
    """
    p = None if path is None else Path(path)
    where = _Where(p)
    root = Path(base) if base is not None else (p.absolute().parent if p is not None else Path.cwd())
    doc: dict[str, Any] = {"schema_version": SCHEMA_VERSION, "name": str(study.name)}
    for k, v in study.extra.items():
        if k not in _STUDY_KEYS:
            doc[k] = _plain(v)
    cells = []
    names: set[str] = set()
    for i, cell in enumerate(study.cells):
        key = f"cells[{i}] ({cell.name!r})"
        if not cell.name:
            raise where.fail(f"cells[{i}].name", "is missing", "give every cell a unique name")
        if cell.name in names:
            raise where.fail(
                f"cells[{i}].name", f"{cell.name!r} is used by another cell", "give every cell a unique name"
            )
        names.add(cell.name)
        c: dict[str, Any] = {"name": str(cell.name)}
        if cell.bonding_process is not None:
            c["bonding_process"] = normalise_bonding_process(cell.bonding_process)
        for attr, unit in (
            ("se_pressure_mpa", "MPa"),
            ("carbon_pressure_mpa", "MPa"),
            ("stack_pressure_mpa", "MPa"),
            ("current_density_ma_cm2", "mA/cm2"),
            ("charge_minutes", "minutes"),
        ):
            _put(c, attr, _number(where, f"{key}.{attr}", getattr(cell, attr), unit=unit))
        _put(c, "voltage_file", _path_out(cell.voltage_file, root))
        if cell.notes:
            c["notes"] = str(cell.notes)
        for k, v in cell.extra.items():
            if k not in _CELL_KEYS:
                c[k] = _plain(v)
        scans = []
        for j, scan in enumerate(cell.scans):
            skey = f"{key}.scans[{j}]"
            if scan.path is None or str(scan.path) == "":
                raise where.fail(f"{skey}.path", "is missing", "give the path of the scan file or folder")
            s: dict[str, Any] = {"path": _path_out(scan.path, root)}
            _put(s, "gas", _gas(where, f"{skey}.gas", scan.gas))
            _put(s, "gas_pressure_atm", _number(where, f"{skey}.gas_pressure_atm", scan.gas_pressure_atm, unit="atm"))
            _put(s, "state", _state(where, f"{skey}.state", scan.state))
            _put(s, "time_min", _number(where, f"{skey}.time_min", scan.time_min, unit="minutes"))
            _put(s, "voxel_size_um", _voxel_out(_voxel(where, f"{skey}.voxel_size_um", scan.voxel_size_um)))
            _put(s, "labels_path", _path_out(scan.labels_path, root))
            if scan.thresholds:
                s["thresholds"] = _thresholds(where, f"{skey}.thresholds", scan.thresholds)
            for k, v in scan.extra.items():
                if k not in _SCAN_KEYS:
                    s[k] = _plain(v)
            scans.append(s)
        c["scans"] = scans
        cells.append(c)
    doc["cells"] = cells
    return doc


def load_study(path: str | os.PathLike) -> Study:
    """Read a study file; paths come back absolute.

    Parameters
    ----------
    path : path-like
        The ``.licell.yaml`` file.

    Returns
    -------
    Study

    Raises
    ------
    LiCellInputError
        Unreadable file, invalid YAML (with line and column) or a bad value
        (naming the key).
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LiCellInputError(p, "does not exist", "check the path") from None
    except UnicodeDecodeError:
        raise LiCellInputError(p, "is not a text file (not UTF-8)", "pick the .licell.yaml study file") from None
    except OSError as exc:
        raise LiCellInputError(p, f"cannot be read: {exc.strerror or exc}", "check the path and permissions") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise LiCellInputError(
            p, f"is not valid YAML{where}: {problem}", "fix the indentation or quoting there"
        ) from None
    return study_from_dict(doc, p)


def save_study(study: Study, path: str | os.PathLike) -> Path:
    """Write a study file atomically, with paths relative to its folder.

    Parameters
    ----------
    study : Study
    path : path-like
        Target ``.licell.yaml`` file.

    Returns
    -------
    Path
        The written file.
    """
    p = Path(path)
    doc = study_to_dict(study, p)
    text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, default_flow_style=False, width=100)
    return atomic_write_text(p, text)
