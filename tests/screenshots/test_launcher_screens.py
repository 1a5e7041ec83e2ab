"""What the user sees: the launcher on the demo study, the attenuation chart, the Ar/Xe pair."""

from __future__ import annotations

from napari_licell._qt.cross_section import show_stack_cross_section
from napari_licell._qt.launcher import build_app

from .conftest import canvas_shot, widget_shot
from .image_compare import assert_matches_reference, differs_from_reference


def test_launcher_on_demo_study(fixed_viewer):
    build_app(fixed_viewer, demo=True)
    assert_matches_reference(canvas_shot(fixed_viewer), "launcher_process3")


def test_comparison_catches_a_hidden_layer_and_a_wrong_colormap(fixed_viewer):
    build_app(fixed_viewer, demo=True)
    layer = fixed_viewer.layers["process3_after_Xe6"]
    layer.visible = False
    assert differs_from_reference(canvas_shot(fixed_viewer), "launcher_process3")
    layer.visible = True
    layer.colormap = "viridis"
    assert differs_from_reference(canvas_shot(fixed_viewer), "launcher_process3")
    layer.colormap = "gray"
    assert not differs_from_reference(canvas_shot(fixed_viewer), "launcher_process3")


def test_ar_xe_dummy_pair_side_by_side(fixed_viewer):
    fixed_viewer.open_sample("napari-licell", "dummy_ar_xe")
    for layer in list(fixed_viewer.layers):
        if layer.name.endswith("truth"):
            fixed_viewer.layers.remove(layer)
    show_stack_cross_section(fixed_viewer)
    fixed_viewer.grid.enabled = True
    assert [layer.name for layer in fixed_viewer.layers] == ["dummy_Ar1", "dummy_Xe6"]
    assert_matches_reference(canvas_shot(fixed_viewer), "dummy_pair_ar_xe")


def test_attenuation_dock(fixed_viewer, qtbot):
    dock, widget = fixed_viewer.window.add_plugin_dock_widget("napari-licell", "X-ray attenuation")
    widget.resize(420, 520)
    qtbot.wait(50)
    assert_matches_reference(widget_shot(widget), "attenuation_dock")
    widget.energy_kev.setValue(60.0)
    qtbot.wait(50)
    assert differs_from_reference(widget_shot(widget), "attenuation_dock")
