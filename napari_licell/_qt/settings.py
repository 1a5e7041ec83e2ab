"""User settings of napari-licell kept in Qt's per-user settings, and the dialog that edits them.

Today: the memory limit (GB) of the program. As ``--memory-limit`` on the
command line it bounds the resident memory of the whole process: the volume
work started from the GUI gets what is left after the program's own memory
(napari, Qt, the open layers) and a reserve, measured when the work starts
(:func:`work_budget_bytes`, the Qt-free rule of :mod:`napari_licell.memory_limit`).
Classification blocks are sized to that, and label volumes larger than half
of it go to a label store on disk instead of memory.
"""

from __future__ import annotations

from qtpy.QtCore import QSettings
from qtpy.QtWidgets import QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout, QLabel, QVBoxLayout

from ..pipeline import DEFAULT_MEMORY_LIMIT_GB

__all__ = [
    "memory_limit_gb",
    "memory_limit_bytes",
    "work_budget_bytes",
    "set_memory_limit_gb",
    "SettingsDialog",
    "MIN_MEMORY_LIMIT_GB",
    "MAX_MEMORY_LIMIT_GB",
]

_KEY = "memory_limit_gb"
#: Smallest and largest memory budget the dialog accepts, GB.
MIN_MEMORY_LIMIT_GB = 0.25
MAX_MEMORY_LIMIT_GB = 4096.0


def _settings() -> QSettings:
    return QSettings("napari-licell", "napari-licell")


def memory_limit_gb() -> float:
    """The memory budget in GB (2**30 bytes); the default when unset or unreadable."""
    try:
        value = float(_settings().value(_KEY, DEFAULT_MEMORY_LIMIT_GB))
    except (TypeError, ValueError):
        return DEFAULT_MEMORY_LIMIT_GB
    if not MIN_MEMORY_LIMIT_GB <= value <= MAX_MEMORY_LIMIT_GB:
        return DEFAULT_MEMORY_LIMIT_GB
    return value


def memory_limit_bytes() -> int:
    """The memory budget in bytes."""
    return int(memory_limit_gb() * 2**30)


def work_budget_bytes(limit_bytes: int | None = None) -> int:
    """What volume work started now may hold: the limit minus this process's resident memory and the reserve.

    Parameters
    ----------
    limit_bytes : int, optional
        The limit (default: the setting, :func:`memory_limit_bytes`).
    """
    from ..memory_limit import process_budget

    limit = memory_limit_bytes() if limit_bytes is None else int(limit_bytes)
    return process_budget(limit, strict=False).work_bytes


def set_memory_limit_gb(value: float) -> float:
    """Store the memory budget (GB), clipped to the accepted range; returns the stored value."""
    value = min(max(float(value), MIN_MEMORY_LIMIT_GB), MAX_MEMORY_LIMIT_GB)
    _settings().setValue(_KEY, value)
    return value


class SettingsDialog(QDialog):
    """Edits the napari-licell settings; OK stores them."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("napari-licell settings")
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.memory_spin = QDoubleSpinBox()
        self.memory_spin.setRange(MIN_MEMORY_LIMIT_GB, MAX_MEMORY_LIMIT_GB)
        self.memory_spin.setDecimals(2)
        self.memory_spin.setSingleStep(0.5)
        self.memory_spin.setSuffix(" GB")
        self.memory_spin.setValue(memory_limit_gb())
        form.addRow("Memory limit for volume work:", self.memory_spin)
        layout.addLayout(form)
        from ..memory_limit import RESERVE_BYTES, resident_bytes

        now = resident_bytes()
        taken = f" The program takes {now / 2**30:.2f} GB now (napari, Qt and the open layers)." if now else ""
        note = QLabel(
            "The limit covers the whole program: volume work gets what is left after the program's own memory "
            f"and a reserve of {RESERVE_BYTES / 2**30:.2f} GB.{taken} Classification of whole scans works in "
            "blocks sized to that; label volumes larger than half of it are written to a store on disk "
            "instead of memory. Same as --memory-limit on the command line."
        )
        note.setWordWrap(True)
        layout.addWidget(note)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def accept(self) -> None:
        set_memory_limit_gb(self.memory_spin.value())
        super().accept()
