"""Reports of measurements: self-contained HTML (figures embedded as PNG) and CSV/JSON tables (Qt-free)."""

from .html_report import cell_report_html, study_report_html, write_cell_report, write_study_report
from .tables import flatten_numbers, study_rows, write_measurement_tables

__all__ = [
    "cell_report_html",
    "flatten_numbers",
    "study_report_html",
    "study_rows",
    "write_cell_report",
    "write_measurement_tables",
    "write_study_report",
]
