"""Painting a scan above the memory limit in the GUI: peak memory of the process, in memory vs in label stores.

A demo cell tiled in-plane (``--tiles`` x ``--tiles``) is written as a zarr
scan and opened lazily; the Paint dock is opened as napari opens it, a few
dabs of each class are painted with the layer's own paint calls, and Train &
predict runs. The process's peak resident memory (VmHWM) is printed after
each step, once with the memory limit above the scan (classes, strokes and
uncertainty in memory) and once below it (label stores on disk), each in its
own process. Run under a display: ``xvfb-run -a python benchmarks/bench_paint_on_disk.py``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _vm(key: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key):
            return int(line.split()[1]) / 1024
    return float("nan")


def _one(mode: str, tiles: int, folder: Path) -> None:
    import warnings

    warnings.filterwarnings("ignore")
    import numpy as np
    import zarr
    import dask.array as da
    import napari
    from qtpy.QtWidgets import QApplication

    from napari_licell.classes import LI, METAL, SE, SE_LI, VOID
    from napari_licell.phantoms import load_demo_cell

    cell = load_demo_cell("process3_after_Xe6")
    image = np.tile(cell.image, (1, tiles, tiles))
    truth = np.tile(cell.labels, (1, tiles, tiles))
    store = folder / "scan.zarr"
    if not store.exists():
        zarr.open_array(str(store), mode="w", shape=image.shape, chunks=(16, *image.shape[1:]), dtype=image.dtype)[
            :
        ] = image
    del image
    os.environ["LICELL_CACHE_DIR"] = str(folder / f"cache-{mode}")
    voxels = truth.size
    limit = 80 * voxels if mode == "memory" else voxels // 2  # above / below what painting in memory needs
    import napari_licell._qt.paint_dock as paint_dock

    paint_dock.memory_limit_bytes = lambda: limit
    viewer = napari.Viewer(show=True)
    scan = viewer.add_image(
        da.from_zarr(str(store)), name="scan", scale=(0.54,) * 3, units="um", contrast_limits=(0, 40000)
    )
    _, dock = viewer.window.add_plugin_dock_widget("napari-licell", "Paint & classify")
    app = QApplication.instance()
    for _ in range(50):
        app.processEvents()
        time.sleep(0.02)
    dock.image_combo.setCurrentText(scan.name)
    base = _vm("VmHWM")
    t0 = time.perf_counter()
    dock.new_labels()
    result = dock.result_layer
    rng = np.random.default_rng(1)
    result.brush_size = 3
    for code in (LI.code, VOID.code, SE_LI.code, SE.code, METAL.code):
        zs, ys, xs = np.nonzero(truth[:, : truth.shape[1] // tiles, : truth.shape[2] // tiles] == code)
        for i in rng.permutation(zs.size)[:6]:
            dock.select_class(code)
            result.paint((zs[i], ys[i], xs[i]), code)
    painted = _vm("VmHWM")
    dock.train_and_predict()
    while dock.worker is not None:
        app.processEvents()
        time.sleep(0.05)
    seconds = time.perf_counter() - t0
    pred = np.asarray(result.data[:]) if not isinstance(result.data, np.ndarray) else result.data
    li = 2 * ((pred == LI.code) & (truth == LI.code)).sum() / ((pred == LI.code).sum() + (truth == LI.code).sum())
    kind = type(result.data).__module__.split(".")[0]
    print(
        f"{mode:>6}: {voxels / 1e6:.0f} M voxels, limit {limit / 2**20:.0f} MiB, labels in {kind}; VmHWM MiB: "
        f"before New labels {base:.0f}, after painting {painted:.0f}, after Train & predict (peak) "
        f"{_vm('VmHWM'):.0f}; {seconds:.0f} s; Li Dice {li:.3f}; load {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    viewer.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiles", type=int, default=4, help="in-plane tiles of the demo cell (default 4)")
    parser.add_argument("--mode", choices=["memory", "disk"], help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.mode:
        _one(args.mode, args.tiles, Path(args.folder))
        return
    with tempfile.TemporaryDirectory() as tmp:
        for mode in ("memory", "disk"):  # each in its own process: VmHWM is the process's peak
            subprocess.run(
                [sys.executable, __file__, "--mode", mode, "--tiles", str(args.tiles), "--folder", tmp], check=True
            )


if __name__ == "__main__":
    main()
