"""``napari-licell install-desktop-entry [--prefix DIR]``: put napari-licell in the desktop's application menu.

Writes ``napari-licell.desktop`` into ``DIR/applications`` and the icon into
``DIR/icons/hicolor`` (``DIR`` defaults to ``$XDG_DATA_HOME`` or
``~/.local/share``, the user's own data folder: no administrator rights
needed). The entry starts ``napari-licell gui`` with the files it is given.
"""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["register"]


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "install-desktop-entry",
        help="add napari-licell to the desktop's application menu (for this user)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--prefix",
        type=Path,
        default=None,
        help="data folder to install into (default: $XDG_DATA_HOME or ~/.local/share)",
    )
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from ..desktop_entry import install_desktop_entry, shell_line
    from ..errors import LiCellInputError

    try:
        installed = install_desktop_entry(args.prefix)
    except OSError as exc:
        raise LiCellInputError(
            getattr(exc, "filename", None) or args.prefix,
            f"cannot write the desktop entry: {exc.strerror or exc}",
            "choose a folder you can write with --prefix",
        ) from exc
    print(f"desktop entry: {installed.entry}")
    for icon in installed.icons:
        print(f"icon: {icon}")
    print(f"starts: {shell_line(list(installed.command))} gui")
    return 0
