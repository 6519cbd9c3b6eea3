#!/usr/bin/env bash
# Installs what is missing, builds Brainseg and opens the window on the bundled sample.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/install-deps.sh
[ -f build/build.ninja ] || meson setup build
ninja -C build
export GSETTINGS_SCHEMA_DIR="$PWD/build/resources"
exec ./build/app/brainseg "$@"
