"""``napari-licell analyze VOLUME --out DIR``: threshold (or take given labels), measure, report.

Writes into DIR:

* ``labels.tif`` - uint8 class codes (0 background, 1 Li, 2 void, 3 SE + Li,
  4 SE, 5 carbon, 6 metal), voxel size in the ImageJ metadata; for scans of
  more than 512 M voxels ``labels.zarr`` instead (OME-Zarr, written slab by
  slab while classifying, so the labels never sit in memory, with a pyramid of
  coarser levels for zoomed-out views);
* ``measurements.json`` - every number, with provenance (parameters,
  thresholds, software versions, input SHA-256 checksums, time);
* ``report.html`` - self-contained report with the thickness map, depth
  profiles, a cross-section with labels overlaid and the voltage curve;
* ``measurements.csv``, ``depth_profiles.csv``, ``li_in_se_depth.csv``,
  ``li_masses.csv``, ``sensitivity.csv``, ``li_thickness_map_um.tif``.

``--memory-limit GB`` (default 2) is the memory budget of the streamed
steps: classification blocks are tiled to fit it.

Without ``--gas`` the Li/void contrast is judged from the data alone; with
it, also from the attenuation physics of the fill gas. Exit code 0 on
success, 2 with one line naming the file and the problem on bad input.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..errors import LiCellInputError

__all__ = ["register", "analyze"]

#: Default fill-gas pressure (atm) per gas when --gas-pressure-atm is not given (the paper's cells).
DEFAULT_PRESSURE_ATM = {"Xe": 6.0, "Ar": 1.0}
#: Label volumes above this many voxels are classified into a label store (zarr) on disk instead of RAM.
_IN_MEMORY_VOXELS = 512 * 1024 * 1024
#: Default memory budget of the streamed steps, GB (2**30 bytes).
DEFAULT_MEMORY_LIMIT_GB = 2.0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "analyze",
        help="threshold and measure one scan: labels.tif, measurements.json, report.html",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("volume", metavar="VOLUME", help="CT scan: TIFF stack, folder of slices, HDF5, zarr or raw")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (created)")
    p.add_argument("--voxel-size-um", metavar="X", help="voxel size in micrometres (overrides the file's)")
    p.add_argument("--labels", metavar="LABELS", help="use these class labels instead of thresholding")
    p.add_argument("--model", metavar="MODEL",
                   help="classify with this pixel-classifier model (saved from the Paint dock) instead of thresholding")
    p.add_argument("--gas", metavar="{xe,ar}", help="fill gas of the cell (judges contrast from physics too)")
    p.add_argument("--gas-pressure-atm", metavar="P", help="fill-gas pressure in atm (default 6 for xe, 1 for ar)")
    p.add_argument("--current-density", metavar="MA_CM2", help="plating current density in mA/cm2")
    p.add_argument("--charge-minutes", metavar="MIN", help="charge time in minutes")
    p.add_argument("--voltage", metavar="FILE", help="cycler file with the charging curve (for the report)")
    p.add_argument("--stack-axis", metavar="{0,1,2}", help="axis across the layers (default: found from the metal slab)")
    p.add_argument("--collector-end", metavar="{start,end}", help="end of the stack axis holding the collector")
    p.add_argument("--memory-limit", metavar="GB",
                   help=f"memory budget of the streamed steps in GB (default {DEFAULT_MEMORY_LIMIT_GB:g})")
    p.set_defaults(func=_run)


def _number(text: str | None, option: str, path: Any, *, positive: bool = True) -> float | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        raise LiCellInputError(path, f"{option} {text!r} is not a number") from None
    if not math.isfinite(value) or (value <= 0 if positive else value < 0):
        raise LiCellInputError(path, f"{option} {text!r} must be a {'positive' if positive else 'non-negative'} number")
    return value


def _options(args: argparse.Namespace) -> dict[str, Any]:
    """Check and convert the options; bad ones end as LiCellInputError naming the file they concern."""
    volume = Path(args.volume)
    opts: dict[str, Any] = {"volume": volume, "out": Path(args.out)}
    if args.voxel_size_um is not None:
        try:
            opts["voxel_size_um"] = float(args.voxel_size_um)
        except ValueError:
            raise LiCellInputError(volume, f"--voxel-size-um {args.voxel_size_um!r} is not a number",
                                   "give the voxel size in micrometres, e.g. 0.54") from None
    else:
        opts["voxel_size_um"] = None
    gas = None
    if args.gas is not None:
        gas = {"xe": "Xe", "ar": "Ar"}.get(str(args.gas).strip().lower())
        if gas is None:
            raise LiCellInputError(None, f"--gas {args.gas!r} is not known", "use xe or ar")
    pressure = _number(args.gas_pressure_atm, "--gas-pressure-atm", None)
    if pressure is not None and gas is None:
        raise LiCellInputError(None, "--gas-pressure-atm needs --gas", "e.g. --gas xe --gas-pressure-atm 6")
    if gas is not None and pressure is None:
        pressure = DEFAULT_PRESSURE_ATM[gas]
    opts["gas"], opts["gas_pressure_atm"] = gas, pressure
    current = _number(args.current_density, "--current-density", None)
    minutes = _number(args.charge_minutes, "--charge-minutes", None, positive=False)
    if (current is None) != (minutes is None):
        raise LiCellInputError(None, "--current-density and --charge-minutes go together",
                               "give both for the Faraday check, or neither")
    opts["current_density_ma_cm2"], opts["charge_minutes"] = current, minutes
    if args.stack_axis is not None and str(args.stack_axis) not in ("0", "1", "2"):
        raise LiCellInputError(volume, f"--stack-axis {args.stack_axis!r} is not 0, 1 or 2")
    opts["stack_axis"] = None if args.stack_axis is None else int(args.stack_axis)
    if args.collector_end is not None and args.collector_end not in ("start", "end"):
        raise LiCellInputError(volume, f"--collector-end {args.collector_end!r} is not 'start' or 'end'")
    opts["collector_at_start"] = None if args.collector_end is None else args.collector_end == "start"
    limit = _number(getattr(args, "memory_limit", None), "--memory-limit", None)
    if limit is not None and limit < 0.25:
        raise LiCellInputError(None, f"--memory-limit {args.memory_limit!r} is below 0.25 GB",
                               "give the budget in GB, e.g. --memory-limit 2")
    opts["memory_limit_bytes"] = int((limit or DEFAULT_MEMORY_LIMIT_GB) * 2**30)
    opts["labels"] = Path(args.labels) if args.labels else None
    opts["model"] = Path(args.model) if getattr(args, "model", None) else None
    if opts["labels"] is not None and opts["model"] is not None:
        raise LiCellInputError(opts["model"], "--model and --labels both give the classes",
                               "give one of them (or neither, to threshold)")
    opts["voltage"] = Path(args.voltage) if args.voltage else None
    if opts["out"].exists() and not opts["out"].is_dir():
        raise LiCellInputError(opts["out"], "exists and is not a folder", "give a folder for --out")
    return opts


def _read_labels(path: Path, scan: Any) -> Any:
    from ..io.read_volume import read_volume

    labels = read_volume(path, voxel_size_um=scan.voxel_size_um)
    if labels.shape != scan.shape:
        raise LiCellInputError(path, f"labels shape {labels.shape} differs from the scan's {scan.shape}",
                               f"give the labels of {scan.source.name if scan.source else 'the scan'}")
    if labels.dtype.kind not in "biu":
        raise LiCellInputError(path, f"labels must hold integer class codes, not {labels.dtype} values")
    return labels.data


def _threshold(image: Any, voxel: Any, opts: dict[str, Any], scratch: Path) -> tuple[Any, Any, Any, Path | None]:
    """Suggest thresholds, judge the contrast and classify.

    Returns (labels, thresholds, contrast, store): big scans are classified
    straight into a label store in ``scratch`` (``store`` is its folder),
    smaller ones into memory (``store`` None).
    """
    import numpy as np

    from ..io.label_store import create_label_store
    from ..segmentation import classify_volume, li_void_contrast, suggest_thresholds, volume_histogram

    hist = volume_histogram(image)
    thresholds = suggest_thresholds(hist, gas=opts["gas"], pressure_atm=opts["gas_pressure_atm"])
    contrast = li_void_contrast(hist, gas=opts["gas"], pressure_atm=opts["gas_pressure_atm"])
    out, store = None, None
    if int(np.prod(image.shape, dtype=np.int64)) > _IN_MEMORY_VOXELS:
        store = scratch / "labels.zarr"
        out = create_label_store(store, image.shape, voxel)
    result = classify_volume(image, thresholds, out=out, histogram=hist, stack_axis=opts["stack_axis"],
                             collector_at_start=opts["collector_at_start"], voxel_size_um=voxel,
                             memory_limit_bytes=opts["memory_limit_bytes"], direct_output=out is not None)
    return result.labels, result.thresholds, contrast, store


def _predict(image: Any, voxel: Any, opts: dict[str, Any], scratch: Path) -> Any:
    """Class labels from the pixel-classifier model in ``opts["model"]`` (a label store for big scans)."""
    import numpy as np

    from ..classes import LABEL_DTYPE
    from ..classifier import PixelClassifier
    from ..io.label_store import create_label_store

    model = PixelClassifier.load(opts["model"])
    store = None
    if int(np.prod(image.shape, dtype=np.int64)) > _IN_MEMORY_VOXELS:
        store = scratch / "labels.zarr"
        out = create_label_store(store, image.shape, voxel)
    else:
        out = np.zeros(tuple(image.shape), dtype=LABEL_DTYPE)
    model.predict(image, labels_out=out)
    return out, store


def _sensitivity_classifier(thresholds: Any, opts: dict[str, Any]):
    """classify(sample, {name: value}) for :func:`~napari_licell.measure.threshold_sensitivity`."""
    names = thresholds.boundary_names

    def classify(sample, values):
        from ..segmentation import classify_volume

        moved = replace(thresholds, values=tuple(float(values[n]) for n in names))
        return classify_volume(sample, moved, stack_axis=0, collector_at_start=True,
                               memory_limit_bytes=opts["memory_limit_bytes"]).labels

    return classify, {n: v for n, v in zip(names, thresholds.values)}


def _command_line(args: argparse.Namespace) -> list[str]:
    words = ["napari-licell", "analyze", str(args.volume)]
    for key, value in vars(args).items():
        if key not in ("func", "command", "volume") and value is not None:
            words += [f"--{key.replace('_', '-')}", str(value)]
    return words


def analyze(argv_args: argparse.Namespace) -> tuple[Any, dict[str, Path]]:
    """Run the analysis for parsed arguments.

    Returns
    -------
    measurements : CellMeasurements
        The results (with sensitivity and provenance).
    files : dict of str to Path
        The written files by role (labels, measurements, report, tables).
    """
    from ..io.read_volume import read_volume
    from ..io.label_store import add_label_pyramid, publish_label_store
    from ..io.writers import write_json, write_labels_tiff
    from ..measure import make_provenance, measure_cell, threshold_sensitivity
    from ..report import write_cell_report, write_measurement_tables

    opts = _options(argv_args)
    scan = read_volume(opts["volume"], voxel_size_um=opts["voxel_size_um"])
    voxel = scan.voxel_size_um
    voltage = None
    if opts["voltage"] is not None:
        from ..echem.cycler_readers import read_voltage_curve

        voltage = read_voltage_curve(opts["voltage"])
    out_dir: Path = opts["out"]
    out_dir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".analyze-", dir=out_dir))
    try:
        thresholds, store = None, None
        if opts["labels"] is not None or opts["model"] is not None:
            from ..segmentation import li_void_contrast

            if opts["labels"] is not None:
                labels = _read_labels(opts["labels"], scan)
            else:
                labels, store = _predict(scan.data, voxel, opts, scratch)
            contrast = li_void_contrast(scan.data, gas=opts["gas"], pressure_atm=opts["gas_pressure_atm"], labels=labels)
        else:
            labels, thresholds, contrast, store = _threshold(scan.data, voxel, opts, scratch)

        if store is not None:  # zoomed-out views of the big label volume read the coarser levels
            add_label_pyramid(store)
        gas_text = f"{opts['gas']} {opts['gas_pressure_atm']:g} atm" if opts["gas"] else ""
        contrast = {**contrast.to_dict(),
                    "source": f"histogram peaks and {gas_text} physics" if gas_text else "histogram peaks (data alone)"}
        name = scan.name or opts["volume"].stem
        try:
            m = measure_cell(
                labels, voxel, image=scan.data,
                current_density_ma_cm2=opts["current_density_ma_cm2"], charge_minutes=opts["charge_minutes"],
                contrast=contrast, stack_axis=opts["stack_axis"], collector_at_start=opts["collector_at_start"],
                name=name,
            )
        except LiCellInputError as exc:
            if exc.path is None and opts["labels"] is not None:
                raise LiCellInputError(opts["labels"], exc.problem, exc.hint) from None
            raise
        if thresholds is not None:
            classify, values = _sensitivity_classifier(thresholds, opts)
            m.sensitivity = threshold_sensitivity(
                scan.data, values, classify, voxel,
                stack_axis=m.orientation.axis, collector_at_start=m.orientation.collector_at_start,
            )
        parameters = {
            **m.parameters,
            "voxel_size_assumed": scan.voxel_size_assumed,
            "voxel_size_source": scan.metadata.get("voxel_size_source"),
            "gas": opts["gas"],
            "gas_pressure_atm": opts["gas_pressure_atm"],
            "labels_given": opts["labels"] is not None,
            "model": str(opts["model"]) if opts["model"] is not None else None,
            "contrast_from": "data and fill-gas physics" if opts["gas"] else "data alone",
        }
        inputs = [p for p in (opts["volume"], opts["labels"], opts["model"], opts["voltage"]) if p is not None]
        m.provenance = make_provenance(parameters, thresholds=thresholds.to_dict() if thresholds else None,
                                       input_paths=inputs, command=_command_line(argv_args))

        label_meta = {"source": str(opts["volume"]),
                      "thresholds": thresholds.to_dict() if thresholds
                      else (f"pixel classifier {opts['model']}" if opts["model"] is not None else "given labels")}
        if store is not None:
            labels = None  # the store is moved, not copied
            labels_file = publish_label_store(store, out_dir / "labels.zarr", label_meta)
            _remove_stale(out_dir / "labels.tif")
        else:
            labels_file = write_labels_tiff(out_dir / "labels.tif", labels, voxel, metadata=label_meta)
            _remove_stale(out_dir / "labels.zarr")
        files = {
            "labels": labels_file,
            "measurements": write_json(out_dir / "measurements.json", m.to_dict()),
            "report": write_cell_report(m, out_dir / "report.html", voltage=voltage, title=name),
        }
        files.update(write_measurement_tables(m, out_dir))
        return m, files
    finally:
        labels = None  # release a memmap before its folder goes
        shutil.rmtree(scratch, ignore_errors=True)


def _remove_stale(path: Path) -> None:
    """Remove the labels of an earlier run in the other format, so one folder never holds both."""
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists():
        path.unlink()


def _run(args: argparse.Namespace) -> int:
    m, files = analyze(args)
    print(f"verdict: {m.verdict.verdict} - {m.verdict.reason}")
    for role in ("labels", "measurements", "report"):
        print(f"{role}: {os.fspath(files[role])}")
    return 0
