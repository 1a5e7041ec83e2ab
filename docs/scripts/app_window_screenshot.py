"""Make the README picture: the desktop app on the demo study, as it first opens on a 1366 x 768 laptop.

Run under a display (or ``xvfb-run -a``)::

    .venv/bin/python docs/scripts/app_window_screenshot.py [docs/images/app_window.png]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path


def main(out: str = "docs/images/app_window.png", width: int = 1366, height: int = 768 - 60) -> Path:
    import napari
    from qtpy.QtWidgets import QApplication

    from napari_licell._qt.launcher import build_app, quiet_pyqt5_notice

    quiet_pyqt5_notice()
    viewer = napari.Viewer(title="napari-licell", show=True)
    window = viewer.window._qt_window
    window.resize(width, height)  # the desktop's task bar takes the rest of the screen
    build_app(viewer, demo=True)
    end = time.time() + 3  # let the docks settle and the histogram worker finish
    while time.time() < end:
        QApplication.processEvents()
        time.sleep(0.02)
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    window.grab().save(str(path))
    viewer.close()
    return path


if __name__ == "__main__":
    print(main(*sys.argv[1:2]))
