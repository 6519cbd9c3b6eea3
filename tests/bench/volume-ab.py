#!/usr/bin/env python3
"""Two builds' whole-volume `infer`, interleaved run by run: a report, never pass/fail.

For each configuration (int8 and fp32, axial slices only and three planes) runs
`brainseg-cli infer CASE --precision P --three-planes on|off --json --out mask.nii.gz` with the
build before and the build after, alternately, and prints per configuration and build the median
and range of the wall clock (process start to exit), the median system time and resident memory
(/usr/bin/time), the JSON's load_seconds + total_seconds (command start to the mask written) and
the whole-tumour Dice.  Alternating the builds, and which of the two runs first, keeps a noisy
shared machine's drift out of the comparison (use an even --runs).

--pause S sleeps S seconds before every run.  On the Firecracker VMs measured here, memory a process
frees goes back to the host within about a second, and the next process's first touch of fresh
pages then costs 0.3-0.7 GB/s instead of 9-15 GB/s: back to back (the default, --pause 0) each run
finds the pages the run before it freed still warm, as a loop of benchmarks does; with --pause 3
each run starts cold, as a user's single command after a pause does.

    /usr/bin/python3 tests/bench/volume-ab.py BEFORE_BUILD AFTER_BUILD CASE [--runs 6] [--pause 3]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("case")
    ap.add_argument("--runs", type=int, default=6)
    ap.add_argument("--pause", type=float, default=0.0, help="seconds to sleep before each run (3: cold pages)")
    ap.add_argument("--configs", default="int8:off,fp32:off,int8:on,fp32:on",
                    help="precision:three-planes pairs, comma-separated")
    a = ap.parse_args()
    builds = {"before": a.before, "after": a.after}
    configs = [tuple(c.split(":")) for c in a.configs.split(",")]
    res = {}
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(a.runs):
            for prec, planes in configs:
                # in both orders, alternately: the second of two runs measured
                # faster here (fp32 by 0.1 s: the first pays for pages the
                # kernel has to find), which one fixed order books to a build
                order = list(builds.items())
                if run % 2:
                    order.reverse()
                for name, build in order:
                    cli = os.path.join(build, "app", "brainseg-cli")
                    timing = os.path.join(tmp, "time.txt")
                    cmd = ["/usr/bin/time", "-f", "%e %S %M", "-o", timing, cli, "infer", a.case, "--precision",
                           prec, "--three-planes", planes, "--json", "--out", os.path.join(tmp, "mask.nii.gz")]
                    time.sleep(a.pause)
                    p = subprocess.run(cmd, capture_output=True, text=True)
                    if p.returncode != 0:
                        sys.exit(f"{name}: {' '.join(cmd)}\n{p.stderr}")
                    wall, sys_s, rss = open(timing).read().split()[-3:]
                    d = json.loads(p.stdout)
                    res.setdefault((prec, planes, name), []).append(
                        (float(wall), float(sys_s), int(rss) / 1024, d["load_seconds"] + d["total_seconds"],
                         d["dice_wt"]))
    print(f"{'precision':<9} {'planes':<6} {'build':<6} {'wall s (range)':>20} {'sys s':>6} {'RSS MB':>7} "
          f"{'load+total s':>12} {'Dice':>7}")
    for (prec, planes, name), v in res.items():
        wall = [x[0] for x in v]
        print(f"{prec:<9} {'three' if planes == 'on' else 'axial':<6} {name:<6} "
              f"{statistics.median(wall):>8.2f} ({min(wall):.2f}-{max(wall):.2f}) "
              f"{statistics.median(x[1] for x in v):>6.2f} {statistics.median(x[2] for x in v):>7.0f} "
              f"{statistics.median(x[3] for x in v):>12.2f} {v[0][4] if v[0][4] is not None else float('nan'):>7.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
