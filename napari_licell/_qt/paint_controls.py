"""The Paint dock's controls, top to bottom: recovery, scan and start choice, palette, brush and rules,
Train & predict, model files, autosave interval. Widgets only; the dock connects them."""

from __future__ import annotations

from qtpy.QtWidgets import QComboBox, QFileDialog, QFormLayout, QHBoxLayout, QPushButton, QSpinBox

from .paint_widgets import BrushBox, PaletteBox, RestoreBox

__all__ = ["PaintControls", "ask_model_path"]


def ask_model_path(parent, save: bool) -> str:
    """Ask where to save a pixel classifier (``.licell-clf`` added) or which one to load; "" when cancelled."""
    ask = QFileDialog.getSaveFileName if save else QFileDialog.getOpenFileName
    path, _ = ask(parent, f"{'Save' if save else 'Load'} pixel classifier", "", "LiCell classifier (*.licell-clf)")
    return path + ".licell-clf" if path and save and not path.endswith(".licell-clf") else path


class PaintControls:
    """The controls, added to ``layout`` (the dock's body) around its task bar.

    Attributes named in :attr:`CONTROLS` are the widgets the dock keeps.
    """

    CONTROLS = (
        "restore_box",
        "restore_label",
        "restore_button",
        "discard_button",
        "image_combo",
        "source_combo",
        "new_button",
        "palette",
        "palette_group",
        "palette_buttons",
        "brush",
        "brush_um",
        "brush_px_label",
        "preserve_check",
        "target_combo",
        "band_check",
        "band_from",
        "band_to",
        "interpolate_button",
        "train_button",
        "next_slice_button",
        "save_model_button",
        "load_model_button",
        "autosave_spin",
    )

    def __init__(self, layout, task_bar, on_class, autosave_seconds: int):
        self.restore_box = RestoreBox()
        self.restore_label, self.restore_button, self.discard_button = (
            self.restore_box.label,
            self.restore_box.restore_button,
            self.restore_box.discard_button,
        )
        layout.addWidget(self.restore_box)
        form = QFormLayout()
        self.image_combo = QComboBox()
        self.image_combo.setToolTip("Scan the labels belong to")
        form.addRow("Scan:", self.image_combo)
        self.source_combo = QComboBox()
        self.source_combo.setToolTip("Start the result empty or from an existing (e.g. threshold) labels layer")
        form.addRow("Start from:", self.source_combo)
        layout.addLayout(form)
        self.new_button = QPushButton("New labels")
        self.new_button.setToolTip("Make the classes and scribbles layers of this scan and start painting")
        layout.addWidget(self.new_button)
        self.palette = PaletteBox(on_class)
        self.palette_group, self.palette_buttons = self.palette.group, self.palette.buttons
        layout.addWidget(self.palette)
        self.brush = BrushBox()
        self.brush_um, self.brush_px_label = self.brush.brush_um, self.brush.px_label
        self.preserve_check, self.target_combo = self.brush.preserve_check, self.brush.target_combo
        self.band_check, self.band_from, self.band_to = self.brush.band_check, self.brush.band_from, self.brush.band_to
        self.interpolate_button = self.brush.interpolate_button
        layout.addWidget(self.brush)
        row = QHBoxLayout()
        self.train_button = QPushButton("Train && predict")
        self.train_button.setToolTip("Learn from the scribbles and classify the whole scan (in the background)")
        row.addWidget(self.train_button)
        self.next_slice_button = QPushButton("Next best slice")
        self.next_slice_button.setToolTip("Go to the slice where the classifier is least sure: paint there next")
        row.addWidget(self.next_slice_button)
        layout.addLayout(row)
        layout.addWidget(task_bar)
        row = QHBoxLayout()
        self.save_model_button = QPushButton("Save model…")
        self.load_model_button = QPushButton("Load model…")
        row.addWidget(self.save_model_button)
        row.addWidget(self.load_model_button)
        layout.addLayout(row)
        form = QFormLayout()
        self.autosave_spin = QSpinBox()
        self.autosave_spin.setRange(0, 3600)
        self.autosave_spin.setSuffix(" s")
        self.autosave_spin.setSpecialValueText("off")
        self.autosave_spin.setValue(int(autosave_seconds))
        form.addRow("Autosave every:", self.autosave_spin)
        layout.addLayout(form)
