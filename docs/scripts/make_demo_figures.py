"""Render docs/images/demo_<cell>.png: each demo cell's cross-section beside its voltage curve.

Run: .venv/bin/python docs/scripts/make_demo_figures.py
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import ListedColormap  # noqa: E402

from napari_licell.classes import CLASS_TABLE  # noqa: E402
from napari_licell.phantoms import INLI_VS_LI_V, load_demo_study  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "images"


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    class_cmap = ListedColormap([c.colour for c in CLASS_TABLE])
    for cell in load_demo_study():
        y = cell.image.shape[1] // 2
        section = cell.image[:, y, :].astype(float)
        truth = cell.labels[:, y, :]
        extent = (0, section.shape[1] * cell.voxel_size_um, 0, section.shape[0] * cell.voxel_size_um)
        lo, hi = np.percentile(section, [0.5, 97])
        fig, axes = plt.subplots(1, 3, figsize=(11, 4.2), gridspec_kw={"width_ratios": [1, 1, 2.2]})
        axes[0].imshow((np.clip((section - lo) / (hi - lo), 0, 1)) ** 0.45, cmap="gray", origin="lower", extent=extent)
        axes[0].set_title("CT cross-section")
        axes[1].imshow(
            truth,
            cmap=class_cmap,
            vmin=0,
            vmax=len(CLASS_TABLE) - 1,
            origin="lower",
            extent=extent,
            interpolation="nearest",
        )
        axes[1].set_title("ground truth")
        for ax in axes[:2]:
            ax.set_xlabel("x (µm)")
        axes[0].set_ylabel("height above crop bottom (µm)")
        if cell.voltage is not None:
            v = cell.voltage
            axes[2].plot(v.time_min, v.voltage_v, lw=0.8)
            axes[2].axhline(INLI_VS_LI_V, ls="--", color="grey", lw=0.8, label="InLi/Li 0.622 V")
            axes[2].set_xlabel("time (min)")
            axes[2].set_ylabel("cell voltage (V)")
            axes[2].legend(loc="upper left")
            axes[2].set_title(f"charge at {v.current_density_ma_cm2:g} mA/cm²")
        else:
            axes[2].axis("off")
            axes[2].text(0.05, 0.5, f"{cell.name}: dummy cell (Li + carbon),\nno charging curve", fontsize=11)
        fig.suptitle(f"{cell.name}: {cell.metadata.get('process_description', 'Li + carbon dummy cell')}")
        fig.tight_layout()
        fig.savefig(OUT / f"demo_{cell.name}.png", dpi=80)
        plt.close(fig)
        print(OUT / f"demo_{cell.name}.png")


if __name__ == "__main__":
    main()
