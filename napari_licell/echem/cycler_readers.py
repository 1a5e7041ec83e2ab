"""One entry point for every cycler file: :func:`read_voltage_curve`.

The format is told from the content (:func:`~.cycler_formats.detect_format`),
the matching reader runs, and whatever goes wrong ends as one
:class:`~napari_licell.errors.LiCellInputError` naming the file and the
problem: a parser's own exception never reaches the user as a traceback.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..errors import LiCellInputError
from .cycler_formats import (
    ARBIN_RES,
    BATTDAT_HDF5,
    BIOLOGIC_MPR,
    BIOLOGIC_MPT,
    CSV,
    EXCEL_XLS,
    EXCEL_XLSX,
    GAMRY_DTA,
    INDIGO_HDF5,
    MACCOR_TXT,
    NEWARE_NDA,
    NEWARE_NDAX,
    TSV,
    detect_format,
)
from .voltage_curve import VoltageCurve

__all__ = ["read_voltage_curve", "reader_for"]


def reader_for(fmt: str) -> Callable[[Path], VoltageCurve]:
    """The reader function for a format string from :func:`detect_format`.

    Readers are imported on demand so that reading a CSV does not load galvani
    or NewareNDA.
    """
    if fmt == BIOLOGIC_MPR:
        from .readers_biologic import read_biologic_mpr

        return read_biologic_mpr
    if fmt == BIOLOGIC_MPT:
        from .readers_biologic import read_biologic_mpt

        return read_biologic_mpt
    if fmt in (NEWARE_NDA, NEWARE_NDAX):
        from .readers_neware import read_neware

        return lambda path: read_neware(path, fmt)
    if fmt == ARBIN_RES:
        from .readers_arbin import read_arbin_res

        return read_arbin_res
    if fmt == MACCOR_TXT:
        from .readers_maccor import read_maccor_txt

        return read_maccor_txt
    if fmt == GAMRY_DTA:
        from .readers_gamry import read_gamry_dta

        return read_gamry_dta
    if fmt in (CSV, TSV):
        from .readers_table import read_table

        return lambda path: read_table(path, fmt)
    if fmt in (EXCEL_XLSX, EXCEL_XLS):
        from .readers_excel import read_excel

        return lambda path: read_excel(path, fmt)
    if fmt == INDIGO_HDF5:
        from .readers_hdf5 import read_indigo_hdf5

        return read_indigo_hdf5
    if fmt == BATTDAT_HDF5:
        from .readers_hdf5 import read_battdat_hdf5

        return read_battdat_hdf5
    raise ValueError(f"unknown cycler format {fmt!r}")


def read_voltage_curve(path: str | os.PathLike) -> VoltageCurve:
    """Read any supported cycler or potentiostat file into a :class:`VoltageCurve`.

    Parameters
    ----------
    path : str or PathLike
        BioLogic .mpr/.mpt, Neware .nda/.ndax, Arbin .res, Maccor text
        export or raw file, Gamry .dta, Indigo .h5, an Excel export
        (Arbin, Neware, LANHE .xlsx/.xls), or a CSV/TSV table with time and
        voltage columns (Novonix, Arbin, BatteryArchive, Battery Data Format, ...).

    Returns
    -------
    VoltageCurve
        ``time_min``: minutes from the first point, non-decreasing;
        ``voltage_v``: V; ``current_ma``: mA (None when the file has none);
        ``cycle``/``step`` where the file has them; ``format``: the detected
        format; ``metadata["notes"]``: any repair or assumption made;
        ``metadata["warnings"]``: warnings the parser library raised.

    Raises
    ------
    LiCellInputError
        For every file that cannot be read as a voltage record, with the
        file, the problem and, where known, a hint.
    """
    p = Path(path)
    fmt = detect_format(p)
    reader = reader_for(fmt)
    try:
        # Parser libraries warn about what they skip; keep those warnings with
        # the curve instead of on the terminal.
        with warnings.catch_warnings(record=True) as caught, np.errstate(all="ignore"):
            warnings.simplefilter("always")
            curve = reader(p)
        messages = list(dict.fromkeys(f"{w.category.__name__}: {w.message}" for w in caught))
        if messages:
            curve.metadata["warnings"] = messages
        return curve
    except LiCellInputError:
        raise
    except MemoryError as exc:
        raise LiCellInputError(p, f"too large to read into memory as {fmt}") from exc
    except Exception as exc:  # noqa: BLE001 - parser libraries raise anything on damaged files
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        what = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
        raise LiCellInputError(
            p, f"could not be read as {fmt} ({what})", "the file may be damaged or an unsupported variant"
        ) from exc
