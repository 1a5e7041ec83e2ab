#!/usr/bin/env bash
# Install everything (first run only) and open napari-licell on the built-in demo study.
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/setup.sh test
exec .venv/bin/napari-licell "$@"
