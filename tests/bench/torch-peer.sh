#!/bin/sh
# Brainseg vs PyTorch on the same weights, side by side in one run.
#   tests/bench/torch-peer.sh [BUILD_DIR] [torch-peer.py options...]
# e.g. tests/bench/torch-peer.sh build --size 128,240 --batch 1,16
set -e
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build}
[ $# -gt 0 ] && shift
export BS_CLI=${BS_CLI:-$build/app/brainseg-cli}
export BS_SOURCE_ROOT=${BS_SOURCE_ROOT:-$root}
export BS_SAMPLES_DIR=${BS_SAMPLES_DIR:-$root/../shared/data/brats-samples}
[ -x "$BS_CLI" ] || { echo "torch-peer: no brainseg-cli at $BS_CLI (build first)" >&2; exit 1; }
exec nice -n 10 /usr/bin/python3 "$here/torch-peer.py" "$@"
