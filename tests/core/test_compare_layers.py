"""The Compare cells dock's layers without Qt: each cell's scan and labels, and the study's cells with labels."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from napari_licell._napari.compare_layers import compare_cell_layers, study_cells_with_labels
from napari_licell.compare.cell_titles import short_title
from napari_licell.layer_roles import Role, role_of


def _cell(name="c1", process="process1"):
    image = np.arange(4 * 5 * 6, dtype=np.uint16).reshape(4, 5, 6)
    return SimpleNamespace(
        name=name,
        image=image,
        labels=np.ones((4, 5, 6), np.uint8),
        voxel_size_um=0.5,
        scale=(0.5, 0.5, 0.5),
        truth=None,
        voltage="curve",
        metadata={"process": process, "se_pressure_mpa": 400.0},
    )


def test_each_cell_gets_a_titled_hidden_scan_and_labels_in_the_compare_role():
    cell = _cell()
    scan, labels = compare_cell_layers("c1", cell)
    title = short_title("c1", cell.metadata)
    assert scan.name == title and labels.name == f"{title} labels"
    assert not scan.visible and not labels.visible and scan.name_overlay.visible
    assert role_of(scan) == Role.COMPARE and role_of(labels) == Role.COMPARE
    assert scan.metadata["compare_cell"] == "c1" and scan.metadata["voltage_curve"] == "curve"
    assert "voltage_curve" not in labels.metadata
    assert np.array_equal(np.asarray(scan.data), cell.image) and tuple(scan.scale) == (0.5, 0.5, 0.5)
    without = _cell()
    without.labels = None
    assert len(compare_cell_layers("c1", without)) == 1  # no labels: the scan alone


class _Layers(dict):
    def __contains__(self, name):
        return dict.__contains__(self, name)


def test_only_open_3d_scans_with_labels_are_compared_and_painted_classes_come_first():
    def layer(data):
        return SimpleNamespace(data=data, ndim=data.ndim, scale=(0.7, 0.7, 0.7))

    vol = np.zeros((2, 3, 3), np.uint16)
    layers = _Layers(
        {
            "a": layer(vol),
            "a labels": layer(np.ones((2, 3, 3), np.uint8)),
            "a classes": layer(np.full((2, 3, 3), 2, np.uint8)),
            "b": layer(vol),  # no labels
            "c": layer(np.zeros((3, 3), np.uint16)),
            "c labels": layer(np.ones((3, 3), np.uint8)),
        }
    )
    entries = {
        name: SimpleNamespace(layer_names=[name], metadata={"process": "none"}, voltage=None)
        for name in ("a", "b", "c", "gone")
    }
    cells = study_cells_with_labels(entries, layers)
    assert [c.name for c in cells] == ["a"]
    assert int(cells[0].labels[0, 0, 0]) == 2 and cells[0].voxel_size_um == 0.7  # the painted classes


def test_a_cell_without_a_process_gets_copies_that_do_not_take_its_own_layer_names():
    """Walkthrough: comparing the study replaced the dummy cells' own layers (title == name) by compare copies."""
    scan, labels = compare_cell_layers("dummy_Ar1", _cell("dummy_Ar1", process="dummy"))
    assert scan.name not in ("dummy_Ar1", "dummy_Ar1 labels") and labels.name != "dummy_Ar1 labels"
    assert "dummy_Ar1" in scan.name and role_of(scan) == Role.COMPARE
