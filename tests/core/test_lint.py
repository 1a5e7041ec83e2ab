"""The code passes ruff's checks and ruff's formatter as configured in pyproject.toml.

Unused imports, undefined names, syntax errors, functions more branched than
the complexity limit, and modules, classes and public functions without a
(numpydoc) docstring.
"""

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
    out = subprocess.run(
        [*ruff, "check", "--no-cache", "--output-format", "concise", "napari_licell", "tests", "benchmarks", "docs"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_ruff_format_leaves_the_code_as_it_is():
    """The code is laid out as ``ruff format`` lays it out (pyproject.toml's [tool.ruff.format])."""
    ruff = _ruff()
    if ruff is None:
        pytest.skip("ruff is not installed (it comes with the test extra: pip install -e .[test])")
    out = subprocess.run(
        [*ruff, "format", "--check", "--no-cache", "napari_licell", "tests", "benchmarks", "docs"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, "run `ruff format .`:\n" + out.stdout + out.stderr


def test_the_rules_catch_a_tangled_or_undocumented_function(tmp_path):
    """The configuration is the one in force: a function over the complexity limit and one without a docstring fail."""
    ruff = _ruff()
    if ruff is None:
        pytest.skip("ruff is not installed (it comes with the test extra: pip install -e .[test])")
    branches = "\n".join(f"    if x == {i}:\n        return {i}" for i in range(30))
    probe = tmp_path / "probe.py"
    probe.write_text(
        f'"""A probe."""\n\n\ndef tangled(x):\n    """Many branches."""\n{branches}\n    return -1\n\n\n'
        "def undocumented():\n    return 1\n",
        encoding="utf-8",
    )
    out = subprocess.run(
        [
            *ruff,
            "check",
            "--no-cache",
            "--output-format",
            "concise",
            "--config",
            str(ROOT / "pyproject.toml"),
            str(probe),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 1
    assert "C901 `tangled` is too complex (31 > 25)" in out.stdout and "D103" in out.stdout


def test_no_dock_file_is_over_400_lines():
    """Docks build widgets and connect signals; their logic lives in models and widget modules (issue 16)."""
    docks = sorted((ROOT / "napari_licell" / "_qt").glob("*dock*.py"))
    assert len(docks) >= 7
    lengths = {path.name: len(path.read_text("utf-8").splitlines()) for path in docks}
    assert {name: n for name, n in lengths.items() if n > 400} == {}
