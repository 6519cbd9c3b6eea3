#!/usr/bin/env python3
"""Lanes against one plan on all threads: a report, never a pass/fail time.

Runs `brainseg-cli infer CASE --lanes on` and `--lanes off` alternately (on/off, then off/on), quiet and with one
core held by a busy shell loop for the whole block, for int8 NHWC and fp32 blocked, and prints the medians, their
ratio and the spread.  Pairs run back to back, so the ratio survives a host whose speed drifts over minutes.

    /usr/bin/python3 tests/bench/lanes-pairs.py BUILD_DIR CASE [--pairs 8] [--three-planes on|off]
"""
import argparse
import statistics
import os
import subprocess
import sys
import tempfile
import time


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("build")
    ap.add_argument("case")
    ap.add_argument("--pairs", type=int, default=8)
    ap.add_argument("--three-planes", default="off", choices=("on", "off"))
    a = ap.parse_args()
    cli = f"{a.build}/app/brainseg-cli"
    out = os.path.join(tempfile.mkdtemp(prefix="bs-lanes-"), "mask.nii.gz")

    def run(precision, lanes):
        args = [cli, "infer", a.case, "--json", "--out", out, "--three-planes", a.three_planes,
                "--lanes", lanes]
        if precision == "int8":
            args += ["--precision", "int8", "--layout", "nhwc"]
        t0 = time.perf_counter()
        subprocess.run(args, check=True, capture_output=True)
        return time.perf_counter() - t0

    print(f"# {a.case}, three planes {a.three_planes}, {a.pairs} pairs; seconds, medians", flush=True)
    for precision in ("int8", "fp32"):
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
    os.unlink(out)
    os.rmdir(os.path.dirname(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
