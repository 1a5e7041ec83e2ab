"""The Qt-free settings: file round trip, unreadable values fall back to their defaults, the cache folder rule."""

from __future__ import annotations

import json
from pathlib import Path

from napari_licell.cache_dir import cache_root, default_cache_root
from napari_licell.settings import (
    Settings,
    load_settings,
    memory_limit_bytes,
    save_settings,
    set_memory_limit_gb,
    settings_path,
)


def test_settings_live_in_licell_config_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("LICELL_CONFIG_DIR", str(tmp_path))
    assert settings_path() == tmp_path / "settings.json"
    monkeypatch.delenv("LICELL_CONFIG_DIR")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert settings_path() == tmp_path / "xdg" / "napari-licell" / "settings.json"


def test_round_trip(tmp_path):
    path = tmp_path / "s.json"
    assert load_settings(path) == Settings(memory_limit_gb=2.0, cache_folder=None)  # no file: the defaults
    save_settings(Settings(memory_limit_gb=8.0, cache_folder=tmp_path / "c"), path)
    assert load_settings(path) == Settings(8.0, tmp_path / "c")
    assert json.loads(path.read_text("utf-8"))["format"] == "napari-licell settings"


def test_unreadable_values_fall_back_one_by_one(tmp_path):
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"memory_limit_gb": "lots", "cache_folder": str(tmp_path), "colour": "red"}))
    assert load_settings(path) == Settings(2.0, tmp_path)
    path.write_text(json.dumps({"memory_limit_gb": 99999, "cache_folder": 5}))
    assert load_settings(path) == Settings(2.0, None)
    path.write_text('{"memory_limit_gb": 3')  # damaged file
    assert load_settings(path) == Settings()


def test_set_memory_limit_clips_and_keeps_the_cache_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("LICELL_CONFIG_DIR", str(tmp_path))
    save_settings(Settings(cache_folder=tmp_path / "c"))
    assert set_memory_limit_gb(0.01) == 0.25
    assert memory_limit_bytes() == int(0.25 * 2**30)
    assert load_settings() == Settings(0.25, tmp_path / "c")


def test_cache_root_environment_then_settings_then_default(tmp_path, monkeypatch):
    monkeypatch.setenv("LICELL_CONFIG_DIR", str(tmp_path))
    monkeypatch.delenv("LICELL_CACHE_DIR")
    assert cache_root() == default_cache_root() == Path.home() / ".cache" / "napari-licell"
    save_settings(Settings(cache_folder=tmp_path / "mine"))
    assert cache_root() == tmp_path / "mine"
    monkeypatch.setenv("LICELL_CACHE_DIR", str(tmp_path / "env"))
    assert cache_root() == tmp_path / "env"
