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

from .. import autosave
from ..classes import LABEL_DTYPE, class_by_code
from ..classifier import PixelClassifier
from ..errors import LiCellInputError
from ..layer_roles import is_ct_scan, scan_of
from ..painting import PaintSession
from ..painting.prediction import Prediction, train_and_predict_scan
from ..painting.paint_store import PaintAutosave, interpolated_voxels, start_labels
from ..painting.paint_volumes import is_on_disk, paints_on_disk
from .dock_base import LicellDock
from .paint_binding import PaintBinding
from .._napari.paint_layers import hide_scan_overlays, paint_layer_tuples, uncertainty_layer_tuple, uncertainty_limits
from .paint_autosave import PaintAutosaveTimer
from .paint_on_disk import start_stores, train_into_stores
from .paint_brush import BrushLink
from .next_slice import go_to_next_best_slice
from .paint_controls import PaintControls, ask_model_path
from .settings import memory_limit_bytes
from .widget_utils import refill_combo

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
        self.store = PaintAutosave()  # the autosave of the scan being painted
        self._init_widgets(autosave_seconds)
        self.on_layers_changed()

    # ------------------------------------------------------------------ widgets
    def _init_widgets(self, autosave_seconds: int) -> None:
        layout = self.body_layout
        controls = PaintControls(
            layout, self.task_bar, lambda code: self.guarded(self.select_class, code), autosave_seconds
        )
        for name in PaintControls.CONTROLS:
            setattr(self, name, getattr(controls, name))
        self.brush_link = BrushLink(self.palette, self.brush)
        self.progress_bar, self.cancel_button = self.task_bar.progress_bar, self.task_bar.cancel_button
        self.restore_button.clicked.connect(lambda: self.guarded(self.restore_autosave))
        self.discard_button.clicked.connect(lambda: self.guarded(self.discard_autosave))
        self.new_button.clicked.connect(lambda: self.guarded(self.new_labels))
        self.brush_um.valueChanged.connect(self._apply_brush_size)
        self.preserve_check.toggled.connect(self.brush_link.apply_preserve)
        for signal in (
            self.target_combo.currentIndexChanged,
            self.band_check.toggled,
            self.band_from.valueChanged,
            self.band_to.valueChanged,
        ):
            signal.connect(self._apply_rules)
        self.interpolate_button.clicked.connect(lambda: self.guarded(self.interpolate))
        self.train_button.clicked.connect(lambda: self.guarded(self.train_and_predict))
        self.next_slice_button.clicked.connect(lambda: self.guarded(go_to_next_best_slice, self))
        self.save_model_button.clicked.connect(lambda: self._model_dialog(save=True))
        self.load_model_button.clicked.connect(lambda: self._model_dialog(save=False))
        self.autosave_spin.valueChanged.connect(lambda seconds: self.autosaver.set_interval(seconds))
        self.show_status("Pick a scan and press “New labels”.")
        self.footer_layout.addWidget(self.status)  # the outcome line stays in view while the body scrolls
        layout.addStretch(1)
        self.autosaver = PaintAutosaveTimer(self.store, self, autosave_seconds, parent=self)
        self.autosave_timer = self.autosaver.timer
        self.image_combo.currentTextChanged.connect(lambda name: self.guarded(self._on_image_chosen, name))
        self._update_enabled()

    def _update_enabled(self) -> None:
        has, busy = self.result_layer is not None, self.busy
        for w, ok in (
            (self.interpolate_button, has),
            (self.train_button, has),
            (self.next_slice_button, self.has_layer(self.uncertainty_layer)),
        ):
            w.setEnabled(ok and not busy)
        self.new_button.setEnabled(self.image_layer is not None and not busy)
        self.save_model_button.setEnabled(self.classifier is not None and self.classifier.is_trained)

    def on_busy_changed(self, busy: bool) -> None:
        self._update_enabled()

    # ------------------------------------------------------------------ layers
    def on_layers_changed(self, event=None) -> None:
        from napari.layers import Labels

        for attr in ("result_layer", "scribble_layer", "uncertainty_layer", "image_layer"):
            layer = getattr(self, attr)
            if layer is not None and not self.has_layer(layer):
                if attr in ("result_layer", "scribble_layer"):
                    self._release_binding()
                setattr(self, attr, None)
        own = [l for l in (self.result_layer, self.scribble_layer, self.uncertainty_layer) if l is not None]
        refill_combo(self.image_combo, [l.name for l in self.viewer.layers if is_ct_scan(l, allow_2d=False)])
        refill_combo(
            self.source_combo,
            ["(empty)"]
            + [l.name for l in self.viewer.layers if isinstance(l, Labels) and not any(l is o for o in own)],
        )
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
        self.store.follow_scan(getattr(getattr(layer, "source", None), "path", None) or layer.metadata.get("source"))
        self.brush.set_band_range(
            float(layer.translate[-3]), float(layer.translate[-3]) + float(layer.scale[-3]) * (layer.data.shape[-3] - 1)
        )
        self._follow_own_layers()
        self.check_recoverable()
        self._update_enabled()

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
        if labels is None and paints_on_disk(shape, memory_limit_bytes()):  # label stores on disk, not memory
            stores = start_stores(self, shape, source)
            labels, scribbles = stores.classes, stores.scribbles
        else:
            labels = self._start_labels(shape, source) if labels is None else np.asarray(labels, LABEL_DTYPE)
            scribbles = np.zeros(shape, LABEL_DTYPE) if scribbles is None else np.asarray(scribbles, LABEL_DTYPE)
        self._release_binding()
        for layer in (self.result_layer, self.scribble_layer):
            if self.has_layer(layer):
                self.viewer.layers.remove(layer)
        classes, strokes = paint_layer_tuples(self.image_layer, labels, scribbles)
        result = self.viewer.add_labels(classes[0], **classes[1])
        scrib = self.viewer.add_labels(strokes[0], **strokes[1])
        self._bind(result, scrib)
        hide_scan_overlays(self.viewer.layers, self.image_layer.name, keep=(result, scrib))
        self.select_class(class_by_code(1).code)
        result.mode = "paint"
        self.viewer.layers.selection.active = result
        self.on_layers_changed()
        self.show_status(
            f"Paint a few strokes of each phase on “{result.name}” (keys 1–6 pick the class), then Train & predict."
        )

    def _bind(self, result, scrib) -> None:
        """Make ``result`` and ``scrib`` the dock's classes and scribbles layers (edit rules, palette, undo)."""
        self._release_binding()
        self.result_layer, self.scribble_layer = result, scrib
        self.session = PaintSession(scrib.data)
        self.binding = PaintBinding(result, scrib, self.session, lambda code: self.select_class(code), self.show_status)
        self.brush_link.bind(result, scrib, self.link)
        self._apply_rules()

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
            return start_labels(shape)
        return start_labels(shape, self.layer_named(source).data, source)

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
        self.brush_link.select_class(code)

    selected_class = property(lambda self: self.brush_link.selected_class, doc="Code of the class checked.")

    def _apply_brush_size(self, value=None) -> None:
        if self.image_layer is not None:
            self.brush_link.apply_brush_size(self.image_layer.scale)

    def _apply_rules(self, *_args) -> None:
        if self.session is not None:
            self.session.rules = self.brush.rules()

    def set_target_class(self, code: int | None) -> None:
        """Let edits change only voxels of ``code`` (None: any class)."""
        self.brush.set_target_class(code)

    def set_depth_band(self, z_from_um: float | None, z_to_um: float | None = None) -> None:
        """Restrict edits to stack-axis positions ``z_from_um..z_to_um`` (world µm); None switches it off."""
        self.brush.set_depth_band(z_from_um, z_to_um)

    pending_reverts = property(
        lambda self: self.binding.pending_reverts if self.binding is not None else 0,
        doc="Edits waiting to be put back (programmatic edits are reverted from the event loop).",
    )

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
        idx = interpolated_voxels(self.scribble_layer.data, code, tuple(abs(s) for s in self.result_layer.scale[-2:]))
        n = int(idx[0].size)
        if n:
            self.result_layer.data_setitem(idx, code)
        name = class_by_code(code).name
        self.show_status(
            f"Interpolated {name} into {n} voxels."
            if n
            else f"Paint {name} on two slices with unpainted slices between them first."
        )
        return n

    # ------------------------------------------------------------------ training
    def train_and_predict(self, classifier: PixelClassifier | None = None):
        """Train on the scribbles (unless a loaded ``classifier`` is used) and predict the scan in a worker."""
        if self.result_layer is None or self.image_layer is None:
            raise LiCellInputError(None, "no labels yet", "press “New labels” and paint first")
        if self.busy:
            return self.worker
        if is_on_disk(self.result_layer.data):
            return train_into_stores(self, classifier)
        image = self.image_layer.data
        scribbles = np.array(self.scribble_layer.data, dtype=LABEL_DTYPE, copy=True)
        before = np.array(self.result_layer.data, copy=True)  # what the prediction is compared with

        def work(progress, cancel):
            return train_and_predict_scan(image, scribbles, before, classifier, progress=progress, cancel=cancel.is_set)

        label = "Training and predicting…" if classifier is None else "Predicting…"
        return self.start_task(work, label=label, on_done=self._on_prediction)

    def _on_prediction(self, p: Prediction):
        """Write the prediction in chunks between event-loop turns (a generator: the task ends after it)."""
        self.classifier = p.classifier
        if self.result_layer is None or self.binding is None:
            return
        if p.changed[0].size:
            yield from self.binding.write_result_steps(p.changed, p.new_codes)
        self._show_uncertainty(p.uncertainty, len(p.classifier.class_codes))
        mvox = p.labels.size / 1e6
        self.show_status(
            f"Predicted {p.labels.size:,} voxels in {p.seconds:.1f} s ({p.seconds / max(mvox, 1e-9):.2f} s per "
            f"million); {p.changed[0].size:,} changed. Hand strokes were kept; Ctrl+Z on the classes layer undoes "
            "the prediction."
        )
        self._update_enabled()

    def _show_uncertainty(self, uncertainty: np.ndarray, n_classes: int) -> None:
        data = np.asarray(uncertainty, np.float32) if isinstance(uncertainty, np.ndarray) else uncertainty  # lazy stays
        if self.has_layer(self.uncertainty_layer):
            self.uncertainty_layer.data = data
            self.uncertainty_layer.contrast_limits = uncertainty_limits(n_classes)
            return
        d, kwargs, _ = uncertainty_layer_tuple(data, self.image_layer, n_classes)
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

    def _model_dialog(self, save: bool) -> None:
        if path := ask_model_path(self, save):
            self.guarded(self.save_model if save else self.load_model, path)

    # ------------------------------------------------------------------ autosave
    def autosave_now(self) -> Path | None:
        """Write the result and scribbles to the autosave folder now (atomic)."""
        return self.autosaver.write_now()

    autosave_folder = property(lambda self: self.store.folder, doc="Where the scan's painting is autosaved.")
    recoverable = property(lambda self: self.store.recoverable, doc="Autosaves of the scan on offer.")

    last_autosave = property(
        lambda self: self.store.last,
        lambda self, path: setattr(self.store, "last", path),
        doc="The last autosave written.",
    )

    def check_recoverable(self) -> list:
        """Look for autosaves of this scan newer than its last explicit save and offer them."""
        found = self.store.find(f"{self.image_layer.name} classes" if self.image_layer is not None else None)
        self.restore_box.offer(found[0] if found else None)
        return found

    def restore_autosave(self, recoverable: autosave.Recoverable | None = None) -> None:
        """Bring back an autosave as the result and scribble layers."""
        taken = self.store.take(recoverable, tuple(self.image_layer.data.shape))
        if taken is None:
            return
        r, record = taken
        self.new_labels(labels=record.labels, scribbles=record.scribbles)
        self.restore_box.offer(None)
        self.show_status(f"Restored the autosave of {time.strftime('%H:%M:%S', time.localtime(r.saved_at))}.")

    def discard_autosave(self) -> None:
        """Delete the offered autosave."""
        self.store.discard()
        self.restore_box.offer(None)
