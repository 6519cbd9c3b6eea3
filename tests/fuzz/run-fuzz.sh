#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) and runs each for a
# short while (FUZZ_SECONDS, default 30).  Exit 0: no crash; non-zero: a
# crash (the reproducer is left in the work folder).  Without clang the run
# is skipped with a message and exit 0.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
seconds=${FUZZ_SECONDS:-30}
work=${BS_FUZZ_DIR:-$root/build-fuzz}

if ! command -v clang >/dev/null 2>&1 || ! command -v clang++ >/dev/null 2>&1; then
  echo "run-fuzz: clang/clang++ not found; skipping the fuzz targets"
  exit 0
fi
mkdir -p "$work"

san="-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"
cflags="-g -O1 -std=gnu11 $san -I$root/engine/base -I$root/engine/io -I/usr/include/nifti $(pkg-config --cflags glib-2.0 gio-2.0 json-glib-1.0 hdf5) -DGETTEXT_PACKAGE=\"brainseg\" -DG_LOG_DOMAIN=\"Brainseg\""
libs="$(pkg-config --libs glib-2.0 gio-2.0 json-glib-1.0 hdf5) -lnifti2 -lznz -ldeflate -lz -ltbb -lm"
engine="engine/base/bs-error.c engine/base/bs-file.c engine/io/bs-volume.c engine/io/bs-nifti.c engine/io/bs-nifti-write.c engine/io/bs-gunzip.c engine/io/bs-labels.c engine/io/bs-dataset.c engine/io/bs-dataset-mask.c engine/io/bs-dataset-resample.c engine/io/bs-dataset-decathlon.c engine/io/bs-dataset-h5.c engine/io/bs-h5.c"

# The engine sources are compiled into every target so that libFuzzer sees
# their coverage (the meson build's libbrainseg.a is not instrumented).
clang++ -g -O1 -std=c++17 -fsanitize=address,undefined $(pkg-config --cflags glib-2.0) -I"$root/engine/base" \
  -c engine/base/bs-parallel.cpp -o "$work/bs-parallel.o"
objs=""
for src in $engine; do
  obj="$work/$(basename "$src" .c).o"
  # shellcheck disable=SC2086
  clang $cflags -c "$src" -o "$obj"
  objs="$objs $obj"
done
for target in fuzz-nifti fuzz-dataset-json; do
  # clang++ links: bs-parallel.o needs the C++ sanitizer runtime.
  # shellcheck disable=SC2086
  clang $cflags -c tests/fuzz/$target.c -o "$work/$target.o"
  # shellcheck disable=SC2086
  clang++ $san "$work/$target.o" $objs "$work/bs-parallel.o" -o "$work/$target" $libs
done

# Seeds: a few valid inputs so that the run starts past the header checks.
mkdir -p "$work/seed-nifti" "$work/seed-json" "$work/corpus-nifti" "$work/corpus-json"
if [ -x /usr/bin/python3 ] && /usr/bin/python3 -c "import nibabel" 2>/dev/null; then
  /usr/bin/python3 - "$work/seed-nifti" <<'PY'
import sys, numpy as np, nibabel as nib
d = sys.argv[1]
rng = np.random.default_rng(1)
for i, dt in enumerate(["uint8", "int16", "float32", "float64"]):
    shape = (4, 3, 2) if i % 2 else (3, 3, 2, 2)
    img = nib.Nifti1Image(rng.integers(0, 50, size=shape).astype(dt), np.diag([-1.0, -1, 1, 1]))
    img.to_filename(f"{d}/seed{i}.nii" if i < 2 else f"{d}/seed{i}.nii.gz")
nib.Nifti2Image(np.zeros((2, 2, 2), np.int16), np.eye(4)).to_filename(f"{d}/seed-n2.nii")
PY
fi
cat > "$work/seed-json/task01.json" <<'JSON'
{ "name": "BRATS", "modality": { "0": "FLAIR", "1": "T1w", "2": "t1gd", "3": "T2w" },
  "labels": { "0": "background", "1": "edema", "2": "non-enhancing tumor", "3": "enhancing tumour" },
  "training": [ { "image": "./imagesTr/BRATS_001.nii.gz", "label": "./labelsTr/BRATS_001.nii.gz" } ],
  "test": [ "./imagesTs/BRATS_485.nii.gz" ] }
JSON
printf '{"modality":{"0":"FLAIR"},"training":[]}' > "$work/seed-json/min.json"

status=0
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export LSAN_OPTIONS="suppressions=$root/tests/lsan.supp:print_suppressions=0"
run () {
  local target=$1 corpus=$2 seeds=$3 maxlen=$4
  echo "run-fuzz: $target for ${seconds}s"
  if ! (cd "$work" && nice -n 10 "./$target" -max_total_time="$seconds" -max_len="$maxlen" \
        -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 "$corpus" "$seeds" > "$work/$target.log" 2>&1); then
    echo "run-fuzz: $target FAILED; see $work/$target.log"
    tail -n 40 "$work/$target.log"
    status=1
  else
    grep -E "stat::number_of_executed_units|Done " "$work/$target.log" | tail -n 2 || true
  fi
}
run fuzz-nifti corpus-nifti seed-nifti 65536
run fuzz-dataset-json corpus-json seed-json 8192
exit $status
