"""A napari session killed with SIGKILL while saving: the next start offers the painted labels and the moved thresholds.

A separate Python process opens a scan from disk in a napari viewer, paints
labels through the Paint dock, saves them explicitly once, paints more, moves
a threshold in the Threshold dock and lets both docks autosave through their
timers. It then keeps saving (label autosave, threshold autosave and an
explicit re-save of the labels file) in a loop until the test kills it with
SIGKILL, so the kill lands in the middle of a write. The test then opens the
same scan in a fresh viewer with both docks and checks that the explicitly
saved labels file is a complete file and that the docks restore exactly the
painted voxels and the moved threshold values.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import tifffile

from napari_licell.classes import LI, SE, VOID
from napari_licell.phantoms import load_demo_cell

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="SIGKILL test for Linux")

#: Seconds the child gets to start napari, open the scan and autosave (the suite runs in ~15 s).
CHILD_TIMEOUT_S = 90.0

CHILD = r"""
import json, sys, time
import numpy as np
from qtpy.QtWidgets import QApplication
import napari
from napari_licell import autosave
from napari_licell._qt.paint_dock import PaintDock
from napari_licell._qt.threshold_dock import ThresholdDock

plan = json.loads(open(sys.argv[1]).read())
viewer = napari.Viewer(show=False)
[image] = viewer.open(plan["scan"], plugin="napari-licell")
paint = PaintDock(viewer, autosave_seconds=1)
viewer.window.add_dock_widget(paint, name="Paint")
thresholds = ThresholdDock(viewer, autosave_delay_seconds=0.5)
viewer.window.add_dock_widget(thresholds, name="Thresholds")
app = QApplication.instance()


def wait(condition, what, timeout=60.0):
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            print(f"TIMEOUT waiting for {what}", flush=True)
            sys.exit(3)
        app.processEvents()
        time.sleep(0.02)


def paint_strokes(layer, strokes):
    for code, idx in strokes:
        layer.data_setitem(tuple(np.asarray(a, dtype=np.intp) for a in idx), code)


wait(lambda: thresholds.thresholds is not None, "suggested thresholds")
paint.image_combo.setCurrentText(image.name)
paint.new_labels(source="(empty)")
result = paint.result_layer
paint_strokes(result, plan["before_save"])
result.save(plan["saved"], plugin="napari-licell")  # the explicit save ...
autosave.mark_explicit_save(paint.autosave_folder, result.name)  # ... the GUI records
paint.last_autosave = None
paint_strokes(result, plan["after_save"])  # more work, never saved explicitly
box = thresholds.value_boxes[0]
box.setValue(thresholds.thresholds.values[0] + plan["threshold_shift"])  # typed into the spinbox
wait(lambda: paint.last_autosave is not None, "the label autosave timer")
wait(lambda: thresholds.last_threshold_autosave is not None, "the threshold autosave timer")
print("READY " + json.dumps({
    "thresholds": list(thresholds.thresholds.values),
    "label_autosave": str(paint.last_autosave),
    "threshold_autosave": str(thresholds.last_threshold_autosave),
    "layer": image.name,
}), flush=True)
# keep saving until killed, so the kill lands in the middle of a write
value = thresholds.thresholds.values[0]
while True:
    paint.autosave_now()
    thresholds.set_threshold(0, value)
    thresholds.autosave_thresholds_now()
    result.save(plan["saved"], plugin="napari-licell")  # the user pressing Save again
"""


def _strokes(shape: tuple[int, int, int]) -> tuple[list, list]:
    """Voxels painted before and after the explicit save: (code, (z, y, x) index lists)."""
    rng = np.random.default_rng(11)

    def voxels(n: int, z0: int, z1: int) -> list[list[int]]:
        return [
            rng.integers(z0, z1, n).tolist(),
            rng.integers(0, shape[1], n).tolist(),
            rng.integers(0, shape[2], n).tolist(),
        ]

    before = [(LI.code, voxels(400, 30, 60))]
    after = [(SE.code, voxels(500, 100, 200)), (VOID.code, voxels(300, 40, 50))]  # VOID overwrites some Li
    return before, after


def _apply(shape, *stroke_lists) -> np.ndarray:
    out = np.zeros(shape, dtype=np.uint8)
    for strokes in stroke_lists:
        for code, idx in strokes:
            out[tuple(np.asarray(a) for a in idx)] = code
    return out


def _lines(stream, sink: queue.Queue) -> None:
    for line in iter(stream.readline, ""):
        sink.put(line)
    sink.put(None)


def test_gui_autosave_survives_sigkill_mid_save(make_napari_viewer, tmp_path, qtbot, sigkill):
    from napari_licell._qt.paint_dock import PaintDock
    from napari_licell._qt.threshold_dock import ThresholdDock

    cell = load_demo_cell("process3_after_Xe6")
    scan = tmp_path / "scan.tif"
    tifffile.imwrite(scan, cell.image)
    shape = cell.image.shape
    before, after = _strokes(shape)
    saved = tmp_path / "labels.tif"
    plan = {
        "scan": str(scan),
        "saved": str(saved),
        "before_save": before,
        "after_save": after,
        "threshold_shift": -25.0,
    }
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps(plan))
    child_script = tmp_path / "child.py"
    child_script.write_text(CHILD)
    stderr_path = tmp_path / "child-stderr.txt"

    env = dict(os.environ)
    assert env.get("DISPLAY"), "run under xvfb-run"
    lines: queue.Queue = queue.Queue()
    with stderr_path.open("w") as stderr:
        proc = subprocess.Popen(
            [sys.executable, str(child_script), str(plan_file)],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env=env,
            cwd=tmp_path,
        )
    sigkill.track(proc)
    threading.Thread(target=_lines, args=(proc.stdout, lines), daemon=True).start()
    ready = None
    deadline = time.monotonic() + CHILD_TIMEOUT_S
    while ready is None and time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            continue
        if line is None:
            break
        if line.startswith("READY "):
            ready = json.loads(line[len("READY ") :])
    assert ready is not None, f"child never got ready; stderr:\n{stderr_path.read_text()[-3000:]}"
    time.sleep(0.8)  # the save loop is running: the kill lands inside a write
    assert proc.poll() is None, f"child died on its own; stderr:\n{stderr_path.read_text()[-3000:]}"
    sigkill(proc)

    expected_before = _apply(shape, before)
    expected = _apply(shape, before, after)
    assert not np.array_equal(expected_before, expected)

    # the explicitly saved labels file is a whole file: the first save, or a complete re-save
    on_disk = tifffile.imread(saved)
    assert on_disk.shape == shape and on_disk.dtype == np.uint8
    assert np.array_equal(on_disk, expected_before) or np.array_equal(on_disk, expected)
    autosave_folder = tmp_path / ".licell-autosave"
    assert Path(ready["label_autosave"]).parent == autosave_folder
    assert Path(ready["threshold_autosave"]).parent == autosave_folder

    # the next start: the same scan in a fresh viewer with both docks
    viewer = make_napari_viewer()
    [image] = viewer.open(str(scan), plugin="napari-licell")
    assert image.name == ready["layer"]
    thresholds = ThresholdDock(viewer)
    viewer.window.add_dock_widget(thresholds, name="Thresholds")
    paint = PaintDock(viewer)
    viewer.window.add_dock_widget(paint, name="Paint")
    paint.image_combo.setCurrentText(image.name)

    assert [r.name for r in paint.recoverable] == [f"{image.name} classes"]
    assert not paint.restore_box.isHidden()
    paint.restore_button.click()
    np.testing.assert_array_equal(paint.result_layer.data, expected)
    np.testing.assert_array_equal(paint.scribble_layer.data, expected)
    assert paint.restore_box.isHidden()

    assert thresholds.threshold_recovery is not None and not thresholds.restore_row.isHidden()
    assert thresholds.restore_thresholds_button.text().startswith("Restore thresholds (autosaved ")
    # the histogram of a file-backed scan is counted off the GUI thread; then the dock suggests afresh
    qtbot.waitUntil(lambda: thresholds.thresholds is not None, timeout=60_000)
    assert list(thresholds.thresholds.values) != ready["thresholds"]
    thresholds.restore_thresholds_button.click()
    assert list(thresholds.thresholds.values) == ready["thresholds"]  # the exact grey values
    assert thresholds.restore_row.isHidden()
