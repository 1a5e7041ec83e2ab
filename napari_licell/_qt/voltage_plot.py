"""What the Voltage dock draws besides the curve: its colours, the CT scan times and the voltage events (matplotlib)."""

from __future__ import annotations

import numpy as np
from matplotlib.transforms import blended_transform_factory

__all__ = ["draw_scan_times", "draw_events"]

CURVE_COLOUR = "#3a8ee6"
SCAN_COLOUR = "#e05050"
ONSET_COLOUR = "#e0702e"
REFERENCE_COLOUR = "#9a9a9a"
CURSOR_COLOUR = "#2fd9b9"


def draw_scan_times(ax, scan_times_min: np.ndarray) -> None:
    """A dotted line and a marker at the top of ``ax`` at each CT scan time (minutes)."""
    if scan_times_min.size == 0:
        return
    top = blended_transform_factory(ax.transData, ax.transAxes)
    for i, time in enumerate(scan_times_min):
        ax.axvline(time, color=SCAN_COLOUR, lw=0.8, ls=":", label="CT scan" if i == 0 else None)
    ax.plot(
        scan_times_min, np.full(scan_times_min.size, 0.98), "v", color=SCAN_COLOUR, ms=6, transform=top, clip_on=False
    )


def draw_events(ax, ev, text: str) -> None:
    """The plateau (a line at its voltage) and the rise onset (a vertical line) of ``ev``, named in the legend.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    ev : VoltageEvents or None
        What :func:`~napari_licell.echem.voltage_events.find_voltage_events` found (None: nothing drawn).
    text : str
        Colour of the plateau line (the theme's text colour).
    """
    if ev is None:
        return
    # the events are named in the legend (placed where the curve is not), never as loose text on the curve
    if ev.plateau_v is not None and ev.plateau_start_min is not None:
        ax.hlines(
            ev.plateau_v,
            ev.plateau_start_min,
            ev.plateau_end_min,
            color=text,
            lw=1.4,
            alpha=0.7,
            label=f"plateau {ev.plateau_v:.3f} V",
        )
    if ev.rise_onset_min is not None:
        ax.axvline(ev.rise_onset_min, color=ONSET_COLOUR, lw=1.0, label=f"rise at {ev.rise_onset_min:.0f} min")
