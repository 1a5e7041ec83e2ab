"""The built-in demo study: the paper's four cells after charging in 6 atm Xe and the Ar/Xe dummy pair.

Generated from physics on first use and cached on disk (``$LICELL_CACHE_DIR``
or ``~/.cache/napari-licell``) so later starts are instant.
"""

from __future__ import annotations

import os
import pickle
import tempfile
from pathlib import Path

from .cell_spec import BondingProcess, paper_cell
from .synthetic_cell import SyntheticCell, make_dummy_cell, make_synthetic_cell

__all__ = ["DEMO_CELL_NAMES", "demo_cache_dir", "make_demo_cell", "load_demo_cell", "load_demo_study"]

#: Bump when the generator changes, so stale caches are not reused.
DEMO_GENERATOR_VERSION = 1

#: Names of the demo study's scans, in display order.
DEMO_CELL_NAMES: tuple[str, ...] = (
    "none_after_Xe6",
    "process1_after_Xe6",
    "process2_after_Xe6",
    "process3_after_Xe6",
    "dummy_Ar1",
    "dummy_Xe6",
)


def demo_cache_dir() -> Path:
    """Folder holding the cached demo cells."""
    from ..cache_dir import cache_root

    return cache_root() / f"demo-v{DEMO_GENERATOR_VERSION}"


def make_demo_cell(name: str) -> SyntheticCell:
    """Generate one demo cell by name (no cache)."""
    if name not in DEMO_CELL_NAMES:
        raise KeyError(f"unknown demo cell {name!r}; known: {DEMO_CELL_NAMES}")
    if name == "dummy_Ar1":
        return make_dummy_cell("Ar", 1.0)
    if name == "dummy_Xe6":
        return make_dummy_cell("Xe", 6.0)
    process = BondingProcess(name.split("_")[0])
    seed = list(BondingProcess).index(process) + 1
    return make_synthetic_cell(paper_cell(process, seed=seed))


def load_demo_cell(name: str, use_cache: bool = True) -> SyntheticCell:
    """One demo cell, from the cache when present (written there after generation)."""
    path = demo_cache_dir() / f"{name}.pickle"
    if use_cache and path.is_file():
        try:
            with path.open("rb") as fh:
                cell = pickle.load(fh)
            if isinstance(cell, SyntheticCell):
                return cell
        except Exception:  # a broken cache is regenerated, never fatal
            pass
    cell = make_demo_cell(name)
    if use_cache:
        _write_cache(path, cell)
    return cell


def _write_cache(path: Path, cell: SyntheticCell) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(cell, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only home still gets its demo, only slower


def load_demo_study(use_cache: bool = True) -> list[SyntheticCell]:
    """All demo cells in :data:`DEMO_CELL_NAMES` order."""
    return [load_demo_cell(name, use_cache=use_cache) for name in DEMO_CELL_NAMES]
