#!/usr/bin/env bash
# Installs the Debian 12 packages Brainseg needs to build, run and test.
set -euo pipefail
packages=(
  build-essential meson ninja-build pkg-config gettext
  libglib2.0-dev libgtk-4-dev libcairo2-dev libjson-glib-dev zlib1g-dev libdeflate-dev
  libhdf5-dev libtbb-dev libnifti2-dev libdnnl-dev libopenmpi-dev openmpi-bin
  desktop-file-utils appstream-util xvfb xauth xdotool
  python3 python3-numpy python3-nibabel python3-h5py python3-pil python3-scipy python3-torch
  clang libclang-rt-14-dev
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "Installing: ${missing[*]}"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
