"""Every contribution declared in napari.yaml validates, imports and works in a real viewer."""

from __future__ import annotations

import numpy as np
import pytest
from npe2 import PluginManager, PluginManifest
from qtpy.QtWidgets import QWidget

import napari_licell

MANIFEST = PluginManifest.from_file(__import__("pathlib").Path(napari_licell.__file__).with_name("napari.yaml"))


def test_manifest_validates_and_is_installed():
    pm = PluginManager.instance()
    pm.discover()
    assert "napari-licell" in pm._manifests
    installed = pm.get_manifest("napari-licell")
    assert {c.id for c in installed.contributions.commands} == {c.id for c in MANIFEST.contributions.commands}


def test_every_command_imports():
    for command in MANIFEST.contributions.commands:
        module, _, attr = command.python_name.partition(":")
        obj = getattr(__import__(module, fromlist=[attr]), attr)
        assert callable(obj), command.id


@pytest.mark.parametrize("widget", [w.display_name for w in MANIFEST.contributions.widgets])
def test_every_widget_opens_in_a_viewer(make_napari_viewer, widget):
    viewer = make_napari_viewer()
    dock, instance = viewer.window.add_plugin_dock_widget("napari-licell", widget)
    assert isinstance(instance, QWidget)
    assert dock.isVisible() or dock.isFloating() or dock.parent() is not None


@pytest.mark.parametrize("sample", [s.key for s in MANIFEST.contributions.sample_data])
def test_every_sample_opens_with_scale(make_napari_viewer, sample):
    viewer = make_napari_viewer()
    viewer.open_sample("napari-licell", sample)
    images = [layer for layer in viewer.layers if layer._type_string == "image"]
    assert images, "a sample must add at least one image"
    for layer in images:
        assert layer.ndim == 3
        assert np.allclose(layer.scale, 0.54)
        assert layer.data.dtype == np.uint16
