"""Atomic file writes: write beside the target, then replace it in one step.

A writer that fails halfway (full disk, exception, Ctrl-C) leaves the
previous file untouched and no temporary file behind. Temporary files live
in the target's folder (same file system, so :func:`os.replace` is atomic)
and are named ``.<name>.<random>.tmp``.

Folders (zarr stores) cannot be swapped in one system call when the target
exists; :func:`atomic_path` then moves the old folder aside, moves the new
one in and deletes the old one, restoring it if the move fails.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["atomic_path", "move_into_place", "atomic_write_bytes", "atomic_write_text", "temp_sibling", "TEMP_SUFFIX"]

#: Suffix of temporary files and folders made by this module.
TEMP_SUFFIX = ".tmp"


def temp_sibling(path: str | os.PathLike, suffix: str = "") -> Path:
    """A fresh, unused hidden path in the same folder as ``path``.

    Parameters
    ----------
    path : path-like
        The final path.
    suffix : str
        Extra ending kept before ``.tmp`` (writers that pick a format from the
        file name, e.g. tifffile's ``.ome.tif``, need it).
    """
    p = Path(path)
    for _ in range(100):
        candidate = p.with_name(f".{p.name}.{secrets.token_hex(4)}{suffix}{TEMP_SUFFIX}")
        if not candidate.exists():
            return candidate
    raise FileExistsError(f"could not find a free temporary name beside {p}")


def _remove(path: Path) -> None:
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        elif path.exists() or path.is_symlink():
            path.unlink()
    except OSError:
        pass


def _fsync_file(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _fsync_dir(folder: Path) -> None:
    if os.name != "posix":
        return
    _fsync_file(folder)


def _apply_mode(tmp: Path, target: Path) -> None:
    """Give the new file the old file's permissions, or the umask default."""
    if tmp.is_dir():
        return
    try:
        mode = target.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    try:
        os.chmod(tmp, mode)
    except OSError:
        pass


def _replace(tmp: Path, target: Path) -> None:
    if tmp.is_dir() and target.exists():
        if not target.is_dir():
            raise IsADirectoryError(f"cannot replace file {target} with a folder")
        aside = temp_sibling(target, ".old")
        os.replace(target, aside)
        try:
            os.replace(tmp, target)
        except BaseException:
            os.replace(aside, target)
            raise
        shutil.rmtree(aside, ignore_errors=True)
    else:
        os.replace(tmp, target)


def move_into_place(tmp: str | os.PathLike, path: str | os.PathLike, *, fsync: bool = True) -> Path:
    """Replace ``path`` (file or folder) by the finished ``tmp`` on the same file system.

    For a folder the old one is renamed aside first and put back if the
    rename fails, so ``path`` always holds a complete version.
    """
    tmp, target = Path(tmp), Path(path)
    if fsync and tmp.is_file():
        _fsync_file(tmp)
    _apply_mode(tmp, target)
    _replace(tmp, target)
    if fsync:
        _fsync_dir(target.parent)
    return target


@contextmanager
def atomic_path(path: str | os.PathLike, *, suffix: str | None = None, fsync: bool = True) -> Iterator[Path]:
    """Yield a temporary path to write to; it replaces ``path`` when the block succeeds.

    On any exception (including KeyboardInterrupt) the temporary file or
    folder is removed and ``path`` keeps its previous content.

    Parameters
    ----------
    path : path-like
        Final file or folder.
    suffix : str, optional
        Ending of the temporary name before ``.tmp``; defaults to the final
        name's extensions (e.g. ``.ome.tif``) so format-sniffing writers work.
    fsync : bool
        Flush the new file to disk before the replace (durable on power loss).

    Yields
    ------
    Path
        Where to write. It does not exist yet; the writer creates it (as a
        file or a folder).

    Examples
    --------
    >>> with atomic_path("labels.tif") as tmp:       # doctest: +SKIP
    ...     tifffile.imwrite(tmp, labels)
    """
    target = Path(path)
    if suffix is None:
        suffix = "".join(target.suffixes[-2:]) if target.suffixes else ""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_sibling(target, suffix)
    try:
        yield tmp
        if not tmp.exists():
            raise FileNotFoundError(f"the writer did not create {tmp}")
        move_into_place(tmp, target, fsync=fsync)
    except BaseException:
        _remove(tmp)
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes, *, fsync: bool = True) -> Path:
    """Write ``data`` to ``path`` atomically.

    Returns
    -------
    Path
        The final path.
    """
    target = Path(path)
    with atomic_path(target, fsync=fsync) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
    return target


def atomic_write_text(path: str | os.PathLike, text: str, *, encoding: str = "utf-8", fsync: bool = True) -> Path:
    """Write ``text`` to ``path`` atomically (``\\n`` line endings kept as given).

    Returns
    -------
    Path
        The final path.
    """
    target = Path(path)
    with atomic_path(target, fsync=fsync) as tmp:
        with open(tmp, "w", encoding=encoding, newline="") as fh:
            fh.write(text)
    return target
