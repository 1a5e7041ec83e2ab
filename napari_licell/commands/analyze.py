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

``--memory-limit GB`` (default 2, GB = 2**30 bytes) bounds the peak resident
memory of the whole process, Python and its libraries included: the process's
own memory is measured after start-up and the streamed steps (classification
slabs and tiles, labels held in memory) get what is left. A limit below what
the process needs at all is refused in one line naming the smallest limit.

``--roi auto`` (default) finds the cell region in a full-view scan: the bore
of the PEEK tube (off-centre and tilted allowed) inside the reconstruction
circle; the tube walls, the jig's gas and the no-data area are left out of
every histogram, class and number, and the region found is written as
``cell_region.json``. A crop of the cell's interior keeps the whole volume.
``--roi none`` analyses the whole volume; ``--roi FILE`` takes a region file
(``cell_region.json``, edited or from the GUI) or a mask volume (non-zero
inside).

When the scan holds no voxel size and ``--voxel-size-um`` is not given, one
warning line says which value was assumed.

Without ``--gas`` the Li/void contrast is judged from the data alone; with
it, also from the attenuation physics of the fill gas. Exit code 0 on
success, 2 with one line naming the file and the problem on bad input.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path
from typing import Any

from ..errors import LiCellInputError
from ..pipeline import DEFAULT_MEMORY_LIMIT_GB, AnalysisOptions, normalise_gas, run_analysis

__all__ = ["register", "analyze", "options_from_arguments", "voxel_size_warning"]


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
    p.add_argument(
        "--model",
        metavar="MODEL",
        help="classify with this pixel-classifier model (saved from the Paint dock) instead of thresholding",
    )
    p.add_argument("--gas", metavar="{xe,ar}", help="fill gas of the cell (judges contrast from physics too)")
    p.add_argument("--gas-pressure-atm", metavar="P", help="fill-gas pressure in atm (default 6 for xe, 1 for ar)")
    p.add_argument("--current-density", metavar="MA_CM2", help="plating current density in mA/cm2")
    p.add_argument("--charge-minutes", metavar="MIN", help="charge time in minutes")
    p.add_argument("--voltage", metavar="FILE", help="cycler file with the charging curve (for the report)")
    p.add_argument(
        "--cycle",
        metavar="N",
        help="the cycle of the cycler file that matches the scan (default: the first Li-plating charge)",
    )
    p.add_argument("--step", metavar="N", help="the step of the cycler file that matches the scan")
    p.add_argument(
        "--stack-axis", metavar="{0,1,2}", help="axis across the layers (default: found from the metal slab)"
    )
    p.add_argument("--collector-end", metavar="{start,end}", help="end of the stack axis holding the collector")
    p.add_argument(
        "--roi",
        metavar="{auto,none,FILE}",
        default="auto",
        help="cell region: auto (find the bore of the PEEK tube), none (whole volume), or a region file / mask volume",
    )
    p.add_argument(
        "--before-scan",
        metavar="FILE",
        help="the same cell scanned before charging: its gas pores are not taken for lithium",
    )
    p.add_argument(
        "--memory-limit",
        metavar="GB",
        help=f"limit on the process's peak resident memory in GB (default {DEFAULT_MEMORY_LIMIT_GB:g})",
    )
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


def options_from_arguments(args: argparse.Namespace) -> AnalysisOptions:
    """Check and convert the command-line options; bad ones end as LiCellInputError naming the file they concern."""
    volume = Path(args.volume)
    voxel = None
    if args.voxel_size_um is not None:
        try:
            voxel = float(args.voxel_size_um)
        except ValueError:
            raise LiCellInputError(
                volume,
                f"--voxel-size-um {args.voxel_size_um!r} is not a number",
                "give the voxel size in micrometres, e.g. 0.54",
            ) from None
        if not math.isfinite(voxel) or voxel <= 0:
            raise LiCellInputError(
                volume,
                f"voxel size {args.voxel_size_um} um must be a positive number",
                "give the voxel size in micrometres, e.g. 0.54",
            )
    gas = None
    if args.gas is not None:
        try:
            gas = normalise_gas(args.gas)
        except LiCellInputError:
            raise LiCellInputError(None, f"--gas {args.gas!r} is not known", "use xe or ar") from None
    pressure = _number(args.gas_pressure_atm, "--gas-pressure-atm", None)
    if pressure is not None and gas is None:
        raise LiCellInputError(None, "--gas-pressure-atm needs --gas", "e.g. --gas xe --gas-pressure-atm 6")
    current = _number(args.current_density, "--current-density", None)
    minutes = _number(args.charge_minutes, "--charge-minutes", None, positive=False)
    if (current is None) != (minutes is None):
        raise LiCellInputError(
            None, "--current-density and --charge-minutes go together", "give both for the Faraday check, or neither"
        )
    if args.stack_axis is not None and str(args.stack_axis) not in ("0", "1", "2"):
        raise LiCellInputError(volume, f"--stack-axis {args.stack_axis!r} is not 0, 1 or 2")
    if args.collector_end is not None and args.collector_end not in ("start", "end"):
        raise LiCellInputError(volume, f"--collector-end {args.collector_end!r} is not 'start' or 'end'")
    limit = _number(getattr(args, "memory_limit", None), "--memory-limit", None)
    if limit is not None and limit < 0.25:
        raise LiCellInputError(
            None,
            f"--memory-limit {args.memory_limit!r} is below 0.25 GB",
            "give the budget in GB, e.g. --memory-limit 2",
        )
    labels = Path(args.labels) if args.labels else None
    model = Path(args.model) if getattr(args, "model", None) else None
    if labels is not None and model is not None:
        raise LiCellInputError(
            model, "--model and --labels both give the classes", "give one of them (or neither, to threshold)"
        )
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise LiCellInputError(out, "exists and is not a folder", "give a folder for --out")
    roi = str(getattr(args, "roi", None) or "auto")
    if roi.lower() not in ("auto", "none") and not Path(roi).exists():
        raise LiCellInputError(Path(roi), "region file not found", "give --roi auto, none or a region file")
    return AnalysisOptions(
        gas=gas,
        gas_pressure_atm=pressure,
        voxel_size_um=None if voxel is None else (voxel,) * 3,
        current_density_ma_cm2=current,
        charge_minutes=minutes,
        stack_axis=None if args.stack_axis is None else int(args.stack_axis),
        collector_at_start=None if args.collector_end is None else args.collector_end == "start",
        memory_limit_bytes=int((limit or DEFAULT_MEMORY_LIMIT_GB) * 2**30),
        memory_limit_given=limit is not None,
        labels=labels,
        model=model,
        voltage=Path(args.voltage) if args.voltage else None,
        roi=roi,
        before_scan=_before_scan(getattr(args, "before_scan", None)),
        voltage_cycle=_whole_number(getattr(args, "cycle", None), "--cycle", args.voltage),
        voltage_step=_whole_number(getattr(args, "step", None), "--step", args.voltage),
    )


def _whole_number(text: str | None, flag: str, voltage: str | None) -> int | None:
    """``--cycle``/``--step`` as an int (they need ``--voltage``)."""
    if text is None:
        return None
    if not voltage:
        raise LiCellInputError(None, f"{flag} picks a step of the cycler file", "give the file with --voltage")
    try:
        return int(text)
    except ValueError:
        raise LiCellInputError(None, f"{flag} {text!r} is not a whole number") from None


def _command_line(args: argparse.Namespace) -> list[str]:
    words = ["napari-licell", "analyze", str(args.volume)]
    for key, value in vars(args).items():
        if key not in ("func", "command", "volume") and value is not None:
            words += [f"--{key.replace('_', '-')}", str(value)]
    return words


def analyze(args: argparse.Namespace) -> tuple[Any, dict[str, Path]]:
    """Run the analysis for parsed arguments (:func:`napari_licell.pipeline.run_analysis`).

    Returns
    -------
    measurements : CellMeasurements
        The results (with sensitivity and provenance).
    files : dict of str to Path
        The written files by role (labels, measurements, report, tables).
    """
    options = options_from_arguments(args)
    return run_analysis(Path(args.volume), Path(args.out), options, command=_command_line(args))


def voxel_size_warning(m: Any, volume: Path) -> str | None:
    """The one warning line when the voxel size was assumed, else None.

    ``m`` is a CellMeasurements or its ``to_dict()`` (``measurements.json``, as the batch reads it).
    """
    from ..io.voxel_size import assumed_voxel_size_warning

    params = m.get("parameters") if isinstance(m, dict) else m.parameters
    voxel = m.get("voxel_size_um") if isinstance(m, dict) else m.voxel_size_um
    return assumed_voxel_size_warning(volume, params, voxel)


def _run(args: argparse.Namespace) -> int:
    m, files = analyze(args)
    warning = voxel_size_warning(m, Path(args.volume))
    if warning:
        print(warning, file=sys.stderr)
    print(f"verdict: {m.verdict.verdict} - {m.verdict.reason}")
    for role in ("labels", "measurements", "report"):
        print(f"{role}: {os.fspath(files[role])}")
    return 0


def _before_scan(value: str | None) -> Path | None:
    """``--before-scan FILE``: an existing scan file, else one clear error."""
    if not value:
        return None
    path = Path(value)
    if not path.exists():
        raise LiCellInputError(path, "scan before charging not found", "give --before-scan an existing scan file")
    return path
