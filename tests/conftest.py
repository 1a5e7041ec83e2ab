"""Shared fixtures: the third-party data folder beside the repository, output folders."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (real third-party files); skips where a clone has none."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not beside this clone (it is in CI)")
    return SHARED_DATA
