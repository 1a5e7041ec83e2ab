"""What the Voltage dock shows, without Qt: the step on show, its events, the description and the display points."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from napari_licell.echem.charge_steps import select_charge, split_steps
from napari_licell.echem.voltage_curve import VoltageCurve
from napari_licell.echem.voltage_view import VoltageView, nearest_scan_index, scan_times_of
from napari_licell.phantoms.demo_study import load_demo_cell

CYCLER = Path(__file__).resolve().parents[1] / "data" / "cycler"


def test_a_demo_record_is_shown_whole_with_its_events_and_scan():
    cell = load_demo_cell("none_after_Xe6")
    view, emitted = VoltageView(), []
    view.changed.connect(lambda: emitted.append(view.step_ordinal))
    view.set_record(cell.voltage, scan_times_of(cell.metadata), name="none_after_Xe6")
    assert emitted and view.curve is view.record and view.step_ordinal is None
    assert view.events is not None and view.events.rise_onset_min is not None
    text = view.describe()
    assert text.startswith("none_after_Xe6: ") and "steep rise from" in text and "plateau" in text
    assert view.scan_times_min.tolist() == [float(cell.metadata["charge_minutes"])]
    view.set_record(None, name="x")
    assert view.describe() == "x: no voltage record." and view.events is None


def test_display_points_keep_spikes_and_are_exact_when_zoomed():
    t = np.linspace(0.0, 4000.0, 100_001)
    v = 0.622 + 0.001 * np.sin(t / 50.0)
    v[54_321] = 0.95
    view = VoltageView()
    view.set_record(VoltageCurve(t, v), name="spiky")
    x, y = view.displayed_points(300)
    assert len(x) <= 600 and y.max() == 0.95
    lo, hi = t[54_321] - 1.0, t[54_321] + 1.0
    x, y = view.displayed_points(300, lo, hi)
    inside = (t >= lo) & (t <= hi)
    np.testing.assert_array_equal(x[(x >= lo) & (x <= hi)], t[inside])


def test_a_record_of_many_steps_opens_on_its_first_charge():
    record = None
    for path in sorted(CYCLER.glob("*")) if CYCLER.exists() else []:
        if path.suffix.lower() not in (".csv", ".txt", ".ndax", ".mpr"):
            continue
        try:
            from napari_licell.echem.cycler_readers import read_voltage_curve

            curve = read_voltage_curve(path)
        except Exception:  # noqa: BLE001 - only a file with several charge steps is wanted
            continue
        if sum(s.kind == "charge" for s in split_steps(curve)) >= 2:
            record = curve
            break
    if record is None:
        pytest.skip("no real cycler file with two charge steps in tests/data/cycler")
    view = VoltageView()
    view.set_record(record, name=record.source.name if hasattr(record.source, "name") else "record")
    first, step, _ = select_charge(record)
    assert view.step_ordinal == step.ordinal and view.curve.n_points == first.n_points
    choices = view.step_choices()
    assert choices[0] == ("whole record", None) and len(choices) >= 3
    view.show_step(None)
    assert view.curve.n_points == record.n_points
    view.show_step(choices[-1][1])
    assert view.curve.time_min[0] > first.time_min[0]


def test_scan_times_and_nearest_scan():
    assert scan_times_of({"scan_times_min": [0, 1000.0]}).tolist() == [0.0, 1000.0]
    assert scan_times_of({"state": "after", "charge_minutes": 4000}).tolist() == [4000.0]
    assert scan_times_of({}).size == 0
    assert nearest_scan_index(np.array([0.0, 1000.0, 2000.0]), 1400.0) == 1
    with pytest.raises(ValueError):
        nearest_scan_index(np.empty(0), 1.0)
