"""All measurements of one cell and the function that makes them: :func:`measure_cell`.

``measure_cell`` walks the label volume (and the image, when given) along
the stack axis in slabs of a few slices, twice:

1. per-slice class counts, per-column interface heights (collector top,
   carbon band, SE bottom) and, with an image, the grey-value histogram of
   every class;
2. with the SE's lower face known: the Li layer per column, Li inside the
   SE (depths, connected masses, paths) and the Li share of SE + Li voxels.

Memory stays bounded by one slab plus a few (y, x) maps, whatever the
volume size; numpy memmaps, dask and zarr arrays are read slab by slab.
:meth:`CellMeasurements.to_dict` gives the JSON contract of
``napari-licell analyze``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..classes import LI, SE, SE_LI
from ..errors import LiCellInputError
from .faraday_check import FaradayCheck, faraday_check
from .fractions import ClassFractions, DepthProfiles, SliceClassCounts, class_fractions, depth_profiles
from .grey_levels import ClassGreyHistogram, GreyBinning, labelled_li_void_contrast
from .interfaces import ColumnScan, Interfaces, find_interfaces
from .li_in_se import MIN_MASS_VOXELS, LiInSe, LiInSeScan, li_in_se_from_scan
from .li_layer import LiLayer, LiLayerScan, li_layer_from_scan
from .provenance import Provenance, json_safe, make_provenance
from .slabs import OrientedVolume, default_slab_slices
from .stack_axis import StackOrientation, find_stack_axis
from .unmixing import SeLiUnmixing, SeLiUnmixingScan
from .verdict import Verdict, judge_deposition

from ..cancellation import Cancelled

__all__ = ["CellMeasurements", "measure_cell", "MeasurementCancelled", "SE_LI_ASSUMED_LI_SHARE"]

#: Li share assumed for SE + Li voxels when there is no image to unmix them.
SE_LI_ASSUMED_LI_SHARE = 0.5


#: Raised when the ``cancel`` callback of :func:`measure_cell` returns True (the project's one ``Cancelled``).
MeasurementCancelled = Cancelled


@dataclass
class CellMeasurements:
    """Everything measured on one cell.

    Attributes
    ----------
    name : str
        Cell or scan name.
    voxel_size_um : tuple of float
        Voxel size in micrometres, in the input's axis order.
    shape : tuple of int
        Input volume shape.
    orientation : StackOrientation
        Stack axis and collector end.
    oriented_voxel_size_um : tuple of float
        (stack, y, x) voxel size in micrometres.
    fractions : ClassFractions
        Class shares and volumes, SE porosity.
    depth : DepthProfiles
        Class area fractions slice by slice from the collector end.
    interfaces : Interfaces
        Collector top, carbon band, SE bottom.
    li_layer : LiLayer
        Li layer on the collector side.
    li_in_se : LiInSe
        Li inside the SE.
    contrast : dict
        ``li_void_cnr``, ``separable``, ``reason``, ``source``.
    unmixing : SeLiUnmixing or None
        Li inside SE + Li voxels (needs the image).
    grey_values : dict or None
        Median, robust sigma and count of the grey values of every class.
    faraday : FaradayCheck or None
        Expected against measured thickness (needs current density and time).
    verdict : Verdict
        uniform / non-uniform / undetermined, with the reason.
    cross_section_labels, cross_section_image : ndarray or None
        Section through the middle of the oriented y axis, (stack, x), collector first.
    parameters : dict
        Parameters of the measurement.
    sensitivity : object or None
        Threshold sensitivity (:class:`~napari_licell.measure.sensitivity.ThresholdSensitivity`), set by callers.
    provenance : Provenance or None
        Parameters, thresholds, inputs with checksums, software versions and time
        (filled by :func:`measure_cell`; callers may replace it with a fuller one).
    """

    name: str
    voxel_size_um: tuple[float, float, float]
    shape: tuple[int, int, int]
    orientation: StackOrientation
    oriented_voxel_size_um: tuple[float, float, float]
    fractions: ClassFractions
    depth: DepthProfiles
    interfaces: Interfaces
    li_layer: LiLayer
    li_in_se: LiInSe
    contrast: dict[str, Any]
    unmixing: SeLiUnmixing | None
    grey_values: dict[str, Any] | None
    faraday: FaradayCheck | None
    verdict: Verdict
    cross_section_labels: np.ndarray | None = None
    cross_section_image: np.ndarray | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    sensitivity: Any = None
    provenance: Provenance | None = None

    @property
    def li_volume_um3(self) -> float:
        """All Li voxels, um3."""
        return self.fractions.volumes_um3[LI.key]

    @property
    def se_li_li_volume_um3(self) -> float:
        """Li inside SE + Li voxels, um3: unmixed when the image was given, else the assumed share."""
        if self.unmixing is not None:
            return self.unmixing.li_volume_um3
        return SE_LI_ASSUMED_LI_SHARE * self.fractions.se_li_volume_um3

    @property
    def se_li_li_source(self) -> str:
        return "unmixed" if self.unmixing is not None else f"assumed share {SE_LI_ASSUMED_LI_SHARE:g}"

    @property
    def li_in_se_share_with_se_li(self) -> float:
        """Share of all Li (voxels plus Li inside SE + Li) that lies inside the SE."""
        mixed = self.se_li_li_volume_um3
        total = self.li_volume_um3 + mixed
        return (self.li_in_se.volume_um3 + mixed) / total if total > 0 else 0.0

    @property
    def faraday_thickness_um(self) -> float | None:
        return self.faraday.expected_thickness_um if self.faraday else None

    def headline(self) -> dict[str, float | str | None]:
        """The few numbers a person looks at first."""
        return {
            "verdict": self.verdict.verdict,
            "li_volume_um3": self.li_volume_um3,
            "li_layer_mean_thickness_um": self.li_layer.mean_thickness_um,
            "li_layer_coverage": self.li_layer.coverage,
            "li_in_se_fraction_of_li": self.li_in_se.fraction_of_li,
            "li_in_se_max_depth_um": self.li_in_se.max_depth_um,
            "faraday_thickness_um": self.faraday_thickness_um,
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (the ``measurements.json`` contract)."""
        li_in_se = self.li_in_se.to_dict()
        li_in_se.update(
            {
                "se_li_li_volume_um3": self.se_li_li_volume_um3,
                "se_li_li_source": self.se_li_li_source,
                "fraction_of_li_including_se_li": self.li_in_se_share_with_se_li,
            }
        )
        volumes = self.fractions.to_dict()
        fractions = volumes.pop("fractions")
        out = {
            "name": self.name,
            "voxel_size_um": list(self.voxel_size_um),
            "shape": list(self.shape),
            "stack": {**self.orientation.as_dict(), "voxel_size_um": list(self.oriented_voxel_size_um)},
            "fractions": fractions,
            "volumes": volumes,
            "li_volume_um3": self.li_volume_um3,
            "li_layer": self.li_layer.to_dict(),
            "li_in_se": li_in_se,
            "faraday_thickness_um": self.faraday_thickness_um,
            "faraday": self.faraday.to_dict() if self.faraday else None,
            "contrast": dict(self.contrast),
            "verdict": self.verdict.verdict,
            "verdict_reason": self.verdict.reason,
            "interfaces": self.interfaces.to_dict(),
            "unmixing": self.unmixing.to_dict() if self.unmixing else None,
            "grey_values": self.grey_values,
            "depth_profiles": self.depth.to_dict(),
            "parameters": dict(self.parameters),
            "sensitivity": self.sensitivity.to_dict() if self.sensitivity is not None else None,
            "provenance": self.provenance.to_dict() if self.provenance is not None else None,
        }
        return json_safe(out)


def _normalise_contrast(contrast: Any) -> dict[str, Any] | None:
    """A contrast verdict as a JSON-ready dict with at least ``li_void_cnr``, ``separable``, ``reason``, ``source``.

    Accepts a mapping, an object with ``to_dict()``/``as_dict()`` (e.g. the
    segmentation's ``ContrastVerdict``) or any object with those attributes;
    extra fields (peak grey values, expected CNR, ...) are kept.
    """
    if contrast is None:
        return None
    if isinstance(contrast, Mapping):
        d = dict(contrast)
    elif hasattr(contrast, "to_dict"):
        d = dict(contrast.to_dict())
    elif hasattr(contrast, "as_dict"):
        d = dict(contrast.as_dict())
    else:
        d = {k: getattr(contrast, k) for k in ("li_void_cnr", "separable", "reason", "source") if hasattr(contrast, k)}
    cnr, separable = d.get("li_void_cnr"), d.get("separable")
    d["li_void_cnr"] = None if cnr is None else float(cnr)
    d["separable"] = None if separable is None else bool(separable)
    d["reason"] = str(d.get("reason") or "")
    d["source"] = str(d.get("source") or "given")
    return json_safe(d)


def _stack_chunk(labels: Any, axis: int) -> int:
    """Chunk length of a zarr array along the stack axis (1 when not chunked that way)."""
    chunks = getattr(labels, "chunks", None)
    if isinstance(chunks, tuple) and len(chunks) == 3 and all(isinstance(c, (int, np.integer)) for c in chunks):
        return int(chunks[axis])
    return 1


def _as_codes(slab: np.ndarray) -> np.ndarray:
    if slab.dtype == np.uint8:
        return slab
    if slab.dtype.kind not in "ui":
        raise LiCellInputError(None, f"labels must hold integer class codes, not {slab.dtype} values")
    if slab.dtype.kind == "i" and slab.size and int(slab.min()) < 0:
        raise LiCellInputError(None, "labels hold negative codes; class codes are 0..6")
    return np.minimum(slab, 255).astype(np.uint8)


def _check_voxel_size(voxel_size_um: float | tuple[float, ...]) -> tuple[float, float, float]:
    if np.ndim(voxel_size_um) == 0:
        vs = (float(voxel_size_um),) * 3  # type: ignore[arg-type]
    else:
        vs = tuple(float(v) for v in voxel_size_um)  # type: ignore[union-attr]
    if len(vs) != 3 or not all(np.isfinite(v) and v > 0 for v in vs):
        raise LiCellInputError(None, f"voxel size must be a positive number or three, in um, not {voxel_size_um!r}")
    return vs  # type: ignore[return-value]


def _image_binning(image: OrientedVolume, slab_slices: int) -> GreyBinning:
    dtype = np.dtype(image.data.dtype)
    if dtype.kind in "ui" and dtype.itemsize <= 2:
        return GreyBinning.for_dtype(dtype)
    lo, hi = np.inf, -np.inf
    for z0, z1 in image.iter_slabs(slab_slices):
        block = image.slab(z0, z1)
        finite = block[np.isfinite(block)] if block.dtype.kind == "f" else block
        if finite.size:
            lo, hi = min(lo, float(finite.min())), max(hi, float(finite.max()))
    if not np.isfinite(lo):
        lo, hi = 0.0, 1.0
    return GreyBinning.for_dtype(dtype, lo, hi)


def measure_cell(
    labels: Any,
    voxel_size_um: float | tuple[float, float, float],
    *,
    image: Any = None,
    current_density_ma_cm2: float | None = None,
    charge_minutes: float | None = None,
    contrast: Any = None,
    stack_axis: int | None = None,
    collector_at_start: bool | None = None,
    progress: Callable[[int, int], None] | None = None,
    cancel: Callable[[], bool] | None = None,
    slab_slices: int | None = None,
    find_masses: bool = True,
    min_mass_voxels: int = MIN_MASS_VOXELS,
    li_grey: float | None = None,
    se_grey: float | None = None,
    keep_cross_section: bool = True,
    name: str = "",
    thresholds: Any = None,
    input_paths: tuple[str | os.PathLike, ...] = (),
) -> CellMeasurements:
    """Measure where the lithium is in one cell.

    Parameters
    ----------
    labels : array-like (3D, integer class codes 0..6)
        Label volume (numpy, memmap, dask or zarr), any axis order.
    voxel_size_um : float or (3,) floats
        Voxel size in micrometres (in the input's axis order).
    image : array-like, optional
        The grey-value scan matching ``labels``; enables grey statistics, the
        labelled Li/void contrast and the unmixing of SE + Li voxels.
    current_density_ma_cm2 : float, optional
        Plating current density in mA/cm2 (with ``charge_minutes``: the Faraday check).
    charge_minutes : float, optional
        Charge time in minutes.
    contrast : object or mapping, optional
        Contrast verdict with ``li_void_cnr``, ``separable`` and ``reason`` (e.g. the
        segmentation's ``ContrastVerdict``). Without it the contrast is judged from
        the labelled grey values when an image is given.
    stack_axis : int, optional
        Axis across the layers; detected when None.
    collector_at_start : bool, optional
        Whether the collector is at index 0 of the stack axis; detected when None.
    progress : callable(done, total), optional
        Called after every slab.
    cancel : callable() -> bool, optional
        Polled before every slab; returning True raises :class:`MeasurementCancelled`.
    slab_slices : int, optional
        Slices per slab (default: about 32 M voxels per slab). Results do not depend on it.
    find_masses : bool
        Label connected Li masses and paths through the SE.
    min_mass_voxels : int
        Components below this size are specks, not masses.
    li_grey, se_grey : float, optional
        Pure Li and SE grey values for unmixing (default: medians of the labelled voxels).
    keep_cross_section : bool
        Keep the middle section along the stack axis for reports.
    name : str
        Name of the cell.
    thresholds : mapping or dataclass, optional
        Thresholds that made the labels, recorded in the provenance.
    input_paths : tuple of path-like
        Files the labels and image came from; their SHA-256 goes into the provenance.

    Returns
    -------
    CellMeasurements

    Raises
    ------
    LiCellInputError
        Not a 3D volume, image shape differs, bad voxel size, codes outside 0..6.
    MeasurementCancelled
        When ``cancel`` asked for it.
    """
    if len(labels.shape) != 3:
        raise LiCellInputError(None, f"labels must be a 3D volume, got shape {tuple(labels.shape)}")
    if image is not None and tuple(image.shape) != tuple(labels.shape):
        raise LiCellInputError(
            None, f"image shape {tuple(image.shape)} differs from labels shape {tuple(labels.shape)}"
        )
    voxel = _check_voxel_size(voxel_size_um)
    orientation = find_stack_axis(labels, stack_axis=stack_axis, collector_at_start=collector_at_start)
    lab = OrientedVolume(labels, orientation.axis, orientation.collector_at_start)
    img = OrientedVolume(image, orientation.axis, orientation.collector_at_start) if image is not None else None
    vox = lab.oriented_voxel_size(voxel)
    nz, ny, nx = lab.shape
    step = (
        int(slab_slices) if slab_slices else default_slab_slices(lab.shape, chunk=_stack_chunk(labels, lab.stack_axis))
    )
    ranges = list(lab.iter_slabs(step))
    total_steps = 2 * len(ranges)
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total_steps)

    def check_cancel() -> None:
        if cancel is not None and cancel():
            raise MeasurementCancelled("measurement cancelled")

    # pass 1: class counts, interfaces, grey histograms, cross-section
    counts = SliceClassCounts(nz)
    scan = ColumnScan(lab.shape, vox)
    grey_hist = ClassGreyHistogram(_image_binning(img, step)) if img is not None else None
    mid_y = ny // 2
    section_labels: list[np.ndarray] = []
    section_image: list[np.ndarray] = []
    for z0, z1 in ranges:
        check_cancel()
        slab = _as_codes(lab.slab(z0, z1))
        counts.update(slab, z0)
        scan.update(slab, z0)
        if keep_cross_section:
            section_labels.append(slab[:, mid_y, :].copy())
        if img is not None:
            grey = img.slab(z0, z1)
            grey_hist.update(slab, grey)
            if keep_cross_section:
                section_image.append(grey[:, mid_y, :].copy())
        tick()
    if counts.n_unknown:
        raise LiCellInputError(None, f"labels hold {counts.n_unknown} voxels with codes outside the class table 0..6")
    interfaces: Interfaces = find_interfaces(scan)

    # unmixing references
    unmix_scan = None
    reference_source = "given"
    if grey_hist is not None:
        li_ref = li_grey if li_grey is not None else grey_hist.median(LI.code)
        se_ref = se_grey if se_grey is not None else grey_hist.median(SE.code)
        if li_grey is None or se_grey is None:
            reference_source = "labelled-medians"
        if li_ref is not None and se_ref is not None and se_ref != li_ref and grey_hist.count(SE_LI.code):
            unmix_scan = SeLiUnmixingScan(li_ref, se_ref)

    # pass 2: Li layer, Li in SE, unmixing
    layer_scan = LiLayerScan(interfaces)
    in_se_scan = LiInSeScan(interfaces, nz, find_components=find_masses)
    for z0, z1 in ranges:
        check_cancel()
        slab = _as_codes(lab.slab(z0, z1))
        layer_scan.update(slab, z0)
        in_se_scan.update(slab, z0)
        if unmix_scan is not None:
            unmix_scan.update(slab, img.slab(z0, z1))
        tick()

    voxel_um3 = vox[0] * vox[1] * vox[2]
    fractions = class_fractions(counts.total, voxel_um3, in_se_scan.region_counts)
    depth = depth_profiles(counts.counts, vox)
    layer: LiLayer = li_layer_from_scan(layer_scan)
    se_slices = np.flatnonzero(counts.counts[:, SE.code] + counts.counts[:, SE_LI.code])
    far_end = int(se_slices[-1]) if se_slices.size and interfaces.se_found else None
    in_se = li_in_se_from_scan(in_se_scan, int(counts.total[LI.code]), far_end, min_mass_voxels)
    unmixing = unmix_scan.result(voxel_um3, reference_source) if unmix_scan is not None else None

    contrast_dict = _normalise_contrast(contrast)
    if contrast_dict is None:
        if grey_hist is not None:
            contrast_dict = labelled_li_void_contrast(grey_hist).as_dict()
        else:
            contrast_dict = {
                "li_void_cnr": None,
                "separable": None,
                "reason": "no image and no contrast verdict given",
                "source": "none",
            }

    li_volume = fractions.volumes_um3[LI.key]
    faraday = None
    if current_density_ma_cm2 is not None and charge_minutes is not None:
        mixed = unmixing.li_volume_um3 if unmixing else SE_LI_ASSUMED_LI_SHARE * fractions.se_li_volume_um3
        faraday = faraday_check(
            current_density_ma_cm2, charge_minutes, layer.mean_thickness_um, li_volume + mixed, interfaces.cell_area_um2
        )

    result = CellMeasurements(
        name=name,
        voxel_size_um=voxel,
        shape=tuple(int(s) for s in labels.shape),  # type: ignore[arg-type]
        orientation=orientation,
        oriented_voxel_size_um=vox,
        fractions=fractions,
        depth=depth,
        interfaces=interfaces,
        li_layer=layer,
        li_in_se=in_se,
        contrast=contrast_dict,
        unmixing=unmixing,
        grey_values=grey_hist.summary() if grey_hist is not None else None,
        faraday=faraday,
        verdict=Verdict("undetermined", "not judged yet"),
        cross_section_labels=np.concatenate(section_labels) if section_labels else None,
        cross_section_image=np.concatenate(section_image) if section_image else None,
        parameters={
            "voxel_size_um": list(voxel),
            "stack_axis": orientation.axis,
            "collector_at_start": orientation.collector_at_start,
            "current_density_ma_cm2": current_density_ma_cm2,
            "charge_minutes": charge_minutes,
            "min_mass_voxels": int(min_mass_voxels),
            "se_min_run_vox": interfaces.min_se_run_vox,
            "cross_section_index": mid_y,
        },
    )
    result.provenance = make_provenance(result.parameters, thresholds=thresholds, input_paths=input_paths)
    result.verdict = judge_deposition(
        li_volume_um3=li_volume,
        li_in_se_share=result.li_in_se_share_with_se_li,
        layer_coverage=layer.coverage,
        layer_mean_thickness_um=layer.mean_thickness_um,
        se_found=interfaces.se_found,
        separable=contrast_dict.get("separable"),
        contrast_reason=contrast_dict.get("reason", ""),
        n_masses=in_se.masses.count if in_se.masses else None,
        max_depth_um=in_se.max_depth_um,
        se_li_volume_um3=fractions.se_li_volume_um3,
    )
    return result
