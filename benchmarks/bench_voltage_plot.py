"""How fast the voltage dock draws a long cycler record: full vs decimated, and pan/zoom redraws.

Run::

    xvfb-run -a .venv/bin/python benchmarks/bench_voltage_plot.py          # or with QT_QPA_PLATFORM=offscreen

The curve is the real Neware file ``../shared/data/echem/neware/20260302_IFE_BTS85_2_9_8_1.ndax``
(252,951 points) when it is beside the repository and readable, else a synthetic curve of
252,951 points (0.622 V plateau with noise, a steep rise at 2600 min and one-sample spikes);
the report says which. Times are wall-clock medians in milliseconds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
NEWARE = REPO.parent / "shared" / "data" / "echem" / "neware" / "20260302_IFE_BTS85_2_9_8_1.ndax"
N_SYNTHETIC = 252_951


def load_curve():
    """(curve, description): the real Neware record when readable, else a synthetic one."""
    from napari_licell.echem.voltage_curve import VoltageCurve

    if NEWARE.is_file():
        try:
            from napari_licell.echem.cycler_readers import read_voltage_curve

            curve = read_voltage_curve(NEWARE)
            return curve, f"real Neware file {NEWARE.name} ({curve.n_points:,} points, {curve.format})"
        except Exception as exc:  # noqa: BLE001 - fall back and say why
            reason = f"{NEWARE.name} unreadable: {exc}"
    else:
        reason = f"{NEWARE} not found"
    rng = np.random.default_rng(0)
    t = np.linspace(0.0, 4000.0, N_SYNTHETIC)
    v = 0.622 + 0.004 * (1 - np.exp(-t / 30.0)) + rng.normal(0, 0.0008, t.size)
    after = t >= 2600.0
    v[after] += 0.12 * (1 - np.exp(-(t[after] - 2600.0) / 25.0)) + 0.05 * np.sin((t[after] - 2600.0) / 17.0)
    v[rng.integers(0, t.size, 20)] += 0.2
    return VoltageCurve(t, v, format="synthetic"), f"synthetic curve ({N_SYNTHETIC:,} points; {reason})"


def _median_ms(fn, repeat: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def run(repeat: int = 7) -> dict[str, float]:
    warnings.filterwarnings("ignore")
    if sys.platform.startswith("linux") and not os.environ.get("DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from qtpy.QtWidgets import QApplication

    from napari_licell._qt.voltage_dock import VoltageDock
    from napari_licell.echem.voltage_events import decimate_for_display

    app = QApplication.instance() or QApplication([])
    curve, description = load_curve()
    dock = VoltageDock(None)
    dock.resize(900, 500)
    dock.show()
    app.processEvents()
    dock.set_curve(curve, scan_times_min=[curve.time_min[-1]], name="bench")
    app.processEvents()
    n_bins = dock._n_bins()
    results: dict[str, float] = {}

    # full: every raw point in the line
    line = dock._line
    t, v = curve.time_min, curve.voltage_v
    line.set_data(t, v)
    results["draw_full_ms"] = _median_ms(dock.canvas.draw, repeat)

    # decimated for the whole record (what the dock shows)
    line.set_data(*dock.displayed_points())
    results["draw_decimated_ms"] = _median_ms(dock.canvas.draw, repeat)
    results["decimate_ms"] = _median_ms(lambda: decimate_for_display(t, v, n_bins), repeat)
    results["points_full"] = float(t.size)
    results["points_decimated"] = float(line.get_xdata().size)

    # pan at 10 % zoom: each step moves the view, re-decimates from the raw points and redraws
    span = (t[-1] - t[0]) * 0.1
    starts = np.linspace(t[0], t[-1] - span, 25)
    state = {"i": 0}

    def pan_step():
        x0 = starts[state["i"] % starts.size]
        state["i"] += 1
        dock._ax.set_xlim(x0, x0 + span)  # xlim_changed -> re-decimation
        dock.canvas.draw()

    results["pan_redraw_ms"] = _median_ms(pan_step, repeat * 3)

    # zoom in steps down to 20 minutes (exact raw points at the end) and back out
    spans = np.geomspace(t[-1] - t[0], 20.0, 12)
    centre = 0.5 * (t[0] + t[-1])
    zooms = list(spans) + list(spans[::-1])
    state["i"] = 0

    def zoom_step():
        s = zooms[state["i"] % len(zooms)]
        state["i"] += 1
        dock._ax.set_xlim(centre - s / 2, centre + s / 2)
        dock.canvas.draw()

    results["zoom_redraw_ms"] = _median_ms(zoom_step, repeat * 3)

    # the same pan without re-decimation (full line, matplotlib clipping only)
    callbacks = dock._ax.callbacks
    for cid in list(callbacks.callbacks.get("xlim_changed", {})):
        callbacks.disconnect(cid)
    line.set_data(t, v)
    state["i"] = 0
    results["pan_redraw_full_ms"] = _median_ms(pan_step, repeat)

    print(f"curve: {description}")
    print(f"canvas: {dock.canvas.width()} px wide -> {n_bins} bins")
    for key, value in results.items():
        print(f"{key:>22}: {value:,.1f}")
    dock.close()
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="timed repetitions per measurement")
    run(parser.parse_args().repeat)
