#!/usr/bin/env python3
"""int8 and bf16 against fp32 on every real case: a report, not a pass/fail test.

For each case folder given (or every labelled case under ../shared/data/brats-samples), runs
`brainseg-cli infer` in fp32 (blocked) and in each lower precision this CPU has (int8 in NHWC,
bf16 blocked), side by side, with the shipped model or --model, and prints the whole-tumour Dice
of each (after the island clean-up), the difference to fp32 and the seconds of each run. The
model issue asks for int8 within 0.01 of fp32 on real cases.

    /usr/bin/python3 tests/bench/precision-agreement.py BUILD_DIR [--model M.h5] [--flips] [CASE_DIR...]
"""
import argparse
import glob
import json
import os
import subprocess
import sys


def default_cases():
    root = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data", "brats-samples")
    cases = sorted(glob.glob(os.path.join(root, "decathlon-brats-001-006", "*")))
    cases += sorted(glob.glob(os.path.join(root, "brats2017-2018", "*")))
    cases += [os.path.join(root, "tcga-du-7294")]
    return [c for c in cases if os.path.isdir(c)]


def infer(cli, case, model, extra):
    cmd = [cli, "infer", case, "--json", *extra]
    if model:
        cmd += ["--model", model]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        return None, p.stderr.strip().splitlines()[-1] if p.stderr.strip() else f"exit {p.returncode}"
    return json.loads(p.stdout), None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("build")
    ap.add_argument("cases", nargs="*")
    ap.add_argument("--model", default=None)
    ap.add_argument("--flips", action="store_true", help="test-time flips on in every run")
    a = ap.parse_args()
    cli = os.path.join(a.build, "app", "brainseg-cli")
    cases = a.cases or default_cases()
    if not cases:
        sys.exit("no cases: give case folders or put the samples in ../shared/data/brats-samples")
    flips = ["--test-time-flips", "on"] if a.flips else []
    configs = [("fp32", ["--precision", "fp32", "--layout", "blocked"]),
               ("int8", ["--precision", "int8", "--layout", "nhwc"]),
               ("bf16", ["--precision", "bf16", "--layout", "blocked"])]
    print(f"{'case':<28} " + " ".join(f"{name:>8} {'d-fp32':>7} {'s':>5}" for name, _ in configs))
    worst = {name: 0.0 for name, _ in configs}
    for case in cases:
        row, ref = [], None
        for name, opts in configs:
            d, err = infer(cli, case, a.model, opts + flips)
            if d is None or d.get("dice_wt") is None:
                row.append(f"{'-':>8} {'':>7} {'':>5}")
                continue
            dice = d["dice_wt"]
            if ref is None:
                ref = dice
            diff = dice - ref
            worst[name] = max(worst[name], abs(diff))
            row.append(f"{dice:8.4f} {diff:+7.4f} {d['seconds']:5.2f}")
        print(f"{os.path.basename(os.path.normpath(case)):<28} " + " ".join(row))
    print("largest |Dice - fp32 Dice|: " + ", ".join(f"{k} {v:.4f}" for k, v in worst.items() if k != "fp32"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
