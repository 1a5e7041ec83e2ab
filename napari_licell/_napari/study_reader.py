"""napari (npe2) reader for LiCell study files (``*.licell.yaml``): every cell's scans as layers."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

__all__ = ["get_study_reader"]


def get_study_reader(path: str | list[str]) -> Callable[[Any], list[tuple]] | None:
    """Reader for a ``.licell.yaml`` study file, else None (npe2's "not mine")."""
    if isinstance(path, (list, tuple)):
        if len(path) != 1:
            return None
        path = path[0]
    if not os.fspath(path).lower().endswith(".licell.yaml"):
        return None
    return _read_study


def _read_study(path: str | list[str]) -> list[tuple]:
    from ..errors import LiCellInputError
    from ..study.open_cells import open_study_cells
    from ..study.study_file import load_study
    from .study_layers import cell_layers

    if isinstance(path, (list, tuple)):
        path = path[0]
    layers: list[tuple] = []
    problems: list[str] = []
    for opened in open_study_cells(load_study(path)):
        layers.extend(cell_layers(opened, study_path=str(path)))
        problems.extend(opened.problems)
    if not layers:
        raise LiCellInputError(
            path, "no scan of the study could be opened", "; ".join(problems) or "the study lists no scans"
        )
    return layers
