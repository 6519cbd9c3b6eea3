#!/usr/bin/env bash
# Installs what is missing, then builds and runs the whole suite twice: a
# normal build and an AddressSanitizer + UndefinedBehaviorSanitizer build.
# Warnings are errors in both.  UI tests run in a real window under Xvfb.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/install-deps.sh

run_suite () {
  local dir=$1; shift
  if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" -Dwerror=true "$@"
  fi
  ninja -C "$dir"
  xvfb-run -a -s "-screen 0 1600x1000x24" \
    meson test -C "$dir" --print-errorlogs --num-processes 2
}

echo "== normal build =="
run_suite build-test
echo "== ASan + UBSan build =="
run_suite build-asan -Db_sanitize=address,undefined -Db_lundef=false
echo "Brainseg: both suites passed"
