#!/usr/bin/env bash
# Install everything (first run only) and run the whole test suite under a virtual X
# server with Mesa's software OpenGL, then a launch-and-screenshot smoke test with PyQt6.
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/setup.sh test
export QT_API=pyqt5 LIBGL_ALWAYS_SOFTWARE=1 XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp/runtime-$(id -u)}"
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
status=0
xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python -m pytest "$@" || status=$?
if [ "$status" -ne 0 ]; then
  echo "test: the main suite failed (exit $status)"
  exit "$status"
fi
echo "test: PyQt6 smoke test (napari deprecates PyQt5; the plugin must survive its removal)"
bash .ci/setup.sh qt6
QT_API=pyqt6 PYTEST_QT_API=pyqt6 xvfb-run -a -s "-screen 0 1600x1000x24" \
  .venv-qt6/bin/python -m pytest tests/qt/test_launcher.py -k "shows_docks" -p no:cacheprovider -q
