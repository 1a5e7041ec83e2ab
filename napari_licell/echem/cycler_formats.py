"""Which battery cycler or potentiostat wrote a file, told from its content.

The extension is only a tie-breaker: a BioLogic .mpr renamed .csv is still read
as .mpr, and a TIFF renamed .csv is refused as an image. :func:`detect_format`
returns one of :data:`FORMATS` or raises :class:`~napari_licell.errors.LiCellInputError`.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

from ..errors import LiCellInputError
from .text_files import decode_text, looks_binary, split_lines

__all__ = [
    "FORMATS",
    "BIOLOGIC_MPR",
    "BIOLOGIC_MPT",
    "NEWARE_NDA",
    "NEWARE_NDAX",
    "ARBIN_RES",
    "MACCOR_TXT",
    "GAMRY_DTA",
    "CSV",
    "TSV",
    "EXCEL_XLSX",
    "EXCEL_XLS",
    "INDIGO_HDF5",
    "BATTDAT_HDF5",
    "SUPPORTED_HINT",
    "detect_format",
    "detect_format_from_bytes",
    "is_maccor_header",
]

BIOLOGIC_MPR = "biologic-mpr"
BIOLOGIC_MPT = "biologic-mpt"
NEWARE_NDA = "neware-nda"
NEWARE_NDAX = "neware-ndax"
ARBIN_RES = "arbin-res"
MACCOR_TXT = "maccor-txt"
GAMRY_DTA = "gamry-dta"
CSV = "csv"
TSV = "tsv"
EXCEL_XLSX = "excel-xlsx"
EXCEL_XLS = "excel-xls"
INDIGO_HDF5 = "indigo-hdf5"
BATTDAT_HDF5 = "battdat-hdf5"

#: Every format string :func:`detect_format` can return.
FORMATS: tuple[str, ...] = (
    BIOLOGIC_MPR,
    BIOLOGIC_MPT,
    NEWARE_NDA,
    NEWARE_NDAX,
    ARBIN_RES,
    MACCOR_TXT,
    GAMRY_DTA,
    CSV,
    TSV,
    EXCEL_XLSX,
    EXCEL_XLS,
    INDIGO_HDF5,
    BATTDAT_HDF5,
)

#: The hint given with every "not a cycler file" error.
SUPPORTED_HINT = (
    "supported: BioLogic .mpr/.mpt, Neware .nda/.ndax, Arbin .res, Maccor text export, "
    "Gamry .dta, Indigo or battdat HDF5, an Excel export (.xlsx/.xls) or a CSV/TSV table with time "
    "and voltage columns"
)

#: How many bytes are read to tell the format.
SNIFF_BYTES = 64 * 1024

# Files that are certainly not cycler data: signature -> what it looks like.
_NOT_CYCLER_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"II+\x00", "a BigTIFF image"),
    (b"MM\x00+", "a BigTIFF image"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"BM", "a BMP image"),
    (b"%PDF", "a PDF document"),
    (b"\x89HDF\r\n\x1a\n", "an HDF5 file"),
    (b"\x93NUMPY", "a NumPy .npy array"),
    (b"PAR1", "a Parquet table"),
    (b"ARROW1", "an Arrow/Feather table"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"BZh", "a bzip2 archive"),
    (b"\xfd7zXZ\x00", "an xz archive"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Office document (.xls/.doc)"),
)

_JET_MAGICS = (b"Standard Jet DB", b"Standard ACE DB")


def detect_format(path: str | os.PathLike) -> str:
    """Tell the cycler format of a file from its content.

    Parameters
    ----------
    path : str or PathLike
        The file.

    Returns
    -------
    str
        One of :data:`FORMATS`.

    Raises
    ------
    LiCellInputError
        The file is missing, empty, unreadable, or not a cycler file (an image,
        an archive, unrecognised binary data).
    """
    p = Path(path)
    if not p.exists():
        raise LiCellInputError(p, "file not found")
    if p.is_dir():
        raise LiCellInputError(p, "is a folder, not a cycler file", "give the data file itself")
    try:
        size = p.stat().st_size
        with open(p, "rb") as handle:
            head = handle.read(SNIFF_BYTES)
    except OSError as exc:
        raise LiCellInputError(p, f"cannot be read ({exc.strerror or exc})") from exc
    if size == 0 or not head:
        raise LiCellInputError(p, "file is empty")
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return _zip_format(p)
    if head.startswith(_HDF5_MAGIC):
        kind = _cycler_hdf5_kind(p)
        if kind is not None:
            return kind
    if head.startswith(_OLE_MAGIC) and (_OLE_WORKBOOK in head or p.suffix.lower() == ".xls"):
        # (the OLE directory of a big workbook can lie beyond the bytes read)
        return EXCEL_XLS
    return detect_format_from_bytes(head, p)


_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# The stream name of an Excel 97-2003 workbook in the OLE directory (UTF-16LE).
_OLE_WORKBOOK = "Workbook".encode("utf-16-le")


def _cycler_hdf5_kind(path: Path) -> str | None:
    """Indigo's ``time_series_data`` frame (pandas fixed or table layout), or a battdat table; else None."""
    try:
        import h5py

        with h5py.File(path, "r") as handle:
            group = handle.get("time_series_data")
            if isinstance(group, h5py.Group) and ("axis0" in group or "table" in group):
                return INDIGO_HDF5
            found: list[str] = []

            def visit(name: str, obj: object) -> bool | None:
                if isinstance(obj, h5py.Dataset) and obj.attrs.get("CLASS") in (b"TABLE", "TABLE"):
                    fields = set(obj.dtype.names or ())
                    if {"test_time", "voltage"} <= fields:
                        found.append(name)
                        return True
                return None

            handle.visititems(visit)
            return BATTDAT_HDF5 if found else None
    except Exception:  # noqa: BLE001 - a damaged file is refused as HDF5 below
        return None


def detect_format_from_bytes(head: bytes, path: str | os.PathLike | None = None) -> str:
    """Tell the format from the first bytes of a file (zip archives excepted).

    Parameters
    ----------
    head : bytes
        The first bytes of the file (:data:`SNIFF_BYTES` are enough).
    path : str or PathLike, optional
        The file, for error messages and as a tie-breaker between CSV and TSV.

    Returns
    -------
    str
        One of :data:`FORMATS` (never ``neware-ndax``: that needs the zip listing).
    """
    if not head:
        raise LiCellInputError(path, "file is empty")
    if head.startswith(b"BIO-LOGIC MODULAR FILE"):
        return BIOLOGIC_MPR
    if head.startswith(b"NEWARE"):
        return NEWARE_NDA
    if head[4:19] in _JET_MAGICS:
        return ARBIN_RES
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        raise LiCellInputError(path, "not a cycler file (looks like a zip archive)", SUPPORTED_HINT)
    binary = looks_binary(head)
    for signature, what in _NOT_CYCLER_SIGNATURES:
        # Signatures made of plain letters ("BM", "PAR1") could start a text
        # file's first line: trust them only when the rest is binary too.
        if head.startswith(signature) and (binary or not signature.isascii() or not signature.isalnum()):
            raise LiCellInputError(path, f"not a cycler file (looks like {what})", SUPPORTED_HINT)
    if binary:
        raise LiCellInputError(path, "not a cycler file (unrecognised binary content)", SUPPORTED_HINT)

    text, _ = decode_text(head, strict=False)
    lines = [line.strip() for line in split_lines(text)[:200]]
    nonblank = [line for line in lines if line]
    if not nonblank:
        raise LiCellInputError(path, "file holds only blank lines", SUPPORTED_HINT)
    first = nonblank[0]
    if first in ("EC-Lab ASCII FILE", "BT-Lab ASCII FILE"):
        return BIOLOGIC_MPT
    if first in ("EC-Lab LOG FILE", "BT-Lab LOG FILE"):
        raise LiCellInputError(
            path,
            "a BioLogic log file (.mpl), not the measurements",
            "give the .mpr (or its .mpt export) of the same run",
        )
    if first == "EXPLAIN":
        return GAMRY_DTA
    if first.lower().startswith(("<?xml", "<!doctype", "<html")):
        # (a table whose first column is "<Ewe>/V" starts with "<" too)
        head_text = " ".join(nonblank[:5])
        if "MaccorTestProcedure" in head_text or "Maccor Procedure File" in head_text:
            raise LiCellInputError(
                path,
                "not a cycler file (a Maccor test procedure, XML: no measurements)",
                "give the Maccor data file of the run (numbered like NAME.001, or its text export)",
            )
        raise LiCellInputError(path, "not a cycler file (looks like an XML or HTML document)", SUPPORTED_HINT)
    if any(is_maccor_header(line) for line in lines[:60]):
        return MACCOR_TXT
    tabs = sum(line.count("\t") for line in nonblank[:50])
    others = sum(line.count(",") + line.count(";") for line in nonblank[:50])
    if tabs > others:
        return TSV
    if tabs == others and path is not None and Path(path).suffix.lower() in (".tsv", ".tab"):
        return TSV
    return CSV


def is_maccor_header(line: str) -> bool:
    """True for the column header line of a Maccor text export.

    Maccor exports name the record column ``Rec#`` and the cycle column
    ``Cyc#`` (or ``Cycle C``/``Cycle P``), with a ``Volts``/``Voltage`` column.
    """
    sep = "\t" if "\t" in line else ","
    fields = {field.strip().strip('"').lower() for field in line.split(sep)}
    has_rec = "rec#" in fields or "rec" in fields
    has_cycle = "cyc#" in fields or any(f.startswith("cycle") for f in fields)
    has_volts = any(f.startswith("volts") or f.startswith("voltage") for f in fields)
    return has_rec and has_cycle and has_volts


def _zip_format(path: Path) -> str:
    """Neware .ndax, or a clear refusal for other zip archives."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        if path.suffix.lower() == ".ndax":
            raise LiCellInputError(
                path,
                f"truncated or damaged Neware .ndax (the zip archive cannot be opened: {exc})",
                "copy the file again from the cycler computer",
            ) from exc
        raise LiCellInputError(path, f"not a cycler file (a damaged zip archive: {exc})", SUPPORTED_HINT) from exc
    lower = [name.lower() for name in names]
    if any(name.endswith(".ndc") for name in lower):
        return NEWARE_NDAX
    if "[content_types].xml" in lower and any(name.startswith("xl/") for name in lower):
        return EXCEL_XLSX
    raise LiCellInputError(path, "not a cycler file (a zip archive without Neware .ndc members)", SUPPORTED_HINT)
