"""Where a result came from: parameters, thresholds, software versions, input checksums, time.

Checksums are SHA-256, streamed in 8 MB blocks so gigabyte scans are never
read whole. A folder input (a TIFF series, a zarr store) is hashed file by
file in sorted order into one digest.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import os
import platform
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["Provenance", "software_versions", "sha256_file", "input_record", "make_provenance", "json_safe"]

_BLOCK = 8 * 1024 * 1024

#: Distributions whose versions every result records.
SOFTWARE = (
    "napari-licell",
    "numpy",
    "scipy",
    "scikit-image",
    "numba",
    "tifffile",
    "dask",
    "zarr",
    "matplotlib",
    "pandas",
    "xraydb",
)


def software_versions(extra: Iterable[str] = ()) -> dict[str, str | None]:
    """Installed versions of the packages results depend on (None when not installed), plus Python's."""
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in (*SOFTWARE, *extra):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    if out.get("napari-licell") is None:
        from .. import __version__

        out["napari-licell"] = __version__
    return out


def sha256_file(path: str | os.PathLike) -> str:
    """SHA-256 hex digest of a file, read in 8 MB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def input_record(path: str | os.PathLike) -> dict[str, Any]:
    """Path, size in bytes and SHA-256 of an input file or folder.

    A folder's digest is the SHA-256 over ``relative path NUL file digest NL`` of
    every file below it, in sorted order.
    """
    p = Path(path).resolve()
    if p.is_dir():
        digest = hashlib.sha256()
        size = n_files = 0
        for f in sorted(q for q in p.rglob("*") if q.is_file()):
            rel = f.relative_to(p).as_posix()
            digest.update(rel.encode() + b"\0" + sha256_file(f).encode() + b"\n")
            size += f.stat().st_size
            n_files += 1
        return {"path": str(p), "kind": "folder", "n_files": n_files, "size_bytes": size, "sha256": digest.hexdigest()}
    return {"path": str(p), "kind": "file", "size_bytes": p.stat().st_size, "sha256": sha256_file(p)}


def json_safe(value: Any) -> Any:
    """Turn numpy scalars/arrays, dataclasses, enums, paths and non-finite floats into JSON-ready values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return json_safe(dataclasses.asdict(value))
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return json_safe(value.tolist())
    if isinstance(value, Enum):
        return json_safe(value.value)
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, Path):
        return str(value)
    if value is None or isinstance(value, (int, str)):
        return value
    if hasattr(value, "as_dict"):
        return json_safe(value.as_dict())
    return str(value)


@dataclass
class Provenance:
    """Everything needed to reproduce a result.

    Attributes
    ----------
    parameters : dict
        Measurement parameters (voxel size in um, stack axis, limits, ...).
    thresholds : dict or None
        Grey-value thresholds used to make the labels (None when labels were given).
    inputs : list of dict
        Input files with path, size and SHA-256.
    software : dict
        Package versions.
    created_utc : str
        ISO 8601 time stamp (UTC).
    platform : str
        Operating system and machine.
    command : list of str
        Command line, when run from it.
    """

    parameters: dict[str, Any]
    thresholds: dict[str, Any] | None = None
    inputs: list[dict[str, Any]] = field(default_factory=list)
    software: dict[str, str | None] = field(default_factory=software_versions)
    created_utc: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    platform: str = field(default_factory=lambda: f"{platform.system()} {platform.release()} {platform.machine()}")
    command: list[str] | None = None

    def to_dict(self) -> dict[str, Any]:
        return json_safe(dataclasses.asdict(self))


def make_provenance(
    parameters: Mapping[str, Any],
    thresholds: Any = None,
    input_paths: Iterable[str | os.PathLike] = (),
    command: list[str] | None = None,
) -> Provenance:
    """Build the provenance of a measurement.

    Parameters
    ----------
    parameters : mapping
        Measurement parameters.
    thresholds : mapping or dataclass, optional
        Thresholds that made the labels.
    input_paths : iterable of path-like
        Input files or folders to checksum.
    command : list of str, optional
        The command line (defaults to ``sys.argv`` when run as the console script).
    """
    return Provenance(
        parameters=json_safe(dict(parameters)),
        thresholds=json_safe(thresholds) if thresholds is not None else None,
        inputs=[input_record(p) for p in input_paths],
        command=list(command) if command is not None else list(sys.argv),
    )
