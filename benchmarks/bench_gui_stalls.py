"""How long the GUI thread stalls during the first hour's actions, and what it was doing then.

Run under an X server (napari draws with OpenGL)::

    xvfb-run -a -s "-screen 0 1600x1000x24" python benchmarks/bench_gui_stalls.py [--stacks]

It opens the launcher on the demo study (as ``napari-licell`` does), then clicks
through the first hour: pick a cell, Apply to volume, paint strokes with the
mouse, Train & predict, Measure, Compare. For each action it prints the longest
GUI-thread stall (a 5 ms QTimer beat that came late), the number of stalls
over 100 ms (the issue's goal), and how many of those the GUI thread spent
more than 100 ms of CPU time in napari-licell's own code (the rest is napari
building layers, or the machine). With ``--stacks`` it also prints, for each stall
over 100 ms, the frames every thread was in most often during it, which puts a
stall down to a GUI-thread call or to a worker holding the interpreter lock.

Two references are measured in the same run: the app sitting idle for 2 s
(what the machine itself adds) and napari adding and removing one labels
layer of the scan's shape on its own (what any action that shows a new layer
costs in napari, whatever the plugin does).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "qt"))

from user_actions import StallSampler, drag_on_canvas  # noqa: E402

CELL = "process3_after_Xe6"


def _wait(app, done, timeout_s: float = 600.0) -> None:
    t0 = time.perf_counter()
    while not done():
        app.processEvents()
        time.sleep(0.002)
        if time.perf_counter() - t0 > timeout_s:
            raise TimeoutError("action did not finish")


def _idle(app, seconds: float) -> None:
    _wait(app, lambda t=time.perf_counter(): time.perf_counter() - t > seconds)


def _strokes(viewer, paint, cell: str, app) -> None:
    from scipy import ndimage

    from napari_licell.classes import CARBON, LI, METAL, SE, VOID
    from napari_licell.phantoms.demo_study import load_demo_cell

    truth = load_demo_cell(cell).labels
    classes = viewer.layers[f"{cell} classes"]
    displayed = list(viewer.dims.displayed)
    hidden = [d for d in range(3) if d not in displayed][0]
    index = int(viewer.dims.current_step[hidden])
    plane = np.take(truth, index, axis=hidden)
    for code in (LI.code, VOID.code, SE.code, CARBON.code, METAL.code):
        paint.palette_buttons[code].click()
        inside = ndimage.distance_transform_edt(plane == code)
        for _ in range(2):
            if inside.max() < 2:
                break
            r, c = np.unravel_index(np.argmax(inside), inside.shape)
            half = int(min(inside[r, c] - 1, 6))
            path = []
            for cc in (c - half, c + half):
                voxel = [0, 0, 0]
                voxel[hidden], voxel[displayed[0]], voxel[displayed[1]] = index, r, cc
                path.append(voxel)
            drag_on_canvas(viewer, classes, path)
            inside[max(r - 8, 0) : r + 9, max(c - 12, 0) : c + 13] = 0
    app.processEvents()


def run(show_stacks: bool) -> list[tuple[str, float, int]]:
    import napari
    from qtpy.QtWidgets import QApplication

    from napari_licell._qt.launcher import build_app

    rows: list[tuple[str, float, int]] = []

    def measure(name, action, done=lambda: True):
        with StallSampler() as sampler:
            action()
            _wait(app, done)
            _idle(app, 0.3)
        stalls = sampler.stalls(100.0)
        own = sampler.own_stalls(100.0)
        rows.append((name, sampler.longest_ms, len(stalls)))
        print(
            f"{name:<30} longest stall {sampler.longest_ms:7.0f} ms   stalls > 100 ms: {len(stalls)}   "
            f"of them > 100 ms GUI CPU in napari-licell's code: {len(own)}",
            flush=True,
        )
        for wall, cpu, frames in own:
            print(f"   ours: {wall:.0f} ms ({cpu:.0f} ms CPU) in {frames[0]}")
        if show_stacks:
            for ms, lines in stalls[:5]:
                print(f"   -- {ms:.0f} ms")
                for line in lines[:18]:
                    print("      " + line)

    t0 = time.perf_counter()
    viewer = napari.Viewer(show=True)
    app = QApplication.instance()
    viewer.window._qt_window.resize(1366, 708)
    docks: dict = {}
    measure("launch (demo study)", lambda: docks.update(build_app(viewer, demo=True)), lambda: len(viewer.layers) > 0)
    print(f"   (window ready after {time.perf_counter() - t0:.1f} s)")
    measure("idle 2 s (reference)", lambda: _idle(app, 2.0))
    shape = viewer.layers[0].data.shape

    def bare_add_labels():
        layer = viewer.add_labels(np.zeros(shape, np.uint8), name="reference labels")
        app.processEvents()
        viewer.layers.remove(layer)

    measure("napari add_labels (reference)", bare_add_labels)
    study = docks["Study"]
    measure("pick a cell", lambda: study.select_cell(CELL), lambda: True)
    thresholds = docks["Thresholds (Xe contrast)"]
    measure("thresholds ready", lambda: None, lambda: thresholds.worker is None)
    measure("Apply to volume", thresholds.apply_button.click, lambda: thresholds.worker is None)
    paint = docks["Paint & classify"]
    measure("New labels", paint.new_button.click)
    measure("paint 10 strokes", lambda: _strokes(viewer, paint, CELL, app))
    measure("Train & predict", paint.train_button.click, lambda: paint.worker is None)
    results = docks["Results"]
    measure("Measure", results.measure_button.click, lambda: results.worker is None)
    compare = docks["Compare cells"]
    measure("Compare the demo cells", compare.demo_button.click, lambda: compare.worker is None)
    viewer.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stacks", action="store_true", help="print what each thread did in each stall")
    args = parser.parse_args()
    rows = run(args.stacks)
    by_name = {r[0]: r[1] for r in rows}
    print(
        f"\nreferences: longest stall while idle {by_name['idle 2 s (reference)']:.0f} ms; "
        f"napari adding one labels layer {by_name['napari add_labels (reference)']:.0f} ms; "
        "goal: no stall over 100 ms"
    )


if __name__ == "__main__":
    main()
