"""The compare view: the demo study's four cells side by side, their numbers, statistics and figure export."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.image import imread

from napari_licell._qt.compare_view import CompareView

EXPECTED_TITLES = {  # viewbox labels (layer names): process and bonding pressures
    "none_after_Xe6": "none | SE 400 MPa, no C",
    "process1_after_Xe6": "P1 | SE 400, C 3 MPa",
    "process2_after_Xe6": "P2 | SE 400, C 400 MPa",
    "process3_after_Xe6": "P3 | SE 100, SE+C 400 MPa",
}


@pytest.fixture
def compare(make_napari_viewer):
    viewer = make_napari_viewer()
    view = CompareView(viewer)
    viewer.window.add_dock_widget(view, name="Compare")
    view.open_demo_study()
    return viewer, view


def test_opens_four_cells_side_by_side_with_process_labels(compare):
    viewer, view = compare
    assert list(view.cells) == list(EXPECTED_TITLES)
    grid = viewer.canvas.grid
    assert grid.enabled and grid.stride == 2
    assert grid.actual_shape(viewer.layers) == (1, 4)
    shown = [layer for layer in viewer.layers if layer.visible]
    assert [layer.name for layer in shown] == list(EXPECTED_TITLES.values())
    assert all(layer.name_overlay.visible for layer in shown)
    # left to right in study order, one viewbox each
    assert [grid.position(viewer.layers.index(layer), viewer.layers) for layer in shown] == [(0, i) for i in range(4)]
    # every cell is cut at the same place: one dims, stack axis vertical
    assert viewer.dims.displayed == (0, 2)
    assert len({layer.data.shape for layer in shown}) == 1


def test_table_holds_the_key_numbers_and_sorts(compare):
    _, view = compare
    rows = {r[0]: r for r in view.table_rows()}
    assert set(rows) == set(EXPECTED_TITLES)
    headers = [view.table_widget.horizontalHeaderItem(c).text() for c in range(view.table_widget.columnCount())]
    col = {h: i for i, h in enumerate(headers)}
    assert rows["process3_after_Xe6"][col["Process"]] == "process3"
    assert float(rows["process3_after_Xe6"][col["Li layer (µm)"]]) == pytest.approx(64.7, abs=3.0)
    assert float(rows["process3_after_Xe6"][col["Li in SE (%)"]]) < 5
    for name in ("none_after_Xe6", "process1_after_Xe6", "process2_after_Xe6"):
        assert float(rows[name][col["Li in SE (%)"]]) > 50
        assert float(rows[name][col["Li layer (µm)"]]) < 10
    assert rows["process3_after_Xe6"][col["Verdict"]].lower().startswith("uniform")
    for name in ("none_after_Xe6", "process1_after_Xe6", "process2_after_Xe6"):
        assert not rows[name][col["Verdict"]].lower().startswith("uniform")
    assert rows["process1_after_Xe6"][col["Bonding"]] == "SE 400 MPa, C 3 MPa"
    # the cell list spells the process and pressures out
    assert view.cell_list.item(3).text() == "process3 | SE 100 MPa, then SE + C 400 MPa"
    # sort by Li layer thickness, descending: process 3 first
    from qtpy.QtCore import Qt

    view.table_widget.sortItems(col["Li layer (µm)"], Qt.DescendingOrder)
    assert view.table_rows()[0][0] == "process3_after_Xe6"
    view.table_widget.sortItems(col["Li layer (µm)"], Qt.AscendingOrder)
    assert view.table_rows()[-1][0] == "process3_after_Xe6"


def test_unticking_a_cell_hides_it_everywhere(compare):
    viewer, view = compare
    view.set_checked("process1_after_Xe6", False)
    assert view.checked_cells() == ["none_after_Xe6", "process2_after_Xe6", "process3_after_Xe6"]
    assert not viewer.layers[EXPECTED_TITLES["process1_after_Xe6"]].visible
    assert viewer.canvas.grid.actual_shape(viewer.layers) == (1, 3)
    assert len(view.table_rows()) == 3
    assert set(view.stats.table["cell"]) == set(view.checked_cells())
    view.labels_box.setChecked(True)
    assert viewer.layers[f"{EXPECTED_TITLES['process3_after_Xe6']} labels"].visible
    assert not viewer.layers[f"{EXPECTED_TITLES['process1_after_Xe6']} labels"].visible
    # labels share the scan's viewbox (stride 2), so still three boxes
    assert viewer.canvas.grid.actual_shape(viewer.layers) == (1, 3)


def test_side_by_side_off_restores_the_previous_view(make_napari_viewer):
    viewer = make_napari_viewer()
    other = viewer.add_image(np.zeros((4, 8, 8)), name="mine")
    view = CompareView(viewer)
    view.open_demo_study()
    assert not other.visible
    view.side_by_side.setChecked(False)
    assert not viewer.canvas.grid.enabled
    assert other.visible
    assert [layer.name for layer in viewer.layers if layer.visible] == ["mine"]


def test_stats_plot_has_one_box_per_process(compare):
    _, view = compare
    axes = view.stats.figure.axes
    assert len(axes) == 2
    assert [t.get_text() for t in axes[0].get_xticklabels()] == ["none", "P1", "P2", "P3"]


def test_export_writes_a_real_figure(compare, output_dir, tmp_path):
    viewer, view = compare
    png = view.export_figure(output_dir / "compare_view.png")
    assert png.stat().st_size > 10_000
    pixels = imread(png)[..., :3]
    assert pixels.std() > 0.05, "exported figure is uniform"
    svg = view.export_figure(tmp_path / "compare.svg")
    assert "<svg" in svg.read_text()
    # the cross-section follows the viewer's y slider
    viewer.dims.set_current_step(1, 10)
    assert view.current_y_index() == 10


def test_custom_measure_and_a_failing_cell(make_napari_viewer, monkeypatch):
    import napari.utils.notifications as notifications

    from napari_licell.compare.table import truth_numbers
    from napari_licell.phantoms import load_demo_cell

    messages = []
    monkeypatch.setattr(notifications, "show_error", messages.append)
    cells = [load_demo_cell("process2_after_Xe6"), load_demo_cell("process3_after_Xe6")]

    def measure(cell):
        if cell.name == "process2_after_Xe6":
            raise RuntimeError("segmentation missing")
        return truth_numbers(cell)

    viewer = make_napari_viewer()
    view = CompareView(viewer)
    view.set_cells(cells, measure=measure)
    rows = {r[0]: r for r in view.table_rows()}
    assert rows["process2_after_Xe6"][5] == "–"  # Li layer (µm) unknown, not invented
    assert float(rows["process3_after_Xe6"][5]) == pytest.approx(64.5, abs=2.0)
    assert len(messages) == 1 and "process2_after_Xe6" in messages[0] and "segmentation missing" in messages[0]
    assert "ground truth" in view.source_label.text()


def test_voltage_dock_follows_the_active_compared_cell(compare):
    from napari_licell._qt.voltage_dock import VoltageDock

    viewer, view = compare
    dock = VoltageDock(viewer)
    viewer.layers.selection.active = viewer.layers[EXPECTED_TITLES["none_after_Xe6"]]
    assert dock.curve is view.cells["none_after_Xe6"].voltage
    assert dock.scan_times_min.tolist() == [3500.0]
    assert dock.events.rise_onset_min == pytest.approx(2600.0, abs=60.0)


def test_compare_cells_of_an_opened_study(make_napari_viewer, tmp_path):
    from napari_licell.commands.demo import write_demo_study

    study_file = write_demo_study(tmp_path / "study")
    viewer = make_napari_viewer()
    _, study = viewer.window.add_plugin_dock_widget("napari-licell", "Study")
    study.open_study(study_file)
    view = CompareView(viewer)
    viewer.window.add_dock_widget(view, name="Compare")
    view.follow_study(study)
    # the study's labels layers are opened hidden with the scans: all six cells have labels
    assert view.compare_study(study) == 6
    assert len(view.table_rows()) == 6
    verdicts = {name: view.table.loc[view.table["cell"] == name, "verdict"].item() for name in view.cells}
    assert verdicts["process3_after_Xe6"] == "uniform"
    assert verdicts["none_after_Xe6"] == "non-uniform"
