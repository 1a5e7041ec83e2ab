#!/usr/bin/env bash
# Install everything (first run only) and run the whole test suite under a virtual X
# server with Mesa's software OpenGL, then a launch-and-screenshot smoke test with PyQt6.
# Extra arguments go to the main pytest run (e.g. `bash .ci/test.sh tests/screenshots`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/setup.sh test
export QT_API=pyqt5 LIBGL_ALWAYS_SOFTWARE=1 XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp/runtime-$(id -u)}"
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
mkdir -p tests/_output
main_log=tests/_output/main-suite.log
set +e
xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python -m pytest "$@" 2>&1 | tee "$main_log"
status=${PIPESTATUS[0]}
set -e
if [ "$status" -ne 0 ]; then
  echo "test: the main suite failed (exit $status)"
  exit "$status"
fi
echo "test: PyQt6 run of the launcher and the end-to-end GUI tests (napari deprecates PyQt5)"
bash .ci/setup.sh qt6
smoke_log=tests/_output/pyqt6-smoke.log
set +e
QT_API=pyqt6 PYTEST_QT_API=pyqt6 xvfb-run -a -s "-screen 0 1600x1000x24" \
  .venv-qt6/bin/python -m pytest tests/qt/test_launcher.py tests/qt/test_first_hour.py -p no:cacheprovider -q 2>&1 \
  | tee "$smoke_log"
smoke=${PIPESTATUS[0]}
set -e
count() { grep -Eo "[0-9]+ $2" "$1" | tail -1 | cut -d' ' -f1; }
passed=$(( $(count "$main_log" passed || echo 0) + $(count "$smoke_log" passed || echo 0) ))
failed=$(( $(count "$main_log" failed || echo 0) + $(count "$smoke_log" failed || echo 0) ))
echo "all: $passed passed, $failed failed"
exit "$smoke"
