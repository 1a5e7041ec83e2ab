"""Text cycler exports: telling text from binary, decoding, splitting lines.

Cycler software writes UTF-8, UTF-16 (with a byte-order mark) or a Windows
code page (EC-Lab's "µA" in latin-1); these helpers accept all of them.
"""

from __future__ import annotations

import codecs
import os
from pathlib import Path

from ..errors import LiCellInputError

__all__ = ["decode_text", "looks_binary", "split_lines", "read_text_file"]

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

# Control characters that never occur in a text export (tab, LF, FF, CR excepted).
_CONTROL = bytes(c for c in range(32) if c not in (9, 10, 12, 13))


def _bom_encoding(data: bytes) -> str | None:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return encoding
    return None


def looks_binary(data: bytes) -> bool:
    """True when ``data`` (the start of a file) is not text.

    Parameters
    ----------
    data : bytes
        The first bytes of a file.

    Returns
    -------
    bool
        True for NUL bytes or more than 5 % control characters, unless a
        UTF-16/32 byte-order mark says the NULs belong to the text.
    """
    if not data:
        return False
    if _bom_encoding(data) in ("utf-16", "utf-32"):
        return False
    if b"\x00" in data:
        return True
    n_control = len(data) - len(data.translate(None, _CONTROL))
    return n_control > 0.05 * len(data)


def decode_text(data: bytes, strict: bool = True) -> tuple[str, str]:
    """Decode a text export.

    Parameters
    ----------
    data : bytes
        File content.
    strict : bool
        With False, a multi-byte character cut at the end of ``data`` (a file
        head) is dropped instead of forcing the latin-1 fallback.

    Returns
    -------
    text, encoding : str, str
        UTF-8 (or the BOM's encoding) when it decodes, else latin-1, which
        decodes any byte sequence.
    """
    encoding = _bom_encoding(data)
    if encoding is not None:
        return data.decode(encoding, errors="replace"), encoding
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        if not strict and exc.start >= len(data) - 3:
            return data[: exc.start].decode("utf-8", errors="replace"), "utf-8"
    return data.decode("latin-1"), "latin-1"


def split_lines(text: str) -> list[str]:
    """Split on CR LF, LF or CR only (not on the other characters ``str.splitlines`` knows)."""
    # str.replace/split is twice as fast as the regular expression on big files.
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def read_text_file(path: str | os.PathLike) -> tuple[str, str]:
    """Read and decode a whole text export.

    Returns
    -------
    text, encoding : str, str

    Raises
    ------
    LiCellInputError
        The file cannot be read, is empty or is binary.
    """
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise LiCellInputError(p, f"cannot be read ({exc.strerror or exc})") from exc
    if not data:
        raise LiCellInputError(p, "file is empty")
    if not data.strip():
        raise LiCellInputError(p, "file holds only blank lines")
    if looks_binary(data[:65536]):
        raise LiCellInputError(p, "not a text export (binary content)")
    return decode_text(data)
