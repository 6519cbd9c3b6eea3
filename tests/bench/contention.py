#!/usr/bin/env python3
"""Brainseg on a busy machine: a report, never a pass/fail time.

Runs each workload quiet, with one core held by a spinning process, with every
core held, and as two Brainseg processes at once, and prints the time of each
and its ratio to quiet.  With --baseline every row is also run on libgomp's own
defaults on every core and malloc's, as Brainseg ran before it adapted (BRAINSEG_KEEP_OMP_DEFAULTS=1
BRAINSEG_THREADS_ALL=1 BRAINSEG_KEEP_MALLOC_DEFAULTS=1), side by side in the same run, so the comparison survives a noisy
shared machine.

    /usr/bin/python3 tests/bench/contention.py BUILD_DIR CASE [--repeat 3] [--baseline]
        [--rows infer-fp32,infer-int8,slice,train-step,compare] [--lanes-off] [--json FILE]

Workloads (all through brainseg-cli, the entry point a user runs):
  infer-fp32  whole volume, fp32, axial slices only (--three-planes off: the same work as the tables
              before three planes became the default), from process start to mask written (wall clock)
  infer-int8  whole volume, int8 NHWC, the same
  slice       one 240x240 slice, fp32 NHWC batch 1, through a ready plan (the window's visible-slice latency)
  train-step  one training step, batch 16, 128x128 (train --bench-step, mean of the timed steps)
  compare     Compare all on the case (export --what compare), wall clock
"""
import argparse
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time


def cpu_name():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


class Runner:
    def __init__(self, cli, case, tmp):
        self.cli, self.case, self.tmp = cli, case, tmp

    def command(self, row, k, args=()):
        out = os.path.join(self.tmp, f"{row}-{k}")
        if row == "infer-fp32":
            return [self.cli, "infer", self.case, "--precision", "fp32", "--three-planes", "off",
                    "--out", out + ".nii.gz", "--json", *args]
        if row == "infer-int8":
            return [self.cli, "infer", self.case, "--precision", "int8", "--layout", "nhwc", "--three-planes", "off",
                    "--out", out + ".nii.gz", "--json", *args]
        if row == "slice":
            return [self.cli, "bench", "--size", "240", "--batch", "1", "--precision", "fp32", "--layout", "nhwc",
                    "--no-reference", "--repeat", "20", "--json"]
        if row == "train-step":
            return [self.cli, "train", "--bench-step", "--batch", "16", "--crop", "128", "--repeats", "3", *args]
        if row == "compare":
            return [self.cli, "export", self.case, "--what", "compare", "--out", out + ".csv", "--quiet"]
        raise ValueError(row)

    @staticmethod
    def measure(row, stdout, wall):
        if row == "slice":
            return json.loads(stdout)["rows"][0]["ms_per_slice"] / 1000.0
        if row == "train-step":
            return json.loads(stdout)["step_ms_mean"] / 1000.0
        return wall

    def start(self, row, k, env, args=()):
        return subprocess.Popen(self.command(row, k, args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=env, text=True), time.perf_counter()

    def finish(self, row, proc_t0):
        proc, t0 = proc_t0
        out, err = proc.communicate(timeout=900)
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            raise RuntimeError(f"{row}: exit {proc.returncode}: {err.strip()[-400:]}")
        return self.measure(row, out, wall)


def spinners(n):
    return [subprocess.Popen(["/bin/sh", "-c", "while :; do :; done"]) for _ in range(n)]


def stop(procs):
    for p in procs:
        p.kill()
        p.wait()


def run_condition(runner, row, cond, env, repeat, cores, args=()):
    times = []
    for k in range(repeat):
        held = spinners(1 if cond == "one core busy" else cores if cond == "all cores busy" else 0)
        try:
            time.sleep(0.2 if held else 0)
            if cond == "two processes":
                a = runner.start(row, f"{k}a", env, args)
                b = runner.start(row, f"{k}b", env, args)
                times.append(statistics.mean([runner.finish(row, a), runner.finish(row, b)]))
            else:
                times.append(runner.finish(row, runner.start(row, k, env, args)))
        finally:
            stop(held)
    return statistics.median(times)


def main():
    # A benchmark stopped with SIGTERM must not leave its busy loops running.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("build")
    ap.add_argument("case")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--rows", default="infer-fp32,infer-int8,slice,train-step,compare")
    ap.add_argument("--conditions", default="quiet,one core busy,all cores busy,two processes")
    ap.add_argument("--baseline", action="store_true",
                    help="also run as before (libgomp's defaults, every core), side by side")
    ap.add_argument("--variant", action="append", default=[], metavar="NAME:VAR=VALUE[,VAR=VALUE]",
                    help="also run with these environment variables (e.g. passive:OMP_WAIT_POLICY=passive)")
    ap.add_argument("--lanes-off", action="store_true",
                    help="also run the rows that run on lanes (whole volume, training step) with --lanes off "
                         "(every layer split between the threads)")
    ap.add_argument("--json", help="write the table as JSON here too")
    a = ap.parse_args()

    cli = os.path.join(a.build, "app", "brainseg-cli")
    cores = os.cpu_count() or 1
    # (name, environment, arguments of the rows on lanes, those rows only)
    variants = [("brainseg", {}, (), False)]
    if a.lanes_off:
        variants.append(("lanes off", {}, ("--lanes", "off"), True))
    if a.baseline:
        # as before Brainseg adapted: no lanes either
        variants.append(("before", {"BRAINSEG_KEEP_OMP_DEFAULTS": "1", "BRAINSEG_THREADS_ALL": "1",
                                    "BRAINSEG_KEEP_MALLOC_DEFAULTS": "1"}, ("--lanes", "off"), False))
    for v in a.variant:
        name, _, assigns = v.partition(":")
        variants.append((name, dict(kv.split("=", 1) for kv in assigns.split(",") if kv), (), False))
    base_env = {k: v for k, v in os.environ.items()
                if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "OMP_NUM_THREADS", "BRAINSEG_OMP_DEFAULTS")}
    conditions = a.conditions.split(",")
    probe = subprocess.run([cli, "bench", "--size", "16", "--batch", "1", "--precision", "fp32", "--layout", "nhwc",
                            "--no-reference", "--repeat", "1", "--json"], capture_output=True, text=True)
    try:
        isa = json.loads(probe.stdout)["isa"]
    except (ValueError, KeyError):
        isa = "?"
    print(f"# {cpu_name()}, {cores} cores, oneDNN ISA {isa}; median of {a.repeat}; "
          f"seconds (ratio to quiet)", flush=True)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        runner = Runner(cli, a.case, tmp)
        print(f"{'row':<12} {'runtime':<16} " + " ".join(f"{c:>20}" for c in conditions), flush=True)
        for row in a.rows.split(","):
            for name, extra, args, lanes_only in variants:
                env = dict(base_env, **extra)
                if not (row.startswith("infer-") or row == "train-step"):
                    if lanes_only:
                        continue
                    args = ()
                cells, quiet = [], None
                for cond in conditions:
                    t = run_condition(runner, row, cond, env, a.repeat, cores, args)
                    if cond == "quiet":
                        quiet = t
                    ratio = t / quiet if quiet else float("nan")
                    results.append({"row": row, "runtime": name, "condition": cond, "seconds": t, "ratio": ratio})
                    cells.append(f"{t:8.3f} ({ratio:5.2f}x)")
                print(f"{row:<12} {name:<16} " + " ".join(f"{c:>20}" for c in cells), flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"cpu": cpu_name(), "isa": isa, "cores": cores, "rows": results}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
