"""The desktop launcher's files: the icon and the ``.desktop`` entry, installed for the user. Qt-free.

The project keeps them in the top-level ``resources/`` folder, shipped as ``napari_licell/resources/`` (package data, so an
installed app finds them): ``napari-licell.svg`` (the icon, also the window
icon), ``napari-licell.png`` (256 px, for desktops without SVG icons) and
``napari-licell.desktop.in`` (the entry with ``@EXEC@``, ``@TRYEXEC@`` and
``@ICON@`` to fill in). :func:`install_desktop_entry` writes them where the
freedesktop.org specifications look (``~/.local/share/applications`` and the
``hicolor`` icon theme under ``~/.local/share/icons``).
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from .io.atomic import atomic_write_bytes

__all__ = [
    "DesktopEntry",
    "resource_path",
    "launcher_command",
    "desktop_entry_text",
    "install_desktop_entry",
    "shell_line",
    "APP_ID",
]

#: File stem of the entry and the icon (the freedesktop.org application id).
APP_ID = "napari-licell"


def resource_path(name: str) -> Path:
    """Path of a file in the project's ``resources/`` folder (the icon, the desktop entry template).

    The files live in the top-level ``resources/`` folder of the source tree;
    ``napari_licell/resources`` links to it, so a wheel carries them as package
    data. Where the link is not followed (a clone on a file system without
    symbolic links), the top-level folder beside the package is used.

    Raises
    ------
    FileNotFoundError
        When the file is not part of the installed package.
    """
    for folder in (Path(str(resources.files("napari_licell") / "resources")), Path(__file__).parents[1] / "resources"):
        path = folder / name
        if path.is_file():
            return path
    raise FileNotFoundError(f"napari-licell resource {name!r} is missing from {folder}")


def launcher_command() -> list[str]:
    """The command that starts the application: the ``napari-licell`` script beside this Python, else ``-m``."""
    script = Path(sys.executable).with_name("napari-licell")
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    found = shutil.which("napari-licell")
    if found:
        return [str(Path(found).resolve())]
    return [sys.executable, "-m", "napari_licell.cli"]


def _desktop_quote(arg: str) -> str:
    """One argument of a desktop entry's ``Exec`` key (quoted as the Desktop Entry Specification asks)."""
    arg = arg.replace("%", "%%")  # a literal percent sign, not a field code
    if not any(c in arg for c in " \t\n\"'\\><~|&;$*?#()`="):
        return arg
    escaped = arg.replace("\\", "\\\\").replace('"', '\\"').replace("`", "\\`").replace("$", "\\$")
    return f'"{escaped}"'.replace("\\", "\\\\")  # the string-type escape applies on top


def desktop_entry_text(command: list[str], icon: str) -> str:
    """The ``.desktop`` entry from the package's template, starting ``command`` with icon ``icon``."""
    template = resource_path(f"{APP_ID}.desktop.in").read_text(encoding="utf-8")
    return (
        template.replace("@EXEC@", " ".join(_desktop_quote(a) for a in command))
        .replace("@TRYEXEC@", command[0])
        .replace("@ICON@", icon)
    )


@dataclass(frozen=True)
class DesktopEntry:
    """What :func:`install_desktop_entry` wrote.

    Attributes
    ----------
    entry : Path
        The ``.desktop`` file.
    icons : tuple of Path
        The icon files (scalable SVG, 256 px PNG).
    command : tuple of str
        The command the entry runs (before ``gui %F``).
    """

    entry: Path
    icons: tuple[Path, ...]
    command: tuple[str, ...]


def install_desktop_entry(prefix: Path | str | None = None, command: list[str] | None = None) -> DesktopEntry:
    """Install the desktop entry and the icon for the user (atomically; an existing entry is replaced).

    Parameters
    ----------
    prefix : Path, optional
        Data folder to install into (``<prefix>/applications``, ``<prefix>/icons/hicolor``); by default
        ``$XDG_DATA_HOME`` or ``~/.local/share``.
    command : list of str, optional
        The command that starts the application (default :func:`launcher_command`).

    Returns
    -------
    DesktopEntry
    """
    if prefix is None:
        prefix = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    prefix = Path(prefix).expanduser()
    command = list(command or launcher_command())
    icons = []
    for size, name in (("scalable", f"{APP_ID}.svg"), ("256x256", f"{APP_ID}.png")):
        target = prefix / "icons" / "hicolor" / size / "apps" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(target, resource_path(name).read_bytes())
        icons.append(target)
    entry = prefix / "applications" / f"{APP_ID}.desktop"
    entry.parent.mkdir(parents=True, exist_ok=True)
    # the icon by absolute path: it shows before the desktop refreshes its icon-theme cache
    atomic_write_bytes(entry, desktop_entry_text(command, str(icons[0])).encode("utf-8"))
    entry.chmod(0o755)  # some desktops only start entries marked executable
    return DesktopEntry(entry, tuple(icons), tuple(command))


def shell_line(command: list[str]) -> str:
    """``command`` as one shell line (for messages)."""
    return " ".join(shlex.quote(a) for a in command)
