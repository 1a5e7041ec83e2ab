"""The deposition verdict: "uniform", "non-uniform" or "undetermined", with the reason in words.

* undetermined: Li and gas-filled voids cannot be told apart (contrast
  verdict), no lithium was found, or there is no solid electrolyte in view;
* non-uniform: a sizeable share of the Li sits inside the SE (masses or
  the SE + Li mixture), or the Li stays on the collector side but covers
  only part of the cell area;
* uniform: Li forms a layer on the collector side that covers the cell,
  with little Li in the SE.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = [
    "Verdict",
    "judge_deposition",
    "UNIFORM",
    "NON_UNIFORM",
    "UNDETERMINED",
    "MAX_LI_IN_SE_SHARE",
    "MIN_LAYER_COVERAGE",
    "SHARE_WORDS",
]

UNIFORM = "uniform"
NON_UNIFORM = "non-uniform"
UNDETERMINED = "undetermined"

#: Largest share of the Li (including Li inside SE + Li voxels) in the SE for a uniform deposit.
MAX_LI_IN_SE_SHARE = 0.2
#: What the Li-in-SE share of the verdict counts; the report's table row of that share says the same words.
SHARE_WORDS = "SE + Li included"
#: Smallest share of the cell area the layer must cover for a uniform deposit.
MIN_LAYER_COVERAGE = 0.8


@dataclass(frozen=True)
class Verdict:
    """The verdict and why.

    Attributes
    ----------
    verdict : str
        :data:`UNIFORM`, :data:`NON_UNIFORM` or :data:`UNDETERMINED`.
    reason : str
        One or two sentences with the numbers behind it.
    """

    verdict: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def judge_deposition(
    *,
    li_volume_um3: float,
    li_in_se_share: float,
    layer_coverage: float,
    layer_mean_thickness_um: float,
    se_found: bool,
    separable: bool | None = None,
    contrast_reason: str = "",
    n_masses: int | None = None,
    max_depth_um: float | None = None,
    se_li_volume_um3: float = 0.0,
    max_li_in_se_share: float = MAX_LI_IN_SE_SHARE,
    min_layer_coverage: float = MIN_LAYER_COVERAGE,
) -> Verdict:
    """Judge where the lithium went.

    Parameters
    ----------
    li_volume_um3 : float
        All Li voxels, um3.
    li_in_se_share : float
        Share of the Li inside the SE (0..1), including Li inside SE + Li voxels when known.
    layer_coverage : float
        Share of the cell area covered by the Li layer on the collector side.
    layer_mean_thickness_um : float
        Mean layer thickness over the cell area, um.
    se_found : bool
        Whether the volume holds solid electrolyte.
    separable : bool or None
        Contrast verdict: can Li and gas-filled voids be told apart? None when unknown.
    contrast_reason : str
        The contrast verdict's reason, quoted when not separable.
    n_masses : int, optional
        Connected Li masses in the SE.
    max_depth_um : float, optional
        Deepest Li in the SE, um.
    se_li_volume_um3 : float
        SE + Li mixture volume, um3 (Li may sit there even with no Li voxels).
    max_li_in_se_share, min_layer_coverage : float
        Limits for "uniform".

    Returns
    -------
    Verdict
    """
    if separable is False:
        why = f" ({contrast_reason})" if contrast_reason else ""
        return Verdict(
            UNDETERMINED,
            f"Li and gas-filled voids cannot be told apart{why}; fill the cell with xenon "
            "(e.g. 6 atm) so lithium is the darkest phase, then measure again.",
        )
    if li_volume_um3 <= 0 and se_li_volume_um3 <= 0:
        return Verdict(UNDETERMINED, "no lithium found in the labels (no Li and no SE + Li voxels).")
    if not se_found:
        return Verdict(
            UNDETERMINED, "no solid electrolyte in the volume, so Li inside the SE cannot be told from Li beside it."
        )
    share_pct = 100.0 * li_in_se_share
    if li_in_se_share >= max_li_in_se_share:
        details = []
        if n_masses is not None:
            details.append(f"{n_masses} connected mass{'es' if n_masses != 1 else ''}")
        if max_depth_um is not None and max_depth_um > 0:
            details.append(f"up to {max_depth_um:.1f} µm deep")
        tail = f" ({', '.join(details)})" if details else ""
        return Verdict(
            NON_UNIFORM,
            f"{share_pct:.1f} % of the lithium lies inside the solid electrolyte ({SHARE_WORDS}){tail}; "
            f"the layer on the collector side covers {100 * layer_coverage:.0f} % of the area.",
        )
    if layer_coverage < min_layer_coverage:
        return Verdict(
            NON_UNIFORM,
            f"the lithium stays on the collector side ({share_pct:.1f} % in the SE, {SHARE_WORDS}) but covers only "
            f"{100 * layer_coverage:.0f} % of the cell area (uniform needs {100 * min_layer_coverage:.0f} %).",
        )
    return Verdict(
        UNIFORM,
        f"lithium forms a layer on the collector side, {layer_mean_thickness_um:.1f} µm thick on average, "
        f"covering {100 * layer_coverage:.0f} % of the area; only {share_pct:.1f} % of it lies inside the SE "
        f"({SHARE_WORDS}).",
    )
