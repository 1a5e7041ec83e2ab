"""napari-licell: X-ray CT of lithium deposition in all-solid-state lithium-metal batteries.

The package root imports nothing heavy and nothing from Qt: the science lives
in Qt-free sub-packages (physics, phantoms, io, segmentation, measure, echem,
study); the napari docks and the launcher live in ``napari_licell._qt``.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
