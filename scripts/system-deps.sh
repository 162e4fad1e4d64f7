#!/usr/bin/env bash
# Installs the Debian packages Lượt needs (fonts with Vietnamese, espeak-ng, Chromium for the browser tests)
# when they are missing. Needs root (or sudo); prints what to install otherwise.
set -euo pipefail
packages=(fonts-dejavu-core fonts-noto-core espeak-ng sox)
if [ "${1:-}" = "--test" ]; then
  packages+=(chromium poppler-utils)
fi
if [ "${1:-}" = "--list" ]; then  # what a server needs (the offline bundle's debian-packages.txt)
  printf '%s\n' "${packages[@]}" python3 python3-venv
  exit 0
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "Installing Debian packages: ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO="sudo"; else
  echo "Please install as root: apt-get install ${missing[*]}" >&2; exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
