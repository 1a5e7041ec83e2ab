"""Dock: paint classes on a scan, train the pixel classifier on the strokes, predict the whole cell.

The dock keeps two labels layers per scan, both coloured by the class table:

* ``<scan> classes`` – the result: prediction plus hand edits;
* ``<scan> scribbles`` – only what the user painted by hand. Painting on the
  result is recorded here too, so retraining never overwrites hand strokes.

Edit rules (paint only over one class, a depth band along the stack axis)
are enforced after each napari edit: the layer's ``paint`` event hands over
the history item of the edit; voxels breaking a rule are put back and the
history item is rewritten, so napari's undo/redo stay exact.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from pathlib import Path

import numpy as np
from qtpy.QtCore import QTimer, Signal
from qtpy.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from .. import autosave
from ..classes import CLASS_TABLE, LABEL_DTYPE, class_by_code
from ..classifier import PixelClassifier, PredictionCancelled, interpolate_between_slices
from ..errors import LiCellInputError
from .._napari.layers import image_layer_tuple, labels_layer_tuple
from .settings import memory_limit_bytes

__all__ = ["PaintDock", "edit_atoms_to_changes"]

#: Classes on the palette (everything but background), in code order; keys 1..6 select them.
PALETTE = tuple(c for c in CLASS_TABLE if c.code != 0)
_ANY = -1


def edit_atoms_to_changes(item, ndim: int):
    """Explicit voxel changes of a napari Labels history item.

    Parameters
    ----------
    item : list
        History atoms as napari's ``paint`` event gives them: mask atoms
        ``(slice_key, mask, old_values, new_value)`` or index atoms
        ``(indices, old_values, new_values)``.
    ndim : int
        Dimensions of the layer.

    Returns
    -------
    list of (tuple of ndarray, ndarray, ndarray)
        Per atom: voxel indices, old values and new values (same length).
    """
    changes = []
    for atom in item:
        if hasattr(atom, "slice_key"):
            starts = [s.start or 0 for s in atom.slice_key]
            if atom.mask is None:
                shape = atom.old_values.shape
                local = np.nonzero(np.ones(shape, dtype=bool))
                old = np.asarray(atom.old_values).reshape(-1)
            else:
                local = np.nonzero(atom.mask)
                old = np.asarray(atom.old_values).reshape(-1)
            idx = tuple(np.asarray(l, dtype=np.intp) + s for l, s in zip(local, starts))
            new = np.full(old.shape, atom.new_value, dtype=old.dtype)
        else:
            indices, old, new = atom
            idx = tuple(np.asarray(i, dtype=np.intp).reshape(-1) for i in indices)
            old = np.asarray(old).reshape(-1)
            new = np.broadcast_to(np.asarray(new, dtype=old.dtype), old.shape).copy()
        if len(idx) != ndim:
            raise ValueError(f"history atom with {len(idx)} index arrays on a {ndim}-D layer")
        changes.append((idx, old, new))
    return changes


class PaintDock(QWidget):
    """Paint classes, train a random-forest pixel classifier on them and predict the scan.

    Parameters
    ----------
    napari_viewer : napari.Viewer
        The viewer.
    autosave_seconds : int
        Autosave interval while painting, seconds (0 switches autosave off).
    """

    _progress = Signal(int, int, str)

    def __init__(self, napari_viewer, parent=None, autosave_seconds: int = 60):
        super().__init__(parent)
        self.viewer = napari_viewer
        self.image_layer = None
        self.result_layer = None
        self.scribble_layer = None
        self.uncertainty_layer = None
        self.classifier: PixelClassifier | None = None
        self.worker = None
        self.autosave_folder: Path | None = None
        self.last_autosave: Path | None = None
        self.recoverable: list[autosave.Recoverable] = []
        self._cancel = threading.Event()
        self._internal_write = False
        self._dirty = False
        self._mirror_undo: deque = deque(maxlen=100)
        self._mirror_redo: deque = deque(maxlen=100)
        self._bound_layers: list = []
        self._pending_reverts: list = []
        self._closed = False
        self._init_widgets(autosave_seconds)
        self._progress.connect(self._on_progress)
        self.viewer.layers.events.inserted.connect(self._refresh_layer_choices)
        self.viewer.layers.events.removed.connect(self._on_layer_removed)
        self._refresh_layer_choices()
        self.image_combo.currentTextChanged.connect(self._on_image_chosen)
        self._on_image_chosen(self.image_combo.currentText())

    # ------------------------------------------------------------------ widgets
    def _init_widgets(self, autosave_seconds: int) -> None:
        layout = QVBoxLayout(self)

        self.restore_box = QGroupBox("Unsaved work found")
        rb = QVBoxLayout(self.restore_box)
        self.restore_label = QLabel()
        self.restore_label.setWordWrap(True)
        rb.addWidget(self.restore_label)
        row = QHBoxLayout()
        self.restore_button = QPushButton("Restore")
        self.restore_button.clicked.connect(lambda: self.restore_autosave())
        self.discard_button = QPushButton("Discard")
        self.discard_button.clicked.connect(self.discard_autosave)
        row.addWidget(self.restore_button)
        row.addWidget(self.discard_button)
        rb.addLayout(row)
        self.restore_box.setVisible(False)
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
        self.new_button.clicked.connect(lambda: self._guarded(self.new_labels))
        layout.addWidget(self.new_button)

        palette_box = QGroupBox("Class (keys 1–6)")
        grid = QGridLayout(palette_box)
        self.palette_group = QButtonGroup(self)
        self.palette_group.setExclusive(True)
        self.palette_buttons: dict[int, QPushButton] = {}
        for i, cls in enumerate(PALETTE):
            button = QPushButton(f"{i + 1}  {cls.name}")
            button.setCheckable(True)
            button.setToolTip(f"Paint {cls.name} (code {cls.code}, key {i + 1})")
            text = "#000000" if _is_light(cls.colour) else "#ffffff"
            button.setStyleSheet(
                f"QPushButton {{background-color: {cls.colour}; color: {text}; text-align: left; padding: 3px;}}"
                "QPushButton:checked {border: 3px solid #ff3030;}"
            )
            button.clicked.connect(lambda _=False, code=cls.code: self.select_class(code))
            self.palette_group.addButton(button, cls.code)
            grid.addWidget(button, i // 2, i % 2)
            self.palette_buttons[cls.code] = button
        layout.addWidget(palette_box)

        brush_box = QGroupBox("Brush and rules")
        bf = QFormLayout(brush_box)
        self.brush_um = QDoubleSpinBox()
        self.brush_um.setRange(0.1, 500.0)
        self.brush_um.setDecimals(2)
        self.brush_um.setSingleStep(0.5)
        self.brush_um.setValue(5.0)
        self.brush_um.setSuffix(" µm")
        self.brush_um.valueChanged.connect(self._apply_brush_size)
        self.brush_px_label = QLabel("")
        brush_row = QHBoxLayout()
        brush_row.addWidget(self.brush_um)
        brush_row.addWidget(self.brush_px_label)
        bf.addRow("Brush diameter:", brush_row)
        self.preserve_check = QCheckBox("Preserve other labels (paint only on unlabelled voxels)")
        self.preserve_check.toggled.connect(self._apply_preserve)
        bf.addRow(self.preserve_check)
        self.target_combo = QComboBox()
        self.target_combo.addItem("any class", _ANY)
        for cls in CLASS_TABLE:
            self.target_combo.addItem(cls.name if cls.code else "unlabelled (0)", cls.code)
        self.target_combo.setToolTip("Edits may only change voxels of this class; others are put back")
        bf.addRow("Only paint over:", self.target_combo)
        self.band_check = QCheckBox("Restrict to depth band")
        self.band_check.setToolTip("Edits outside the band along the stack axis (z) are put back")
        self.band_from = QDoubleSpinBox()
        self.band_to = QDoubleSpinBox()
        for box in (self.band_from, self.band_to):
            box.setRange(-1e6, 1e6)
            box.setDecimals(2)
            box.setSuffix(" µm")
        band_row = QHBoxLayout()
        band_row.addWidget(self.band_check)
        band_row.addWidget(self.band_from)
        band_row.addWidget(QLabel("to"))
        band_row.addWidget(self.band_to)
        bf.addRow(band_row)
        self.interpolate_button = QPushButton("Interpolate between painted slices")
        self.interpolate_button.setToolTip(
            "Fill the slices between two slices painted with the selected class by shape interpolation"
        )
        self.interpolate_button.clicked.connect(lambda: self.interpolate())
        bf.addRow(self.interpolate_button)
        layout.addWidget(brush_box)

        clf_box = QGroupBox("Pixel classifier")
        cl = QVBoxLayout(clf_box)
        row = QHBoxLayout()
        self.train_button = QPushButton("Train && predict")
        self.train_button.clicked.connect(lambda: self.train_and_predict())
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        row.addWidget(self.train_button)
        row.addWidget(self.cancel_button)
        cl.addLayout(row)
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 100)
        self.progress_bar.setValue(0)
        cl.addWidget(self.progress_bar)
        row = QHBoxLayout()
        self.save_model_button = QPushButton("Save model…")
        self.save_model_button.clicked.connect(self._save_model_dialog)
        self.load_model_button = QPushButton("Load model…")
        self.load_model_button.clicked.connect(self._load_model_dialog)
        row.addWidget(self.save_model_button)
        row.addWidget(self.load_model_button)
        cl.addLayout(row)
        layout.addWidget(clf_box)

        form = QFormLayout()
        self.autosave_spin = QSpinBox()
        self.autosave_spin.setRange(0, 3600)
        self.autosave_spin.setSuffix(" s")
        self.autosave_spin.setSpecialValueText("off")
        self.autosave_spin.setValue(int(autosave_seconds))
        self.autosave_spin.valueChanged.connect(self._apply_autosave_interval)
        form.addRow("Autosave while painting every:", self.autosave_spin)
        layout.addLayout(form)
        self.status = QLabel("Pick a scan and press “New labels”.")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        layout.addStretch(1)

        self.autosave_timer = QTimer(self)
        self.autosave_timer.timeout.connect(self._autosave_tick)
        self._apply_autosave_interval(int(autosave_seconds))
        self._update_enabled()

    def _update_enabled(self) -> None:
        has = self.result_layer is not None
        busy = self.worker is not None
        for w in (self.interpolate_button, self.train_button):
            w.setEnabled(has and not busy)
        self.new_button.setEnabled(self.image_layer is not None and not busy)
        self.cancel_button.setEnabled(busy)
        self.save_model_button.setEnabled(self.classifier is not None and self.classifier.is_trained)

    # ------------------------------------------------------------------ layers
    def _own_layers(self) -> list:
        return [l for l in (self.result_layer, self.scribble_layer, self.uncertainty_layer) if l is not None]

    def _refresh_layer_choices(self, event=None) -> None:
        from napari.layers import Image, Labels

        own = {id(l) for l in self._own_layers()}
        current = self.image_combo.currentText()
        self.image_combo.blockSignals(True)
        self.image_combo.clear()
        for layer in self.viewer.layers:
            if isinstance(layer, Image) and layer.ndim == 3 and id(layer) not in own and layer.rgb is False:
                self.image_combo.addItem(layer.name)
        if current and self.image_combo.findText(current) >= 0:
            self.image_combo.setCurrentText(current)
        self.image_combo.blockSignals(False)
        source = self.source_combo.currentText()
        self.source_combo.clear()
        self.source_combo.addItem("(empty)")
        for layer in self.viewer.layers:
            if isinstance(layer, Labels) and id(layer) not in own:
                self.source_combo.addItem(layer.name)
        if source and self.source_combo.findText(source) >= 0:
            self.source_combo.setCurrentText(source)
        if self.image_layer is None and self.image_combo.count():
            self._on_image_chosen(self.image_combo.currentText())

    def _on_layer_removed(self, event=None) -> None:
        layers_now = {id(l) for l in self.viewer.layers}
        if self.result_layer is not None and id(self.result_layer) not in layers_now:
            self._release_layer(self.result_layer)
            self.result_layer = None
        if self.scribble_layer is not None and id(self.scribble_layer) not in layers_now:
            self._release_layer(self.scribble_layer)
            self.scribble_layer = None
        if self.uncertainty_layer is not None and id(self.uncertainty_layer) not in layers_now:
            self.uncertainty_layer = None
        if self.image_layer is not None and id(self.image_layer) not in layers_now:
            self.image_layer = None
        self._refresh_layer_choices()
        self._update_enabled()

    def _on_image_chosen(self, name: str) -> None:
        if not name or name not in self.viewer.layers:
            return
        layer = self.viewer.layers[name]
        if layer is self.image_layer:
            return
        self.image_layer = layer
        self.autosave_folder = self._default_autosave_folder(layer)
        self.band_from.setValue(float(layer.translate[-3]))
        self.band_to.setValue(float(layer.translate[-3] + layer.scale[-3] * (layer.data.shape[-3] - 1)))
        self.check_recoverable()
        self._update_enabled()

    def _default_autosave_folder(self, layer) -> Path:
        """``.licell-autosave`` goes next to the scan's file; layers without a file use the cache folder."""
        path = getattr(getattr(layer, "source", None), "path", None) or layer.metadata.get("path")
        return autosave.autosave_folder_for(path)

    @property
    def _labels_name(self) -> str:
        return f"{self.image_layer.name} classes"

    @property
    def _scribbles_name(self) -> str:
        return f"{self.image_layer.name} scribbles"

    def new_labels(self, source: str | None = None, labels=None, scribbles=None) -> None:
        """Create the result and scribble layers for the chosen scan.

        Parameters
        ----------
        source : str, optional
            Name of a labels layer to start the result from (default: the
            "Start from" choice; "(empty)" starts from zeros).
        labels, scribbles : ndarray, optional
            Start volumes (used when restoring an autosave).
        """
        if self.image_layer is None:
            raise LiCellInputError(None, "no scan chosen", "open a scan (or a demo cell) first")
        shape = tuple(self.image_layer.data.shape)
        voxels = int(np.prod(shape, dtype=np.int64))
        budget = memory_limit_bytes()
        if 2 * voxels > budget:  # the class labels and the strokes, one byte per voxel each, in memory
            raise LiCellInputError(
                None,
                f"{self.image_layer.name}: painting holds the labels and the strokes in memory, "
                f"2 x {voxels / 1e9:.2f} GB, above the memory limit of {budget / 2**30:g} GB",
                "paint on a crop of the scan (a few hundred slices are enough to train the classifier), "
                "or raise the limit under LiCell > Settings…",
            )
        if source is None:
            source = self.source_combo.currentText()
        if labels is None:
            labels = np.zeros(shape, dtype=LABEL_DTYPE)
            if source and source != "(empty)":
                src = np.asarray(self.viewer.layers[source].data)
                if src.shape != shape:
                    raise LiCellInputError(None, f"labels layer {source!r} has shape {src.shape}, the scan {shape}")
                if src.max(initial=0) > max(c.code for c in CLASS_TABLE):
                    raise LiCellInputError(None, f"labels layer {source!r} holds codes outside the class table")
                labels = src.astype(LABEL_DTYPE)
        scribbles = np.zeros(shape, dtype=LABEL_DTYPE) if scribbles is None else np.asarray(scribbles, LABEL_DTYPE)
        for layer in (self.result_layer, self.scribble_layer):
            if layer is not None:
                self._release_layer(layer)
                if layer in self.viewer.layers:
                    self.viewer.layers.remove(layer)
        self.result_layer = self.scribble_layer = None
        scale, translate = tuple(self.image_layer.scale), tuple(self.image_layer.translate)
        meta = {"scan": self.image_layer.name, "role": "classes"}
        data, kwargs, _ = labels_layer_tuple(labels, self._labels_name, scale, meta, translate=translate)
        result = self.viewer.add_labels(data, **kwargs)
        data, kwargs, _ = labels_layer_tuple(
            scribbles, self._scribbles_name, scale, {**meta, "role": "scribbles"}, translate=translate, opacity=0.9
        )
        scrib = self.viewer.add_labels(data, **kwargs)
        scrib.visible = False
        self.result_layer, self.scribble_layer = result, scrib
        self._mirror_undo.clear()
        self._mirror_redo.clear()
        for layer in (result, scrib):
            self._bind_layer(layer)
        self.select_class(class_by_code(1).code)
        self._apply_brush_size()
        self._apply_preserve(self.preserve_check.isChecked())
        result.mode = "paint"
        self.viewer.layers.selection.active = result
        self._refresh_layer_choices()
        self._update_enabled()
        self.status.setText(f"Paint a few strokes of each phase on “{result.name}”, then Train & predict.")

    def _bind_layer(self, layer) -> None:
        layer.events.paint.connect(self._on_paint)
        layer.events.selected_label.connect(self._on_selected_label)
        layer.events.preserve_labels.connect(self._on_preserve_event)
        for i, cls in enumerate(PALETTE):
            layer.bind_key(str(i + 1), _select_callback(self, cls.code), overwrite=True)
        if layer is self.result_layer:
            layer.undo = self._undo_result
            layer.redo = self._redo_result
        self._bound_layers.append(layer)

    def _release_layer(self, layer) -> None:
        if layer not in self._bound_layers:
            return
        for handler, emitter in (
            (self._on_paint, layer.events.paint),
            (self._on_selected_label, layer.events.selected_label),
            (self._on_preserve_event, layer.events.preserve_labels),
        ):
            emitter.disconnect(handler)
        for i in range(len(PALETTE)):
            layer.bind_key(str(i + 1), None, overwrite=True)
        for name in ("undo", "redo"):
            if name in layer.__dict__:
                delattr(layer, name)
        self._bound_layers.remove(layer)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt name
        self.close_dock()
        super().closeEvent(event)

    def close_dock(self) -> None:
        """Stop timers and workers and unhook the layers (the layers stay in the viewer)."""
        if self._closed:
            return
        self._closed = True
        self.autosave_timer.stop()
        self.cancel()
        if self._dirty:
            self.autosave_now()
        for layer in list(self._bound_layers):
            self._release_layer(layer)
        for emitter, handler in (
            (self.viewer.layers.events.inserted, self._refresh_layer_choices),
            (self.viewer.layers.events.removed, self._on_layer_removed),
        ):
            emitter.disconnect(handler)

    # ------------------------------------------------------------------ palette, brush, rules
    def select_class(self, code: int) -> None:
        """Make ``code`` the label painted on the dock's layers and check its palette button."""
        class_by_code(code)
        for layer in (self.result_layer, self.scribble_layer):
            if layer is not None and layer.selected_label != code:
                layer.selected_label = code
        button = self.palette_buttons.get(code)
        if button is not None and not button.isChecked():
            button.setChecked(True)

    @property
    def selected_class(self) -> int:
        """Code of the class checked on the palette."""
        return int(self.palette_group.checkedId())

    def _on_selected_label(self, event=None) -> None:
        layer = event.source if event is not None else self.result_layer
        code = int(layer.selected_label)
        if code in self.palette_buttons:
            self.select_class(code)

    def _apply_brush_size(self, value=None) -> None:
        um = float(self.brush_um.value())
        if self.image_layer is None:
            return
        pixel_um = float(min(abs(s) for s in self.image_layer.scale[-2:]))
        px = max(1, int(round(um / pixel_um)))
        for layer in (self.result_layer, self.scribble_layer):
            if layer is not None:
                layer.brush_size = px
        self.brush_px_label.setText(f"= {px} px")

    def _apply_preserve(self, on: bool) -> None:
        for layer in (self.result_layer, self.scribble_layer):
            if layer is not None and layer.preserve_labels != bool(on):
                layer.preserve_labels = bool(on)

    def _on_preserve_event(self, event=None) -> None:
        on = bool(event.source.preserve_labels) if event is not None else False
        if self.preserve_check.isChecked() != on:
            self.preserve_check.setChecked(on)

    def set_target_class(self, code: int | None) -> None:
        """Let edits change only voxels of ``code`` (None: any class)."""
        index = self.target_combo.findData(_ANY if code is None else int(code))
        self.target_combo.setCurrentIndex(index)

    def set_depth_band(self, z_from_um: float | None, z_to_um: float | None = None) -> None:
        """Restrict edits to stack-axis positions ``z_from_um..z_to_um`` (world µm); None switches it off."""
        if z_from_um is None:
            self.band_check.setChecked(False)
            return
        self.band_from.setValue(float(z_from_um))
        self.band_to.setValue(float(z_to_um))
        self.band_check.setChecked(True)

    def _allowed(self, layer, idx, old) -> np.ndarray:
        ok = np.ones(old.shape, dtype=bool)
        target = self.target_combo.currentData()
        if target is not None and target != _ANY:
            ok &= old == target
        if self.band_check.isChecked():
            zax = layer.ndim - 3
            lo_um, hi_um = sorted((self.band_from.value(), self.band_to.value()))
            z_um = layer.translate[zax] + layer.scale[zax] * idx[zax]
            eps = 1e-6 * abs(layer.scale[zax])
            ok &= (z_um >= lo_um - eps) & (z_um <= hi_um + eps)
        return ok

    def _on_paint(self, event) -> None:
        layer = event.source
        if self._internal_write:
            if layer is self.result_layer:
                self._mirror_push(None)
            return
        self.apply_pending_edits()
        item = event.value
        changes = edit_atoms_to_changes(item, layer.ndim)
        kept, reverted = [], 0
        for idx, old, new in changes:
            ok = self._allowed(layer, idx, old)
            if not ok.all():
                reverted += int((~ok).sum())
            kept.append((tuple(i[ok] for i in idx), old[ok], new[ok], tuple(i[~ok] for i in idx), old[~ok]))
        if reverted:
            item[:] = [(k_idx, k_old, k_new) for k_idx, k_old, k_new, _, _ in kept if k_old.size]
            for _, _, _, bad_idx, bad_old in reversed(kept):
                if bad_old.size:
                    self._pending_reverts.append((layer, bad_idx, bad_old))
            # Interactive strokes report after writing; programmatic paint()/fill()/data_setitem() report
            # just before writing. Reverts of edits not yet written run once control is back in the event loop.
            self.apply_pending_edits(only_written=True)
            if self._pending_reverts:
                QTimer.singleShot(0, self._apply_pending_later)
            self.status.setText(f"{reverted} voxel(s) outside the allowed class / depth band were put back.")
            if not item:
                # nothing allowed was changed: drop the empty step so Ctrl+Z undoes the previous edit
                history = getattr(layer, "_undo_history", None)
                if history is not None and len(history) and history[-1] is item:
                    history.pop()
                    self._dirty = True
                    return
        if layer is self.result_layer and self.scribble_layer is not None:
            record = []
            for k_idx, _, k_new, _, _ in kept:
                if k_new.size:
                    before = np.array(self.scribble_layer.data[k_idx], copy=True)
                    self.scribble_layer.data[k_idx] = k_new
                    record.append((k_idx, before, k_new))
            self._mirror_push(record)
            if record:
                self.scribble_layer.refresh()
        self._dirty = True

    @property
    def pending_reverts(self) -> int:
        """Edits waiting to be put back (programmatic edits are reverted from the event loop)."""
        return len(self._pending_reverts)

    def _apply_pending_later(self) -> None:
        self.apply_pending_edits()

    def apply_pending_edits(self, only_written: bool = False) -> None:
        """Put back voxels an edit may not change (called from the event loop after programmatic edits).

        Parameters
        ----------
        only_written : bool
            Only revert edits whose new values are already in the layer.
        """
        if not self._pending_reverts:
            return
        keep, touched = [], []
        for layer, idx, old in self._pending_reverts:
            if only_written and np.array_equal(np.asarray(layer.data[idx]), old):
                keep.append((layer, idx, old))  # not written yet: napari writes right after the event
                continue
            layer.data[idx] = old
            if layer not in touched:
                touched.append(layer)
        self._pending_reverts = keep
        for layer in touched:
            layer.refresh()

    # ------------------------------------------------------------------ undo mirror
    def _mirror_push(self, record) -> None:
        self._mirror_undo.append(record or [])
        self._mirror_redo.clear()

    def _apply_mirror(self, record, undoing: bool) -> None:
        if not record or self.scribble_layer is None:
            return
        for idx, before, after in (reversed(record) if undoing else record):
            self.scribble_layer.data[idx] = before if undoing else after
        self.scribble_layer.refresh()

    def _undo_result(self) -> None:
        """Undo on the result layer, and take the mirrored strokes out of the scribbles."""
        type(self.result_layer).undo(self.result_layer)
        if self._mirror_undo:
            record = self._mirror_undo.pop()
            self._apply_mirror(record, undoing=True)
            self._mirror_redo.append(record)
            self._dirty = True

    def _redo_result(self) -> None:
        """Redo on the result layer, and put the mirrored strokes back into the scribbles."""
        type(self.result_layer).redo(self.result_layer)
        if self._mirror_redo:
            record = self._mirror_redo.pop()
            self._apply_mirror(record, undoing=False)
            self._mirror_undo.append(record)
            self._dirty = True

    # ------------------------------------------------------------------ interpolation
    def interpolate(self, code: int | None = None) -> int:
        """Fill the slices between slices painted (in the scribbles) with ``code``; undoable on the result.

        Returns
        -------
        int
            Voxels written.
        """
        if self.result_layer is None:
            raise LiCellInputError(None, "no labels yet", "press “New labels” first")
        code = self.selected_class if code is None else int(code)
        scribbles = np.asarray(self.scribble_layer.data)
        spacing = tuple(abs(s) for s in self.result_layer.scale[-2:])
        fill = interpolate_between_slices(scribbles, code, sampling=spacing)
        idx = np.nonzero(fill)
        n = int(idx[0].size)
        if n:
            self.result_layer.data_setitem(idx, code)
        self.status.setText(
            f"Interpolated {class_by_code(code).name} into {n} voxels."
            if n
            else f"Paint {class_by_code(code).name} on two slices with unpainted slices between them first."
        )
        return n

    # ------------------------------------------------------------------ training
    def train_and_predict(self, classifier: PixelClassifier | None = None):
        """Train on the scribbles (unless a loaded ``classifier`` is used) and predict the scan in a thread.

        Returns
        -------
        napari.qt.threading.FunctionWorker
            The running worker (also in :attr:`worker` until it ends).
        """
        from napari.qt.threading import create_worker

        if self.result_layer is None or self.image_layer is None:
            raise LiCellInputError(None, "no labels yet", "press “New labels” and paint first")
        if self.worker is not None:
            return self.worker
        image = self.image_layer.data
        scribbles = np.array(self.scribble_layer.data, dtype=LABEL_DTYPE, copy=True)
        retrain = classifier is None
        clf = classifier or PixelClassifier()
        self._cancel.clear()
        emit = self._progress.emit

        def work():
            try:
                if retrain:
                    clf.fit(image, scribbles, progress=lambda d, t: emit(d, t, "Training"), cancel=self._cancel)
                labels = np.zeros(image.shape, dtype=LABEL_DTYPE)
                uncertainty = np.zeros(image.shape, dtype=np.float16)
                t0 = time.perf_counter()
                clf.predict(
                    image,
                    labels_out=labels,
                    uncertainty_out=uncertainty,
                    scribbles=scribbles,
                    progress=lambda d, t: emit(d, t, "Predicting"),
                    cancel=self._cancel,
                )
            except PredictionCancelled:
                return None
            return clf, labels, uncertainty, time.perf_counter() - t0

        worker = create_worker(work, _start_thread=False, _connect={"errored": self._on_worker_error})
        worker.returned.connect(self._on_prediction)
        worker.finished.connect(self._on_worker_finished)
        self.worker = worker
        self.progress_bar.setValue(0)
        self.status.setText("Training…" if retrain else "Predicting…")
        self._update_enabled()
        worker.start()
        return worker

    def cancel(self) -> None:
        """Ask a running training/prediction to stop at the next slab (the result stays as it was)."""
        if self.worker is not None:
            self._cancel.set()
            self.status.setText("Cancelling…")

    def _on_progress(self, done: int, total: int, what: str) -> None:
        self.progress_bar.setValue(int(100 * done / max(total, 1)))
        self.status.setText(f"{what}: {done}/{total}")

    def _on_prediction(self, value) -> None:
        if value is None:
            self.status.setText("Cancelled; the labels were not changed.")
            return
        clf, labels, uncertainty, seconds = value
        self.classifier = clf
        if self.result_layer is None:
            return
        current = np.asarray(self.result_layer.data)
        changed = np.nonzero(current != labels)
        self._internal_write = True
        try:
            if changed[0].size:
                self.result_layer.data_setitem(changed, labels[changed])
        finally:
            self._internal_write = False
        self._show_uncertainty(uncertainty, len(clf.class_codes))
        self._dirty = True
        mvox = labels.size / 1e6
        self.status.setText(
            f"Predicted {labels.size:,} voxels in {seconds:.1f} s ({seconds / max(mvox, 1e-9):.2f} s per million); "
            f"{changed[0].size:,} changed. Hand strokes were kept; Ctrl+Z on the classes layer undoes the prediction."
        )

    def _show_uncertainty(self, uncertainty: np.ndarray, n_classes: int) -> None:
        data = uncertainty.astype(np.float32)  # float16 textures are not portable across GL drivers
        name = f"{self.image_layer.name} uncertainty"
        hi = max(1.0 - 1.0 / max(n_classes, 2), 1e-3)
        if self.uncertainty_layer is not None and self.uncertainty_layer in self.viewer.layers:
            self.uncertainty_layer.data = data
            self.uncertainty_layer.contrast_limits = (0.0, hi)
            return
        d, kwargs, _ = image_layer_tuple(
            data,
            name,
            self.image_layer.scale,
            {"scan": self.image_layer.name, "role": "uncertainty", "definition": "1 - max class probability"},
            translate=tuple(self.image_layer.translate),
            colormap="magma",
            contrast_limits=(0.0, hi),
            blending="additive",
            visible=False,
        )
        self.uncertainty_layer = self.viewer.add_image(d, **kwargs)
        if self.result_layer is not None:
            self.viewer.layers.selection.active = self.result_layer

    def _on_worker_error(self, exc: Exception) -> None:
        from napari.utils.notifications import show_error

        message = exc.message if isinstance(exc, LiCellInputError) else f"{type(exc).__name__}: {exc}"
        self.status.setText(f"Classifier failed: {message}")
        show_error(f"Pixel classifier: {message}")

    def _on_worker_finished(self) -> None:
        self.worker = None
        self.progress_bar.setValue(100 if not self._cancel.is_set() else 0)
        self._update_enabled()

    # ------------------------------------------------------------------ model files
    def save_model(self, path: str | os.PathLike) -> Path:
        """Save the trained classifier to ``path``."""
        if self.classifier is None or not self.classifier.is_trained:
            raise LiCellInputError(None, "no trained classifier to save", "Train & predict first")
        out = self.classifier.save(path)
        self.status.setText(f"Model saved to {out}")
        return out

    def load_model(self, path: str | os.PathLike, predict: bool = True):
        """Load a classifier from ``path``; with ``predict`` apply it to the scan at once (no retraining)."""
        self.classifier = PixelClassifier.load(path)
        self._update_enabled()
        self.status.setText(f"Loaded {self.classifier!r} from {Path(path).name}")
        if predict and self.result_layer is not None:
            return self.train_and_predict(classifier=self.classifier)
        return None

    def _save_model_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save pixel classifier", "", "LiCell classifier (*.licell-clf)")
        if path:
            if not path.endswith(".licell-clf"):
                path += ".licell-clf"
            self._guarded(self.save_model, path)

    def _load_model_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load pixel classifier", "", "LiCell classifier (*.licell-clf)")
        if path:
            self._guarded(self.load_model, path)

    def _guarded(self, func, *args):
        try:
            return func(*args)
        except LiCellInputError as exc:
            from napari.utils.notifications import show_error

            self.status.setText(exc.message)
            show_error(exc.message)
            return None

    # ------------------------------------------------------------------ autosave
    def _apply_autosave_interval(self, seconds: int) -> None:
        if seconds > 0:
            self.autosave_timer.start(int(seconds * 1000))
        else:
            self.autosave_timer.stop()

    def _autosave_tick(self) -> None:
        if self._dirty and self.worker is None:
            self.autosave_now()

    def autosave_now(self) -> Path | None:
        """Write the result and scribbles to the autosave folder now (atomic)."""
        if self.result_layer is None or self.autosave_folder is None:
            return None
        try:
            path = autosave.write_autosave(
                self.autosave_folder,
                self.result_layer.name,
                np.asarray(self.result_layer.data),
                np.asarray(self.scribble_layer.data) if self.scribble_layer is not None else None,
                metadata={
                    "scan": self.image_layer.name if self.image_layer is not None else None,
                    "scale_um": [float(s) for s in self.result_layer.scale],
                },
            )
        except OSError as exc:
            self.status.setText(f"Autosave failed: {exc}")
            return None
        self._dirty = False
        self.last_autosave = path
        self.status.setText(f"Autosaved {time.strftime('%H:%M:%S')} to {path.parent}")
        return path

    def check_recoverable(self) -> list:
        """Look for autosaves of this scan newer than its last explicit save and offer them."""
        self.recoverable = []
        if self.image_layer is not None and self.autosave_folder is not None:
            want = self._labels_name
            self.recoverable = [r for r in autosave.find_recoverable(self.autosave_folder) if r.name == want]
        if self.recoverable:
            r = self.recoverable[0]
            when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r.saved_at))
            self.restore_label.setText(f"Labels “{r.name}” were autosaved at {when} and not saved since.")
        self.restore_box.setVisible(bool(self.recoverable))
        return self.recoverable

    def restore_autosave(self, recoverable: autosave.Recoverable | None = None) -> None:
        """Bring back an autosave as the result and scribble layers."""
        r = recoverable or (self.recoverable[0] if self.recoverable else None)
        if r is None:
            return
        record = self._guarded(autosave.restore, r.path)
        if record is None:
            return
        if record.labels.shape != tuple(self.image_layer.data.shape):
            self.status.setText(f"Autosave {r.path.name} has shape {record.labels.shape}, not the scan's.")
            return
        self.new_labels(labels=record.labels, scribbles=record.scribbles)
        self.restore_box.setVisible(False)
        self.recoverable = []
        self.status.setText(f"Restored the autosave of {time.strftime('%H:%M:%S', time.localtime(r.saved_at))}.")

    def discard_autosave(self) -> None:
        """Delete the offered autosave."""
        for r in self.recoverable:
            autosave.discard(r.path)
        self.recoverable = []
        self.restore_box.setVisible(False)


def _select_callback(dock: PaintDock, code: int):
    def select(layer=None):
        dock.select_class(code)

    select.__doc__ = f"Paint {class_by_code(code).name}"
    return select


def _is_light(hex_colour: str) -> bool:
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return 0.299 * r + 0.587 * g + 0.114 * b > 140
