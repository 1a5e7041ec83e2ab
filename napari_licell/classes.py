"""The one class table of napari-licell: label codes, names, short keys and colours.

Every part of the project (labels layers, plots, reports, the CLI and the
measurement keys) takes its classes from here and nowhere else.

Codes follow the grey-value order of a xenon-filled cell where it exists:
lithium is the darkest phase, gas-filled voids come next, then the
partial-volume "SE + Li" mixture, the solid electrolyte and the metals.
The carbon interlayer has nearly the grey value of gas and is told apart
by its position, so it has its own code outside that order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "CellClass",
    "CLASS_TABLE",
    "BACKGROUND",
    "LI",
    "VOID",
    "SE_LI",
    "SE",
    "CARBON",
    "METAL",
    "MATERIAL_CODES",
    "GREY_ORDER",
    "class_by_key",
    "class_by_code",
    "napari_colormap",
    "colour_rgba",
    "class_keys",
    "LABEL_DTYPE",
]

#: dtype of every label volume the project writes (class codes 0..6).
LABEL_DTYPE = np.uint8


@dataclass(frozen=True)
class CellClass:
    """One class of the table.

    Attributes
    ----------
    code : int
        Value stored in label volumes (uint8).
    key : str
        Short machine name used in CSV/JSON keys and on the CLI.
    name : str
        Human name shown in docks, legends and reports.
    colour : str
        Display colour as ``#rrggbb``.
    """

    code: int
    key: str
    name: str
    colour: str

    @property
    def rgba(self) -> tuple[float, float, float, float]:
        """Colour as an RGBA tuple of floats in [0, 1]."""
        return colour_rgba(self.colour)


BACKGROUND = CellClass(0, "background", "Background / outside", "#000000")
LI = CellClass(1, "li", "Lithium metal", "#e8c93a")
VOID = CellClass(2, "void", "Gas-filled void", "#3aa8e8")
SE_LI = CellClass(3, "se_li", "SE + Li mixed", "#e0702e")
SE = CellClass(4, "se", "Solid electrolyte", "#8a8f99")
CARBON = CellClass(5, "carbon", "Carbon interlayer", "#b04fd6")
METAL = CellClass(6, "metal", "Metal (collector, InLi)", "#e6e6e6")

#: All classes, ordered by code.
CLASS_TABLE: tuple[CellClass, ...] = (BACKGROUND, LI, VOID, SE_LI, SE, CARBON, METAL)

#: Classes that are material of the cell (everything but background).
MATERIAL_CODES: tuple[int, ...] = tuple(c.code for c in CLASS_TABLE if c.code != 0)

#: Classes separated by ordered grey-value thresholds in a xenon-filled cell,
#: darkest first. Carbon is not in it: it is found by position.
GREY_ORDER: tuple[CellClass, ...] = (LI, VOID, SE_LI, SE, METAL)

_BY_KEY = {c.key: c for c in CLASS_TABLE}
_BY_CODE = {c.code: c for c in CLASS_TABLE}


def class_keys(include_background: bool = False) -> list[str]:
    """Short keys of the classes in code order."""
    return [c.key for c in CLASS_TABLE if include_background or c.code != 0]


def class_by_key(key: str) -> CellClass:
    """Look up a class by its short key (``"li"``, ``"void"``, ...)."""
    try:
        return _BY_KEY[key]
    except KeyError:
        raise KeyError(f"unknown class key {key!r}; known: {sorted(_BY_KEY)}") from None


def class_by_code(code: int) -> CellClass:
    """Look up a class by its label code (0..6)."""
    try:
        return _BY_CODE[int(code)]
    except KeyError:
        raise KeyError(f"unknown class code {code!r}; known: {sorted(_BY_CODE)}") from None


def colour_rgba(hex_colour: str, alpha: float = 1.0) -> tuple[float, float, float, float]:
    """Convert ``#rrggbb`` to an RGBA tuple of floats in [0, 1]."""
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) / 255.0 for i in (0, 2, 4))
    return (r, g, b, alpha)


def napari_colormap() -> dict[int | None, tuple[float, float, float, float]]:
    """Colour dictionary for a napari Labels layer (background transparent).

    Use with ``napari.utils.colormaps.DirectLabelColormap(color_dict=...)``.
    """
    colours: dict[int | None, tuple[float, float, float, float]] = {c.code: c.rgba for c in CLASS_TABLE if c.code != 0}
    colours[0] = (0.0, 0.0, 0.0, 0.0)
    colours[None] = (1.0, 0.0, 1.0, 1.0)  # codes outside the table show magenta
    return colours
