"""``napari-licell train SCAN --strokes STROKES --out MODEL``: a pixel classifier from painted strokes, headless.

STROKES is a labels volume of the scan's shape (any format ``analyze``
reads: TIFF, folder of slices, HDF5, zarr, raw): 0 where nothing was painted,
class codes elsewhere (1 Li, 2 void, 3 SE + Li, 4 SE, 5 carbon, 6 metal), as
the Paint dock saves its scribbles. The model is the one the Paint dock
trains by default (:class:`napari_licell.classifier.PixelClassifier`), on
grey values calibrated to 1/cm when the scan carries its grey scale, so it
applies to other calibrated scans: ``napari-licell analyze SCAN --model
MODEL`` or ``napari-licell batch STUDY --model MODEL``.

Prints the painted voxels per class, the boundary voxels added by the
partial-volume rule and the training time. Exit code 0 on success, 2 with one
line naming the file and the problem on bad input (strokes of one class,
strokes of another shape, a missing file).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from ..errors import LiCellInputError

__all__ = ["register", "train"]


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "train",
        help="train a pixel classifier on painted strokes: a model file for analyze/batch --model",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("scan", metavar="SCAN", help="CT scan: TIFF stack, folder of slices, HDF5, zarr or raw")
    p.add_argument(
        "--strokes",
        required=True,
        metavar="STROKES",
        help="labels volume of the scan's shape: 0 unpainted, class codes where painted",
    )
    p.add_argument("--out", required=True, metavar="MODEL", help="model file to write (.licell-clf)")
    p.add_argument("--voxel-size-um", metavar="X", help="voxel size in micrometres (overrides the file's)")
    p.add_argument("--trees", metavar="N", help="trees in the forest (default: the Paint dock's)")
    p.set_defaults(func=_run)


def train(
    scan_path: Path,
    strokes_path: Path,
    out: Path,
    voxel_size_um: float | None = None,
    trees: int | None = None,
    echo=print,
):
    """Train and save; returns the trained :class:`~napari_licell.classifier.PixelClassifier`."""
    import numpy as np

    from ..classes import class_by_code
    from ..classifier import PixelClassifier
    from ..classifier.transfer import calibration_from_scan_metadata
    from ..io.read_volume import read_volume

    for path, what in ((scan_path, "scan"), (strokes_path, "strokes file")):
        if not Path(path).exists():
            raise LiCellInputError(path, f"{what} not found")
    scan = read_volume(scan_path, voxel_size_um=voxel_size_um)
    strokes = read_volume(strokes_path, voxel_size_um=scan.voxel_size_um)
    if tuple(strokes.shape) != tuple(scan.shape):
        raise LiCellInputError(
            strokes_path,
            f"strokes of shape {tuple(strokes.shape)} differ from the scan's {tuple(scan.shape)}",
            f"paint on {scan_path.name} itself (same z, y, x size)",
        )
    if np.dtype(strokes.data.dtype).kind not in "biu":
        raise LiCellInputError(strokes_path, f"strokes must hold integer class codes, not {strokes.data.dtype} values")
    calibration = calibration_from_scan_metadata(scan.metadata)
    kwargs = {} if trees is None else {"n_estimators": int(trees)}
    model = PixelClassifier(**kwargs)
    try:
        summary = model.fit(scan.data, strokes.data, calibration=calibration, voxel_size_um=scan.voxel_size_um[0])
    except LiCellInputError as exc:
        raise LiCellInputError(strokes_path, exc.problem, exc.hint) from None
    except KeyError as exc:
        raise LiCellInputError(
            strokes_path,
            f"strokes hold a code that is no class: {exc}",
            "use 1 Li, 2 void, 3 SE + Li, 4 SE, 5 carbon, 6 metal",
        ) from None
    path = model.save(out)
    painted = ", ".join(f"{class_by_code(c).key} {n}" for c, n in summary.painted_voxels.items())
    echo(f"painted voxels: {sum(summary.painted_voxels.values())} ({painted})")
    if summary.boundary_voxels:
        extra = ", ".join(f"{class_by_code(c).key} {n}" for c, n in summary.boundary_voxels.items())
        echo(f"boundary voxels by the partial-volume rule: {extra}")
    if summary.band_voxels:
        extra = ", ".join(f"{class_by_code(c).key} {n}" for c, n in summary.band_voxels.items())
        echo(f"voxels placed by the carbon band found by position: {extra}")
    units = "1/cm (calibrated)" if model.calibrated else "grey values (the scan has no calibration)"
    echo(f"features in {units}; {model.n_estimators} trees; trained in {summary.seconds:.1f} s")
    echo(f"model: {path}")
    return model


def _run(args: argparse.Namespace) -> int:
    voxel = None
    if args.voxel_size_um is not None:
        try:
            voxel = float(args.voxel_size_um)
        except ValueError:
            raise LiCellInputError(None, f"--voxel-size-um {args.voxel_size_um!r} is not a number") from None
        if not math.isfinite(voxel) or voxel <= 0:
            raise LiCellInputError(None, f"--voxel-size-um {args.voxel_size_um!r} must be positive")
    trees = None
    if args.trees is not None:
        try:
            trees = int(args.trees)
        except ValueError:
            raise LiCellInputError(None, f"--trees {args.trees!r} is not a whole number") from None
        if trees < 1:
            raise LiCellInputError(None, f"--trees {args.trees!r} must be at least 1")
    train(Path(args.scan), Path(args.strokes), Path(args.out), voxel, trees)
    return 0
