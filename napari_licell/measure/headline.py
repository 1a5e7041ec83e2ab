"""The headline numbers of a measurement as (quantity, value with unit) rows: the Results dock's table. Qt-free."""

from __future__ import annotations

__all__ = ["headline_rows"]


def headline_rows(m) -> list[tuple[str, str]]:
    """(quantity, value with unit) rows of a :class:`~napari_licell.measure.CellMeasurements` for the table.

    Parameters
    ----------
    m : CellMeasurements
        A measurement (:func:`~napari_licell.measure.measure_cell`).

    Returns
    -------
    list of (str, str)
        The verdict, Li volume, layer thickness and coverage, Li inside the SE,
        shares, the Li/void CNR and (when the charge is known) the Faraday thickness.
    """
    d = m.to_dict()
    layer, in_se, contrast = d["li_layer"], d["li_in_se"], d["contrast"]
    faraday = d.get("faraday") or {}
    rows = [
        ("Verdict", d["verdict"]),
        ("Li volume", f"{d['li_volume_um3']:.4g} µm³"),
        ("Li layer mean thickness", f"{layer['mean_thickness_um']:.2f} µm"),
        ("Li layer std", f"{layer['std_thickness_um']:.2f} µm"),
        ("Li layer coverage", f"{layer['coverage']:.1%}"),
        ("Li layer uniformity", f"{layer.get('uniformity', float('nan')):.2f}"),
        ("Li inside SE", f"{in_se['volume_um3']:.4g} µm³ ({in_se['fraction_of_li']:.1%} of the Li voxels)"),
        ("Li inside SE, SE + Li included (the verdict's share)", f"{m.li_in_se_share_with_se_li:.1%} of Li"),
        ("Deepest Li in SE", f"{in_se['max_depth_um']:.1f} µm"),
        ("SE + Li share", f"{d['fractions']['se_li']:.2%}"),
        ("Gas-void share", f"{d['fractions']['void']:.2%}"),
        (
            "Li/void contrast (CNR)",
            "n/a"
            if contrast.get("li_void_cnr") is None
            else f"{contrast['li_void_cnr']:.2f} ({'separable' if contrast.get('separable') else 'not separable'})",
        ),
    ]
    if d.get("faraday_thickness_um") is not None:
        ratio = faraday.get("layer_over_expected")
        rows.append(
            (
                "Faraday thickness",
                f"{d['faraday_thickness_um']:.1f} µm" + ("" if ratio is None else f" (layer/expected {ratio:.2f})"),
            )
        )
    return rows
