#!/usr/bin/env bash
# One training step, Brainseg (oneDNN) beside PyTorch, same model/batch/threads.
# usage: tests/bench/torch-train-step.sh [BUILD_DIR] [-- extra args for the .py]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="${1:-$here/../../build}"
shift || true
[ "${1:-}" = "--" ] && shift
exec "${BS_PYTHON:-/usr/bin/python3}" "$here/torch-train-step.py" --cli "$build/app/brainseg-cli" "$@"
