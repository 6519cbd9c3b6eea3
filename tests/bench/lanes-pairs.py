#!/usr/bin/env python3
"""Lanes against one plan on all threads: a report, never a pass/fail time.

Runs `brainseg-cli infer CASE --lanes on` and `--lanes off` alternately (on/off, then off/on), quiet and with one
core held by a busy shell loop for the whole block, for int8 NHWC and fp32 blocked, and prints the medians, their
ratio and the spread.  Pairs run back to back, so the ratio survives a host whose speed drifts over minutes.

    /usr/bin/python3 tests/bench/lanes-pairs.py BUILD_DIR CASE [--pairs 8] [--three-planes on|off]
    /usr/bin/python3 tests/bench/lanes-pairs.py BUILD_DIR --train-step [--pairs 6]

--train-step times training steps instead (`train --bench-step`, batch 16 of four-channel 128x128 slices, the mean
of 6 steps a run) on lanes against `--lanes off --threads CORES` (every layer split between all cores, so that the
busy-core judgement cannot pick fewer threads on a quiet machine).
"""
import argparse
import json
import statistics
import os
import subprocess
import sys
import tempfile
import time


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("build")
    ap.add_argument("case", nargs="?")
    ap.add_argument("--pairs", type=int, default=8)
    ap.add_argument("--three-planes", default="off", choices=("on", "off"))
    ap.add_argument("--train-step", action="store_true")
    a = ap.parse_args()
    if not a.train_step and not a.case:
        ap.error("give a CASE, or --train-step")
    cli = f"{a.build}/app/brainseg-cli"
    out = os.path.join(tempfile.mkdtemp(prefix="bs-lanes-"), "mask.nii.gz")

    def run(precision, lanes):
        if precision == "train-step":
            args = [cli, "train", "--bench-step", "--batch", "16", "--crop", "128", "--repeats", "6",
                    "--modalities", "flair,t1,t1gd,t2", "--lanes", lanes]
            if lanes == "off":
                args += ["--threads", str(os.cpu_count() or 1)]
            proc = subprocess.run(args, check=True, capture_output=True, text=True)
            return json.loads(proc.stdout)["step_ms_mean"] / 1000.0
        args = [cli, "infer", a.case, "--json", "--out", out, "--three-planes", a.three_planes,
                "--lanes", lanes]
        if precision == "int8":
            args += ["--precision", "int8", "--layout", "nhwc"]
        t0 = time.perf_counter()
        subprocess.run(args, check=True, capture_output=True)
        return time.perf_counter() - t0

    if a.train_step:
        print(f"# training step, {a.pairs} pairs; seconds a step, medians", flush=True)
    else:
        print(f"# {a.case}, three planes {a.three_planes}, {a.pairs} pairs; seconds, medians", flush=True)
    for precision in (("train-step",) if a.train_step else ("int8", "fp32")):
        for cond in ("quiet", "one core busy"):
            spin = subprocess.Popen(["/bin/sh", "-c", "while :; do :; done"]) if cond != "quiet" else None
            times = {"on": [], "off": []}
            try:
                time.sleep(0.2 if spin else 0)
                for k in range(a.pairs):
                    for lanes in (("on", "off") if k % 2 == 0 else ("off", "on")):
                        times[lanes].append(run(precision, lanes))
            finally:
                if spin:
                    spin.kill()
                    spin.wait()
            on, off = statistics.median(times["on"]), statistics.median(times["off"])
            print(f"{precision} {cond:<14} lanes on {on:.3f}  off {off:.3f}  ratio {on / off:.2f}  "
                  f"(on {min(times['on']):.2f}-{max(times['on']):.2f}, "
                  f"off {min(times['off']):.2f}-{max(times['off']):.2f})", flush=True)
    if os.path.exists(out):
        os.unlink(out)
    os.rmdir(os.path.dirname(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
