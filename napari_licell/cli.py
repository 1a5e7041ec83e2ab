"""The ``napari-licell`` command: the desktop launcher and the headless subcommands.

With no subcommand it opens the desktop application on the built-in demo
study. Subcommands are registered from :mod:`napari_licell.commands`; each
returns an exit code. Bad input ends in one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from . import __version__
from .commands import COMMAND_MODULES
from .errors import EXIT_BAD_INPUT, LiCellInputError, cli_message

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    """The ``napari-licell`` argument parser: ``gui`` and the subcommands of :mod:`napari_licell.commands`."""
    parser = argparse.ArgumentParser(
        prog="napari-licell",
        description=(
            "X-ray CT of lithium deposition in all-solid-state Li-metal batteries. "
            "Without a subcommand, opens the desktop application on the demo study."
        ),
    )
    parser.add_argument("--version", action="version", version=f"napari-licell {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    gui = sub.add_parser("gui", help="open the desktop application (the default)")
    gui.add_argument("paths", nargs="*", help="scans or a study file to open instead of the demo study")
    gui.add_argument("--no-demo", action="store_true", help="start with an empty study")
    gui.set_defaults(func=_run_gui)
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"{__package__}.commands.{name}")
        module.register(sub)
    return parser


def _run_gui(args: argparse.Namespace) -> int:
    from ._qt.launcher import launch

    return launch(paths=list(getattr(args, "paths", []) or []), demo=not getattr(args, "no_demo", False))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", _run_gui)
    try:
        code = int(func(args) or 0)
        sys.stdout.flush()  # inside the try: a closed pipe is caught below, not at interpreter exit
        return code
    except LiCellInputError as exc:
        print(cli_message(exc), file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("napari-licell: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader of our output went away (e.g. `napari-licell batch ... | head`): stop quietly
        _silence_stdout()
        return 0


def _silence_stdout() -> None:
    """Point stdout at /dev/null so Python's flush at exit does not raise BrokenPipeError again."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
