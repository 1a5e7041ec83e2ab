"""The Thresholds dock's tabs (Thresholds, Compare, Sensitivity, Options): widgets only, no behaviour."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields

from magicgui.widgets import CheckBox, ComboBox, Container

from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from .. import pipeline
from ..segmentation import DENOISE_METHODS, THRESHOLD_METHODS
from .histogram_plot import HistogramPlot
from .threshold_widgets import RecoveryRow, SensitivityTable, ThresholdBoxes
from .widget_utils import narrow_combo, quietly

__all__ = ["ThresholdTabs", "analysis_options_form", "OPTION_FIELDS"]


class ThresholdTabs(QTabWidget):
    """Every control of the Thresholds dock, laid out in four tabs.

    Attributes named in :attr:`CONTROLS` are the widgets the dock connects.
    """

    #: The widgets the dock reaches (it keeps them as attributes of its own).
    CONTROLS = (
        "image_combo",
        "compare_combo",
        "gas_combo",
        "pressure",
        "method_combo",
        "suggest_button",
        "zoom_low",
        "live_preview",
        "restore_row",
        "restore_thresholds_button",
        "discard_thresholds_button",
        "plot",
        "values",
        "verdict_label",
        "side_by_side",
        "compare_label",
        "sensitivity_table",
        "denoise_combo",
        "pv_check",
        "band_check",
        "settings_button",
        "options_form",
    )

    def __init__(self, viewer, on_value: Callable[[int, float], None], parent=None):
        super().__init__(parent)
        self.addTab(self._main_tab(viewer, on_value), "Thresholds")
        self.addTab(self._compare_tab(), "Compare")
        self.sensitivity_table = SensitivityTable()
        self.addTab(self.sensitivity_table, "Sensitivity")
        self.addTab(self._options_tab(), "Options")

    @property
    def gas(self) -> tuple[str | None, float | None]:
        """Fill gas and pressure (atm) as set (None when unknown)."""
        gas = self.gas_combo.currentText()
        return (None, None) if gas == "unknown" else (gas, float(self.pressure.value()))

    def show_gas(self, gas: str | None, pressure_atm: float | None) -> None:
        """Show a scan's fill gas and pressure (a programmatic change: no signals)."""
        with quietly(self.gas_combo, self.pressure):
            self.gas_combo.setCurrentText(gas or "unknown")
            if pressure_atm is not None:
                self.pressure.setValue(pressure_atm)

    def analysis_options(self, memory_limit_bytes: int) -> pipeline.AnalysisOptions:
        """The pipeline options the controls say (gas, method, denoise, rules) with the memory limit."""
        gas, pressure = self.gas
        return pipeline.AnalysisOptions(
            gas=gas,
            gas_pressure_atm=pressure,
            method=self.method_combo.currentText(),
            denoise=self.denoise_combo.currentText(),
            partial_volume=self.pv_check.isChecked(),
            carbon_band=self.band_check.isChecked(),
            memory_limit_bytes=memory_limit_bytes,
        )

    def _main_tab(self, viewer, on_value) -> QWidget:
        main = QWidget()
        box = QVBoxLayout(main)
        box.setContentsMargins(2, 2, 2, 2)
        grid = QGridLayout()
        self.image_combo, self.compare_combo = QComboBox(), QComboBox()
        self.gas_combo = QComboBox()
        self.gas_combo.addItems(["unknown", "Xe", "Ar"])
        self.pressure = QDoubleSpinBox(minimum=0.0, maximum=20.0, value=6.0, decimals=1, suffix=" atm")
        for combo in (self.image_combo, self.compare_combo):
            narrow_combo(combo, 6)  # the row fits a laptop's dock column (the list shows whole names)
        grid.addWidget(QLabel("Scan"), 0, 0)
        grid.addWidget(self.image_combo, 0, 1, 1, 3)
        grid.addWidget(QLabel("Gas"), 1, 0)
        grid.addWidget(self.gas_combo, 1, 1)
        grid.addWidget(self.pressure, 1, 2, 1, 2)
        box.addLayout(grid)
        row = QHBoxLayout()
        self.suggest_button = QPushButton("Suggest")
        self.suggest_button.setToolTip("Thresholds from the peaks of the scan's histogram (and the gas physics)")
        self.zoom_low = QCheckBox("Zoom to Li / gas")
        self.zoom_low.setChecked(True)
        self.live_preview = QCheckBox("Live preview")
        self.live_preview.setToolTip(
            "Colour the shown section by the thresholds as you move them (thresholds and the carbon band only: "
            "Apply also runs the partial-volume and gas-pore rules, so small gas pores can differ)"
        )
        for w in (self.suggest_button, self.zoom_low, self.live_preview):
            row.addWidget(w)
        box.addLayout(row)
        self.restore_row = RecoveryRow()
        self.restore_thresholds_button = self.restore_row.restore_button
        self.discard_thresholds_button = self.restore_row.discard_button
        box.addWidget(self.restore_row)
        self.plot = HistogramPlot(viewer)
        box.addWidget(self.plot, 1)
        self.values = ThresholdBoxes(on_value)
        box.addWidget(self.values)
        self.verdict_label = QLabel("")
        self.verdict_label.setWordWrap(True)
        box.addWidget(self.verdict_label)
        return main

    def _compare_tab(self) -> QWidget:
        compare = QWidget()
        form = QFormLayout(compare)
        form.addRow("Compare with", self.compare_combo)
        self.side_by_side = QCheckBox("Side by side (grid)")
        form.addRow(self.side_by_side)
        self.compare_label = QLabel("")
        self.compare_label.setWordWrap(True)
        form.addRow(self.compare_label)
        return compare

    def _options_tab(self) -> QWidget:
        options = QWidget()
        box = QVBoxLayout(options)
        self.options_form = analysis_options_form()
        box.addWidget(self.options_form.native)
        self.method_combo = self.options_form.method.native  # rarely changed: here, not beside the gas
        self.denoise_combo = self.options_form.denoise.native
        self.pv_check = self.options_form.partial_volume.native
        self.band_check = self.options_form.carbon_band.native
        self.settings_button = QToolButton()
        self.settings_button.setText("Settings… ⚙")
        self.settings_button.setToolTip("Memory limit for volume work, cache folder")
        box.addWidget(self.settings_button)
        box.addStretch(1)
        return options


#: The analysis options the Options tab edits: AnalysisOptions field -> (label, tooltip).
OPTION_FIELDS = {
    "method": ("Threshold method", "peaks: the histogram's peaks and the gas physics; multiotsu: Otsu's classes"),
    "denoise": ("Denoise", "Filter the scan before classifying it"),
    "partial_volume": ("Partial-volume rules", "Dark shells next to bright phases stay dark"),
    "carbon_band": ("Carbon band by position", "The carbon interlayer found by its place under the SE"),
}


def analysis_options_form() -> Container:
    """A magicgui form of the :class:`~napari_licell.pipeline.AnalysisOptions` fields in :data:`OPTION_FIELDS`.

    Each widget's kind and starting value come from the dataclass field (its
    default; a choice of :data:`~napari_licell.segmentation.DENOISE_METHODS` for ``denoise``).
    """
    defaults = {f.name: f.default for f in fields(pipeline.AnalysisOptions)}
    form = Container(labels=True)
    for name, (label, tip) in OPTION_FIELDS.items():
        if isinstance(defaults[name], bool):
            widget = CheckBox(name=name, text=label, value=defaults[name], tooltip=tip)
        else:
            choices = list(THRESHOLD_METHODS if name == "method" else DENOISE_METHODS)
            widget = ComboBox(name=name, label=label, choices=choices, value=defaults[name], tooltip=tip)
        form.append(widget)
    form.margins = (0, 0, 0, 0)
    return form
