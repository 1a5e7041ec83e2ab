"""The science core must import without Qt (or napari) so scripts and the CLI run headless."""

import json
import subprocess
import sys

CORE_MODULES = [
    "napari_licell",
    "napari_licell.classes",
    "napari_licell.errors",
    "napari_licell.physics",
    "napari_licell.phantoms",
    "napari_licell.echem",
    "napari_licell.io",
    "napari_licell.io.read_volume",
    "napari_licell.io.writers",
    "napari_licell.study",
    "napari_licell.segmentation",
    "napari_licell.classifier",
    "napari_licell.measure",
    "napari_licell.report",
    "napari_licell.compare",
    "napari_licell.autosave",
    "napari_licell.autosave.thresholds",
    "napari_licell.autosave.study",
    "napari_licell.pipeline",
    "napari_licell.cell_metadata",
    "napari_licell.layer_roles",
    "napari_licell.study.open_cells",
    "napari_licell.echem.cycler_readers",
    "napari_licell.batch",
    "napari_licell.cli",
]


def test_core_imports_pull_in_no_qt():
    code = (
        "import importlib, json, sys\n"
        f"for m in {CORE_MODULES!r}: importlib.import_module(m)\n"
        "from napari_licell.cli import build_parser; build_parser()\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('qtpy', 'PyQt5', 'PyQt6', 'PySide2', 'PySide6', 'napari', 'vispy', 'magicgui'))\n"
        "print(json.dumps(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
