"""A publication figure of a comparison, drawn with matplotlib's Agg backend (no Qt, no pyplot).

One column per cell: the cross-section along the stack axis (collector at
the bottom, µm axes) with its labels overlaid in the class-table colours,
the cell's voltage curve (V vs minutes) below it, and the key-numbers table
across the bottom.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from ..classes import CLASS_TABLE
from ..echem.voltage_events import decimate_for_display, find_voltage_events
from ..phantoms.voltage_curves import INLI_VS_LI_V
from .cell_titles import cell_title
from .table import LI_IN_SE, THICKNESS, VERDICT

__all__ = ["cross_section", "labels_rgba", "comparison_figure", "export_comparison_figure", "TABLE_HEADERS"]

#: Table columns of the figure and their printed headers.
TABLE_HEADERS: dict[str, str] = {
    "process": "Process",
    "pressures": "Bonding",
    "faraday_thickness_um": "Faraday (µm)",
    THICKNESS: "Li layer (µm)",
    LI_IN_SE: "Li in SE",
    VERDICT: "Verdict",
}

_CURVE_POINTS = 600  # per column: a 3-inch axes at 200 dpi


def cross_section(volume: np.ndarray, y_index: int | None = None) -> np.ndarray:
    """The (z, x) plane of a (z, y, x) volume at row ``y_index`` (the middle by default)."""
    volume = np.asarray(volume)
    if volume.ndim != 3:
        raise ValueError(f"need a 3D (z, y, x) volume, got shape {volume.shape}")
    y = volume.shape[1] // 2 if y_index is None else int(np.clip(y_index, 0, volume.shape[1] - 1))
    return volume[:, y, :]


def labels_rgba(labels: np.ndarray, alpha: float = 0.45) -> np.ndarray:
    """RGBA image of class codes in the class-table colours; background and unknown codes transparent."""
    lut = np.zeros((256, 4), dtype=float)
    for cls in CLASS_TABLE:
        if cls.code != 0:
            lut[cls.code] = cls.rgba[:3] + (alpha,)
    return lut[np.asarray(labels, dtype=np.uint8)]


def _grey_limits(section: np.ndarray) -> tuple[float, float]:
    lo, hi = np.percentile(section, [0.5, 97.0])
    return float(lo), float(max(hi, lo + 1))


def _format(value: Any, column: str) -> str:
    if isinstance(value, str):
        return value
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "–"
    if column == LI_IN_SE:
        return f"{100 * value:.0f} %"
    return f"{value:.1f}"


def _draw_section(ax, cell: Any, y_index: int | None, alpha: float) -> set[int]:
    vox = float(getattr(cell, "voxel_size_um", 1.0))
    shown: set[int] = set()
    image = getattr(cell, "image", None)
    labels = getattr(cell, "labels", None)
    ref = image if image is not None else labels
    if ref is None:
        ax.text(0.5, 0.5, "no scan", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return shown
    nz, _, nx = np.asarray(ref).shape
    extent = (0.0, nx * vox, 0.0, nz * vox)
    if image is not None:
        section = cross_section(image, y_index)
        lo, hi = _grey_limits(section)
        ax.imshow(section, cmap="gray", vmin=lo, vmax=hi, origin="lower", extent=extent, interpolation="nearest")
    if labels is not None:
        lab = cross_section(labels, y_index)
        shown.update(int(c) for c in np.unique(lab) if c != 0)
        ax.imshow(labels_rgba(lab, alpha), origin="lower", extent=extent, interpolation="nearest")
    ax.set_xlabel("x (µm)")
    return shown


def _draw_curve(ax, cell: Any, ylim: tuple[float, float] | None) -> None:
    curve = getattr(cell, "voltage", None)
    if curve is None or curve.n_points == 0:
        ax.text(0.5, 0.5, "no voltage record", ha="center", va="center", transform=ax.transAxes, fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
        return
    t, v = decimate_for_display(curve.time_min, curve.voltage_v, _CURVE_POINTS)
    ax.plot(t, v, lw=0.8, color="#1f4e9c")
    ax.axhline(INLI_VS_LI_V, color="#888888", lw=0.7, ls="--")
    meta = getattr(cell, "metadata", {}) or {}
    for scan in np.atleast_1d(
        meta.get("scan_times_min", [meta["charge_minutes"]] if meta.get("state") == "after" else [])
    ):
        ax.axvline(float(scan), color="#d04040", lw=0.7, ls=":")
    onset = find_voltage_events(curve).rise_onset_min
    if onset is not None:
        ax.axvline(onset, color="#e0702e", lw=0.9)
        ax.annotate(
            f"rise {onset:.0f} min",
            (onset, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(-2, -2),
            textcoords="offset points",
            ha="right",
            va="top",
            fontsize=7,
            color="#e0702e",
        )
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.set_xlabel("time (min)")
    ax.tick_params(labelsize=7)


def _shared_ylim(cells: Sequence[Any]) -> tuple[float, float] | None:
    lows, highs = [], []
    for cell in cells:
        curve = getattr(cell, "voltage", None)
        if curve is not None and curve.n_points:
            v = curve.voltage_v[np.isfinite(curve.voltage_v)]
            if v.size:
                lows.append(v.min())
                highs.append(v.max())
    if not lows:
        return None
    lo, hi = min(lows + [INLI_VS_LI_V]), max(highs + [INLI_VS_LI_V])
    pad = 0.05 * max(hi - lo, 0.01)
    return lo - pad, hi + pad


def comparison_figure(
    cells: Sequence[Any],
    table=None,
    y_index: int | None = None,
    labels_alpha: float = 0.45,
    column_width_in: float = 2.6,
) -> Figure:
    """Build the comparison figure.

    Parameters
    ----------
    cells : sequence
        Cells with ``name``, ``metadata``, ``image`` and/or ``labels`` (z, y, x),
        ``voxel_size_um`` (µm) and ``voltage`` (:class:`VoltageCurve` or None).
    table : pandas.DataFrame, optional
        Key numbers from :func:`~napari_licell.compare.table.key_numbers_table`,
        rows matched to cells by the ``cell`` column; no table row when None.
    y_index : int, optional
        Row (y voxel) of the cross-section, the same for every cell; the middle by default.
    labels_alpha : float
        Opacity of the labels overlay, 0..1.
    column_width_in : float
        Width of one cell's column, inches.

    Returns
    -------
    matplotlib.figure.Figure
        Attached to an Agg canvas, so ``savefig`` works without a GUI.
    """
    cells = list(cells)
    if not cells:
        raise ValueError("no cells to compare")
    n = len(cells)
    n_rows = 0 if table is None else len(table)
    table_h = 0.0 if table is None else 0.35 + 0.22 * (n_rows + 1)
    fig = Figure(figsize=(max(column_width_in * n, 6.5), 4.6 + 1.6 + table_h), layout="constrained")
    FigureCanvasAgg(fig)
    ratios = [4.6, 1.6] + ([table_h] if table is not None else [])
    grid = fig.add_gridspec(len(ratios), n, height_ratios=ratios)
    ylim = _shared_ylim(cells)
    classes_shown: set[int] = set()
    for col, cell in enumerate(cells):
        meta = getattr(cell, "metadata", {}) or {}
        ax = fig.add_subplot(grid[0, col])
        classes_shown |= _draw_section(ax, cell, y_index, labels_alpha)
        ax.set_title(cell_title(str(cell.name), meta).replace(" | ", "\n"), fontsize=8)
        if col == 0:
            ax.set_ylabel("z from collector (µm)")
        curve_ax = fig.add_subplot(grid[1, col])
        _draw_curve(curve_ax, cell, ylim)
        if col == 0:
            curve_ax.set_ylabel("voltage (V)")
    if table is not None:
        _draw_table(fig.add_subplot(grid[2, :]), cells, table)
    handles = [Patch(color=c.colour, label=c.name) for c in CLASS_TABLE if c.code in classes_shown]
    if handles:
        fig.legend(handles=handles, loc="outside upper center", ncols=min(len(handles), 6), fontsize=7, frameon=False)
    return fig


def _draw_table(ax, cells: Sequence[Any], table) -> None:
    ax.set_axis_off()
    columns = [c for c in TABLE_HEADERS if c in table.columns]
    order = {str(cell.name): i for i, cell in enumerate(cells)}
    rows = table.assign(_order=table["cell"].map(order).fillna(len(order))).sort_values("_order")
    text = [[_format(row[c], c) for c in columns] for _, row in rows.iterrows()]
    drawn = ax.table(
        cellText=text,
        colLabels=[TABLE_HEADERS[c] for c in columns],
        rowLabels=list(rows["cell"]),
        loc="center",
        cellLoc="center",
    )
    drawn.auto_set_font_size(False)
    drawn.set_fontsize(7)
    drawn.auto_set_column_width(list(range(len(columns))))
    drawn.scale(1.0, 1.15)


def export_comparison_figure(
    cells: Sequence[Any], path: str | os.PathLike, table=None, dpi: int = 200, **kwargs
) -> Path:
    """Write :func:`comparison_figure` to ``path`` (format from the suffix: .png, .svg, .pdf).

    Returns
    -------
    Path
        The file written.
    """
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".") or "png"
    if fmt not in ("png", "svg", "pdf"):
        raise ValueError(f"{path.name}: export as .png, .svg or .pdf")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig = comparison_figure(cells, table, **kwargs)
    fig.savefig(path, format=fmt, dpi=dpi, facecolor="white")
    return path
