"""The GUI path (Thresholds dock: Suggest, Apply; Results dock: Measure) and `napari-licell analyze` agree.

Both go through :mod:`napari_licell.pipeline`, so for the same scan file they
give the same thresholds, the same labels and the same numbers.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import tifffile

from napari_licell.cli import main
from napari_licell.io.writers import write_volume_tiff
from napari_licell.phantoms import load_demo_cell


@pytest.mark.parametrize("cell_name", ["process3_after_Xe6", "none_after_Xe6"])
def test_gui_and_cli_give_identical_thresholds_labels_and_numbers(make_napari_viewer, qtbot, tmp_path, cell_name):
    cell = load_demo_cell(cell_name)
    scan = write_volume_tiff(tmp_path / f"{cell_name}.tif", cell.image, cell.voxel_size_um)
    assert main(["analyze", str(scan), "--out", str(tmp_path / "cli"), "--gas", "xe"]) == 0
    cli = json.loads((tmp_path / "cli" / "measurements.json").read_text())
    cli_labels = tifffile.imread(tmp_path / "cli" / "labels.tif")

    viewer = make_napari_viewer()
    _, thresholds = viewer.window.add_plugin_dock_widget("napari-licell", "Thresholds (Xe contrast)")
    _, results = viewer.window.add_plugin_dock_widget("napari-licell", "Results")
    viewer.open(str(scan), plugin="napari-licell")
    name = viewer.layers[0].name
    qtbot.waitUntil(lambda: thresholds.histogram is not None and thresholds.worker is None, timeout=60000)
    thresholds.gas_combo.setCurrentText("Xe")
    thresholds.suggest_button.click()
    assert list(thresholds.thresholds.values) == pytest.approx(cli["provenance"]["thresholds"]["values"])
    thresholds.apply_button.click()
    qtbot.waitUntil(lambda: f"{name} labels" in viewer.layers and thresholds.worker is None, timeout=120000)
    gui_labels = np.asarray(viewer.layers[f"{name} labels"].data)
    np.testing.assert_array_equal(gui_labels, cli_labels)

    results.set_layers(f"{name} labels", name)
    results.measure_button.click()
    qtbot.waitUntil(lambda: results.measurement is not None, timeout=120000)
    gui = results.measurement.to_dict()
    assert gui["verdict"] == cli["verdict"]
    assert gui["contrast"]["li_void_cnr"] == pytest.approx(cli["contrast"]["li_void_cnr"])
    for key in ("mean_thickness_um", "std_thickness_um", "coverage"):
        assert gui["li_layer"][key] == pytest.approx(cli["li_layer"][key]), key
    assert gui["li_volume_um3"] == pytest.approx(cli["li_volume_um3"])
    assert gui["li_in_se"]["volume_um3"] == pytest.approx(cli["li_in_se"]["volume_um3"])
    assert gui["fractions"] == pytest.approx(cli["fractions"])
    # the gas-pore step's record reaches the Results dock as it reaches analyze's report
    assert gui["verdict_reason"] == cli["verdict_reason"]
    assert "gas_pores" in cli["parameters"]
    assert results.measurement.parameters["gas_pores"] == cli["parameters"]["gas_pores"]
