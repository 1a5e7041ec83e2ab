"""``napari-licell install-desktop-entry``: the entry and the icon land where desktops look, and start the app."""

from __future__ import annotations

import configparser

import pytest
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from napari_licell.cli import main
from napari_licell.desktop_entry import desktop_entry_text, install_desktop_entry, launcher_command, resource_path


def _entry(path: Path) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # keys are case-sensitive
    parser.read(path, encoding="utf-8")
    return parser["Desktop Entry"]


def test_the_resources_ship_with_the_package():
    svg = ET.parse(resource_path("napari-licell.svg")).getroot()
    assert svg.tag.endswith("svg") and svg.get("viewBox") == "0 0 64 64"
    png = resource_path("napari-licell.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (256, 256)
    assert "@EXEC@" in resource_path("napari-licell.desktop.in").read_text(encoding="utf-8")


def test_the_cli_installs_entry_and_icons_into_the_prefix(tmp_path, capsys):
    assert main(["install-desktop-entry", "--prefix", str(tmp_path)]) == 0
    entry = tmp_path / "applications" / "napari-licell.desktop"
    svg = tmp_path / "icons" / "hicolor" / "scalable" / "apps" / "napari-licell.svg"
    png = tmp_path / "icons" / "hicolor" / "256x256" / "apps" / "napari-licell.png"
    assert entry.is_file() and svg.read_bytes() == resource_path("napari-licell.svg").read_bytes()
    assert png.read_bytes() == resource_path("napari-licell.png").read_bytes()
    keys = _entry(entry)
    assert keys["Type"] == "Application" and keys["Name"] == "napari-licell" and keys["Terminal"] == "false"
    assert keys["Icon"] == str(svg) and keys["Exec"].endswith(" gui %F")
    assert "@" not in entry.read_text(encoding="utf-8")
    assert os.access(entry, os.X_OK)
    out = capsys.readouterr().out
    assert str(entry) in out and str(svg) in out
    # installing again replaces the entry (no error, no second copy)
    assert main(["install-desktop-entry", "--prefix", str(tmp_path)]) == 0
    assert sorted(p.name for p in (tmp_path / "applications").iterdir()) == ["napari-licell.desktop"]


def test_the_entry_starts_the_installed_command():
    command = launcher_command()
    probe = subprocess.run([*command, "--version"], capture_output=True, text=True, timeout=120)
    assert probe.returncode == 0 and "napari-licell" in probe.stdout


def test_exec_quotes_paths_with_spaces_and_percent_signs(tmp_path):
    text = desktop_entry_text(["/opt/my apps/napari-licell", "--x=50%"], "/icons/a b.svg")
    exec_line = next(line for line in text.splitlines() if line.startswith("Exec="))
    # string escape on top of the quoting rule: each backslash doubled, the quoted path kept whole
    assert exec_line == 'Exec="/opt/my apps/napari-licell" "--x=50%%" gui %F'
    assert "Icon=/icons/a b.svg" in text


def test_an_unwritable_prefix_is_one_line_not_a_traceback(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder", encoding="utf-8")
    assert main(["install-desktop-entry", "--prefix", str(blocker / "share")]) == 2
    err = capsys.readouterr().err
    assert "desktop entry" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_default_prefix_is_the_users_data_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    installed = install_desktop_entry(command=[sys.executable, "-m", "napari_licell.cli"])
    assert installed.entry == tmp_path / "data" / "applications" / "napari-licell.desktop"


def test_resources_are_found_where_the_package_link_is_missing(monkeypatch, tmp_path):
    """A clone without symbolic links: the top-level resources/ folder beside the package is used."""
    from napari_licell import desktop_entry

    monkeypatch.setattr(desktop_entry.resources, "files", lambda package: tmp_path)
    path = desktop_entry.resource_path("napari-licell.svg")
    assert path.parent.name == "resources" and path.parent.parent.joinpath("napari_licell").is_dir()
    assert path.read_text().lstrip().startswith("<")
    with pytest.raises(FileNotFoundError, match="no-such-file"):
        desktop_entry.resource_path("no-such-file.png")
