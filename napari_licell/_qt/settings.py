"""The settings dialog (memory limit, cache folder), generated with magicgui from :class:`~napari_licell.settings.Settings`.

The settings themselves, their file and their rules are Qt-free
(:mod:`napari_licell.settings`); this module builds one magicgui widget per
dataclass field (labelled, ranged and explained by the field's spec), and
stores what the user set when OK is pressed. It also carries the memory
limit over from where earlier versions kept it (Qt's per-user settings).
"""

from __future__ import annotations

import os
from dataclasses import fields, replace
from pathlib import Path

from magicgui.widgets import Container, FileEdit, FloatSpinBox
from qtpy.QtCore import QSettings, Qt
from qtpy.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout

from .. import settings as _core
from ..cache_dir import default_cache_root
from ..settings import (
    MAX_MEMORY_LIMIT_GB,
    MIN_MEMORY_LIMIT_GB,
    Settings,
    load_settings,
    save_settings,
    set_memory_limit_gb,
    settings_path,
)

__all__ = [
    "memory_limit_gb",
    "memory_limit_bytes",
    "work_budget_bytes",
    "set_memory_limit_gb",
    "adopt_qsettings",
    "settings_form",
    "SettingsDialog",
    "open_settings_dialog",
    "MIN_MEMORY_LIMIT_GB",
    "MAX_MEMORY_LIMIT_GB",
]

_OLD_KEY = "memory_limit_gb"
_adopted = False


def _qsettings() -> QSettings:
    """Where versions before the settings file kept the memory limit."""
    return QSettings("napari-licell", "napari-licell")


def adopt_qsettings() -> bool:
    """Carry a memory limit kept in Qt's settings by an earlier version into the settings file (once).

    Only when there is no settings file yet at its default place (``$LICELL_CONFIG_DIR``
    names another place: the old settings are not its to take); the old key is
    removed. Returns whether a value was carried over.
    """
    global _adopted
    if _adopted or os.environ.get("LICELL_CONFIG_DIR"):
        return False
    _adopted = True
    old = _qsettings()
    if settings_path().exists() or not old.contains(_OLD_KEY):
        return False
    carried = replace(Settings(), memory_limit_gb=old.value(_OLD_KEY)).checked()
    try:
        save_settings(carried)
    except OSError:
        return False
    old.remove(_OLD_KEY)
    return True


def memory_limit_gb() -> float:
    """The memory limit in GB (:func:`napari_licell.settings.memory_limit_gb`)."""
    adopt_qsettings()
    return _core.memory_limit_gb()


def memory_limit_bytes() -> int:
    """The memory limit in bytes."""
    return int(memory_limit_gb() * 2**30)


def work_budget_bytes(limit_bytes: int | None = None) -> int:
    """What volume work started now may hold (:func:`napari_licell.settings.work_budget_bytes`).

    Parameters
    ----------
    limit_bytes : int, optional
        The limit (default: the setting).
    """
    return _core.work_budget_bytes(memory_limit_bytes() if limit_bytes is None else limit_bytes)


def settings_form(current: Settings) -> Container:
    """A magicgui form with one widget per :class:`~napari_licell.settings.Settings` field, showing ``current``.

    Numbers get a spin box with the field's range, step, decimals and unit;
    folders a folder chooser (an unset cache folder shows the default one).
    """
    widgets = []
    for f in fields(Settings):
        spec, value = f.metadata["spec"], getattr(current, f.name)
        if spec.folder:
            shown = value if value is not None else default_cache_root()
            widget = FileEdit(name=f.name, label=spec.label, mode="d", value=shown, tooltip=spec.help)
        else:
            widget = FloatSpinBox(
                name=f.name,
                label=spec.label,
                min=spec.minimum,
                max=spec.maximum,
                step=spec.step,
                value=value,
                tooltip=spec.help,
            )
            widget.native.setDecimals(spec.decimals)
            widget.native.setSuffix(f" {spec.unit}")
        widgets.append(widget)
    form = Container(labels=True)
    form.extend(widgets)  # added after construction, so magicgui aligns the labels' widths
    return form


class SettingsDialog(QDialog):
    """Edits the napari-licell settings; OK stores them in the settings file."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("napari-licell settings")
        adopt_qsettings()
        self.loaded = load_settings()
        layout = QVBoxLayout(self)
        self.form = settings_form(self.loaded)
        layout.addWidget(self.form.native)
        self.memory_spin = self.form["memory_limit_gb"].native
        self.cache_edit = self.form["cache_folder"]
        self.cache_edit.line_edit.native.setMinimumWidth(340)  # a whole home-folder path in view
        self.overridden = bool(os.environ.get("LICELL_CACHE_DIR"))
        if self.overridden:  # the environment wins: show where the cache really is, not editable here
            self.cache_edit.value = os.environ["LICELL_CACHE_DIR"]
            self.cache_edit.enabled = False
        self.note = QLabel(_note(self.overridden))
        self.note.setWordWrap(True)
        self.note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.note)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.ok_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        layout.addWidget(buttons)

    def values(self) -> Settings:
        """The settings as the form says (the default cache folder is stored as "the default")."""
        folder = self.loaded.cache_folder
        if not self.overridden:
            text = str(self.cache_edit.value or "").strip()
            chosen = Path(text).expanduser() if text not in ("", ".") else None
            folder = None if chosen is None or chosen == default_cache_root() else chosen
        return Settings(memory_limit_gb=self.memory_spin.value(), cache_folder=folder).checked()

    def accept(self) -> None:
        """Store the settings, then close."""
        save_settings(self.values())
        super().accept()


def open_settings_dialog(parent=None) -> SettingsDialog:
    """Open the settings dialog window-modal without blocking (deleted when closed); returns it."""
    dialog = SettingsDialog(parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.open()
    return dialog


def _note(overridden: bool) -> str:
    from ..memory_limit import RESERVE_BYTES, resident_bytes

    now = resident_bytes()
    taken = f" The program takes {now / 2**30:.2f} GB now (napari, Qt and the open layers)." if now else ""
    cache = (
        "The cache folder is set by $LICELL_CACHE_DIR in this session."
        if overridden
        else "A new cache folder is used for what is written from now on; the old one is not moved."
    )
    return (
        "The limit covers the whole program: volume work gets what is left after the program's own memory "
        f"and a reserve of {RESERVE_BYTES / 2**30:.2f} GB.{taken} Classification of whole scans works in "
        "blocks sized to that; label volumes larger than half of it are written to a store on disk "
        f"instead of memory. Same as --memory-limit on the command line. {cache} "
        f"Kept in {settings_path()}."
    )
