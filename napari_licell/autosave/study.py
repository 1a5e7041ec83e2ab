"""Autosave of a study's edited state (cell metadata), next to the study file, Qt-free.

The autosave is a complete study file in ``.licell-autosave/`` beside the
study (paths stay valid: they are written relative to the autosave's folder).
It is offered back when it is newer than the study file, i.e. after a crash
or a close without saving.
"""

from __future__ import annotations

from pathlib import Path

from ..study.study_file import Study, save_study
from .labels import AUTOSAVE_DIRNAME

__all__ = ["study_autosave_path", "autosave_study", "recoverable_study_autosave", "discard_study_autosave"]


def study_autosave_path(study_path: str | Path) -> Path:
    """Where the autosave of ``study_path`` lives."""
    p = Path(study_path)
    return p.parent / AUTOSAVE_DIRNAME / p.name


def autosave_study(study: Study, study_path: str | Path) -> Path:
    """Write ``study`` as the autosave of ``study_path`` (atomically)."""
    target = study_autosave_path(study_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    return save_study(study, target)


def recoverable_study_autosave(study_path: str | Path) -> Path | None:
    """The autosave of ``study_path`` when it is newer than the study file, else None."""
    auto = study_autosave_path(study_path)
    try:
        if auto.is_file() and auto.stat().st_mtime > Path(study_path).stat().st_mtime:
            return auto
    except OSError:
        return None
    return None


def discard_study_autosave(study_path: str | Path) -> None:
    """Remove the autosave (after an explicit save, or when the user declines it)."""
    try:
        study_autosave_path(study_path).unlink()
    except FileNotFoundError:
        pass
