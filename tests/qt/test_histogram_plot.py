"""The Thresholds dock's histogram: "Zoom to Li / gas" shows the dark phases, whatever thresholds there are."""

from __future__ import annotations

import numpy as np

from napari_licell._qt.histogram_plot import HistogramPlot
from napari_licell.classes import LI, METAL, SE, SE_LI, VOID
from napari_licell.segmentation.histogram import histogram_of_array
from napari_licell.segmentation.thresholds import ThresholdSet


def _scan(peaks: dict[float, int], sigma: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    parts = [rng.normal(grey, sigma, n) for grey, n in peaks.items()]
    return np.clip(np.concatenate(parts), 0, 65535).astype(np.uint16)


def test_zoom_of_an_argon_cell_shows_the_dark_peak_not_the_way_to_the_metal(qtbot):
    """Walkthrough: the Ar cell's only threshold is Li | metal, and the zoom ran from 1,000 to 15,700."""
    plot = HistogramPlot()
    qtbot.addWidget(plot)
    hist = histogram_of_array(_scan({1007.0: 200_000, 30000.0: 20_000}, 23.0))
    ar = ThresholdSet((15672.0,), (LI.code, METAL.code), "peaks", levels=(1007.0, 30000.0), noise_sigma=23.0)
    plot.show_histograms([("dummy_Ar1", hist)], ar, zoom_low=True)
    x0, x1 = plot.ax.get_xlim()
    assert x0 < 1007 - 3 * 23 and 1007 + 3 * 23 < x1 <= 1007 + 25 * 23


def test_zoom_of_a_xenon_cell_still_shows_both_dark_thresholds(qtbot):
    plot = HistogramPlot()
    qtbot.addWidget(plot)
    hist = histogram_of_array(_scan({1011.0: 100_000, 1113.0: 50_000, 7100.0: 400_000, 30000.0: 20_000}, 21.6))
    xe = ThresholdSet(
        (1062.0, 1242.0, 6186.0, 18718.0),
        (LI.code, VOID.code, SE_LI.code, SE.code, METAL.code),
        "peaks",
        levels=(1011.0, 1113.0, 4000.0, 7100.0, 30000.0),
        noise_sigma=21.6,
    )
    plot.show_histograms([("process3", hist)], xe, zoom_low=True)
    x0, x1 = plot.ax.get_xlim()
    assert x0 < 1011 and 1242 < x1 < 2000


SQUEEZED = """
import sys
if sys.argv[1] == "ours":
    import napari_licell._qt.mpl_canvas
from matplotlib.figure import Figure
from matplotlib.backends.backend_agg import FigureCanvasAgg
fig = Figure(figsize=(0.4, 0.3), layout="constrained")
fig.add_subplot().set_xlabel("grey value " * 6)
FigureCanvasAgg(fig).draw()
"""


def test_a_squeezed_plot_raises_no_layout_warning_that_napari_would_show_over_the_canvas():
    """Walkthrough: "constrained_layout not applied" popped up over the canvas whenever Compare was built."""
    import subprocess
    import sys

    def stderr(which: str) -> str:
        run = [sys.executable, "-W", "default", "-c", SQUEEZED, which]
        return subprocess.run(run, capture_output=True, text=True, timeout=300).stderr

    assert "constrained_layout not applied" in stderr("plain matplotlib")  # the squeeze does warn
    assert "constrained_layout not applied" not in stderr("ours")
