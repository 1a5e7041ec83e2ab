"""Self-contained HTML reports: one per cell, one per study comparing cells.

Figures are PNGs embedded as base64 ``data:`` URIs (matplotlib Agg, no Qt),
so a report is a single file that opens anywhere. Each report also carries
every number: the key numbers as tables and the full measurement JSON in a
collapsible block.
"""

from __future__ import annotations

import html
import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..measure.verdict import SHARE_WORDS
from . import figures
from .tables import study_rows

__all__ = ["cell_report_html", "write_cell_report", "study_report_html", "write_study_report", "voxel_size_note"]

_CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 1100px;
       color: #222; line-height: 1.4; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { font-size: 1.25em; border-bottom: 1px solid #ddd; margin-top: 1.8em; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.92em; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f4f4f4; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.verdict { padding: 0.8em 1em; border-radius: 6px; margin: 1em 0; font-size: 1.05em; }
.uniform { background: #e3f4e1; border: 1px solid #7bbf72; }
.non-uniform { background: #fdebd8; border: 1px solid #e59a4b; }
.undetermined { background: #ececec; border: 1px solid #aaa; }
.warning { background: #fff4cc; border: 1px solid #d9b200; padding: 0.5em 1em; border-radius: 6px; }
figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-size: 0.88em; color: #555; }
pre { background: #f7f7f7; padding: 0.8em; overflow-x: auto; font-size: 0.8em; max-height: 30em; }
.muted { color: #666; font-size: 0.88em; }
"""


def _fmt(value: Any) -> str:
    """A number for a table: thousands separators from 1000 up, four significant digits below."""
    if value is None:
        return "—"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if not math.isfinite(v):
            return "—"
        if abs(v) >= 1000:
            return f"{v:,.0f}"
        if v == 0 or abs(v) >= 1e-3:
            return f"{v:.4g}"
        return f"{v:.3e}"
    return html.escape(str(value))


def _pct(value: float | None) -> str:
    if value is None or not math.isfinite(float(value)):
        return "—"
    return f"{100.0 * float(value):.1f} %"


def _table(rows: Sequence[tuple[str, str, str]], headers: tuple[str, str, str] = ("quantity", "value", "unit")) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        f"<tr><td>{html.escape(name)}</td><td class='num'>{value}</td><td>{html.escape(unit)}</td></tr>"
        for name, value, unit in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _figure(png: bytes, caption: str) -> str:
    return (
        f"<figure><img src='{figures.png_data_uri(png)}' alt='{html.escape(caption)}'>"
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def _voltage_events(voltage: Any) -> Any:
    try:
        from ..echem.voltage_events import find_voltage_events

        return find_voltage_events(voltage)
    except Exception:  # noqa: BLE001 - a curve without a plateau still gets plotted
        return None


def _gas_pore_rows(m: Any) -> list[tuple[str, str, str]]:
    """Gas pores found in the SE and what stayed ambiguous (gas pore or Li), when the step ran."""
    pores = getattr(m, "parameters", {}).get("gas_pores")
    if not pores:
        return []
    return [
        ("gas pores in the SE (isolated dark regions relabelled as gas)", _fmt(pores["n_pores"]), ""),
        ("ambiguous: gas pore or Li (not counted as Li)", _fmt(pores["ambiguous_um3"]), "µm³"),
    ]


def _key_numbers(m: Any) -> list[tuple[str, str, str]]:
    layer, in_se, fr = m.li_layer, m.li_in_se, m.fractions
    rows = [
        ("voxel size (z, y, x)", ", ".join(_fmt(v) for v in m.voxel_size_um), "µm"),
        (
            "stack axis / collector end",
            f"{m.orientation.axis} / {'start' if m.orientation.collector_at_start else 'end'}",
            "",
        ),
        ("cell area", _fmt(m.interfaces.cell_area_um2), "µm²"),
        ("Li volume (all Li voxels)", _fmt(m.li_volume_um3), "µm³"),
        ("Li layer mean thickness", _fmt(layer.mean_thickness_um), "µm"),
        ("Li layer thickness std", _fmt(layer.std_thickness_um), "µm"),
        ("Li layer coverage", _pct(layer.coverage), ""),
        ("Li layer uniformity (1 − CV)", _fmt(layer.uniformity), ""),
        ("Li layer thickness 5–95 %", f"{_fmt(layer.p5_thickness_um)} – {_fmt(layer.p95_thickness_um)}", "µm"),
        ("Li layer dense-equivalent thickness", _fmt(layer.dense_equivalent_thickness_um), "µm"),
        ("Li layer tilt", _fmt(layer.tilt_deg), "degree"),
        ("Li inside SE, volume", _fmt(in_se.volume_um3), "µm³"),
        ("Li inside SE, share of Li voxels", _pct(in_se.fraction_of_li), ""),
        (
            f"Li inside SE, share of Li ({SHARE_WORDS}, {m.se_li_li_source}; the verdict's share)",
            _pct(m.li_in_se_share_with_se_li),
            "",
        ),
        ("Li inside SE, max depth", _fmt(in_se.max_depth_um), "µm"),
        ("Li inside SE, median / 90th pct depth", f"{_fmt(in_se.p50_depth_um)} / {_fmt(in_se.p90_depth_um)}", "µm"),
    ]
    if in_se.masses is not None:
        rows += [
            ("connected Li masses (≥ %d voxels)" % in_se.masses.min_mass_voxels, _fmt(in_se.masses.count), ""),
            ("largest Li mass", _fmt(in_se.masses.largest_um3), "µm³"),
            ("masses grown from the SE's lower face", _fmt(in_se.masses.n_touching_interface), ""),
        ]
    if in_se.path is not None:
        p = in_se.path
        rows += [
            ("SE thickness in view", _fmt(p.se_thickness_in_view_um), "µm"),
            ("connected Li reach into SE", _fmt(p.li_reach_um), "µm"),
            ("connected Li + SE+Li reach into SE", _fmt(p.li_se_li_reach_um), "µm"),
            ("path through the SE in view (short-circuit risk)", _fmt(p.short_circuit_risk), ""),
        ]
    rows += [
        ("SE + Li volume", _fmt(fr.se_li_volume_um3), "µm³"),
        ("Li inside SE + Li voxels", _fmt(m.se_li_li_volume_um3), "µm³"),
        ("gas-filled void volume", _fmt(fr.void_volume_um3), "µm³"),
        *_gas_pore_rows(m),
        ("SE porosity (gas-filled)", _pct(fr.se_porosity), ""),
    ]
    if m.faraday is not None:
        f = m.faraday
        rows += [
            (
                "current density / charge time",
                f"{_fmt(f.current_density_ma_cm2)} / {_fmt(f.charge_minutes)}",
                "mA/cm² / min",
            ),
            ("Faraday thickness (expected)", _fmt(f.expected_thickness_um), "µm"),
            ("measured layer / Faraday", _pct(f.layer_over_expected), ""),
            ("all Li as dense layer / Faraday", _pct(f.li_over_expected), ""),
        ]
    c = m.contrast
    rows += [
        ("Li/void contrast-to-noise ratio", _fmt(c.get("li_void_cnr")), ""),
        ("Li and voids separable", _fmt(c.get("separable")), ""),
    ]
    if m.unmixing is not None:
        u = m.unmixing
        rows += [
            ("mean Li share in SE + Li voxels", _fmt(u.mean_li_share), ""),
            ("reference grey Li / SE", f"{_fmt(u.li_grey)} / {_fmt(u.se_grey)}", "grey"),
        ]
    return rows


def _fractions_table(m: Any) -> str:
    from ..classes import class_by_key

    rows = [(class_by_key(k).name, _pct(v), "") for k, v in m.fractions.fractions.items()]
    vols = m.fractions.volumes_um3
    rows = [(name, f"{share} ({_fmt(vols[k])} µm³)", "") for (name, share, _), k in zip(rows, m.fractions.fractions)]
    return _table(rows, ("class", "share of labelled volume (volume)", ""))


def _interfaces_table(m: Any) -> str:
    rows = []
    surfaces = [*m.interfaces.surfaces(), m.li_layer.li_bottom, m.li_layer.li_top]
    for s in sorted(surfaces, key=lambda s: s.mean_height_um if math.isfinite(s.mean_height_um) else 1e30):
        d = s.to_dict()
        rows.append(
            (
                s.name.replace("_", " "),
                f"{_fmt(d['mean_height_um'])} µm, coverage {_pct(d['coverage'])}, "
                f"tilt {_fmt(d['tilt_deg'])}°, roughness {_fmt(d['roughness_um'])} µm",
                "",
            )
        )
    return _table(rows, ("surface", "mean height from collector end, coverage, tilt, roughness", ""))


def _step(s: Any, name: str) -> float | None:
    deltas = [abs(r.delta) for r in s.rows if r.threshold == name]
    return max(deltas) if deltas else None


def _sensitivity_html(m: Any) -> str:
    s = m.sensitivity
    if s is None:
        return ""
    from ..measure.sensitivity import SHARE_QUANTITIES

    rel = s.largest_change()
    rows = []
    for name, per in rel.items():
        text = []
        for q, v in per.items():
            if v is None:
                text.append(f"{q}: from 0")
            elif q in SHARE_QUANTITIES:
                text.append(f"{q}: {100 * v:.2f} percentage points")
            else:
                text.append(f"{q}: {_pct(v)}")
        rows.append((f"{name} = {_fmt(s.thresholds[name])} (step {_fmt(_step(s, name))})", ", ".join(text), ""))
    parts = [
        "<h2>Threshold sensitivity</h2>",
        f"<p class='muted'>Each threshold moved down and up by one step and the image re-classified on "
        f"{s.n_sections} cross-sections along the stack axis ({_pct(s.sampled_fraction)} of the volume).</p>",
        _table(rows, ("threshold (step in grey values)", "largest change for ± one step", "")),
    ]
    if rel:
        parts.append(
            _figure(
                figures.sensitivity_png(rel, SHARE_QUANTITIES),
                "Largest change of each headline number for ± one step: volume and thickness "
                "relative to the baseline, the Li-in-SE share in percentage points.",
            )
        )
    return "".join(parts)


def _provenance_html(m: Any) -> str:
    p = m.provenance
    if p is None:
        return ""
    d = p.to_dict()
    sw = ", ".join(f"{html.escape(k)} {html.escape(str(v))}" for k, v in d["software"].items() if v)
    inputs = "".join(
        f"<tr><td>{html.escape(i['path'])}</td><td class='num'>{_fmt(i['size_bytes'])}</td><td><code>{i['sha256']}</code></td></tr>"
        for i in d["inputs"]
    )
    return (
        "<h2>Provenance</h2>"
        f"<p class='muted'>Created {html.escape(d['created_utc'])} on {html.escape(d['platform'])}.<br>Software: {sw}.</p>"
        + (f"<table><tr><th>input</th><th>bytes</th><th>SHA-256</th></tr>{inputs}</table>" if inputs else "")
        + f"<p class='muted'>Parameters: <code>{html.escape(json.dumps(d['parameters']))}</code></p>"
        + (
            f"<p class='muted'>Thresholds: <code>{html.escape(json.dumps(d['thresholds']))}</code></p>"
            if d.get("thresholds")
            else ""
        )
    )


def voxel_size_note(m: Any) -> str | None:
    """The line at the top of a report when the voxel size was assumed (the scan held none), else None."""
    params = getattr(m, "parameters", None) or {}
    if params.get("voxel_size_source") != "default":  # found in the file, or typed in
        return None
    size = " × ".join(f"{v:g}" for v in sorted(set(m.voxel_size_um)))
    return (
        f"Voxel size assumed: the scan holds none, so {size} µm was taken for every length, area and "
        f"volume in this report. Give the real voxel size (--voxel-size-um) and analyse again."
    )


def cell_report_html(measurements: Any, *, voltage: Any = None, title: str | None = None) -> str:
    """The HTML text of one cell's report.

    Parameters
    ----------
    measurements : CellMeasurements
        Results of :func:`~napari_licell.measure.measure_cell`.
    voltage : VoltageCurve, optional
        The cell's charging curve (time in minutes, voltage in V).
    title : str, optional
        Heading (default: the cell's name).
    """
    m = measurements
    name = title or m.name or "cell"
    vz, vy, vx = m.oriented_voxel_size_um
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{html.escape(name)} — napari-licell report</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(name)}</h1>",
        *([f"<p class='warning'><b>Warning:</b> {html.escape(note)}</p>"] if (note := voxel_size_note(m)) else []),
        f"<p class='muted'>Lithium deposition measured by napari-licell from class labels "
        f"(volume {' × '.join(str(s) for s in m.shape)} voxels).</p>",
        f"<div class='verdict {html.escape(m.verdict.verdict)}'><b>Verdict: {html.escape(m.verdict.verdict)}</b> — "
        f"{html.escape(m.verdict.reason)}</div>",
        "<h2>Key numbers</h2>",
        _table(_key_numbers(m)),
        f"<p class='muted'>Contrast: {html.escape(str(m.contrast.get('reason', '')))} "
        f"(source: {html.escape(str(m.contrast.get('source', '')))}).</p>",
        "<h2>Class fractions</h2>",
        _fractions_table(m),
        "<h2>Interfaces</h2>",
        _interfaces_table(m),
        "<h2>Li layer thickness map</h2>",
        _figure(
            figures.thickness_map_png(m.li_layer.thickness_map_um, m.li_in_se.column_thickness_map_um, (vy, vx)),
            "Left: Li layer thickness along the layer normal per column (µm). Right: Li inside the SE per column "
            "(voxel count × voxel depth, µm).",
        ),
        "<h2>Depth profiles</h2>",
        _figure(
            figures.depth_profiles_png(
                m.depth.z_um,
                m.depth.area_fraction,
                {
                    s.name.replace("_", " "): s.mean_height_um
                    for s in [*m.interfaces.surfaces(), m.li_layer.li_top]
                    if s.coverage >= 0.5 and s.name != "carbon_bottom"
                },
            ),
            "Share of each slice's labelled area per class along the stack axis; dashed lines: mean interface heights.",
        ),
    ]
    if m.cross_section_labels is not None:
        y = int(m.parameters.get("cross_section_index", 0))
        se_line = m.interfaces.se_bottom.height_um[y] if m.interfaces.se_found else None
        parts += [
            "<h2>Cross-section along the stack axis</h2>",
            _figure(
                figures.cross_section_png(m.cross_section_labels, m.cross_section_image, (vz, vx), se_line),
                f"Section at y index {y}, collector at the bottom; labels in class colours; dashed: SE bottom.",
            ),
        ]
    if m.li_in_se.volume_um3 > 0:
        sizes = m.li_in_se.masses.sizes_um3 if m.li_in_se.masses else None
        parts += [
            "<h2>Li inside the solid electrolyte</h2>",
            _figure(
                figures.li_in_se_depth_png(m.li_in_se.depth_um, m.li_in_se.depth_volume_um3, sizes),
                "Li volume by depth from the SE's lower face (along its normal), and connected mass sizes.",
            ),
        ]
    if m.unmixing is not None and m.unmixing.n_voxels:
        u = m.unmixing
        parts += [
            "<h2>SE + Li unmixing</h2>",
            _figure(
                figures.unmixing_png(u.share_bin_edges, u.share_counts, u.mean_li_share),
                f"Li share of SE + Li voxels from grey values between Li ({u.li_grey:.0f}) and SE ({u.se_grey:.0f}).",
            ),
        ]
    if voltage is not None:
        events = _voltage_events(voltage)
        parts += [
            "<h2>Voltage curve</h2>",
            _figure(
                figures.voltage_curve_png(voltage.time_min, voltage.voltage_v, events),
                "Cell voltage during charging (V against minutes).",
            ),
        ]
    parts.append(_sensitivity_html(m))
    parts.append(_provenance_html(m))
    parts.append(
        "<h2>All numbers (JSON)</h2><details><summary>show</summary><pre>"
        + html.escape(json.dumps(m.to_dict(), indent=1))
        + "</pre></details>"
    )
    parts.append("</body></html>")
    return "\n".join(parts)


def write_cell_report(
    measurements: Any, path: str | os.PathLike, *, voltage: Any = None, title: str | None = None
) -> Path:
    """Write one cell's report as a self-contained HTML file (atomically); returns the path."""
    from ..io.atomic import atomic_write_text

    return atomic_write_text(path, cell_report_html(measurements, voltage=voltage, title=title))


def study_report_html(
    cells: Sequence[Any], *, voltages: Mapping[str, Any] | None = None, title: str = "napari-licell study"
) -> str:
    """The HTML text of a report comparing several cells.

    Parameters
    ----------
    cells : sequence of CellMeasurements
        One result per cell (their ``name`` labels the rows).
    voltages : mapping of name to VoltageCurve, optional
        Charging curves by cell name.
    title : str
        Heading.
    """
    names = [m.name or f"cell {i + 1}" for i, m in enumerate(cells)]
    rows = study_rows(list(cells))
    columns = [
        ("cell", "cell", ""),
        ("verdict", "verdict", ""),
        ("li_layer_mean_thickness_um", "Li layer", "µm"),
        ("li_layer_coverage", "coverage", "%"),
        ("faraday_thickness_um", "Faraday", "µm"),
        ("li_volume_um3", "Li volume", "µm³"),
        ("li_in_se_fraction_of_li", "Li in SE", "%"),
        ("li_in_se_fraction_including_se_li", "Li in SE incl. SE+Li", "%"),
        ("li_in_se_max_depth_um", "max depth", "µm"),
        ("n_li_masses", "masses", ""),
        ("se_porosity", "SE porosity", "%"),
        ("li_void_cnr", "Li/void CNR", ""),
    ]
    head = "".join(f"<th>{html.escape(label)}{' (' + unit + ')' if unit else ''}</th>" for _, label, unit in columns)
    body = ""
    for row in rows:
        cells_html = []
        for key, _, unit in columns:
            v = row[key]
            text = _pct(v).replace(" %", "") if unit == "%" else _fmt(v)
            cls = f" class='{html.escape(str(v))}'" if key == "verdict" else " class='num'" if key != "cell" else ""
            cells_html.append(f"<td{cls}>{text}</td>")
        body += "<tr>" + "".join(cells_html) + "</tr>"
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1><p class='muted'>{len(cells)} cells compared.</p>",
        "<h2>Cells</h2>",
        f"<table><tr>{head}</tr>{body}</table>",
        "<h2>Verdicts</h2><ul>"
        + "".join(
            f"<li><b>{html.escape(n)}</b>: {html.escape(m.verdict.verdict)} — {html.escape(m.verdict.reason)}</li>"
            for n, m in zip(names, cells)
        )
        + "</ul>",
        _figure(
            figures.study_bars_png(
                names,
                [m.li_layer.mean_thickness_um for m in cells],
                [m.faraday_thickness_um for m in cells],
                [m.li_in_se_share_with_se_li for m in cells],
            ),
            "Left: measured Li layer against the Faraday thickness. Right: share of Li inside the SE (incl. SE + Li).",
        ),
        _figure(
            figures.study_profiles_png(names, [(m.depth.z_um, m.depth.area_fraction["li"]) for m in cells], "li"),
            "Li area fraction along the stack axis for every cell.",
        ),
        _figure(
            figures.study_profiles_png(names, [(m.depth.z_um, m.depth.area_fraction["se_li"]) for m in cells], "se_li"),
            "SE + Li area fraction along the stack axis for every cell.",
        ),
    ]
    for n, m in zip(names, cells):
        vz, vy, vx = m.oriented_voxel_size_um
        parts.append(f"<h2>{html.escape(n)}</h2>")
        if m.cross_section_labels is not None:
            parts.append(
                _figure(
                    figures.cross_section_png(m.cross_section_labels, m.cross_section_image, (vz, vx)),
                    f"{n}: section along the stack axis, labels overlaid.",
                )
            )
        parts.append(
            _figure(
                figures.thickness_map_png(m.li_layer.thickness_map_um, m.li_in_se.column_thickness_map_um, (vy, vx)),
                f"{n}: Li layer thickness and Li inside the SE per column.",
            )
        )
        curve = (voltages or {}).get(m.name) if voltages else None
        if curve is not None:
            parts.append(
                _figure(
                    figures.voltage_curve_png(curve.time_min, curve.voltage_v, _voltage_events(curve)),
                    f"{n}: voltage during charging.",
                )
            )
    parts.append(
        "<h2>All numbers (JSON)</h2><details><summary>show</summary><pre>"
        + html.escape(json.dumps(rows, indent=1, default=str))
        + "</pre></details>"
    )
    parts.append("</body></html>")
    return "\n".join(parts)


def write_study_report(
    cells: Sequence[Any],
    path: str | os.PathLike,
    *,
    voltages: Mapping[str, Any] | None = None,
    title: str = "napari-licell study",
) -> Path:
    """Write a study report as a self-contained HTML file, with ``<stem>.csv`` of the table beside it."""
    from ..io.atomic import atomic_write_text
    from ..io.writers import write_table_csv

    p = Path(path)
    write_table_csv(p.with_suffix(".csv"), study_rows(list(cells)))
    return atomic_write_text(p, study_report_html(cells, voltages=voltages, title=title))
