"""Qt/viewer tests: need a display (Xvfb in CI); the napari fixtures come from napari's pytest plugin."""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

import pytest

warnings.filterwarnings("ignore", message=".*PyQt5 backend is deprecated.*")

OUTPUT_DIR = Path(__file__).resolve().parents[1] / "_output"


def pytest_collection_modifyitems(config, items):
    if sys.platform.startswith("linux") and not os.environ.get("DISPLAY"):
        skip = pytest.mark.skip(reason="needs a display: run under xvfb-run (the README test command does)")
        for item in items:
            if "tests/qt" in str(item.fspath).replace("\\", "/"):
                item.add_marker(skip)


@pytest.fixture
def output_dir() -> Path:
    """Folder for screenshots and diffs written by tests."""
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    return OUTPUT_DIR


@pytest.fixture(autouse=True)
def _demo_cache(tmp_path_factory, monkeypatch):
    """Share one demo cache across the session, away from the user's home."""
    cache = tmp_path_factory.getbasetemp() / "licell-cache"
    monkeypatch.setenv("LICELL_CACHE_DIR", str(cache))
