""".xlsx record sheets read column by column with fastexcel (Rust calamine into Arrow).

A 250,000-row Arbin export holds about 150 MB of sheet XML. Reading it with
python-calamine into Python lists (one object per cell) and then into a
table took 4-7 s; most of it was building and converting 3 million Python
objects. Here the header is found in the first rows of each sheet, read
straight from the zip (a few hundred KB, so a 40-row ``Global_Info`` or
``Cycle-Tab`` sheet costs nothing and a big sheet is not parsed twice), and
only the record sheet's time, voltage, current, cycle, step and state columns
are then loaded, as Arrow arrays, by fastexcel.

Whatever this path cannot vouch for (no ``<sheetData>`` in the plain
SpreadsheetML namespace, no header in the first rows, loaded values that do
not match the rows read from the XML) raises :class:`NotFast`, and
:mod:`.readers_excel` reads the workbook with python-calamine as before.
"""

from __future__ import annotations

import html
import posixpath
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .readers_table import HEADER_SEARCH_LINES, _picks, find_header

__all__ = ["NotFast", "SheetHead", "sheet_heads", "load_columns", "column_letter", "fastexcel_version"]

#: At most this much of a sheet's XML is inflated to find its header.
_HEAD_BYTES = 8 << 20

_ATTR = re.compile(rb'([\w:]+)\s*=\s*"([^"]*)"')
_SHEET = re.compile(rb"<sheet\b([^>]*?)/?>")
_RELATION = re.compile(rb"<Relationship\b([^>]*?)/?>")
_ROW = re.compile(rb"<row\b([^>]*?)(?:/>|>(.*?)</row>)", re.S)
_CELL = re.compile(rb"<c\b([^>]*?)(?:/>|>(.*?)</c>)", re.S)
_VALUE = re.compile(rb"<v>(.*?)</v>", re.S)
_TEXT = re.compile(rb"<t\b[^>]*?(?:/>|>(.*?)</t>)", re.S)
_SHARED = re.compile(rb"<si\b[^>]*?(?:/>|>(.*?)</si>)", re.S)
_PHONETIC = re.compile(rb"<rPh\b.*?</rPh>", re.S)
_DIMENSION = re.compile(rb'<dimension\s+ref="[A-Z]*\d*:?[A-Z]*(\d*)"')
_REF = re.compile(rb"([A-Z]+)(\d+)")


class NotFast(Exception):
    """This workbook is read the slow, general way (python-calamine)."""


@dataclass
class SheetHead:
    """What the first rows of a sheet tell."""

    name: str
    header: Any  # readers_table._Header, index = position in ``rows``
    header_row: int  # 1-based sheet row number of the header
    rows: list[tuple[int, list[str]]]  # (sheet row number, cell texts from column A)
    n_rows_estimate: int


def column_letter(index: int) -> str:
    """0 -> "A", 27 -> "AB"."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _column_index(letters: bytes) -> int:
    index = 0
    for char in letters:
        index = index * 26 + (char - 64)
    return index - 1


def _attrs(text: bytes) -> dict[bytes, bytes]:
    return {key.split(b":")[-1]: value for key, value in _ATTR.findall(text)}


def _text(raw: bytes) -> str:
    return html.unescape(raw.decode("utf-8", errors="replace"))


def _shared_strings(archive: zipfile.ZipFile, member: str | None) -> list[str]:
    if member is None or member not in archive.namelist():
        return []
    data = archive.read(member)
    strings = []
    for body in _SHARED.findall(data):
        body = _PHONETIC.sub(b"", body or b"")
        strings.append("".join(_text(t) for t in _TEXT.findall(body)))
    return strings


def _workbook_parts(archive: zipfile.ZipFile) -> tuple[list[tuple[str, str]], str | None]:
    """(sheet name, zip member) in workbook order, and the shared strings member."""
    names = set(archive.namelist())
    if "xl/workbook.xml" not in names:
        raise NotFast("no xl/workbook.xml")
    rels_member = "xl/_rels/workbook.xml.rels"
    targets: dict[bytes, str] = {}
    shared = None
    if rels_member in names:
        for attrs in map(_attrs, _RELATION.findall(archive.read(rels_member))):
            target = attrs.get(b"Target", b"").decode()
            member = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
            targets[attrs.get(b"Id", b"")] = member
            if attrs.get(b"Type", b"").endswith(b"/sharedStrings"):
                shared = member
    sheets = []
    for attrs in map(_attrs, _SHEET.findall(archive.read("xl/workbook.xml"))):
        member = targets.get(attrs.get(b"id", b""))
        if member is None or member not in names:
            raise NotFast("a sheet without its part")
        sheets.append((_text(attrs.get(b"name", b"")), member))
    if shared is None and "xl/sharedStrings.xml" in names:
        shared = "xl/sharedStrings.xml"
    return sheets, shared


def _head_bytes(archive: zipfile.ZipFile, member: str) -> tuple[bytes, bool]:
    """The start of a sheet's XML, cut after a whole row; True when that is all of it."""
    with archive.open(member) as handle:
        chunks: list[bytes] = []
        rows = 0
        size = 0
        while True:
            chunk = handle.read(1 << 18)
            if not chunk:
                return b"".join(chunks), True
            chunks.append(chunk)
            size += len(chunk)
            rows += chunk.count(b"</row>")
            if rows > HEADER_SEARCH_LINES + 5 or size > _HEAD_BYTES:
                break
    data = b"".join(chunks)
    end = data.rfind(b"</row>")
    return (data[: end + len(b"</row>")] if end >= 0 else data), False


def _cell_value(attrs: dict[bytes, bytes], body: bytes, shared: list[str]) -> str:
    kind = attrs.get(b"t", b"n")
    if kind == b"inlineStr":
        return "".join(_text(t) for t in _TEXT.findall(body))
    found = _VALUE.search(body)
    if found is None:
        return ""
    value = found.group(1)
    if kind == b"s":
        try:
            return shared[int(value)]
        except (ValueError, IndexError):
            return ""
    return _text(value)


def _rows(data: bytes, shared: list[str]) -> list[tuple[int, list[str]]]:
    start = data.find(b"<sheetData")
    if start < 0:
        raise NotFast("no <sheetData> (a prefixed namespace?)")
    rows: list[tuple[int, list[str]]] = []
    number = 0
    for row_attrs, body in _ROW.findall(data, start):
        r = _attrs(row_attrs).get(b"r")
        number = int(r) if r else number + 1
        cells: dict[int, str] = {}
        column = -1
        for cell_attrs, cell_body in _CELL.findall(body or b""):
            attrs = _attrs(cell_attrs)
            ref = _REF.match(attrs.get(b"r", b""))
            column = _column_index(ref.group(1)) if ref else column + 1
            text = _cell_value(attrs, cell_body or b"", shared)
            if text:
                cells[column] = text.replace("\t", " ").replace("\r", " ").replace("\n", " ")
        width = max(cells) + 1 if cells else 0
        rows.append((number, [cells.get(i, "") for i in range(width)]))
    return rows


def _head(data: bytes, shared: list[str]) -> tuple[list[tuple[int, list[str]]], Any]:
    """Rows and header of a sheet's first XML; the first 60 rows are tried before all of them."""
    cut = -1
    for _ in range(60):
        cut = data.find(b"</row>", cut + 1)
        if cut < 0:
            break
    candidates = [data[: cut + len(b"</row>")], data] if cut >= 0 else [data]
    for part in candidates:
        rows = _rows(part, shared)
        lines = ["\t".join(cells) for _, cells in rows]
        header, _ = find_header(lines, delimiters=("\t",))
        if header is not None and (part is data or header.index + 6 <= len(rows)):
            return rows, header
    return rows, None


def sheet_heads(path: Path) -> tuple[list[str], list[SheetHead]]:
    """Names of all sheets, and the sheets whose first rows name a time and a voltage column.

    Raises
    ------
    NotFast
        Where this reader cannot vouch for what it sees.
    """
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise NotFast(str(exc)) from exc
    with archive:
        sheets, shared_member = _workbook_parts(archive)
        shared = _shared_strings(archive, shared_member)
        heads = []
        for name, member in sheets:
            data, whole = _head_bytes(archive, member)
            rows, header = _head(data, shared)
            if header is None:
                if not whole and rows:
                    raise NotFast(f"no header in the first rows of '{name}'")
                continue
            header_row = rows[header.index][0]
            dimension = _DIMENSION.search(data[:4096])
            seen = rows[-1][0] if rows else header_row
            if whole:
                last = seen
            elif dimension and dimension.group(1) and int(dimension.group(1)) > seen:
                last = int(dimension.group(1))
            else:  # no (or a wrong) dimension: scale by the bytes per row read so far
                size = archive.getinfo(member).file_size
                last = int(data.count(b"</row>") * size / max(len(data), 1))
            heads.append(SheetHead(name, header, header_row, rows, max(last - header_row, 0)))
    return [name for name, _ in sheets], heads


def fastexcel_version() -> str:
    try:
        from importlib.metadata import version

        return version("fastexcel")
    except Exception:  # noqa: BLE001 - only for the report
        return "?"


def _series(column: Any) -> Any:
    """An Arrow column as the pandas Series the table reader takes."""
    import pandas as pd
    import pyarrow as pa

    kind = column.type
    if pa.types.is_time(kind):
        # Neware's "Total Time" as an Excel time of day: elapsed time.
        values = column.cast(pa.time64("us")).cast(pa.int64()).to_numpy(zero_copy_only=False)
        return pd.Series(pd.to_timedelta(np.asarray(values, dtype="float64"), unit="us"))
    if pa.types.is_duration(kind):
        return pd.Series(column.to_pandas())
    if pa.types.is_date(kind):
        return pd.Series(column.cast(pa.timestamp("ms")).to_pandas())
    if pa.types.is_timestamp(kind):
        series = pd.Series(column.to_pandas())
        valid = series.dropna()
        if len(valid) and valid.max() < _EXCEL_DAY_ZERO + pd.Timedelta(days=60):
            # Excel times of day and [h]:mm:ss durations (Neware's "Total
            # Time") come as dates on Excel's day 0: elapsed time, not dates.
            return series - _EXCEL_DAY_ZERO
        return series
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return pd.Series(column.to_pylist(), dtype=object)
    return pd.Series(column.to_pandas())


#: The date fastexcel gives an Excel time of day (serial number below 1).
_EXCEL_DAY_ZERO = np.datetime64("1899-12-31T00:00:00")


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return float("nan")


def load_columns(path: Path, heads: list[SheetHead]) -> list[tuple[str, Any]]:
    """The used columns of each sheet of a record, as ``c<i>`` columns of a DataFrame.

    Parameters
    ----------
    path : Path
        The workbook.
    heads : list of SheetHead
        The sheets of one record (same header), in order.

    Returns
    -------
    list of (sheet name, pandas.DataFrame)
        Rows in which every used column is empty are dropped.

    Raises
    ------
    NotFast
        When the loaded values do not line up with the rows read from the XML.
    """
    import fastexcel
    import pandas as pd

    positions = sorted({position for position, _, _ in _picks(heads[0].header).values()})
    letters = ",".join(column_letter(p) for p in positions)
    reader = fastexcel.read_excel(str(path))
    frames = []
    for head in heads:
        sheet = reader.load_sheet(
            head.name, header_row=None, skip_rows=head.header_row, use_columns=letters, schema_sample_rows=None
        )
        table = sheet.to_arrow()
        by_index = {info.absolute_index: info.name for info in sheet.selected_columns}
        columns = {}
        for position in positions:
            name = by_index.get(position)
            columns[f"c{position}"] = (
                _series(table.column(name)) if name is not None else pd.Series(np.full(table.num_rows, np.nan))
            )
        frame = pd.DataFrame(columns)
        frame = frame[frame.notna().any(axis=1).to_numpy()].reset_index(drop=True)
        _check_alignment(head, frame)
        frames.append((head.name, frame))
    return frames


def _check_alignment(head: SheetHead, frame: Any) -> None:
    """The first loaded voltages are those of the rows under the header in the XML."""
    position = _picks(head.header)["voltage"][0]
    expected = []
    for _, cells in head.rows[head.header.index + 1 :]:
        if any(cells):
            expected.append(_number(cells[position]) if position < len(cells) and cells[position] else np.nan)
        if len(expected) == 5:
            break
    loaded = frame[f"c{position}"].iloc[: len(expected)]
    if len(loaded) < len(expected):
        raise NotFast("fewer rows loaded than read")
    import pandas as pd

    got = pd.to_numeric(loaded, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    want = np.asarray(expected, dtype=float)
    if not np.allclose(got, want, equal_nan=True, rtol=1e-12, atol=0.0):
        raise NotFast(f"loaded rows of '{head.name}' do not line up with the sheet")
