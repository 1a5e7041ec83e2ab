"""The napari adapter: layer data tuples, readers, writers, sample data and the study reader.

Declared in ``napari.yaml``; built on the Qt-free core (``io``, ``study``,
``phantoms``). The core never imports this package.
"""
