"""The first labels layer of a session does not compile napari's colouring on the GUI thread."""

from __future__ import annotations

import subprocess
import sys

CHILD = """
import sys
from napari.utils.colormaps import _accelerated_cmap as acc
from napari_licell._napari import layers
assert "pandas" not in sys.modules and not acc._labels_raw_to_texture_direct_inner_loop.signatures
layers.warm_up_label_colours()
layers.warm_up_label_colours()  # once per session
import threading
warm = [t for t in threading.enumerate() if t.name == "licell-warm-up"]
assert len(warm) == 1, warm
warm[0].join(300)
print("pandas" in sys.modules, len(acc._labels_raw_to_texture_direct_inner_loop.signatures))
"""


def test_opening_a_dock_compiles_napari_labels_colouring_in_the_background():
    """Walkthrough: the first Apply to volume froze 3.8 s (pandas import + numba compile on the GUI thread)."""
    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    pandas_loaded, signatures = out.stdout.split()
    assert pandas_loaded == "True" and int(signatures) >= 1
