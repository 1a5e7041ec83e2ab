"""The Qt layer: napari docks and the desktop launcher. Thin: read layers, call the core, write layers."""
