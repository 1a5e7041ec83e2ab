"""From a scan to labels and measurements: the one analysis path of the CLI, the batch and the GUI.

``napari-licell analyze`` parses its arguments into :class:`AnalysisOptions`
and calls :func:`run_analysis`; ``batch`` builds the same options from the
study for every scan; the Thresholds and Results docks call the steps
(:func:`scan_histograms`, :func:`suggest_scan_thresholds`,
:func:`judge_contrast`, :func:`classify_scan`, :func:`measure_scan`) with
options built from the layer's metadata. So the GUI and the command line give
the same thresholds, labels and numbers for the same scan.

Qt-free: numpy and dataclasses in, numpy and dataclasses out.
"""

from __future__ import annotations

import math
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from .cancellation import CancelLike, raise_if_cancelled
from .errors import LiCellInputError

__all__ = [
    "AnalysisOptions",
    "AnalysisResult",
    "ScanHistograms",
    "ROI_CHOICES",
    "DEFAULT_MEMORY_LIMIT_GB",
    "DEFAULT_PRESSURE_ATM",
    "IN_MEMORY_LABEL_VOXELS",
    "labels_fit_in_memory",
    "new_label_output",
    "find_scan_region",
    "correct_scan_rings",
    "scan_histograms",
    "suggest_scan_thresholds",
    "judge_contrast",
    "resolve_fill_gas",
    "judge_scan_contrast",
    "charge_for_scan",
    "PreparedScan",
    "prepare_scan",
    "classify_scan",
    "resolve_scan_gas_pores",
    "note_gas_pores",
    "before_scan_pore_density",
    "measure_scan",
    "analyze_scan",
    "run_analysis",
]

#: Default memory budget of the streamed steps, GB (2**30 bytes); ``--memory-limit`` and the GUI setting.
DEFAULT_MEMORY_LIMIT_GB = 2.0
#: Default fill-gas pressure (atm) per gas when none is given (the paper's cells).
DEFAULT_PRESSURE_ATM = {"Xe": 6.0, "Ar": 1.0}
#: Label volumes above this many voxels (1 byte each) go to a label store on disk, never into memory.
IN_MEMORY_LABEL_VOXELS = 512 * 1024 * 1024

#: ``roi`` words of :class:`AnalysisOptions` (anything else is a region file).
ROI_CHOICES = ("auto", "none")

#: ``stage_progress(stage, done, total)``: which step runs and how far it is.
StageProgress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class AnalysisOptions:
    """How one scan is analysed (the same record for ``analyze``, ``batch`` and the docks).

    Attributes
    ----------
    gas : {"Xe", "Ar"} or None
        Fill gas of the cell; None when unknown (contrast judged from the data alone).
    gas_pressure_atm : float or None
        Fill-gas pressure in atm (defaults per gas in :data:`DEFAULT_PRESSURE_ATM`).
    voxel_size_um : (z, y, x) floats or None
        Voxel size in micrometres overriding the file's; None takes the file's.
    current_density_ma_cm2 : float or None
        Plating current density in mA/cm² (with ``charge_minutes``: the Faraday check).
    charge_minutes : float or None
        Charge time in minutes.
    method : {"peaks", "multiotsu"}
        Threshold suggestion method.
    denoise : {"none", "median", "nlm"}
        Denoising before classification.
    partial_volume : bool
        Partial-volume rules in the classification.
    carbon_band : bool
        Find the carbon interlayer by position.
    stack_axis : int or None
        Array axis across the layers (found from the metal slab when None).
    collector_at_start : bool or None
        Whether the collector is at index 0 of the stack axis (found when None).
    memory_limit_bytes : int
        Limit on the peak resident memory of the process in bytes: :func:`run_analysis`
        gives the streamed steps what is left after the process's own memory
        (:mod:`napari_licell.memory_limit`); the steps themselves take it as their budget.
    memory_limit_given : bool
        The user set the limit (``--memory-limit``, the batch's share): a limit below
        what the process needs is an error. An untouched default in a process that
        already holds more (a test run, a notebook) runs with the smallest work budget.
    labels : Path or None
        Given class labels: measured instead of thresholding.
    model : Path or None
        Pixel-classifier model: classifies instead of thresholding.
    voltage : Path or None
        Cycler file with the charging curve (for the report).
    voltage_cycle, voltage_step : int or None
        Which charge step of the cycler file matches the scan (its cycle and
        step numbers); by default the first Li-plating charge of a record of
        many steps (:func:`~napari_licell.echem.charge_steps.select_charge`).
    roi : str
        The cell region: "auto" (find the bore of the PEEK tube and the
        reconstruction circle; a crop of the interior keeps the whole volume),
        "none" (the whole volume) or a region file (JSON saved by
        :meth:`~napari_licell.segmentation.CellRegion.save`, or a mask volume:
        non-zero inside).
    before_scan : Path or None
        The same cell scanned before charging: its gas pores (classified with
        this scan's thresholds) give the pore population, so what was there
        before is not taken for lithium (:mod:`~napari_licell.segmentation.gas_pores`).
    """

    gas: str | None = None
    gas_pressure_atm: float | None = None
    voxel_size_um: tuple[float, float, float] | None = None
    current_density_ma_cm2: float | None = None
    charge_minutes: float | None = None
    method: str = "peaks"
    denoise: str = "none"
    partial_volume: bool = True
    carbon_band: bool = True
    stack_axis: int | None = None
    collector_at_start: bool | None = None
    memory_limit_bytes: int = int(DEFAULT_MEMORY_LIMIT_GB * 2**30)
    memory_limit_given: bool = False
    labels: Path | None = None
    model: Path | None = None
    voltage: Path | None = None
    voltage_cycle: int | None = None
    voltage_step: int | None = None
    roi: str = "auto"
    before_scan: Path | None = None

    def __post_init__(self) -> None:
        gas = normalise_gas(self.gas)
        object.__setattr__(self, "gas", gas)
        if gas is not None and self.gas_pressure_atm is None:
            object.__setattr__(self, "gas_pressure_atm", DEFAULT_PRESSURE_ATM[gas])
        if gas is None and self.gas_pressure_atm is not None:
            raise LiCellInputError(None, "a fill-gas pressure needs the gas", "give the gas too, e.g. xe at 6 atm")
        if self.voxel_size_um is not None:
            v = self.voxel_size_um
            voxel = tuple(float(x) for x in ((v,) * 3 if np.isscalar(v) else v))
            if len(voxel) != 3 or not all(np.isfinite(x) and x > 0 for x in voxel):
                raise LiCellInputError(None, f"voxel size {self.voxel_size_um!r} µm is not three positive numbers")
            object.__setattr__(self, "voxel_size_um", voxel)
        if (self.current_density_ma_cm2 is None) != (self.charge_minutes is None):
            raise LiCellInputError(
                None, "current density and charge time go together", "give both for the Faraday check, or neither"
            )
        if self.labels is not None and self.model is not None:
            raise LiCellInputError(
                self.model,
                "a model and given labels both give the classes",
                "give one of them (or neither, to threshold)",
            )
        for name in ("labels", "model", "voltage"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, Path):
                object.__setattr__(self, name, Path(value))
        roi = "auto" if self.roi is None else str(self.roi)
        object.__setattr__(self, "roi", roi.lower() if roi.lower() in ROI_CHOICES else roi)

    @classmethod
    def from_metadata(cls, metadata: dict[str, Any] | None, **overrides: Any) -> AnalysisOptions:
        """Options from a layer's (or study cell's) metadata: gas, pressure, current density, charge time."""
        meta = metadata or {}
        gas = normalise_gas(meta.get("gas"), strict=False)
        values: dict[str, Any] = {
            "gas": gas,
            "gas_pressure_atm": _float_or_none(meta.get("gas_pressure_atm")) if gas else None,
            "current_density_ma_cm2": _float_or_none(meta.get("current_density_ma_cm2")),
            "charge_minutes": _float_or_none(meta.get("charge_minutes")),
        }
        if (values["current_density_ma_cm2"] is None) != (values["charge_minutes"] is None):
            values["current_density_ma_cm2"] = values["charge_minutes"] = None
        values.update(overrides)
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready parameters (paths as strings)."""
        d = asdict(self)
        for key in ("labels", "model", "voltage", "before_scan"):
            d[key] = None if d[key] is None else str(d[key])
        d["voxel_size_um"] = None if self.voxel_size_um is None else list(self.voxel_size_um)
        return d

    def evolve(self, **changes: Any) -> AnalysisOptions:
        """A copy with ``changes`` (validated again)."""
        if "gas" in changes and "gas_pressure_atm" not in changes:
            changes["gas_pressure_atm"] = None
        return replace(self, **changes)


def normalise_gas(gas: Any, strict: bool = True) -> str | None:
    """ "Xe" or "Ar" from any spelling (xe, XE, xenon, argon); None for unknown/empty.

    Raises
    ------
    LiCellInputError
        With ``strict`` for a gas that is neither.
    """
    if gas is None:
        return None
    text = str(gas).strip().lower()
    if text in ("", "unknown", "none", "?"):
        return None
    known = {"xe": "Xe", "xenon": "Xe", "ar": "Ar", "argon": "Ar"}
    if text in known:
        return known[text]
    if strict:
        raise LiCellInputError(None, f"fill gas {gas!r} is not known", "use xe or ar")
    return None


def _float_or_none(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


# --------------------------------------------------------------------------- labels: memory or store
def labels_fit_in_memory(shape: tuple[int, ...], memory_limit_bytes: int, volumes: int = 1) -> bool:
    """The one rule for label volumes (1 byte per voxel): in memory, or in a label store on disk.

    ``volumes`` label volumes of ``shape`` stay in memory when together they
    take at most half of the memory budget and each is at most
    :data:`IN_MEMORY_LABEL_VOXELS` voxels.
    """
    voxels = int(np.prod(shape, dtype=np.int64))
    return voxels <= IN_MEMORY_LABEL_VOXELS and volumes * voxels <= memory_limit_bytes // 2


def new_label_output(
    shape: tuple[int, ...],
    voxel_size_um: tuple[float, float, float],
    memory_limit_bytes: int,
    store_folder: Path | Callable[[], Path],
) -> tuple[Any, Path | None]:
    """Where labels of ``shape`` are written: a numpy array, or a new label store (zarr) on disk.

    Parameters
    ----------
    store_folder : Path or callable returning a Path
        Folder for the store (``labels.zarr`` is made inside) when the labels
        do not fit in memory.

    Returns
    -------
    out : ndarray or zarr array
    store : Path or None
        The store's path (None for an in-memory array).
    """
    from .classes import LABEL_DTYPE

    if labels_fit_in_memory(shape, memory_limit_bytes):
        return np.zeros(tuple(shape), dtype=LABEL_DTYPE), None
    from .io.label_store import create_label_store

    folder = store_folder() if callable(store_folder) else Path(store_folder)
    store = Path(folder) / "labels.zarr"
    return create_label_store(store, tuple(shape), tuple(voxel_size_um)), store


# --------------------------------------------------------------------------- thresholds and contrast
@dataclass(frozen=True)
class ScanHistograms:
    """The histograms thresholds and contrast are read from.

    Attributes
    ----------
    full : Histogram
        Every voxel of the scan (exact, streamed).
    interior : Histogram or None
        Only voxels inside uniform regions (phase peaks are found on it); None for 2D images.
    """

    full: Any
    interior: Any = None


@dataclass
class PreparedScan:
    """A scan made ready for thresholds: its cell region, rings taken off, its histograms.

    Attributes
    ----------
    data : array-like
        The scan, or a lazy ring- and cupping-corrected view of it (same shape and grey scale).
    region : CellRegion, mask or None
        The cell region (None: the whole volume is the cell).
    rings : RingProfile or None
        The rings measured (None when not looked for).
    histograms : ScanHistograms
        Counted inside the region, on ``data``.
    """

    data: Any
    region: Any
    rings: Any
    histograms: ScanHistograms


def prepare_scan(
    data: Any,
    options: AnalysisOptions | None = None,
    *,
    progress: StageProgress | None = None,
    cancel: CancelLike = None,
) -> PreparedScan:
    """The first steps of every analysis, the same in ``analyze`` and in the Thresholds dock.

    Finds the cell region (:func:`find_scan_region`), takes rings and cupping off
    (:func:`correct_scan_rings`) and counts the histograms inside the region
    (:func:`scan_histograms`). ``progress(stage, done, total)`` names the stage.
    """
    region = find_scan_region(data, options, progress=_stage(progress, "cell region"), cancel=cancel)
    corrected, rings = correct_scan_rings(data, region, cancel=cancel)
    # a histogram slab and its masked copies (float data: a float64 copy too) within the work budget
    slab_bytes = None if options is None else int(min(128 * 2**20, max(4 * 2**20, options.memory_limit_bytes // 8)))
    hists = scan_histograms(
        corrected, progress=_stage(progress, "histogram"), cancel=cancel, region=region, slab_bytes=slab_bytes
    )
    return PreparedScan(corrected, region, rings, hists)


def charge_for_scan(record: Any, cycle: int | None = None, step: int | None = None):
    """The part of a cycler record that matches the scan: the charge step asked for, else the first charge.

    A record of one step is kept whole; one without any charge step too, unless
    a cycle or step was asked for (then the one-line error names the file).
    """
    from .echem.charge_steps import select_charge, split_steps

    if cycle is None and step is None:
        if len(split_steps(record)) <= 1:
            return record
        try:
            return select_charge(record)[0]
        except LiCellInputError:  # e.g. a discharge-only record: shown whole
            return record
    return select_charge(record, cycle=cycle, step=step)[0]


def find_scan_region(
    data: Any,
    options: AnalysisOptions | None = None,
    *,
    progress: Callable[[int, int], None] | None = None,
    cancel: CancelLike = None,
):
    """The cell region of a scan as the options say (``roi``): found, read from a file, or None.

    Returns
    -------
    CellRegion or array-like of bool or None
        A :class:`~napari_licell.segmentation.CellRegion` (found, or read from a
        JSON region file), a mask volume read from a file, or None for the
        whole volume (``roi="none"``, a 2D image, or no bore and no
        reconstruction circle in view). Pass it as ``region=`` to
        :func:`scan_histograms` and :func:`classify_scan`.

    Raises
    ------
    LiCellInputError
        A region file that cannot be read or does not fit the scan.
    """
    from .segmentation.cell_region import CellRegion, find_cell_region

    roi = "auto" if options is None else options.roi
    if roi == "none" or getattr(data, "ndim", 0) != 3:
        return None
    if roi == "auto":
        return find_cell_region(
            data, stack_axis=None if options is None else options.stack_axis, progress=progress, cancel=cancel
        )
    path = Path(roi)
    if not path.exists():
        raise LiCellInputError(path, "region file not found", "give --roi auto, none or a region file")
    shape = tuple(int(s) for s in data.shape)
    if path.suffix.lower() == ".json":
        try:
            region = CellRegion.load(path)
        except (ValueError, KeyError, TypeError) as exc:
            raise LiCellInputError(path, f"is not a cell region file ({exc})") from None
        if tuple(region.shape) != shape:
            raise LiCellInputError(path, f"region of shape {tuple(region.shape)} does not fit the scan's {shape}")
        return region
    from .io.read_volume import read_volume

    mask = read_volume(path)
    if tuple(mask.shape) != shape:
        raise LiCellInputError(path, f"region mask of shape {tuple(mask.shape)} does not fit the scan's {shape}")
    return mask.data


def correct_scan_rings(data: Any, region: Any, *, cancel: CancelLike = None):
    """Ring artifacts and cupping measured and taken off, when the scan shows its rotation axis.

    The rotation axis is the centre of the reconstruction circle, so rings
    are only looked for in scans whose cell region holds one (full views).

    Returns
    -------
    data : array-like
        ``data``, or a :class:`~napari_licell.segmentation.rings.RingCorrectedScan`
        of it when the rings were significant (read block by block, never copied).
    rings : RingProfile or None
        The measured rings (None when not looked for).
    """
    from .segmentation.rings import RingCorrectedScan, estimate_rings

    recon = getattr(region, "recon", None)
    if recon is None or getattr(data, "ndim", 0) != 3 or getattr(region, "axis", 0) != 0:
        return data, None  # rings are measured in planes across axis 0 only
    rings = estimate_rings(data, centre_yx=recon.centre_start, region=region, cancel=cancel)
    return (RingCorrectedScan(data, rings) if rings.any_significant else data), rings


def _region_record(region: Any, options: AnalysisOptions) -> dict[str, Any]:
    """How the cell region was set, for the parameters and the report."""
    if region is None:
        return {
            "roi": options.roi,
            "region": "whole volume",
            "notes": ["no bore or reconstruction circle in view: the whole volume is the cell"]
            if options.roi == "auto"
            else [],
        }
    to_dict = getattr(region, "to_dict", None)
    if to_dict is None:
        return {"roi": options.roi, "region": "mask volume"}
    return {"roi": options.roi, "region": to_dict()}


def scan_histograms(
    data: Any,
    *,
    progress: Callable[[int, int], None] | None = None,
    cancel: CancelLike = None,
    region: Any = None,
    slab_bytes: int | None = None,
) -> ScanHistograms:
    """Full and interior histogram of a scan (2D or 3D, streamed in slabs).

    ``region`` (from :func:`find_scan_region`): only voxels inside it are counted.
    ``slab_bytes``: input read at a time by the full histogram (default about 128 MB).
    """
    from .segmentation import estimate_noise_sigma, interior_histogram, volume_histogram
    from .segmentation.chunks import default_slab_depth

    depth = None
    if slab_bytes is not None and getattr(data, "ndim", 0) == 3:
        depth = default_slab_depth(tuple(int(s) for s in data.shape), np.dtype(data.dtype).itemsize, int(slab_bytes))
    full = volume_histogram(data, mask=region, progress=progress, cancel=cancel, slab_depth=depth)
    if getattr(data, "ndim", 0) != 3:
        return ScanHistograms(full, None)
    raise_if_cancelled(cancel)
    value_range = None
    if not full.is_integer:
        value_range = (full.origin, full.origin + full.bin_width * full.n_bins)
    inner = interior_histogram(
        data, estimate_noise_sigma(full), mask=region, value_range=value_range, progress=progress, cancel=cancel
    )
    return ScanHistograms(full, inner)


def scan_calibration(metadata: dict[str, Any] | None):
    """Grey -> 1/cm calibration stored with a scan (layer or file metadata), or None."""
    from .segmentation import calibration_from_metadata

    return calibration_from_metadata(metadata or {})


def suggest_scan_thresholds(histograms: ScanHistograms, options: AnalysisOptions, calibration: Any = None):
    """Suggested thresholds (:class:`~napari_licell.segmentation.ThresholdSet`) of a scan."""
    from .segmentation import suggest_thresholds

    if histograms.full.n_voxels == 0 or not np.any(histograms.full.counts):
        raise LiCellInputError(None, "the scan holds no finite grey values to threshold")
    return suggest_thresholds(
        histograms.full,
        method=options.method,
        gas=options.gas,
        pressure_atm=options.gas_pressure_atm,
        calibration=calibration,
        interior=histograms.interior,
    )


def judge_contrast(histograms: ScanHistograms, options: AnalysisOptions, calibration: Any = None):
    """The Li/void contrast verdict (:class:`~napari_licell.segmentation.ContrastVerdict`) of a scan.

    The one CNR of a scan: the Thresholds dock, the Results dock, the report
    and ``analyze`` all show this value.
    """
    from .segmentation import li_void_contrast

    return li_void_contrast(
        histograms.full,
        gas=options.gas,
        pressure_atm=options.gas_pressure_atm,
        interior=histograms.interior,
        calibration=calibration,
    )


def resolve_fill_gas(histograms: ScanHistograms, options: AnalysisOptions, calibration: Any = None):
    """The fill gas when the options do not give it: inferred from the calibrated grey values.

    Returns
    -------
    options : AnalysisOptions
        ``options`` with gas and pressure filled in when xenon was recognised
        (unchanged when the gas was given or could not be inferred).
    inference : GasInference or None
        What the data said (None when the gas was given);
        ``inference.light_gas`` means Li and voids cannot be told apart.
    """
    from .segmentation.fill_gas import infer_fill_gas
    from .segmentation.thresholds import find_phases

    if options.gas is not None or histograms.full.n_voxels == 0:
        return options, None
    try:
        phases = find_phases(histograms.full, histograms.interior, calibration=calibration)
    except ValueError:
        return options, None
    inference = infer_fill_gas(phases, calibration)
    if inference.gas is not None:
        options = options.evolve(gas=inference.gas, gas_pressure_atm=inference.pressure_atm)
    return options, inference


def judge_contrast_with_inference(
    histograms: ScanHistograms, options: AnalysisOptions, inference: Any, calibration: Any = None
):
    """:func:`judge_contrast`, overruled to "not separable" when the inferred gas is light (Ar, air)."""
    verdict = judge_contrast(histograms, options, calibration)
    if inference is not None and inference.light_gas:
        verdict = replace(
            verdict, separable=False, reason=f"Li and gas-filled voids are NOT separable: {inference.reason}"
        )
    return verdict


def judge_scan_contrast(histograms: ScanHistograms, options: AnalysisOptions, calibration: Any = None):
    """The fill gas (given, or inferred from the data) and the Li/void contrast verdict, as analyze judges them.

    Returns
    -------
    options, inference, verdict
        The options with the inferred gas filled in, what the data said of the
        gas (None when it was given) and the verdict.
    """
    options, inference = resolve_fill_gas(histograms, options, calibration)
    return options, inference, judge_contrast_with_inference(histograms, options, inference, calibration)


def contrast_record(verdict: Any, options: AnalysisOptions) -> dict[str, Any]:
    """The contrast verdict as stored with measurements (with where it came from)."""
    gas_text = f"{options.gas} {options.gas_pressure_atm:g} atm" if options.gas else ""
    return {
        **verdict.to_dict(),
        "source": f"histogram peaks and {gas_text} physics" if gas_text else "histogram peaks (data alone)",
    }


# --------------------------------------------------------------------------- classification and measurement
def classify_scan(
    data: Any,
    thresholds: Any,
    options: AnalysisOptions,
    *,
    histograms: ScanHistograms | None = None,
    voxel_size_um: tuple[float, float, float] | None = None,
    out: Any = None,
    progress: Callable[[int, int], None] | None = None,
    cancel: CancelLike = None,
    region: Any = None,
    before_density: float | None = None,
):
    """Classify a whole scan with ``thresholds`` (partial-volume rules, carbon band as the options say).

    ``region`` (from :func:`find_scan_region`): voxels outside it are background (0).
    Isolated gas pores in the SE are then relabelled as gas (:func:`resolve_scan_gas_pores`);
    the result's ``gas_pores`` holds what was decided (None for 2D images); give it to
    :func:`note_gas_pores` with the measurements of these labels. ``before_density``: the
    pore population of the scan before charging (:func:`before_scan_pore_density`).

    Returns
    -------
    ClassificationResult
        ``labels`` is ``out`` when given (written block by block), else a new array.
    """
    from .segmentation import classify_slice, classify_volume

    if getattr(data, "ndim", 0) == 2:
        from .segmentation.classify import ClassificationResult

        labels = classify_slice(np.asarray(data), thresholds)
        return ClassificationResult(
            labels=labels, thresholds=thresholds, carbon_band=None, denoise="none", partial_volume=False
        )
    result = classify_volume(
        data,
        thresholds,
        out=out,
        denoise=options.denoise,
        partial_volume=options.partial_volume,
        carbon_band=options.carbon_band,
        stack_axis=options.stack_axis,
        collector_at_start=options.collector_at_start,
        histogram=histograms.full if histograms is not None else None,
        voxel_size_um=voxel_size_um,
        memory_limit_bytes=options.memory_limit_bytes,
        direct_output=out is not None,
        progress=progress,
        cancel=cancel,
        region=region,
    )
    # gas pores in the SE are not Li: relabelled in place, the record rides on the result
    from .io.volume import DEFAULT_VOXEL_SIZE_UM

    band = result.carbon_band
    result.gas_pores = resolve_scan_gas_pores(
        result.labels,
        data,
        result.thresholds,
        voxel_size_um or (DEFAULT_VOXEL_SIZE_UM,) * 3,
        options,
        cancel=cancel,
        before_density=before_density,
        orientation=(band.axis, band.collector_at_start) if band is not None and band.axis is not None else None,
    )
    return result


def resolve_scan_gas_pores(
    labels: Any,
    data: Any,
    thresholds: Any,
    voxel_size_um: tuple[float, float, float],
    options: AnalysisOptions,
    *,
    before_density: float | None = None,
    progress: Callable[[int, int], None] | None = None,
    cancel: CancelLike = None,
    orientation: tuple[int, bool | None] | None = None,
):
    """Isolated gas pores in the SE relabelled as gas, what stays ambiguous reported (labels written in place).

    See :mod:`napari_licell.segmentation.gas_pores`. Returns the
    :class:`~napari_licell.segmentation.gas_pores.GasPores` record (None for 2D
    images); give it to :func:`note_gas_pores` with the measurements. ``orientation``
    (stack axis, collector at start), e.g. from the classification's carbon band,
    saves finding it again.
    """
    from .segmentation.gas_pores import SLAB_BYTES_PER_VOXEL, resolve_gas_pores

    if getattr(data, "ndim", 0) != 3 or thresholds is None:
        return None
    axis, at_start = orientation if orientation is not None else (options.stack_axis, options.collector_at_start)
    # as many planes as fit in half the work budget (32 planes of a 2688^2 scan would take 5.5 GB)
    shape = sorted(int(s) for s in data.shape)
    plane_bytes = SLAB_BYTES_PER_VOXEL * shape[1] * shape[2]
    slab_slices = int(max(1, min(32, options.memory_limit_bytes // 2 // max(1, plane_bytes))))
    return resolve_gas_pores(
        labels,
        data,
        thresholds,
        voxel_size_um,
        stack_axis=axis,
        collector_at_start=at_start,
        before_density=before_density,
        progress=progress,
        cancel=cancel,
        slab_slices=slab_slices,
    )


def before_scan_pore_density(
    path: Path, thresholds: Any, options: AnalysisOptions, *, cancel: CancelLike = None
) -> float | None:
    """Pore population of the scan before charging (file ``path``), classified with ``thresholds``.

    The before scan is read, its cell region found and its rings taken off as
    for any scan (``options``), classified with the thresholds of the scan
    after charging (same instrument and gas) and its isolated dark regions in
    the SE measured (:func:`~napari_licell.segmentation.gas_pores.pore_population`).
    None when it holds no SE.
    """
    from .io.read_volume import read_volume
    from .segmentation import classify_volume
    from .segmentation.gas_pores import pore_population

    path = Path(path)
    if not path.exists():
        raise LiCellInputError(path, "scan before charging not found", "give --before-scan an existing scan file")
    before = read_volume(
        path, voxel_size_um=options.voxel_size_um[0] if _isotropic(options.voxel_size_um) else options.voxel_size_um
    )
    data = before.data
    if getattr(data, "ndim", 0) != 3:
        raise LiCellInputError(path, "the scan before charging must be a 3D volume")
    region = find_scan_region(
        data, options.evolve(roi="auto") if options.roi not in ROI_CHOICES else options, cancel=cancel
    )
    data, _ = correct_scan_rings(data, region, cancel=cancel)
    res = classify_volume(
        data,
        thresholds,
        partial_volume=options.partial_volume,
        carbon_band=options.carbon_band,
        stack_axis=options.stack_axis,
        collector_at_start=options.collector_at_start,
        memory_limit_bytes=options.memory_limit_bytes,
        cancel=cancel,
        region=region,
    )
    return pore_population(
        res.labels,
        data,
        res.thresholds,
        tuple(before.voxel_size_um),
        stack_axis=options.stack_axis,
        collector_at_start=options.collector_at_start,
    )


def note_gas_pores(measurements: Any, pores: Any) -> None:
    """Record the gas-pore step (``GasPores`` or its dict, e.g. from the labels' metadata) with the
    measurements; the verdict says what stayed ambiguous."""
    from .segmentation.gas_pores import ambiguous_sentence

    if pores is None:
        return
    record = dict(pores) if isinstance(pores, dict) else pores.to_dict()
    measurements.parameters["gas_pores"] = record
    sentence = ambiguous_sentence(record, measurements.li_volume_um3)
    if sentence and sentence not in measurements.verdict.reason:
        measurements.verdict = replace(measurements.verdict, reason=measurements.verdict.reason + sentence)


def measure_scan(
    labels: Any,
    voxel_size_um: tuple[float, float, float],
    options: AnalysisOptions,
    *,
    image: Any = None,
    contrast: dict[str, Any] | None = None,
    name: str = "",
    thresholds: Any = None,
    progress: Callable[[int, int], None] | None = None,
    cancel: CancelLike = None,
):
    """Measure where the lithium is (:func:`~napari_licell.measure.measure_cell`) with the options' numbers."""
    from .cancellation import is_cancelled
    from .measure import measure_cell

    return measure_cell(
        labels,
        voxel_size_um,
        image=image,
        current_density_ma_cm2=options.current_density_ma_cm2,
        charge_minutes=options.charge_minutes,
        contrast=contrast,
        stack_axis=options.stack_axis,
        collector_at_start=options.collector_at_start,
        name=name,
        thresholds=thresholds,
        progress=progress,
        cancel=(lambda: is_cancelled(cancel)) if cancel is not None else None,
    )


@dataclass
class AnalysisResult:
    """What :func:`analyze_scan` found.

    Attributes
    ----------
    labels : array-like
        Class codes (numpy, or the zarr array of ``store``).
    store : Path or None
        The label store on disk holding ``labels`` (big scans), else None.
    thresholds : ThresholdSet or None
        Thresholds used (None when labels were given or a model classified).
    contrast : dict
        Li/void contrast verdict with its source.
    measurements : CellMeasurements
    histograms : ScanHistograms or None
    region : CellRegion, mask or None
        The cell region the scan was analysed in (None: the whole volume).
    """

    labels: Any
    store: Path | None
    thresholds: Any
    contrast: dict[str, Any]
    measurements: Any
    histograms: ScanHistograms | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    region: Any = None


def _stage(progress: StageProgress | None, name: str) -> Callable[[int, int], None] | None:
    if progress is None:
        return None
    return lambda done, total: progress(name, done, total)


def _read_given_labels(path: Path, scan: Any) -> Any:
    from .io.read_volume import read_volume

    labels = read_volume(path, voxel_size_um=scan.voxel_size_um)
    if labels.shape != scan.shape:
        raise LiCellInputError(
            path,
            f"labels shape {labels.shape} differs from the scan's {scan.shape}",
            f"give the labels of {scan.source.name if scan.source else 'the scan'}",
        )
    if labels.dtype.kind not in "biu":
        raise LiCellInputError(path, f"labels must hold integer class codes, not {labels.dtype} values")
    return labels.data


def analyze_scan(
    scan: Any,
    options: AnalysisOptions,
    scratch: Path,
    *,
    sensitivity: bool = True,
    progress: StageProgress | None = None,
    cancel: CancelLike = None,
) -> AnalysisResult:
    """Threshold (or take given labels, or apply a model) and measure one opened scan.

    Parameters
    ----------
    scan : Volume
        The opened scan (:func:`~napari_licell.io.read_volume.read_volume`).
    options : AnalysisOptions
    scratch : Path
        Folder for a label store when the labels do not fit in memory.
    sensitivity : bool
        Also measure how the numbers move with each threshold (thresholded scans).
    progress : callable(stage, done, total), optional
    cancel : Event or callable, optional
    """
    from .classifier import PixelClassifier
    from .measure import threshold_sensitivity
    from .memory_limit import release_free_memory

    voxel = tuple(scan.voxel_size_um)
    data = scan.data
    calibration = scan_calibration(scan.metadata)
    prepared = prepare_scan(data, options, progress=progress, cancel=cancel)
    data, region, rings, hists = prepared.data, prepared.region, prepared.rings, prepared.histograms
    given = options
    options, inference, verdict = judge_scan_contrast(hists, options, calibration)
    thresholds, store, pores = None, None, None
    if options.labels is not None:
        labels = _read_given_labels(options.labels, scan)
    elif options.model is not None:
        model = PixelClassifier.load(options.model)
        labels, store = new_label_output(scan.shape, voxel, options.memory_limit_bytes, scratch)
        from .classifier.transfer import calibration_from_scan_metadata

        try:  # the scan's own grey scale and voxel size: a model trained in 1/cm applies to any calibrated scan
            model.predict(
                data,
                labels_out=labels,
                progress=_stage(progress, "classifier"),
                cancel=(lambda: _cancelled(cancel)) if cancel is not None else None,
                calibration=calibration or calibration_from_scan_metadata(scan.metadata),
                voxel_size_um=voxel[0],
                direct=store is not None,
                band_by_position=options.carbon_band,
            )
        except LiCellInputError as exc:
            raise LiCellInputError(exc.path or scan.source or options.model, exc.problem, exc.hint) from None
        if region is not None:
            _clear_outside(labels, region, options.memory_limit_bytes)
    else:
        thresholds = suggest_scan_thresholds(hists, options, calibration)
        before_density = (
            before_scan_pore_density(options.before_scan, thresholds, options, cancel=cancel)
            if options.before_scan is not None
            else None
        )
        out, store = new_label_output(scan.shape, voxel, options.memory_limit_bytes, scratch)
        result = classify_scan(
            data,
            thresholds,
            _budget_beside_labels(options, scan.shape, store),
            histograms=hists,
            voxel_size_um=voxel,
            out=out if store is not None else None,
            progress=_stage(progress, "classification"),
            cancel=cancel,
            region=region,
            before_density=before_density,
        )
        labels, thresholds = result.labels, result.thresholds
        pores = getattr(result, "gas_pores", None)
    release_free_memory()  # each step starts from what is really held (see memory_limit)
    contrast = contrast_record(verdict, options)
    if inference is not None:
        contrast["gas_inference"] = inference.to_dict()
        if inference.gas is not None:
            contrast["source"] += " (gas inferred from the data)"
    name = scan.name or (scan.source.stem if scan.source is not None else "scan")
    try:
        m = measure_scan(
            labels,
            voxel,
            options,
            image=data,
            contrast=contrast,
            name=name,
            progress=_stage(progress, "measurement"),
            cancel=cancel,
        )
    except LiCellInputError as exc:
        if exc.path is None and options.labels is not None:
            raise LiCellInputError(options.labels, exc.problem, exc.hint) from None
        raise
    release_free_memory()
    if thresholds is not None and sensitivity:
        classify, values = _sensitivity_classifier(thresholds, options)
        m.sensitivity = threshold_sensitivity(
            data,
            values,
            classify,
            voxel,
            stack_axis=m.orientation.axis,
            collector_at_start=m.orientation.collector_at_start,
            region=region,
        )
    m.parameters["cell_region"] = _region_record(region, options)
    if inference is not None:
        m.parameters["gas_inference"] = inference.to_dict()
    if rings is not None:
        m.parameters["ring_artifacts"] = {**rings.to_dict(), "corrected": rings.any_significant}
    note_gas_pores(m, pores)
    extras = {"options": options, "gas_inference": inference, "given_options": given, "rings": rings}
    return AnalysisResult(labels, store, thresholds, contrast, m, hists, extras=extras, region=region)


def _budget_beside_labels(options: AnalysisOptions, shape: tuple[int, ...], store: Path | None) -> AnalysisOptions:
    """Options whose budget leaves room for labels held in memory (1 byte per voxel) beside the work arrays."""
    if store is not None:
        return options
    held = math.prod(int(s) for s in shape)
    return options.evolve(memory_limit_bytes=max(options.memory_limit_bytes - held, options.memory_limit_bytes // 2))


def _clear_outside(labels: Any, region: Any, memory_limit_bytes: int) -> None:
    """Set labels outside the cell region to background, slab by slab."""
    from .classes import BACKGROUND
    from .segmentation.chunks import default_slab_depth, read_slab, slab_ranges

    shape = tuple(int(s) for s in labels.shape)
    depth = default_slab_depth(shape, 2, min(128 * 2**20, max(memory_limit_bytes // 8, 2**20)))
    for a, b in slab_ranges(shape[0], depth):
        slab = np.asarray(labels[a:b])
        slab[~read_slab(region, a, b).astype(bool)] = BACKGROUND.code
        labels[a:b] = slab


def _cancelled(cancel: CancelLike) -> bool:
    from .cancellation import is_cancelled

    return is_cancelled(cancel)


def _sensitivity_classifier(thresholds: Any, options: AnalysisOptions):
    """classify(sample, {name: value}) for :func:`~napari_licell.measure.threshold_sensitivity`."""
    names = thresholds.boundary_names

    def classify(sample, values):
        from .segmentation import classify_volume

        moved = replace(thresholds, values=tuple(float(values[n]) for n in names))
        return classify_volume(
            sample, moved, stack_axis=0, collector_at_start=True, memory_limit_bytes=options.memory_limit_bytes
        ).labels

    return classify, {n: v for n, v in zip(names, thresholds.values)}


# --------------------------------------------------------------------------- files
def run_analysis(
    volume: Path,
    out_dir: Path,
    options: AnalysisOptions,
    *,
    command: list[str] | None = None,
    progress: StageProgress | None = None,
    cancel: CancelLike = None,
    memory_baseline_bytes: int | None = None,
) -> tuple[Any, dict[str, Path]]:
    """Analyse the scan file ``volume`` into ``out_dir`` (what ``napari-licell analyze`` does).

    Writes labels (``labels.tif``, or ``labels.zarr`` for big scans),
    ``measurements.json``, ``report.html``, the CSV tables and, when a bore or
    a reconstruction circle was found, ``cell_region.json`` (give it back
    with ``--roi`` after correcting it).

    ``options.memory_limit_bytes`` bounds the peak resident memory of the
    whole process (:mod:`napari_licell.memory_limit`): the process's own
    resident memory is measured here, after the analysis modules are imported
    (or taken from ``memory_baseline_bytes``, e.g. a batch running scans in
    threads of one process), and only the rest goes to the streamed steps. A
    limit below what the process needs is one LiCellInputError line.

    Returns
    -------
    measurements : CellMeasurements
        The results (with sensitivity and provenance).
    files : dict of str to Path
        The written files by role (labels, measurements, report, tables).
    """
    from .memory_limit import import_analysis_modules, process_budget, release_free_memory

    import_analysis_modules()
    budget = process_budget(
        options.memory_limit_bytes, baseline_bytes=memory_baseline_bytes, strict=options.memory_limit_given
    )
    from .io.label_store import add_label_pyramid, publish_label_store
    from .io.read_volume import read_volume
    from .io.writers import write_json, write_labels_tiff
    from .measure import make_provenance
    from .report import write_cell_report, write_measurement_tables

    volume, out_dir = Path(volume), Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise LiCellInputError(out_dir, "exists and is not a folder", "give a folder for the output")
    scan = read_volume(
        volume, voxel_size_um=options.voxel_size_um[0] if _isotropic(options.voxel_size_um) else options.voxel_size_um
    )
    voltage = None
    if options.voltage is not None:
        from .echem.cycler_readers import read_voltage_curve

        voltage = charge_for_scan(read_voltage_curve(options.voltage), options.voltage_cycle, options.voltage_step)
    out_dir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".analyze-", dir=out_dir))
    result = None
    try:
        result = analyze_scan(
            scan, options.evolve(memory_limit_bytes=budget.work_bytes), scratch, progress=progress, cancel=cancel
        )
        m, thresholds = result.measurements, result.thresholds
        m.parameters["memory"] = budget.to_dict()
        release_free_memory()
        if result.store is not None:  # zoomed-out views of the big label volume read the coarser levels
            add_label_pyramid(result.store, slab_bytes=int(min(256 * 2**20, max(2**20, budget.work_bytes // 8))))
        m.parameters["voxel_size_assumed"] = bool(scan.voxel_size_assumed)
        m.parameters["voxel_size_source"] = scan.metadata.get("voxel_size_source")
        parameters = {
            **m.parameters,
            "voxel_size_assumed": scan.voxel_size_assumed,
            "voxel_size_source": scan.metadata.get("voxel_size_source"),
            "gas": result.extras["options"].gas,
            "gas_pressure_atm": result.extras["options"].gas_pressure_atm,
            "gas_given": options.gas is not None,
            "labels_given": options.labels is not None,
            "model": str(options.model) if options.model is not None else None,
            "contrast_from": "data and fill-gas physics" if result.extras["options"].gas else "data alone",
        }
        inputs = [p for p in (volume, options.labels, options.model, options.voltage) if p is not None]
        m.provenance = make_provenance(
            parameters, thresholds=thresholds.to_dict() if thresholds else None, input_paths=inputs, command=command
        )
        label_meta = {
            "source": str(volume),
            "thresholds": thresholds.to_dict()
            if thresholds
            else (f"pixel classifier {options.model}" if options.model is not None else "given labels"),
        }
        if result.store is not None:
            labels_file = publish_label_store(result.store, out_dir / "labels.zarr", label_meta)
            _remove_stale(out_dir / "labels.tif")
        else:
            labels_file = write_labels_tiff(
                out_dir / "labels.tif", result.labels, scan.voxel_size_um, metadata=label_meta
            )
            _remove_stale(out_dir / "labels.zarr")
        name = m.name
        region_file = out_dir / "cell_region.json"
        if result.region is not None and hasattr(result.region, "save"):
            result.region.save(region_file)
        else:
            _remove_stale(region_file)
        files = {
            "labels": labels_file,
            "measurements": write_json(out_dir / "measurements.json", m.to_dict()),
            "report": write_cell_report(m, out_dir / "report.html", voltage=voltage, title=name),
        }
        files.update(write_measurement_tables(m, out_dir))
        if region_file.exists():
            files["region"] = region_file
        return m, files
    finally:
        result = None  # release the label store before its folder goes
        shutil.rmtree(scratch, ignore_errors=True)


def _isotropic(voxel: tuple[float, float, float] | None) -> bool:
    return voxel is not None and len(set(voxel)) == 1


def _remove_stale(path: Path) -> None:
    """Remove the labels of an earlier run in the other format, so one folder never holds both."""
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists():
        path.unlink()
