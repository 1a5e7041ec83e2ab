"""Figures of docs/full_view_scans.md: the full-view phantom, the cell region found, the corrections.

Run from the repository root:  python docs/scripts/make_full_view_figures.py
Writes docs/images/full_view_*.png and prints the numbers quoted on the page.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.patches import Circle  # noqa: E402

from napari_licell.io.volume import Volume  # noqa: E402
from napari_licell.phantoms import paper_cell  # noqa: E402
from napari_licell.phantoms.full_view import JigView, make_full_view_cell  # noqa: E402
from napari_licell.pipeline import AnalysisOptions, analyze_scan  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "images"
N = 160
VOX = 0.54


def main() -> None:
    spec = paper_cell("process3", shape=(N, N, N), charge_minutes=4000 * 40 / 64.65, seed=4)
    jig = JigView.scaled_to_view(N * VOX, centre_offset_um=(3.0, -4.0), tilt_deg=2.0)
    clean = make_full_view_cell(spec, jig)
    rough = make_full_view_cell(spec, jig.with_(rings_per_cm=0.3, cupping=0.15), export="float32-quantized")
    scratch = Path(tempfile.mkdtemp())
    runs = {}
    for name, cell, roi in (
        ("whole volume", clean, "none"),
        ("cell region", clean, "auto"),
        ("rings + cupping, corrected", rough, "auto"),
    ):
        res = analyze_scan(
            Volume(cell.image, (VOX,) * 3, name=name), AnalysisOptions(gas="xe", roi=roi), scratch, sensitivity=False
        )
        runs[name] = res
        m = res.measurements
        print(
            f"{name}: layer {m.li_layer.mean_thickness_um:.1f} um (truth {cell.truth.li_layer_thickness_um:.1f}), "
            f"verdict {m.verdict.verdict}"
        )

    # 1: the phantom
    fig, axes = plt.subplots(1, 4, figsize=(14, 3.6))
    for ax, z, title in zip(axes, (6, 50, 140), ("collector", "Li layer", "solid electrolyte")):
        ax.imshow(clean.image[z], cmap="gray", vmin=-0.5, vmax=3.0)
        ax.set_title(f"plane {z}: {title}")
        ax.axis("off")
    axes[3].imshow(clean.image[:, N // 2], cmap="gray", vmin=-0.5, vmax=80, aspect="auto")
    axes[3].set_title("side view (y = middle)")
    axes[3].axis("off")
    fig.suptitle("Full-view phantom (float32, 1/cm): bore, PEEK tube, Xe, outer PEEK tube, Xe, no data")
    fig.tight_layout()
    fig.savefig(OUT / "full_view_phantom.png", dpi=80)
    plt.close(fig)

    # 2: the region found
    region = runs["cell region"].region
    fig, axes = plt.subplots(1, 2, figsize=(8, 4))
    for ax, circle in zip(axes, region.circles()):
        z = circle["plane"]
        ax.imshow(clean.image[z], cmap="gray", vmin=-0.5, vmax=3.0)
        cy, cx = circle["centre_yx"]
        ax.add_patch(Circle((cx, cy), circle["radius_vox"], fill=False, color="#e8c93a", lw=1.5))
        rc = region.recon
        ax.add_patch(
            Circle(
                (rc.centre_start[1], rc.centre_start[0]),
                rc.radius_vox - 1.5,
                fill=False,
                color="#3aa8e8",
                lw=1,
                ls="--",
            )
        )
        ax.set_title(f"plane {z}: bore centre ({cy:.1f}, {cx:.1f})")
        ax.axis("off")
    fig.suptitle("Cell region found: bore (yellow, a circle per end) and reconstruction circle (blue)")
    fig.tight_layout()
    fig.savefig(OUT / "full_view_region.png", dpi=80)
    plt.close(fig)

    # 3: labels without / with the region, and with artifacts corrected
    fig, axes = plt.subplots(1, 4, figsize=(14, 3.6))
    axes[0].imshow(rough.image[140], cmap="gray", vmin=40, vmax=80)
    axes[0].set_title("rings + cupping (SE plane)")
    for ax, name in zip(axes[1:], runs):
        ax.imshow(
            np.asarray(runs[name].labels)[:, N // 2],
            cmap="tab10",
            vmin=0,
            vmax=9,
            aspect="auto",
            interpolation="nearest",
        )
        m = runs[name].measurements
        ax.set_title(f"{name}\nlayer {m.li_layer.mean_thickness_um:.1f} µm, {m.verdict.verdict}")
    for ax in axes:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(OUT / "full_view_labels.png", dpi=80)
    plt.close(fig)


if __name__ == "__main__":
    main()
