"""Electrochemistry: cycler files, voltage curves and their events (Qt-free)."""

from .voltage_curve import VoltageCurve

__all__ = ["VoltageCurve"]
