"""Report figures, drawn with matplotlib's Agg canvas (no pyplot, no Qt) and returned as PNG bytes.

Every function takes measurement results (and optional arrays) and returns
the PNG of one figure; :func:`png_data_uri` turns it into a ``data:`` URI so
a report is one self-contained HTML file.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import ListedColormap, PowerNorm
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from ..classes import CLASS_TABLE, METAL, class_by_key, colour_rgba

__all__ = [
    "png_data_uri",
    "labels_to_rgba",
    "thickness_map_png",
    "depth_profiles_png",
    "cross_section_png",
    "voltage_curve_png",
    "li_in_se_depth_png",
    "unmixing_png",
    "sensitivity_png",
    "study_bars_png",
    "study_profiles_png",
]

_DPI = 110
#: Maps and sections larger than this (pixels per side) are shown strided.
_MAX_PIXELS = 1200


def _png(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=_DPI, bbox_inches="tight")
    return buf.getvalue()


def png_data_uri(png: bytes) -> str:
    """``data:image/png;base64,...`` for an ``<img src>``."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _stride(shape: Sequence[int]) -> int:
    return max(1, int(np.ceil(max(shape) / _MAX_PIXELS)))


def labels_to_rgba(labels: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """RGBA image of class codes in the class-table colours; background transparent."""
    table = np.zeros((256, 4), dtype=np.float32)
    table[:, :] = (1.0, 0.0, 1.0, alpha)  # codes outside the table: magenta
    for c in CLASS_TABLE:
        table[c.code] = colour_rgba(c.colour, 0.0 if c.code == 0 else alpha)
    return table[np.asarray(labels, dtype=np.uint8)]


def _legend_handles(codes: Sequence[int]) -> list[Patch]:
    return [Patch(color=c.colour, label=c.name) for c in CLASS_TABLE if c.code in codes and c.code != 0]


def thickness_map_png(
    thickness_um: np.ndarray, li_in_se_um: np.ndarray | None, voxel_yx_um: tuple[float, float]
) -> bytes:
    """Li layer thickness map (um) and, beside it, the Li inside the SE projected per column (um)."""
    s = _stride(thickness_um.shape)
    panels = [("Li layer thickness (µm)", thickness_um[::s, ::s], "viridis")]
    if li_in_se_um is not None:
        panels.append(("Li inside SE, per column (µm)", li_in_se_um[::s, ::s], "magma"))
    fig = Figure(figsize=(5.2 * len(panels), 4.4))
    ny, nx = thickness_um.shape
    extent = (0, nx * voxel_yx_um[1], ny * voxel_yx_um[0], 0)
    for n, (title, data, cmap) in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), n + 1)
        finite = data[np.isfinite(data)]
        vmax = float(np.percentile(finite, 99.5)) if finite.size else 1.0
        im = ax.imshow(data, cmap=cmap, extent=extent, vmin=0, vmax=vmax if vmax > 0 else 1.0, interpolation="nearest")
        ax.set_title(title)
        ax.set_xlabel("x (µm)")
        ax.set_ylabel("y (µm)")
        fig.colorbar(im, ax=ax, shrink=0.85, label="µm")
    fig.tight_layout()
    return _png(fig)


def depth_profiles_png(z_um: np.ndarray, area_fraction: dict[str, np.ndarray], marks_um: dict[str, float]) -> bytes:
    """Area fraction of every class against distance from the collector end (um), interfaces marked."""
    fig = Figure(figsize=(8.0, 4.0))
    ax = fig.add_subplot(1, 1, 1)
    for key, frac in area_fraction.items():
        if np.nanmax(np.nan_to_num(frac)) <= 0:
            continue
        c = class_by_key(key)
        ax.plot(z_um, frac, color=c.colour if key != "metal" else "#555555", label=c.name, lw=1.6)
    span = float(z_um[-1] - z_um[0]) if z_um.size > 1 else 1.0
    groups: list[tuple[float, list[str]]] = []
    for name, z in sorted(
        ((n, z) for n, z in marks_um.items() if z is not None and np.isfinite(z)), key=lambda t: t[1]
    ):
        if groups and z - groups[-1][0] < 0.02 * span:
            groups[-1][1].append(name)
        else:
            groups.append((float(z), [name]))
    for z, names in groups:
        ax.axvline(z, color="k", ls="--", lw=0.8)
        ax.text(
            z,
            0.98,
            " / ".join(names),
            rotation=90,
            va="top",
            ha="right",
            fontsize=7,
            transform=ax.get_xaxis_transform(),
        )
    ax.set_xlabel("distance from the collector end along the stack axis (µm)")
    ax.set_ylabel("area fraction of slice")
    ax.set_ylim(0, 1.0)
    ax.set_xlim(float(z_um[0]) if z_um.size else 0, float(z_um[-1]) if z_um.size else 1)
    ax.legend(fontsize=7, loc="upper right", ncol=2)
    fig.tight_layout()
    return _png(fig)


def cross_section_png(
    labels: np.ndarray,
    image: np.ndarray | None,
    voxel_zx_um: tuple[float, float],
    se_bottom_um: np.ndarray | None = None,
) -> bytes:
    """Section along the stack axis (collector at the bottom): grey image and labels overlaid in class colours."""
    s = _stride(labels.shape)
    lab = labels[::s, ::s]
    nz, nx = labels.shape
    extent = (0, nx * voxel_zx_um[1], 0, nz * voxel_zx_um[0])
    n_panels = 2 if image is not None else 1
    aspect_h = max(3.0, min(9.0, 4.0 * nz / max(nx, 1)))
    fig = Figure(figsize=(4.6 * n_panels, aspect_h))
    axes = [fig.add_subplot(1, n_panels, i + 1) for i in range(n_panels)]
    if image is not None:
        img = image[::s, ::s].astype(np.float64)
        # grey range of the cell's low-attenuation phases: the metals would leave the SE black
        inside = (lab != 0) & (lab != METAL.code)
        lo, hi = np.percentile(img[inside] if np.any(inside) else img, [0.5, 99.5])
        for ax, overlay in zip(axes, (False, True)):
            # a square-root-like stretch keeps Li, gas and carbon (all dark beside the SE) apart
            ax.imshow(
                img,
                cmap="gray",
                norm=PowerNorm(0.4, vmin=lo, vmax=hi, clip=True),
                origin="lower",
                extent=extent,
                interpolation="nearest",
            )
            if overlay:
                ax.imshow(labels_to_rgba(lab, 0.5), origin="lower", extent=extent, interpolation="nearest")
    else:
        axes[0].set_facecolor("black")
        axes[0].imshow(labels_to_rgba(lab, 1.0), origin="lower", extent=extent, interpolation="nearest")
    x_um = (np.arange(nx) + 0.5) * voxel_zx_um[1]
    for ax in axes:
        if se_bottom_um is not None:
            ax.plot(x_um, se_bottom_um, color="#00b7d6", lw=0.9, ls="--")
        ax.set_xlabel("x (µm)")
        ax.set_ylabel("stack axis (µm from collector end)")
    axes[0].set_title("scan" if image is not None else "labels")
    if image is not None:
        axes[1].set_title("labels overlaid")
    present = sorted(int(v) for v in np.unique(lab))
    fig.legend(handles=_legend_handles(present), loc="lower center", ncol=4, fontsize=7, frameon=False)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return _png(fig)


def voltage_curve_png(time_min: np.ndarray, voltage_v: np.ndarray, events: Any = None) -> bytes:
    """Voltage (V) against time (minutes); plateau and rise onset marked when known."""
    fig = Figure(figsize=(8.0, 3.2))
    ax = fig.add_subplot(1, 1, 1)
    t, v = np.asarray(time_min, dtype=float), np.asarray(voltage_v, dtype=float)
    if t.size > 4000:
        from ..echem.voltage_events import decimate_for_display

        t, v = decimate_for_display(t, v, 1000)
    ax.plot(t, v, color="#1f4e79", lw=1.0)
    if events is not None:
        plateau = getattr(events, "plateau_v", None)
        onset = getattr(events, "rise_onset_min", None)
        if plateau is not None:
            ax.axhline(plateau, color="#888888", ls="--", lw=0.8, label=f"plateau {plateau:.3f} V")
        if onset is not None:
            ax.axvline(onset, color="#c0392b", ls="--", lw=0.9, label=f"rise onset {onset:.0f} min")
        if plateau is not None or onset is not None:
            ax.legend(fontsize=8, loc="best")
    ax.set_xlabel("time (min)")
    ax.set_ylabel("voltage (V)")
    fig.tight_layout()
    return _png(fig)


def li_in_se_depth_png(depth_um: np.ndarray, volume_um3: np.ndarray, mass_sizes_um3: np.ndarray | None) -> bytes:
    """Li volume inside the SE against depth from the SE's lower face; mass sizes beside it."""
    n = 2 if mass_sizes_um3 is not None and mass_sizes_um3.size else 1
    fig = Figure(figsize=(4.8 * n, 3.4))
    ax = fig.add_subplot(1, n, 1)
    if depth_um.size:
        width = float(depth_um[1] - depth_um[0]) if depth_um.size > 1 else 1.0
        ax.bar(depth_um, volume_um3, width=width, color=class_by_key("li").colour)
    ax.set_xlabel("depth into the SE (µm)")
    ax.set_ylabel("Li volume per layer (µm³)")
    ax.set_title("Li inside the SE by depth")
    if n == 2:
        ax2 = fig.add_subplot(1, 2, 2)
        ax2.bar(np.arange(1, mass_sizes_um3.size + 1), mass_sizes_um3, color="#b8860b")
        ax2.set_yscale("log")
        ax2.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax2.set_xlabel("mass rank")
        ax2.set_ylabel("volume (µm³)")
        ax2.set_title("connected Li masses")
    fig.tight_layout()
    return _png(fig)


def unmixing_png(bin_edges: np.ndarray, counts: np.ndarray, mean_share: float) -> bytes:
    """Histogram of the Li share in SE + Li voxels."""
    fig = Figure(figsize=(4.8, 3.2))
    ax = fig.add_subplot(1, 1, 1)
    centres = 0.5 * (bin_edges[:-1] + bin_edges[1:])
    ax.bar(centres, counts, width=np.diff(bin_edges), color=class_by_key("se_li").colour)
    ax.axvline(mean_share, color="k", ls="--", lw=0.9, label=f"mean {mean_share:.2f}")
    ax.set_xlabel("Li volume share in SE + Li voxel")
    ax.set_ylabel("voxels")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return _png(fig)


def sensitivity_png(change: dict[str, dict[str, float | None]], share_quantities: Sequence[str] = ()) -> bytes:
    """Largest change of the headline numbers per threshold moved by one step (in %; shares in points)."""
    names = list(change)
    quantities = list(next(iter(change.values()))) if names else []
    fig = Figure(figsize=(7.0, 3.4))
    ax = fig.add_subplot(1, 1, 1)
    width = 0.8 / max(len(quantities), 1)
    for n, q in enumerate(quantities):
        vals = [100.0 * (change[name][q] or 0.0) for name in names]
        label = f"{q} (points)" if q in share_quantities else f"{q} (%)"
        ax.bar(np.arange(len(names)) + n * width, vals, width=width, label=label)
    ax.set_xticks(np.arange(len(names)) + 0.4 - width / 2)
    ax.set_xticklabels(names, fontsize=8)
    ax.set_ylabel("largest change for ± one step")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return _png(fig)


def study_bars_png(
    names: Sequence[str], layer_um: Sequence[float], faraday_um: Sequence[float | None], li_in_se_share: Sequence[float]
) -> bytes:
    """Per cell: Li layer thickness against the Faraday thickness, and the Li-in-SE share."""
    fig = Figure(figsize=(max(6.0, 1.6 * len(names) + 3), 3.6))
    ax1 = fig.add_subplot(1, 2, 1)
    x = np.arange(len(names))
    ax1.bar(x - 0.2, layer_um, width=0.4, label="Li layer (measured)", color=class_by_key("li").colour)
    ax1.bar(x + 0.2, [f if f is not None else 0.0 for f in faraday_um], width=0.4, label="Faraday", color="#999999")
    ax1.set_xticks(x)
    ax1.set_xticklabels(names, rotation=30, ha="right", fontsize=8)
    ax1.set_ylabel("thickness (µm)")
    top = max([*layer_um, *[f for f in faraday_um if f is not None], 1.0])
    ax1.set_ylim(0, 1.3 * top)
    ax1.legend(fontsize=7, loc="upper left", ncol=2)
    ax2 = fig.add_subplot(1, 2, 2)
    ax2.bar(x, [100 * s for s in li_in_se_share], color=class_by_key("se_li").colour)
    ax2.set_xticks(x)
    ax2.set_xticklabels(names, rotation=30, ha="right", fontsize=8)
    ax2.set_ylabel("Li inside SE (% of Li)")
    ax2.set_ylim(0, 100)
    fig.tight_layout()
    return _png(fig)


def study_profiles_png(
    names: Sequence[str], profiles: Sequence[tuple[np.ndarray, np.ndarray]], key: str = "li"
) -> bytes:
    """One class's depth profile for every cell of a study, overlaid."""
    fig = Figure(figsize=(8.0, 3.6))
    ax = fig.add_subplot(1, 1, 1)
    cmap = ListedColormap(["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666"])
    for n, (name, (z, frac)) in enumerate(zip(names, profiles)):
        ax.plot(z, frac, label=name, color=cmap(n % cmap.N), lw=1.4)
    ax.set_xlabel("distance from the collector end (µm)")
    ax.set_ylabel(f"{class_by_key(key).name} area fraction")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return _png(fig)
