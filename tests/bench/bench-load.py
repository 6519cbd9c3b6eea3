#!/usr/bin/python3
"""Times loading one 4-modality case with Brainseg and with nibabel in the
same session, interleaved run by run, and prints the medians and the ratio.

  tests/bench/bench-load.py [CASE_FOLDER] [--repeats N] [--helper PATH]

CASE_FOLDER defaults to $BS_SAMPLES_DIR/tcga-du-7294 (or the shared samples
beside the project).  Brainseg loads through bs_dataset_load_case (every
modality and the label, decoded to float32); nibabel loads the same files with
get_fdata().  Times are wall clock in one process each, without start-up,
plus CPU time (user + system, all threads), which is less disturbed by other
load on the machine.  Never a pass/fail on time: this only reports."""

import argparse
import glob
import os
import statistics
import subprocess
import sys
import time

import nibabel as nib

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(here))


def main():
    samples = os.environ.get("BS_SAMPLES_DIR", os.path.join(root, "..", "shared", "data", "brats-samples"))
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("case", nargs="?", default=os.path.join(samples, "tcga-du-7294"))
    p.add_argument("--repeats", type=int, default=9)
    p.add_argument("--helper", default=os.path.join(os.environ.get("BS_BUILD_ROOT", os.path.join(root, "build")),
                                                    "tests", "bench-load"))
    args = p.parse_args()
    if not os.path.isdir(args.case):
        print(f"bench-load: {args.case}: no such case folder (set BS_SAMPLES_DIR)", file=sys.stderr)
        return 77
    if not os.access(args.helper, os.X_OK):
        print(f"bench-load: {args.helper}: build the project first (ninja -C build)", file=sys.stderr)
        return 1

    files = sorted(f for f in glob.glob(os.path.join(args.case, "*.nii*")) if "brainmask" not in f)
    helper = subprocess.Popen([args.helper, args.case], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def brainseg_once():
        helper.stdin.write("go\n")
        helper.stdin.flush()
        line = helper.stdout.readline()
        if not line:
            raise SystemExit("bench-load: the helper failed")
        ms, cpu, channels, label = line.split()
        return float(ms), float(cpu), int(channels), label == "1"

    def nibabel_once():
        c0 = time.process_time()
        t0 = time.perf_counter()
        for f in files:
            nib.load(f).get_fdata()
        return (time.perf_counter() - t0) * 1000.0, (time.process_time() - c0) * 1000.0

    brainseg_once()  # warm the page cache for both
    nibabel_once()
    bs, nb, bs_cpu, nb_cpu = [], [], [], []
    for _ in range(args.repeats):
        ms, cpu, channels, label = brainseg_once()
        bs.append(ms)
        bs_cpu.append(cpu)
        ms, cpu = nibabel_once()
        nb.append(ms)
        nb_cpu.append(cpu)
    helper.stdin.close()
    helper.wait()

    print(f"case: {args.case}")
    print(f"files: {len(files)} ({channels} modalities{' + label' if label else ''}), repeats: {args.repeats}, "
          f"cpus: {os.cpu_count()}")
    print(f"brainseg (bs_dataset_load_case): median {statistics.median(bs):8.1f} ms  "
          f"(min {min(bs):.1f}, max {max(bs):.1f})")
    print(f"nibabel {nib.__version__} (get_fdata):    median {statistics.median(nb):8.1f} ms  "
          f"(min {min(nb):.1f}, max {max(nb):.1f})")
    print(f"ratio brainseg / nibabel, wall: median {statistics.median(bs) / statistics.median(nb):.3f}, "
          f"best {min(bs) / min(nb):.3f}")
    print(f"CPU time (user+sys): brainseg median {statistics.median(bs_cpu):.1f} ms, "
          f"nibabel median {statistics.median(nb_cpu):.1f} ms, "
          f"ratio {statistics.median(bs_cpu) / statistics.median(nb_cpu):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
