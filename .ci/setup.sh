#!/usr/bin/env bash
# Install what napari-licell needs on a fresh Debian machine with Python 3.11:
#   system packages (Xvfb + Mesa for real OpenGL, Qt's X11 libraries, mdbtools for
#   Arbin .res files) via apt-get when missing, then a virtual environment .venv
#   with the package and its test tools.
# Usage: bash .ci/setup.sh [app|test]     (idempotent: reruns only what is missing)
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-test}"
PYTHON="${PYTHON:-python3}"

apt_packages=(xvfb xauth libgl1-mesa-dri libegl1 libglx-mesa0 libxkbcommon-x11-0 libxcb-icccm4
  libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render-util0 libxcb-xinerama0 libxcb-xfixes0
  libxcb-shape0 libxcb-cursor0 libdbus-1-3 libfontconfig1 mdbtools)
if ! "$PYTHON" -c "import ensurepip, venv" >/dev/null 2>&1; then
  apt_packages+=(python3-venv)
fi
missing=()
if command -v dpkg >/dev/null 2>&1; then
  for p in "${apt_packages[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing system packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

make_env() {  # make_env DIR EXTRAS
  local dir="$1" extras="$2"
  if [ ! -x "$dir/bin/python" ]; then
    "$PYTHON" -m venv "$dir"
    "$dir/bin/python" -m pip install -q --upgrade pip
  fi
  # reinstall only when pyproject.toml changed since the last install into this env
  local stamp="$dir/.licell-installed" want
  want="$(sha256sum pyproject.toml | cut -d' ' -f1)-$extras"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "setup: installing napari-licell[$extras] into $dir"
    "$dir/bin/python" -m pip install -q -e ".[$extras]"
    echo "$want" > "$stamp"
  fi
}

case "$mode" in
  app) make_env .venv pyqt5 ;;
  test) make_env .venv test ;;
  qt6) make_env .venv-qt6 "pyqt6,qt6test" ;;
  *) echo "usage: bash .ci/setup.sh [app|test|qt6]" >&2; exit 2 ;;
esac
