"""Plateau and rise-onset detection on synthetic plating curves, and display decimation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from napari_licell.echem.voltage_curve import VoltageCurve
from napari_licell.echem.voltage_events import (
    VoltageEvents,
    decimate_for_display,
    find_voltage_events,
    plateau_voltage_v,
    rise_onset_min,
)

PLATEAU_V = 0.622
ONSET_MIN = 2600.0


def _time(n: int = 40001, end_min: float = 4000.0) -> np.ndarray:
    return np.linspace(0.0, end_min, n)


def flat_curve(seed: int = 0) -> VoltageCurve:
    """0.622 V for 4000 min with 1 mV Gaussian noise."""
    rng = np.random.default_rng(seed)
    t = _time()
    return VoltageCurve(t, PLATEAU_V + rng.normal(0.0, 0.001, t.size))


def no_interlayer_curve(seed: int = 1) -> VoltageCurve:
    """Plateau until 2600 min, then a steep 150 mV rise over 20 min and +/-50 mV fluctuation."""
    rng = np.random.default_rng(seed)
    t = _time()
    v = PLATEAU_V + rng.normal(0.0, 0.001, t.size)
    after = t >= ONSET_MIN
    ramp = np.clip((t[after] - ONSET_MIN) / 20.0, 0.0, 1.0)
    v[after] += 0.15 * ramp + ramp * rng.uniform(-0.05, 0.05, after.sum())
    return VoltageCurve(t, v)


def slight_rise_curve(seed: int = 2) -> VoltageCurve:
    """A slow 10 mV linear rise over 4000 min (processes 1-3): no onset."""
    rng = np.random.default_rng(seed)
    t = _time()
    return VoltageCurve(t, PLATEAU_V + 0.010 * t / 4000.0 + rng.normal(0.0, 0.001, t.size))


def test_flat_curve_has_plateau_and_no_onset():
    events = find_voltage_events(flat_curve())
    assert isinstance(events, VoltageEvents)
    assert events.plateau_v == pytest.approx(PLATEAU_V, abs=2e-4)
    assert events.rise_onset_min is None
    assert events.noise_v == pytest.approx(0.001, rel=0.2)


def test_steep_rise_and_fluctuation_onset_near_2600_min():
    curve = no_interlayer_curve()
    events = find_voltage_events(curve)
    assert events.plateau_v == pytest.approx(PLATEAU_V, abs=5e-4)
    assert events.rise_onset_min == pytest.approx(ONSET_MIN, abs=10.0)
    assert events.plateau_end_min <= ONSET_MIN
    assert events.departure_v > 0.1  # a rise, not a drop
    assert rise_onset_min(curve) == events.rise_onset_min
    assert plateau_voltage_v(curve) == events.plateau_v


def test_slight_linear_rise_is_not_an_onset():
    curve = slight_rise_curve()
    events = find_voltage_events(curve)
    assert events.rise_onset_min is None
    # The plateau spans the record; its median is mid-way up the 10 mV creep.
    assert events.plateau_v == pytest.approx(PLATEAU_V + 0.005, abs=5e-4)
    assert events.plateau_slope_mv_per_h == pytest.approx(10.0 / (4000 / 60), rel=0.1)


def test_onset_found_with_sparse_irregular_sampling():
    rng = np.random.default_rng(5)
    dense = no_interlayer_curve()
    t = np.sort(rng.uniform(0.0, 4000.0, 3000))
    curve = VoltageCurve(t, np.interp(t, dense.time_min, dense.voltage_v))
    assert rise_onset_min(curve) == pytest.approx(ONSET_MIN, abs=15.0)


def test_isolated_spikes_are_not_an_onset():
    curve = flat_curve(3)
    rng = np.random.default_rng(3)
    v = curve.voltage_v.copy()
    v[rng.integers(0, v.size, 20)] += 0.3
    events = find_voltage_events(VoltageCurve(curve.time_min, v))
    assert events.rise_onset_min is None
    assert events.plateau_v == pytest.approx(PLATEAU_V, abs=2e-4)


def test_voltage_drop_after_plateau_is_an_event():
    # A short circuit: the voltage collapses at 3000 min.
    curve = flat_curve(4)
    v = curve.voltage_v.copy()
    v[curve.time_min >= 3000.0] = 0.01
    events = find_voltage_events(VoltageCurve(curve.time_min, v))
    assert events.rise_onset_min == pytest.approx(3000.0, abs=5.0)
    assert events.departure_v < -0.5


def test_ramp_without_plateau_has_neither():
    t = _time(4001)
    events = find_voltage_events(VoltageCurve(t, 3.0 + 1.2 * t / t[-1]))
    assert events.plateau_v is None
    assert events.rise_onset_min is None


def test_too_short_curve_has_no_events():
    events = find_voltage_events(VoltageCurve([0.0, 1.0, 2.0], [0.62, 0.62, 0.62]))
    assert events.plateau_v is None and events.rise_onset_min is None


def test_decimate_keeps_spikes_and_bounds_size():
    rng = np.random.default_rng(7)
    t = np.linspace(0.0, 4000.0, 250_000)
    v = PLATEAU_V + rng.normal(0.0, 0.001, t.size)
    spike_up, spike_down = 123_457, 200_001
    v[spike_up] = 1.5
    v[spike_down] = -0.2
    td, vd = decimate_for_display(t, v, 800)
    assert td.size <= 1600
    assert np.all(np.diff(td) >= 0)
    assert vd.max() == 1.5 and vd.min() == -0.2
    assert t[spike_up] in td and t[spike_down] in td
    # Every output point is an input point.
    idx = np.searchsorted(t, td)
    np.testing.assert_array_equal(t[idx], td)
    np.testing.assert_array_equal(v[idx], vd)
    # Per pixel column, the envelope equals the full data's min and max.
    cols = np.minimum((t / 4000.0 * 800).astype(int), 799)
    cols_d = np.minimum((td / 4000.0 * 800).astype(int), 799)
    for c in (0, 250, 399, 799):
        assert vd[cols_d == c].max() == v[cols == c].max()
        assert vd[cols_d == c].min() == v[cols == c].min()


def test_decimate_short_curve_is_returned_whole():
    t = np.array([0.0, 1.0, 2.0])
    v = np.array([0.6, 0.7, 0.65])
    td, vd = decimate_for_display(t, v, 100)
    np.testing.assert_array_equal(td, t)
    np.testing.assert_array_equal(vd, v)


def test_decimate_rejects_bad_arguments():
    with pytest.raises(ValueError):
        decimate_for_display(np.arange(3.0), np.arange(3.0), 0)
    with pytest.raises(ValueError):
        decimate_for_display(np.arange(3.0), np.arange(4.0), 10)


@settings(max_examples=150, deadline=2000)
@given(steps=arrays(np.float64, st.integers(1, 600), elements=st.floats(0.0, 50.0)), volts=st.data())
def test_events_on_arbitrary_curves_stay_inside_the_record(steps, volts):
    t = np.cumsum(steps)
    v = volts.draw(arrays(np.float64, t.size, elements=st.floats(-5.0, 5.0)))
    events = find_voltage_events(VoltageCurve(t, v))
    if events.plateau_v is not None:
        assert v.min() <= events.plateau_v <= v.max()
        assert t[0] <= events.plateau_start_min <= events.plateau_end_min <= t[-1]
    if events.rise_onset_min is not None:
        assert events.plateau_v is not None
        assert events.plateau_start_min <= events.rise_onset_min <= t[-1]
    td, vd = decimate_for_display(t, v, 50)
    assert td.size <= 100  # 2 points per pixel column at most
    assert vd.max() == v.max() and vd.min() == v.min()
