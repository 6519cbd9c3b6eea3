#!/usr/bin/env bash
# Installs what is missing, then builds and runs the whole suite twice: a
# normal build and an AddressSanitizer + UndefinedBehaviorSanitizer build.
# Warnings are errors in both.  UI tests run in a real window under Xvfb.
# Ends with the fuzz targets' short run and one "N passed, N failed" line.
set -uo pipefail
cd "$(dirname "$0")/.."
bash tests/install-deps.sh || exit 1

status=0
run_suite () {
  local dir=$1; shift
  if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" -Dwerror=true "$@" || return 1
  fi
  ninja -C "$dir" || return 1
  xvfb-run -a -s "-screen 0 1600x1000x24" \
    meson test -C "$dir" --print-errorlogs --num-processes 2
}

echo "== normal build =="
run_suite build-test || status=1
echo "== ASan + UBSan build =="
run_suite build-asan -Db_sanitize=address,undefined -Db_lundef=false || status=1

fuzz_status=none
if [ -f tests/fuzz/run-fuzz.sh ]; then
  echo "== fuzz targets (short run) =="
  if bash tests/fuzz/run-fuzz.sh; then fuzz_status=0; else fuzz_status=1; status=1; fi
fi

/usr/bin/python3 - "$fuzz_status" <<'PY'
import json, sys
passed = failed = skipped = 0
for d in ("build-test", "build-asan"):
    try:
        lines = open(f"{d}/meson-logs/testlog.json").read().splitlines()
    except OSError:
        failed += 1
        continue
    for line in lines:
        r = json.loads(line)["result"]
        if r in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif r == "SKIP":
            skipped += 1
        else:
            failed += 1
if sys.argv[1] == "0":
    passed += 1
elif sys.argv[1] == "1":
    failed += 1
print(f"{passed} passed, {failed} failed, {skipped} skipped")
PY
exit $status
