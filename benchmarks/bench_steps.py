"""One benchmark step per fresh process: ``python benchmarks/bench_steps.py STEP JSON``.

Prints one JSON line with the step's wall time in seconds, the voxels it
processed and the peak resident memory of the process in MiB (VmHWM of
``/proc/self/status``; ``ru_maxrss`` is used where that is missing but on
Linux it carries the parent's peak over fork + exec). Both count every
resident page the process maps, file-backed memmap pages included.

Steps (``napari_licell`` code paths):

* ``first_slice`` - ``read_volume`` then slice 0 as numpy;
* ``histogram`` - ``segmentation.volume_histogram`` (streamed);
* ``classify`` - ``suggest_thresholds`` + ``classify_volume`` (streamed; the
  labels go to a ``.npy`` memmap in the work folder for ``measure``);
* ``forest`` - ``classifier.PixelClassifier``: trained on a few strokes of
  the source cell's truth, then predicting one slab of the volume;
* ``measure`` - ``measure.measure_cell`` on the labels of ``classify``;
* ``analyze`` - ``commands.analyze.analyze`` end to end (open, histogram,
  thresholds, classify, measure, sensitivity, report, labels.tif).

Naive baselines (whole volume in memory, plain numpy):

* ``naive_first_slice`` - ``tifffile.imread`` then slice 0;
* ``naive_histogram`` - ``imread`` + ``np.bincount``;
* ``naive_classify`` - ``imread`` + ``np.digitize`` with the same thresholds;
* ``naive_analyze`` - ``imread`` + ``np.bincount`` + ``np.digitize``.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def _peak_rss_mib() -> float:
    """Peak resident memory of this process in MiB: VmHWM, else ``ru_maxrss``.

    ``ru_maxrss`` survives fork + exec on Linux, so a child of a big parent
    would report the parent's peak; VmHWM starts afresh at exec.
    """
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _thresholds(hist: Any):
    from napari_licell.segmentation import suggest_thresholds

    return suggest_thresholds(hist, gas="Xe", pressure_atm=6.0)


def step_first_slice(a: dict) -> dict:
    from napari_licell.io.read_volume import read_volume

    t0 = time.perf_counter()
    vol = read_volume(a["volume"])
    first = np.asarray(vol.data[0])
    return {"seconds": time.perf_counter() - t0, "voxels": int(first.size)}


def step_histogram(a: dict) -> dict:
    from napari_licell.io.read_volume import read_volume
    from napari_licell.segmentation import volume_histogram

    vol = read_volume(a["volume"])
    t0 = time.perf_counter()
    volume_histogram(vol.data)
    return {"seconds": time.perf_counter() - t0, "voxels": int(np.prod(vol.shape))}


def step_classify(a: dict) -> dict:
    from napari_licell.pipeline import IN_MEMORY_LABEL_VOXELS as _IN_MEMORY_VOXELS
    from napari_licell.io.label_store import create_label_store
    from napari_licell.io.read_volume import read_volume
    from napari_licell.segmentation import classify_volume, volume_histogram

    vol = read_volume(a["volume"])
    hist = volume_histogram(vol.data)
    ts = _thresholds(hist)
    n = int(np.prod(vol.shape))
    out = None
    if n > _IN_MEMORY_VOXELS:  # as analyze does: a label store on disk, written block by block
        out = create_label_store(Path(a["work"]) / "labels_stream.zarr", vol.shape, vol.voxel_size_um)
    t0 = time.perf_counter()
    result = classify_volume(vol.data, ts, out=out, histogram=hist, direct_output=out is not None)
    seconds = time.perf_counter() - t0
    if out is None:
        np.save(Path(a["work"]) / "labels_stream.npy", result.labels)
    return {"seconds": seconds, "voxels": n, "thresholds": list(ts.values), "classes": list(ts.classes)}


def step_forest(a: dict) -> dict:
    from napari_licell.phantoms.strokes import simulated_strokes as strokes

    from napari_licell.classifier import FeatureSettings, PixelClassifier
    from napari_licell.io.read_volume import read_volume

    vol = read_volume(a["volume"])
    truth = np.load(a["truth"])
    truth = np.repeat(truth, vol.shape[0] // truth.shape[0], axis=0)  # stretched along z like the volume
    nz, ny, nx = truth.shape
    train_image = np.asarray(vol.data[:, :ny, :nx])  # first tile = the source cell
    clf = PixelClassifier(FeatureSettings(), n_estimators=32)
    t0 = time.perf_counter()
    clf.fit(train_image, strokes(truth, seed=0))
    train_s = time.perf_counter() - t0
    z0 = nz // 2 - 8
    slab = vol.data[z0 : z0 + 16, : min(vol.shape[1], 2 * ny), : min(vol.shape[2], 2 * nx)]
    slab = np.asarray(slab)
    t0 = time.perf_counter()
    clf.predict(slab)
    return {"seconds": time.perf_counter() - t0, "voxels": int(slab.size), "train_seconds": train_s}


def step_measure(a: dict) -> dict:
    from napari_licell.io.read_volume import read_volume
    from napari_licell.measure import measure_cell

    vol = read_volume(a["volume"])
    store = Path(a["work"]) / "labels_stream.zarr"
    if store.exists():
        import zarr

        labels = zarr.open_array(store=str(store / "0"), mode="r")
    else:
        labels = np.load(Path(a["work"]) / "labels_stream.npy", mmap_mode="r")
    t0 = time.perf_counter()
    m = measure_cell(labels, vol.voxel_size_um, image=vol.data, current_density_ma_cm2=0.2, charge_minutes=4000)
    return {
        "seconds": time.perf_counter() - t0,
        "voxels": int(labels.size),
        "verdict": m.verdict.verdict,
        "li_layer_mean_thickness_um": m.li_layer.mean_thickness_um,
    }


def step_analyze(a: dict) -> dict:
    from napari_licell.pipeline import AnalysisOptions, run_analysis

    options = AnalysisOptions(gas="Xe", current_density_ma_cm2=0.2, charge_minutes=4000.0)
    t0 = time.perf_counter()
    m, _ = run_analysis(Path(a["volume"]), Path(a["work"]) / "analyze_out", options)
    return {
        "seconds": time.perf_counter() - t0,
        "voxels": int(np.prod(m.shape)),
        "verdict": m.verdict.verdict,
        "li_layer_mean_thickness_um": m.li_layer.mean_thickness_um,
    }


def _status_mib() -> dict[str, float]:
    out = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            key = line.split(":", 1)[0]
            if key in ("VmHWM", "VmRSS", "RssAnon", "RssFile"):
                out[key] = round(int(line.split()[1]) / 1024.0)
    return out


def _reset_hwm() -> None:
    """Reset VmHWM to the current RSS (Linux: write 5 to /proc/self/clear_refs)."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        pass


def step_analyze_phases(a: dict) -> dict:
    """The calls ``analyze`` makes, one by one, with the memory after each (diagnosis of where RSS grows)."""
    import tempfile

    from napari_licell.pipeline import AnalysisOptions, _sensitivity_classifier
    from napari_licell.pipeline import IN_MEMORY_LABEL_VOXELS as _IN_MEMORY_VOXELS
    from napari_licell.io.label_store import create_label_store
    from napari_licell.io.read_volume import read_volume
    from napari_licell.io.writers import write_labels_tiff
    from napari_licell.measure import measure_cell, threshold_sensitivity
    from napari_licell.report import write_cell_report
    from napari_licell.segmentation import classify_volume, li_void_contrast, suggest_thresholds, volume_histogram

    phases = []
    t = time.perf_counter()

    def mark(name: str) -> None:
        nonlocal t
        now = time.perf_counter()
        phases.append({"phase": name, "seconds": round(now - t, 2), **_status_mib()})
        t = now
        _reset_hwm()

    work = Path(tempfile.mkdtemp(dir=a["work"]))
    vol = read_volume(a["volume"])
    mark("read_volume")
    hist = volume_histogram(vol.data)
    mark("volume_histogram")
    ts = suggest_thresholds(hist, gas="Xe", pressure_atm=6.0)
    contrast = li_void_contrast(hist, gas="Xe", pressure_atm=6.0)
    mark("suggest_thresholds + li_void_contrast")
    out = None
    if int(np.prod(vol.shape)) > _IN_MEMORY_VOXELS:
        out = create_label_store(work / "labels.zarr", vol.shape, vol.voxel_size_um)
    mark("create_label_store" if out is not None else "labels in memory")
    labels = classify_volume(vol.data, ts, out=out, histogram=hist, direct_output=out is not None).labels
    mark("classify_volume (with carbon band)")
    m = measure_cell(
        labels,
        vol.voxel_size_um,
        image=vol.data,
        current_density_ma_cm2=0.2,
        charge_minutes=4000,
        contrast=contrast.to_dict(),
    )
    mark("measure_cell")
    classify, values = _sensitivity_classifier(ts, AnalysisOptions(memory_limit_bytes=2 * 2**30))
    m.sensitivity = threshold_sensitivity(
        vol.data,
        values,
        classify,
        vol.voxel_size_um,
        stack_axis=m.orientation.axis,
        collector_at_start=m.orientation.collector_at_start,
    )
    mark("threshold_sensitivity")
    if out is None:
        write_labels_tiff(work / "labels.tif", labels, vol.voxel_size_um)
        mark("write_labels_tiff")
    write_cell_report(m, work / "report.html")
    mark("write_cell_report")
    return {"seconds": sum(p["seconds"] for p in phases), "voxels": int(np.prod(vol.shape)), "phases": phases}


def _naive_read(path: str) -> np.ndarray:
    import tifffile

    return tifffile.imread(path)


def step_naive_first_slice(a: dict) -> dict:
    t0 = time.perf_counter()
    img = _naive_read(a["volume"])
    first = np.array(img[0])
    return {"seconds": time.perf_counter() - t0, "voxels": int(first.size)}


def step_naive_histogram(a: dict) -> dict:
    img = _naive_read(a["volume"])
    t0 = time.perf_counter()
    np.bincount(img.ravel(), minlength=65536)
    return {"seconds": time.perf_counter() - t0, "voxels": int(img.size)}


def _naive_codes(img: np.ndarray, a: dict) -> np.ndarray:
    codes = np.asarray(a["classes"], dtype=np.uint8)
    return codes[np.digitize(img, np.asarray(a["thresholds"], dtype=np.float64))]


def step_naive_classify(a: dict) -> dict:
    img = _naive_read(a["volume"])
    t0 = time.perf_counter()
    _naive_codes(img, a)
    return {"seconds": time.perf_counter() - t0, "voxels": int(img.size)}


def step_naive_analyze(a: dict) -> dict:
    t0 = time.perf_counter()
    img = _naive_read(a["volume"])
    np.bincount(img.ravel(), minlength=65536)
    _naive_codes(img, a)
    return {"seconds": time.perf_counter() - t0, "voxels": int(img.size)}


STEPS = {name[5:]: fn for name, fn in globals().items() if name.startswith("step_")}


def main(argv: list[str]) -> None:
    step, args = argv[0], json.loads(argv[1])
    result = STEPS[step](args)
    result["peak_rss_mib"] = _peak_rss_mib()
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
