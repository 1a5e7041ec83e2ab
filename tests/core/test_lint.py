"""The code passes ruff's checks configured in pyproject.toml (unused imports, undefined names, syntax)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _ruff() -> list[str] | None:
    exe = Path(sys.executable).with_name("ruff")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("ruff")
    return [found] if found else None


def test_ruff_finds_nothing():
    ruff = _ruff()
    if ruff is None:
        pytest.skip("ruff is not installed (it comes with the test extra: pip install -e .[test])")
    out = subprocess.run([*ruff, "check", "--no-cache", "--output-format", "concise", "napari_licell", "tests",
                          "benchmarks", "docs"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
