"""Dock: paint classes on a scan, train the pixel classifier on the strokes, predict the whole cell.

Two labels layers per scan, both coloured by the class table: ``<scan>
classes`` (prediction plus hand edits) and ``<scan> scribbles`` (only the
hand strokes: the training data; painting on the result is mirrored there, so
retraining never overwrites hand strokes). Edit rules and the mirror live in
:class:`~napari_licell.painting.PaintSession`; the layer hooks in
:mod:`.paint_binding`; training and prediction in
:class:`~napari_licell.classifier.PixelClassifier`, off the GUI thread.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
from qtpy.QtCore import QTimer
from qtpy.QtWidgets import QComboBox, QFileDialog, QFormLayout, QHBoxLayout, QPushButton, QSpinBox

from .. import autosave
from ..classes import CLASS_TABLE, LABEL_DTYPE, class_by_code
from ..classifier import PixelClassifier, interpolate_between_slices
from ..errors import LiCellInputError
from ..layer_roles import Role, is_ct_scan, scan_of, tagged
from ..painting import PaintSession
from ..pipeline import labels_fit_in_memory
from .._napari.layers import image_layer_tuple, labels_layer_tuple
from .dock_base import LicellDock
from .paint_binding import PaintBinding
from .paint_widgets import BrushBox, PaletteBox, RestoreBox
from .settings import memory_limit_bytes

__all__ = ["PaintDock"]


class PaintDock(LicellDock):
    """Paint classes, train a random-forest pixel classifier on them and predict the scan.

    Parameters
    ----------
    napari_viewer : napari.Viewer
    autosave_seconds : int
        Autosave interval while painting, seconds (0 switches autosave off).
    """

    def __init__(self, napari_viewer, parent=None, autosave_seconds: int = 60):
        super().__init__(napari_viewer, parent)
        self.image_layer = self.result_layer = self.scribble_layer = self.uncertainty_layer = None
        self.classifier: PixelClassifier | None = None
        self.session: PaintSession | None = None
        self.binding: PaintBinding | None = None
        self.autosave_folder: Path | None = None
        self.last_autosave: Path | None = None
        self.recoverable: list[autosave.Recoverable] = []
        self._init_widgets(autosave_seconds)
        self.on_layers_changed()

    # ------------------------------------------------------------------ widgets
    def _init_widgets(self, autosave_seconds: int) -> None:
        layout = self.body_layout
        self.restore_box = RestoreBox()
        self.restore_label, self.restore_button, self.discard_button = (
            self.restore_box.label, self.restore_box.restore_button, self.restore_box.discard_button)
        self.restore_button.clicked.connect(lambda: self.guarded(self.restore_autosave))
        self.discard_button.clicked.connect(lambda: self.guarded(self.discard_autosave))
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
        self.new_button.clicked.connect(lambda: self.guarded(self.new_labels))
        layout.addWidget(self.new_button)
        self.palette = PaletteBox(lambda code: self.guarded(self.select_class, code))
        self.palette_group, self.palette_buttons = self.palette.group, self.palette.buttons
        layout.addWidget(self.palette)
        self.brush = BrushBox()
        self.brush_um, self.brush_px_label = self.brush.brush_um, self.brush.px_label
        self.preserve_check, self.target_combo = self.brush.preserve_check, self.brush.target_combo
        self.band_check, self.band_from, self.band_to = self.brush.band_check, self.brush.band_from, self.brush.band_to
        self.interpolate_button = self.brush.interpolate_button
        self.brush_um.valueChanged.connect(self._apply_brush_size)
        self.preserve_check.toggled.connect(self._apply_preserve)
        for signal in (self.target_combo.currentIndexChanged, self.band_check.toggled,
                       self.band_from.valueChanged, self.band_to.valueChanged):
            signal.connect(self._apply_rules)
        self.interpolate_button.clicked.connect(lambda: self.guarded(self.interpolate))
        layout.addWidget(self.brush)
        row = QHBoxLayout()
        self.train_button = QPushButton("Train && predict")
        self.train_button.setToolTip("Learn from the scribbles and classify the whole scan (in the background)")
        self.train_button.clicked.connect(lambda: self.guarded(self.train_and_predict))
        row.addWidget(self.train_button)
        layout.addLayout(row)
        layout.addWidget(self.task_bar)
        self.progress_bar, self.cancel_button = self.task_bar.progress_bar, self.task_bar.cancel_button
        row = QHBoxLayout()
        self.save_model_button = QPushButton("Save model…")
        self.save_model_button.clicked.connect(self._save_model_dialog)
        self.load_model_button = QPushButton("Load model…")
        self.load_model_button.clicked.connect(self._load_model_dialog)
        row.addWidget(self.save_model_button)
        row.addWidget(self.load_model_button)
        layout.addLayout(row)
        form = QFormLayout()
        self.autosave_spin = QSpinBox()
        self.autosave_spin.setRange(0, 3600)
        self.autosave_spin.setSuffix(" s")
        self.autosave_spin.setSpecialValueText("off")
        self.autosave_spin.setValue(int(autosave_seconds))
        self.autosave_spin.valueChanged.connect(self._apply_autosave_interval)
        form.addRow("Autosave every:", self.autosave_spin)
        layout.addLayout(form)
        self.show_status("Pick a scan and press “New labels”.")
        layout.addWidget(self.status)
        layout.addStretch(1)
        self.autosave_timer = QTimer(self)
        self.autosave_timer.timeout.connect(self._autosave_tick)
        self._apply_autosave_interval(int(autosave_seconds))
        self.image_combo.currentTextChanged.connect(lambda name: self.guarded(self._on_image_chosen, name))
        self._update_enabled()

    def _update_enabled(self) -> None:
        has, busy = self.result_layer is not None, self.busy
        for w in (self.interpolate_button, self.train_button):
            w.setEnabled(has and not busy)
        self.new_button.setEnabled(self.image_layer is not None and not busy)
        self.save_model_button.setEnabled(self.classifier is not None and self.classifier.is_trained)

    def on_busy_changed(self, busy: bool) -> None:
        self._update_enabled()

    # ------------------------------------------------------------------ layers
    def _own_layers(self) -> list:
        return [l for l in (self.result_layer, self.scribble_layer, self.uncertainty_layer) if l is not None]

    def on_layers_changed(self, event=None) -> None:
        from napari.layers import Labels

        for attr in ("result_layer", "scribble_layer", "uncertainty_layer", "image_layer"):
            layer = getattr(self, attr)
            if layer is not None and not self.has_layer(layer):
                if attr in ("result_layer", "scribble_layer"):
                    self._release_binding()
                setattr(self, attr, None)
        own = self._own_layers()
        _refill(self.image_combo, [l.name for l in self.viewer.layers if is_ct_scan(l, allow_2d=False)])
        _refill(self.source_combo, ["(empty)"] + [l.name for l in self.viewer.layers
                                                  if isinstance(l, Labels) and not any(l is o for o in own)])
        if self.image_layer is None and self.image_combo.count():
            active = self.viewer.layers.selection.active  # the cell on show, not the first in the list
            scan = scan_of(active) if active is not None else None
            if scan and self.image_combo.findText(scan) >= 0:
                self.image_combo.setCurrentText(scan)
            self._on_image_chosen(self.image_combo.currentText())
        self._update_enabled()

    def _on_image_chosen(self, name: str) -> None:
        layer = self.layer_named(name)
        if layer is None or layer is self.image_layer:
            return
        if self.session is not None and self.session.dirty:  # the previous cell's strokes, saved where they belong
            self.autosave_now()
        self.image_layer = layer
        path = getattr(getattr(layer, "source", None), "path", None) or layer.metadata.get("source")
        self.autosave_folder = autosave.autosave_folder_for(path)
        z0, dz = float(layer.translate[-3]), float(layer.scale[-3])
        self.band_from.setValue(z0)
        self.band_to.setValue(z0 + dz * (layer.data.shape[-3] - 1))
        self._follow_own_layers()
        self.check_recoverable()
        self._update_enabled()

    @property
    def _labels_name(self) -> str:
        return f"{self.image_layer.name} classes"

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
        budget = memory_limit_bytes()
        if not labels_fit_in_memory(shape, budget, volumes=2):
            voxels = int(np.prod(shape, dtype=np.int64))
            raise LiCellInputError(
                None,
                f"{self.image_layer.name}: painting holds the labels and the strokes in memory, "
                f"2 x {voxels / 1e9:.2f} GB, above half the memory limit of {budget / 2**30:g} GB",
                "paint on a crop of the scan (a few hundred slices are enough to train the classifier), "
                "or raise the limit under LiCell > Settings…",
            )
        labels = self._start_labels(shape, source) if labels is None else np.asarray(labels, LABEL_DTYPE)
        scribbles = np.zeros(shape, LABEL_DTYPE) if scribbles is None else np.asarray(scribbles, LABEL_DTYPE)
        self._release_binding()
        for layer in (self.result_layer, self.scribble_layer):
            if self.has_layer(layer):
                self.viewer.layers.remove(layer)
        scan = self.image_layer
        scale, translate = tuple(scan.scale), tuple(scan.translate)
        data, kwargs, _ = labels_layer_tuple(labels, self._labels_name, scale,
                                             tagged({}, Role.CLASSES, scan.name), translate=translate)
        result = self.viewer.add_labels(data, **kwargs)
        data, kwargs, _ = labels_layer_tuple(scribbles, f"{scan.name} scribbles", scale,
                                             tagged({}, Role.SCRIBBLES, scan.name), translate=translate,
                                             opacity=0.9, visible=False)
        scrib = self.viewer.add_labels(data, **kwargs)
        self._bind(result, scrib)
        self.select_class(class_by_code(1).code)
        result.mode = "paint"
        self.viewer.layers.selection.active = result
        self.on_layers_changed()
        self.show_status(f"Paint a few strokes of each phase on “{result.name}” (keys 1–6 pick the class), "
                         "then Train & predict.")

    def _bind(self, result, scrib) -> None:
        """Make ``result`` and ``scrib`` the dock's classes and scribbles layers (edit rules, palette, undo)."""
        self._release_binding()
        self.result_layer, self.scribble_layer = result, scrib
        self.session = PaintSession(scrib.data)
        self.binding = PaintBinding(result, scrib, self.session, lambda code: self.select_class(code),
                                    self.show_status)
        for layer in (result, scrib):  # the palette and the check box follow napari's own controls
            self.link(layer.events.selected_label, self._on_selected_label)
            self.link(layer.events.preserve_labels, self._on_preserve_event)
        self._apply_rules()
        self._apply_brush_size()
        self._apply_preserve(self.preserve_check.isChecked())

    def on_scan_shown(self, scan: str) -> None:
        """Follow the cell the user shows: its scan, and its classes and scribbles when it has them."""
        if self.busy or (self.image_layer is not None and self.image_layer.name == scan):
            return  # a running prediction writes into this scan's classes: stay with it
        if self.image_combo.findText(scan) >= 0:
            self.image_combo.setCurrentText(scan)

    def _follow_own_layers(self) -> None:
        """After the scan changed: bind its "<scan> classes"/"<scan> scribbles" layers, or none."""
        scan = self.image_layer.name if self.image_layer is not None else None
        if self.result_layer is not None and scan_of(self.result_layer) == scan:
            return
        result = self.layer_named(f"{scan} classes") if scan else None
        scrib = self.layer_named(f"{scan} scribbles") if scan else None
        if result is not None and scrib is not None and result.data.shape == scrib.data.shape:
            self._bind(result, scrib)
        else:
            self._release_binding()
            self.result_layer = self.scribble_layer = self.session = None
        self.uncertainty_layer = self.layer_named(f"{scan} uncertainty") if scan else None

    def _start_labels(self, shape: tuple[int, ...], source: str | None) -> np.ndarray:
        source = self.source_combo.currentText() if source is None else source
        if not source or source == "(empty)":
            return np.zeros(shape, dtype=LABEL_DTYPE)
        src = np.asarray(self.layer_named(source).data)
        if src.shape != shape:
            raise LiCellInputError(None, f"labels layer {source!r} has shape {src.shape}, the scan {shape}")
        if src.max(initial=0) > max(c.code for c in CLASS_TABLE):
            raise LiCellInputError(None, f"labels layer {source!r} holds codes outside the class table")
        return src.astype(LABEL_DTYPE)

    def _release_binding(self) -> None:
        if self.binding is not None:
            self.binding.release()
            self.binding = None

    def close_dock(self) -> None:
        """Stop timers and workers and unhook the layers (the layers stay in the viewer)."""
        if self._closed:
            return
        self.autosave_timer.stop()
        if self.session is not None and self.session.dirty:
            self.autosave_now()
        self._release_binding()
        super().close_dock()

    # ------------------------------------------------------------------ palette, brush, rules
    def select_class(self, code: int) -> None:
        """Make ``code`` the label painted on the dock's layers and check its palette button."""
        class_by_code(code)
        for layer in (self.result_layer, self.scribble_layer):
            if layer is not None and layer.selected_label != code:
                layer.selected_label = code
        self.palette.check(code)

    @property
    def selected_class(self) -> int:
        """Code of the class checked on the palette."""
        return int(self.palette_group.checkedId())

    def _on_selected_label(self, event=None) -> None:
        code = int(event.source.selected_label) if event is not None else self.selected_class
        if code in self.palette_buttons:
            self.select_class(code)

    def _on_preserve_event(self, event=None) -> None:
        on = bool(event.source.preserve_labels) if event is not None else False
        if self.preserve_check.isChecked() != on:
            self.preserve_check.setChecked(on)

    def _apply_brush_size(self, value=None) -> None:
        if self.image_layer is None:
            return
        pixel_um = float(min(abs(s) for s in self.image_layer.scale[-2:]))
        px = max(1, int(round(float(self.brush_um.value()) / pixel_um)))
        for layer in (self.result_layer, self.scribble_layer):
            if layer is not None:
                layer.brush_size = px
        self.brush_px_label.setText(f"= {px} px")

    def _apply_preserve(self, on: bool) -> None:
        for layer in (self.result_layer, self.scribble_layer):
            if layer is not None and layer.preserve_labels != bool(on):
                layer.preserve_labels = bool(on)

    def _apply_rules(self, *_args) -> None:
        if self.session is not None:
            self.session.rules = self.brush.rules()

    def set_target_class(self, code: int | None) -> None:
        """Let edits change only voxels of ``code`` (None: any class)."""
        self.brush.set_target_class(code)

    def set_depth_band(self, z_from_um: float | None, z_to_um: float | None = None) -> None:
        """Restrict edits to stack-axis positions ``z_from_um..z_to_um`` (world µm); None switches it off."""
        self.brush.set_depth_band(z_from_um, z_to_um)

    @property
    def pending_reverts(self) -> int:
        """Edits waiting to be put back (programmatic edits are reverted from the event loop)."""
        return self.binding.pending_reverts if self.binding is not None else 0

    def apply_pending_edits(self, only_written: bool = False) -> None:
        """Put back voxels an edit may not change (as the event loop does after programmatic edits)."""
        if self.binding is not None:
            self.binding.apply_pending(only_written)

    # ------------------------------------------------------------------ interpolation
    def interpolate(self, code: int | None = None) -> int:
        """Fill the slices between slices painted (in the scribbles) with ``code``; undoable on the result."""
        if self.result_layer is None:
            raise LiCellInputError(None, "no labels yet", "press “New labels” first")
        code = self.selected_class if code is None else int(code)
        spacing = tuple(abs(s) for s in self.result_layer.scale[-2:])
        fill = interpolate_between_slices(np.asarray(self.scribble_layer.data), code, sampling=spacing)
        idx = np.nonzero(fill)
        n = int(idx[0].size)
        if n:
            self.result_layer.data_setitem(idx, code)
        name = class_by_code(code).name
        self.show_status(f"Interpolated {name} into {n} voxels." if n else
                         f"Paint {name} on two slices with unpainted slices between them first.")
        return n

    # ------------------------------------------------------------------ training
    def train_and_predict(self, classifier: PixelClassifier | None = None):
        """Train on the scribbles (unless a loaded ``classifier`` is used) and predict the scan in a worker."""
        if self.result_layer is None or self.image_layer is None:
            raise LiCellInputError(None, "no labels yet", "press “New labels” and paint first")
        if self.busy:
            return self.worker
        image = self.image_layer.data
        scribbles = np.array(self.scribble_layer.data, dtype=LABEL_DTYPE, copy=True)
        retrain = classifier is None
        clf = classifier or PixelClassifier()
        before = np.array(self.result_layer.data, copy=True)  # what the prediction is compared with

        def work(progress, cancel):
            if retrain:
                clf.fit(image, scribbles, progress=progress, cancel=cancel.is_set)
            labels = np.zeros(image.shape, dtype=LABEL_DTYPE)
            uncertainty = np.zeros(image.shape, dtype=np.float16)
            t0 = time.perf_counter()
            clf.predict(image, labels_out=labels, uncertainty_out=uncertainty, scribbles=scribbles,
                        progress=progress, cancel=cancel.is_set)
            seconds = time.perf_counter() - t0
            changed = np.nonzero(before != labels)
            # float16 textures are not portable across GL drivers; converted here, not on the GUI thread
            return clf, labels, uncertainty.astype(np.float32), seconds, changed, labels[changed]

        return self.start_task(work, label="Training and predicting…" if retrain else "Predicting…",
                               on_done=self._on_prediction)

    def _on_prediction(self, value):
        """Write the prediction in chunks between event-loop turns (a generator: the task ends after it)."""
        clf, labels, uncertainty, seconds, changed, new_codes = value
        self.classifier = clf
        if self.result_layer is None or self.binding is None:
            return
        if changed[0].size:
            yield from self.binding.write_result_steps(changed, new_codes)
        self._show_uncertainty(uncertainty, len(clf.class_codes))
        mvox = labels.size / 1e6
        self.show_status(
            f"Predicted {labels.size:,} voxels in {seconds:.1f} s ({seconds / max(mvox, 1e-9):.2f} s per million); "
            f"{changed[0].size:,} changed. Hand strokes were kept; Ctrl+Z on the classes layer undoes the prediction.")
        self._update_enabled()

    def _show_uncertainty(self, uncertainty: np.ndarray, n_classes: int) -> None:
        data = np.asarray(uncertainty, dtype=np.float32)  # no copy: the worker converted it
        hi = max(1.0 - 1.0 / max(n_classes, 2), 1e-3)
        if self.has_layer(self.uncertainty_layer):
            self.uncertainty_layer.data = data
            self.uncertainty_layer.contrast_limits = (0.0, hi)
            return
        scan = self.image_layer
        meta = tagged({"definition": "1 - max class probability"}, Role.UNCERTAINTY, scan.name)
        d, kwargs, _ = image_layer_tuple(data, f"{scan.name} uncertainty", scan.scale, meta,
                                         translate=tuple(scan.translate), colormap="magma", contrast_limits=(0.0, hi),
                                         blending="additive", visible=False)
        self.uncertainty_layer = self.viewer.add_image(d, **kwargs)
        if self.result_layer is not None:
            self.viewer.layers.selection.active = self.result_layer

    # ------------------------------------------------------------------ model files
    def save_model(self, path: str | os.PathLike) -> Path:
        """Save the trained classifier to ``path``."""
        if self.classifier is None or not self.classifier.is_trained:
            raise LiCellInputError(None, "no trained classifier to save", "Train & predict first")
        out = self.classifier.save(path)
        self.show_status(f"Model saved to {out}")
        return out

    def load_model(self, path: str | os.PathLike, predict: bool = True):
        """Load a classifier from ``path``; with ``predict`` apply it to the scan at once (no retraining)."""
        self.classifier = PixelClassifier.load(path)
        self._update_enabled()
        self.show_status(f"Loaded {self.classifier!r} from {Path(path).name}")
        if predict and self.result_layer is not None:
            return self.train_and_predict(classifier=self.classifier)
        return None

    def _save_model_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save pixel classifier", "", "LiCell classifier (*.licell-clf)")
        if path:
            self.guarded(self.save_model, path if path.endswith(".licell-clf") else path + ".licell-clf")

    def _load_model_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load pixel classifier", "", "LiCell classifier (*.licell-clf)")
        if path:
            self.guarded(self.load_model, path)

    # ------------------------------------------------------------------ autosave
    def _apply_autosave_interval(self, seconds: int) -> None:
        if seconds > 0:
            self.autosave_timer.start(int(seconds * 1000))
        else:
            self.autosave_timer.stop()

    def _autosave_tick(self) -> None:
        if self.session is not None and self.session.dirty and not self.busy:
            self.autosave_now()

    def autosave_now(self) -> Path | None:
        """Write the result and scribbles to the autosave folder now (atomic)."""
        if self.result_layer is None or self.autosave_folder is None:
            return None
        try:
            path = autosave.write_autosave(
                self.autosave_folder, self.result_layer.name, np.asarray(self.result_layer.data),
                np.asarray(self.scribble_layer.data) if self.scribble_layer is not None else None,
                metadata={"scan": self.image_layer.name if self.image_layer is not None else None,
                          "scale_um": [float(s) for s in self.result_layer.scale]},
            )
        except OSError as exc:
            self.show_status(f"Autosave failed: {exc}")
            return None
        if self.session is not None:
            self.session.dirty = False
        self.last_autosave = path
        self.show_status(f"Autosaved {time.strftime('%H:%M:%S')} to {path.parent}")
        return path

    def check_recoverable(self) -> list:
        """Look for autosaves of this scan newer than its last explicit save and offer them."""
        self.recoverable = []
        if self.image_layer is not None and self.autosave_folder is not None:
            want = self._labels_name
            self.recoverable = [r for r in autosave.find_recoverable(self.autosave_folder) if r.name == want]
        self.restore_box.offer(self.recoverable[0] if self.recoverable else None)
        return self.recoverable

    def restore_autosave(self, recoverable: autosave.Recoverable | None = None) -> None:
        """Bring back an autosave as the result and scribble layers."""
        r = recoverable or (self.recoverable[0] if self.recoverable else None)
        if r is None:
            return
        record = autosave.restore(r.path)
        if record.labels.shape != tuple(self.image_layer.data.shape):
            raise LiCellInputError(r.path, f"autosave has shape {record.labels.shape}, not the scan's")
        self.new_labels(labels=record.labels, scribbles=record.scribbles)
        self.restore_box.offer(None)
        self.recoverable = []
        self.show_status(f"Restored the autosave of {time.strftime('%H:%M:%S', time.localtime(r.saved_at))}.")

    def discard_autosave(self) -> None:
        """Delete the offered autosave."""
        for r in self.recoverable:
            autosave.discard(r.path)
        self.recoverable = []
        self.restore_box.offer(None)


def _refill(combo: QComboBox, names: list[str]) -> None:
    """Replace a combo box's items, keeping the current choice when it is still there (no signals)."""
    current = combo.currentText()
    combo.blockSignals(True)
    combo.clear()
    combo.addItems(names)
    if current in names:
        combo.setCurrentText(current)
    combo.blockSignals(False)
