#!/usr/bin/env bash
# Installs the system libraries Qt needs on Debian/Ubuntu, when they are missing.
#   scripts/system-deps.sh          libraries for headless Qt (tests, CI)
#   scripts/system-deps.sh --gui    plus what a real X11 display needs (the xcb platform plugin)
set -euo pipefail
packages=(libgl1 libegl1 libxkbcommon0 libfontconfig1 libfreetype6 libglib2.0-0 libx11-6 libdbus-1-3 fonts-dejavu-core)
if [ "${1:-}" = "--gui" ]; then
  packages+=(libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-xinerama0 libxcb-randr0
             libxcb-render-util0 libxcb-image0 libxkbcommon-x11-0 libxcb-xkb1)
fi
command -v dpkg-query >/dev/null 2>&1 || exit 0  # not Debian: the platform's own Qt libraries apply
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
elif command -v sudo >/dev/null 2>&1; then
  sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "dlstudio needs these system packages: ${missing[*]}" >&2
  echo "install them with: apt-get install ${missing[*]}" >&2
  exit 1
fi
