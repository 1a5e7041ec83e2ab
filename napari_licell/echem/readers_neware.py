"""Neware BTS binary files, .nda and .ndax, through the NewareNDA package.

NewareNDA's own ``read`` chooses the parser by file extension; here the format
comes from the content (:mod:`.cycler_formats`), so its .nda and .ndax parsers
are called directly. In .ndax files "Time" restarts at every step; the
common checks join the steps end to end.
"""

from __future__ import annotations

import logging
import os
import struct
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import LiCellInputError
from .curve_checks import checked_curve
from .cycler_formats import NEWARE_NDA, NEWARE_NDAX
from .voltage_curve import VoltageCurve

__all__ = ["read_neware", "nda_has_end_marker"]

_REQUIRED = ("Time", "Voltage")

# Every .nda version starts with a header of at least this many bytes.
_NDA_HEADER_BYTES = 1024


def _newarenda_label() -> str:
    try:
        from importlib.metadata import version

        return f"NewareNDA {version('NewareNDA')}"
    except Exception:  # noqa: BLE001 - only for the report
        return "NewareNDA"


def nda_has_end_marker(path: Path) -> bool | None:
    """Whether an .nda (version 130) has the record that closes its data section.

    NewareNDA stops at the first record starting with 0x81, which a complete
    BTS 9 file has after its last measurement. A file cut short (or still
    being written) has none. Returns None where the check does not apply
    (other versions, unknown layout).
    """
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    if len(data) < 15 or data[14] != 130:
        return None
    if len(data) < 1026:
        return False  # cut inside the 1024-byte header
    if data[1024] == 0x55:  # BTS 9.1: records as long as the distance to the next one
        next_record = data.find(data[1024:1026], 1026)
        if next_record == -1:
            return False  # not even two records
        record_len = next_record - 1024
    else:
        record_len = 88
    n_records = (len(data) - 1024) // record_len
    firsts = np.frombuffer(data, dtype=np.uint8, count=n_records * record_len, offset=1024)[::record_len]
    return bool(np.any(firsts == 0x81))


def _with_software_cycle_number(frame):
    """NewareNDA's cycle numbers (a new cycle at a charge after a discharge), counted per status run.

    NewareNDA's ``software_cycle_number=True`` walks every row in Python (about
    1.8 s for 250,000 rows); its rule only looks at where the status changes,
    so it is run here on one row per run of equal status and spread back,
    which gives the same numbers.
    """
    if "Status" not in frame.columns or len(frame) == 0:
        return frame
    import pandas as pd
    from NewareNDA.utils import _generate_cycle_number

    status = frame["Status"].astype(str).to_numpy()
    starts = np.flatnonzero(np.r_[True, status[1:] != status[:-1]])
    runs = pd.DataFrame({"Status": status[starts]})
    per_run = np.asarray(_generate_cycle_number(runs, "chg"))
    lengths = np.diff(np.r_[starts, status.size])
    dtype = frame["Cycle"].dtype if "Cycle" in frame.columns else per_run.dtype
    frame["Cycle"] = np.repeat(per_run, lengths).astype(dtype)
    return frame


def _parse(path: Path, fmt: str):
    """The NewareNDA DataFrame, with its exceptions turned into LiCellInputError."""
    from NewareNDA.NewareNDA import read_nda
    from NewareNDA.NewareNDAx import read_ndax

    kind = "Neware .ndax" if fmt == NEWARE_NDAX else "Neware .nda"
    # NewareNDA logs details at INFO and its own errors at ERROR before raising;
    # the error is reported here as LiCellInputError, so keep its log quiet.
    logger = logging.getLogger("newarenda")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        if fmt == NEWARE_NDAX:
            frame = read_ndax(str(path), software_cycle_number=False, cycle_mode="chg")
        else:
            frame = read_nda(str(path), software_cycle_number=False, cycle_mode="chg")
        return _with_software_cycle_number(frame)
    except NotImplementedError as exc:
        raise LiCellInputError(path, f"{kind} version NewareNDA cannot read yet ({exc})") from exc
    except (zipfile.BadZipFile, EOFError, struct.error) as exc:
        raise LiCellInputError(
            path,
            f"truncated or damaged {kind} ({exc or type(exc).__name__})",
            "copy the file again from the cycler computer",
        ) from exc
    except (ValueError, KeyError, IndexError, TypeError, OSError, AttributeError) as exc:
        raise LiCellInputError(
            path,
            f"damaged or unsupported {kind} ({type(exc).__name__}: {exc})",
            "export it from BTSDA as CSV and read that",
        ) from exc
    finally:
        logger.setLevel(level)


def read_neware(path: str | os.PathLike, fmt: str = NEWARE_NDA) -> VoltageCurve:
    """Read a Neware .nda or .ndax file.

    Parameters
    ----------
    path : str or PathLike
        The file.
    fmt : {"neware-nda", "neware-ndax"}
        Which of the two (see :func:`~napari_licell.echem.cycler_formats.detect_format`).

    Returns
    -------
    VoltageCurve
        Time in minutes from the first record (per-step time joined into test
        time), voltage in V, current in mA (positive = charge), cycle and step
        as NewareNDA numbers them. ``metadata`` holds ``start_time`` (ISO,
        from the first record's timestamp) and ``status_counts``.

    Raises
    ------
    LiCellInputError
        Damaged, truncated or unsupported file, or no records.
    """
    p = Path(path)
    if fmt not in (NEWARE_NDA, NEWARE_NDAX):
        raise ValueError(f"not a Neware format: {fmt!r}")
    if fmt == NEWARE_NDA and p.stat().st_size < _NDA_HEADER_BYTES:
        raise LiCellInputError(
            p,
            f"truncated Neware .nda (the file ends inside its {_NDA_HEADER_BYTES}-byte header)",
            "copy the file again from the cycler computer",
        )
    end_marker = nda_has_end_marker(p) if fmt == NEWARE_NDA else None
    try:
        frame = _parse(p, fmt)
    except LiCellInputError as exc:
        if end_marker is False:
            raise LiCellInputError(
                p,
                "truncated Neware .nda (the file ends before its first complete data records)",
                "copy the file again from the cycler computer",
            ) from exc
        raise
    missing = [name for name in _REQUIRED if name not in frame.columns]
    if missing:
        raise LiCellInputError(
            p, f"no {missing[0].lower()} column found (columns: {', '.join(map(str, frame.columns))})"
        )
    if len(frame) == 0:
        raise LiCellInputError(p, "no data records", "the file holds no measurements (or is cut short)")

    meta: dict[str, Any] = {"columns": [str(c) for c in frame.columns], "reader": _newarenda_label()}
    if end_marker is False:
        meta["notes"] = [
            f"no end-of-data record: the file is cut short or still being written; "
            f"read its {len(frame)} complete records"
        ]
        meta["truncated"] = True
    if "Timestamp" in frame.columns:
        first = frame["Timestamp"].iloc[0]
        if first is not None and str(first) != "NaT":
            meta["start_time"] = first.isoformat() if hasattr(first, "isoformat") else str(first)
    if "Status" in frame.columns:
        meta["status_counts"] = {str(k): int(v) for k, v in frame["Status"].value_counts().items() if v}

    def column(name: str) -> np.ndarray | None:
        if name not in frame.columns:
            return None
        return frame[name].to_numpy(dtype=float, na_value=np.nan)

    return checked_curve(
        p, fmt, column("Time"), column("Voltage"), column("Current(mA)"), column("Cycle"), column("Step"), meta
    )
