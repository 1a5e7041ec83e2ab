"""Comparing cells side by side without Qt: key numbers, per-process statistics, figures, time-lapse stacks."""

from .cell_titles import cell_title, pressures_text, process_of, short_title
from .figure import comparison_figure, export_comparison_figure
from .grouping import boxplot_groups, process_statistics
from .table import KEY_COLUMNS, default_measure, key_numbers_table, measured_numbers, truth_numbers
from .timelapse import TimeLapse, before_after_timelapse, charge_series_timelapse

__all__ = [
    "KEY_COLUMNS",
    "TimeLapse",
    "before_after_timelapse",
    "boxplot_groups",
    "cell_title",
    "charge_series_timelapse",
    "comparison_figure",
    "default_measure",
    "export_comparison_figure",
    "key_numbers_table",
    "measured_numbers",
    "pressures_text",
    "process_of",
    "process_statistics",
    "short_title",
    "truth_numbers",
]
