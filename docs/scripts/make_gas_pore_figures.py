"""Figures of docs/full_view_scans.md for gas pores in the SE and drift on a short SE.

Run from the repository root:  python docs/scripts/make_gas_pore_figures.py
Writes docs/images/gas_pores.png and docs/images/drift_short_se.png and prints the numbers quoted on the page.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import napari_licell.pipeline as pipeline  # noqa: E402
import napari_licell.segmentation.rings as rings_module  # noqa: E402
from napari_licell.classes import CLASS_TABLE, SE_LI, VOID  # noqa: E402
from napari_licell.io.volume import Volume  # noqa: E402
from napari_licell.phantoms import make_synthetic_cell, paper_cell  # noqa: E402
from napari_licell.phantoms.full_view import JigView, make_full_view_cell  # noqa: E402
from napari_licell.pipeline import AnalysisOptions, analyze_scan, find_scan_region  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "images"
VOX = 0.54


def _label_rgb(labels: np.ndarray) -> np.ndarray:
    lut = np.zeros((256, 3))
    for c in CLASS_TABLE:
        lut[c.code] = [int(c.colour[i : i + 2], 16) / 255.0 for i in (1, 3, 5)]
    return lut[labels]


def gas_pores() -> None:
    spec = paper_cell(
        "process3",
        shape=(200, 96, 96),
        charge_minutes=4000 * 40 / 64.65,
        seed=4,
        se_porosity=0.035,
        se_pore_radius_um=(0.6, 1.4),
    )
    cell = make_synthetic_cell(spec)
    scan = Volume(cell.image, (VOX,) * 3, name="small pores")
    keep = pipeline.resolve_scan_gas_pores
    pipeline.resolve_scan_gas_pores = lambda *a, **k: None
    t0 = time.perf_counter()
    before = analyze_scan(scan, AnalysisOptions(gas="xe"), Path(tempfile.mkdtemp()), sensitivity=False)
    t_before = time.perf_counter() - t0
    pipeline.resolve_scan_gas_pores = keep
    t0 = time.perf_counter()
    after = analyze_scan(scan, AnalysisOptions(gas="xe"), Path(tempfile.mkdtemp()), sensitivity=False)
    t_after = time.perf_counter() - t0
    truth_void = cell.labels == VOID.code
    for name, res in (("without the pore step", before), ("with it", after)):
        m, lab = res.measurements, np.asarray(res.labels)
        print(
            f"{name}: verdict {m.verdict.verdict}; Li in SE (SE + Li included) "
            f"{100 * m.li_in_se_share_with_se_li:.1f} %; pore voxels labelled SE + Li "
            f"{np.count_nonzero(lab[truth_void] == SE_LI.code)}, void {np.count_nonzero(lab[truth_void] == VOID.code)} "
            f"of {np.count_nonzero(truth_void)}; all void voxels {np.count_nonzero(lab == VOID.code)}"
        )
    print("verdict:", after.measurements.verdict.reason)
    print(
        "gas pores:",
        {
            k: after.measurements.parameters["gas_pores"][k]
            for k in ("n_pores", "n_gas_core", "n_at_anode", "n_li_core", "ambiguous_um3")
        },
    )
    print(f"analyze {t_before:.2f} s without the step, {t_after:.2f} s with it (same run)")
    z = 170
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.8))
    axes[0].imshow(cell.image[z], cmap="gray")
    axes[0].set_title(f"scan, plane {z} (SE with small Xe pores)")
    axes[1].imshow(_label_rgb(np.asarray(before.labels)[z]))
    axes[1].set_title("classified: pores as SE + Li")
    axes[2].imshow(_label_rgb(np.asarray(after.labels)[z]))
    axes[2].set_title("after the pore step: gas (void)")
    for ax in axes:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(OUT / "gas_pores.png", dpi=80)
    plt.close(fig)


def drift() -> None:
    spec = paper_cell("process3", shape=(200, 128, 128), seed=4)
    cell = make_full_view_cell(spec, JigView.scaled_to_view(128 * VOX, drift=0.15))
    region = find_scan_region(cell.image)
    seen = {}
    orig = rings_module._drift

    def keep(levels, planes_z, zero, noise, nz):
        seen.update(levels=np.asarray(levels), planes=np.asarray(planes_z), zero=zero)
        return orig(levels, planes_z, zero, noise, nz)

    rings_module._drift = keep
    rings = rings_module.estimate_rings(cell.image, centre_yx=region.recon.centre_start, region=region)
    rings_module._drift = orig
    res = analyze_scan(
        Volume(cell.image, (VOX,) * 3, name="drift"),
        AnalysisOptions(gas="xe"),
        Path(tempfile.mkdtemp()),
        sensitivity=False,
    )
    m = res.measurements
    print(
        f"drift: {rings.drift_grey:.2f} grey (true {0.15 * 61.0:.2f}); verdict {m.verdict.verdict}, "
        f"layer {m.li_layer.mean_thickness_um:.1f} um (truth {cell.truth.li_layer_thickness_um:.1f})"
    )
    lv, zz = seen["levels"] - seen["zero"], seen["planes"]
    g = 1.0 + rings.drift_per_plane * (np.arange(200) - rings.drift_ref_plane)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for ax, lo, hi, name in ((axes[0], 100, 400, "collector steel"), (axes[1], 30, 100, "SE")):
        sel = (lv > lo) & (lv < hi)
        ax.plot(zz[sel], lv[sel], "o", label="plane level (1/cm)")
        ref = np.median(lv[sel] / np.interp(zz[sel], np.arange(200), g))
        ax.plot(np.arange(200), ref * g, "-", label="one drift for all materials")
        ax.set_xlabel("plane along the stack")
        ax.set_title(name)
        ax.legend(fontsize=8)
    fig.suptitle("Drift fitted on the steel (first planes) and the SE (last quarter) at once")
    fig.tight_layout()
    fig.savefig(OUT / "drift_short_se.png", dpi=80)
    plt.close(fig)


if __name__ == "__main__":
    gas_pores()
    drift()
