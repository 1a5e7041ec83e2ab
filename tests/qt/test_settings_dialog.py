"""The settings dialog (memory limit, cache folder): generated with magicgui from the Settings dataclass, opened
from the Thresholds dock as a user would, and what OK stores is what the program then uses."""

from __future__ import annotations

import json
from dataclasses import fields

import pytest

from napari_licell.cache_dir import cache_root, default_cache_root
from napari_licell.settings import Settings, load_settings, settings_path


def _open_from_thresholds_dock(make_napari_viewer, qtbot):
    from napari_licell._qt.settings import SettingsDialog

    viewer = make_napari_viewer()
    _, dock = viewer.window.add_plugin_dock_widget("napari-licell", "Thresholds (Xe contrast)")
    dock.settings_button.click()
    qtbot.waitUntil(lambda: dock.findChild(SettingsDialog) is not None and dock.findChild(SettingsDialog).isVisible())
    return dock, dock.findChild(SettingsDialog)


def test_the_dialog_is_generated_from_the_settings_dataclass(make_napari_viewer, qtbot):
    dock, dialog = _open_from_thresholds_dock(make_napari_viewer, qtbot)
    assert [w.name for w in dialog.form] == [f.name for f in fields(Settings)]
    labels = [w.label for w in dialog.form]
    assert labels == ["Memory limit for volume work", "Cache folder"]
    assert dialog.memory_spin.value() == 2.0 and dialog.memory_spin.suffix() == " GB"  # the default, as the CLI's
    assert (dialog.memory_spin.minimum(), dialog.memory_spin.maximum()) == (0.25, 4096.0)
    dialog.reject()


def test_ok_stores_the_memory_limit_and_cache_folder_and_the_program_uses_them(
    make_napari_viewer, qtbot, monkeypatch, tmp_path
):
    monkeypatch.delenv("LICELL_CACHE_DIR")  # the folder comes from the settings, not the environment
    dock, dialog = _open_from_thresholds_dock(make_napari_viewer, qtbot)
    assert dialog.cache_edit.enabled and dialog.cache_edit.value == default_cache_root()
    dialog.memory_spin.setValue(3.5)
    dialog.cache_edit.value = tmp_path / "my cache"
    dialog.ok_button.click()
    assert not dialog.isVisible()
    saved = json.loads(settings_path().read_text("utf-8"))
    assert saved["memory_limit_gb"] == 3.5 and saved["cache_folder"] == str(tmp_path / "my cache")
    from napari_licell._qt import settings as qt_settings

    assert qt_settings.memory_limit_bytes() == int(3.5 * 2**30)
    assert cache_root() == tmp_path / "my cache"
    # opened again it shows what was stored; Cancel stores nothing
    dock.settings_button.click()
    qtbot.waitUntil(lambda: dock.findChild(type(dialog)) is not None and dock.findChild(type(dialog)).isVisible())
    again = dock.findChild(type(dialog))
    assert again.memory_spin.value() == 3.5 and again.cache_edit.value == tmp_path / "my cache"
    again.memory_spin.setValue(1.0)
    again.reject()
    assert load_settings().memory_limit_gb == 3.5


def test_the_default_cache_folder_is_stored_as_the_default(make_napari_viewer, qtbot, monkeypatch):
    monkeypatch.delenv("LICELL_CACHE_DIR")
    _, dialog = _open_from_thresholds_dock(make_napari_viewer, qtbot)
    dialog.ok_button.click()
    assert json.loads(settings_path().read_text("utf-8"))["cache_folder"] is None


def test_licell_cache_dir_wins_and_the_dialog_says_so(make_napari_viewer, qtbot, tmp_path):
    _, dialog = _open_from_thresholds_dock(make_napari_viewer, qtbot)  # tests/conftest.py sets $LICELL_CACHE_DIR
    assert not dialog.cache_edit.enabled and "$LICELL_CACHE_DIR" in dialog.note.text()
    dialog.ok_button.click()
    assert load_settings().cache_folder is None  # the environment's folder is not written into the settings


@pytest.fixture
def old_qsettings(tmp_path, monkeypatch):
    """Qt settings as an earlier version left them (memory limit 3 GB), and no settings file at its default place."""
    from qtpy.QtCore import QSettings

    from napari_licell._qt import settings

    old = QSettings(str(tmp_path / "old.ini"), QSettings.IniFormat)
    old.setValue("memory_limit_gb", 3.0)
    old.sync()
    monkeypatch.setattr(settings, "_qsettings", lambda: old)
    monkeypatch.setattr(settings, "_adopted", False)
    monkeypatch.delenv("LICELL_CONFIG_DIR")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return settings, old


def test_a_memory_limit_kept_by_an_earlier_version_is_carried_over_once(old_qsettings, tmp_path):
    settings, old = old_qsettings
    assert settings.memory_limit_gb() == 3.0
    assert settings_path() == tmp_path / "config" / "napari-licell" / "settings.json" and settings_path().exists()
    assert not old.contains("memory_limit_gb")


def test_nothing_is_carried_over_when_the_settings_file_is_elsewhere(old_qsettings, monkeypatch, tmp_path):
    settings, old = old_qsettings
    monkeypatch.setenv("LICELL_CONFIG_DIR", str(tmp_path / "elsewhere"))
    assert settings.memory_limit_gb() == 2.0 and old.contains("memory_limit_gb")
