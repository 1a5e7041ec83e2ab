"""Qt/viewer tests: the napari fixtures (make_napari_viewer) come from napari's pytest plugin.

`output_dir` and the shared demo cache come from tests/conftest.py.
"""

import warnings

warnings.filterwarnings("ignore", message=".*PyQt5 backend is deprecated.*")
