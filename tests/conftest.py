"""Shared fixtures: the third-party data folder beside the repository, output folders."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
OUTPUT_DIR = REPO_ROOT / "tests" / "_output"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (real third-party files); skips where a clone has none."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not beside this clone (it is in CI)")
    return SHARED_DATA


_NEEDS_DISPLAY = ("tests/qt/", "tests/screenshots/")


def pytest_collection_modifyitems(config, items):
    """Viewer and screenshot tests need an X display (Xvfb in the README test command)."""
    if sys.platform.startswith("linux") and not os.environ.get("DISPLAY"):
        skip = pytest.mark.skip(reason="needs a display: run under xvfb-run (the README test command does)")
        for item in items:
            if any(part in str(item.fspath).replace("\\", "/") for part in _NEEDS_DISPLAY):
                item.add_marker(skip)


@pytest.fixture
def output_dir() -> Path:
    """Folder for screenshots, diffs and reports written by tests (git-ignored)."""
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    return OUTPUT_DIR


@pytest.fixture(autouse=True)
def _demo_cache(tmp_path_factory, monkeypatch):
    """One demo cache for the whole test session, away from the user's home; settings in a folder of each test."""
    cache = tmp_path_factory.getbasetemp() / "licell-cache"
    monkeypatch.setenv("LICELL_CACHE_DIR", str(cache))
    monkeypatch.setenv("LICELL_CONFIG_DIR", str(tmp_path_factory.mktemp("licell-config")))


@pytest.fixture
def sigkill():
    """``sigkill(proc)``: kill a child process with SIGKILL (as a crash or ``kill -9`` would) and wait for it.

    ``sigkill.track(proc)`` registers a child without killing it; every tracked
    or killed child still alive at teardown is killed, so a failing test never
    leaves a process behind.
    """
    children = []

    def kill(proc):
        children.append(proc)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL

    kill.track = children.append
    yield kill
    for proc in children:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
