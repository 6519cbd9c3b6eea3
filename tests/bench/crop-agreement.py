#!/usr/bin/env python3
"""Cropping to the brain against whole-slice inference on every real case: a report.

For each case folder given (or every labelled case under ../shared/data/brats-samples), runs
`brainseg-cli infer --crop-to-brain on` and `off` side by side and prints the share of voxels on
which the two masks agree, both whole-tumour Dice values, the window, the slices run and the
inference seconds of each (JSON "seconds": network loop, threshold and clean-up).

    /usr/bin/python3 tests/bench/crop-agreement.py BUILD_DIR [--precision fp32] [--model W.h5] [CASE_DIR...]
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile

import nibabel as nib
import numpy as np


def default_cases():
    root = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data", "brats-samples")
    cases = sorted(glob.glob(os.path.join(root, "decathlon-brats-001-006", "*")))
    cases += sorted(glob.glob(os.path.join(root, "brats2017-2018", "*")))
    cases += [os.path.join(root, "tcga-du-7294")]
    return [c for c in cases if os.path.isdir(c)]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("build")
    ap.add_argument("cases", nargs="*")
    ap.add_argument("--precision", default="fp32")
    ap.add_argument("--layout", default=None)
    ap.add_argument("--model", default=None, help="weights to run (default: the shipped model)")
    a = ap.parse_args()
    cli = os.path.join(a.build, "app", "brainseg-cli")
    cases = a.cases or default_cases()
    if not cases:
        print("no real cases found (../shared/data/brats-samples is absent)")
        return 0
    # axial slices only: the crop's own effect, as measured before three planes became the default
    extra = ["--precision", a.precision, "--three-planes", "off"] + (["--layout", a.layout] if a.layout else [])
    extra += ["--model", a.model] if a.model else []
    print(f"{'case':<24} {'agree %':>9} {'Dice on':>8} {'Dice off':>8} {'window':>18} {'run':>8} "
          f"{'s on':>6} {'s off':>6}")
    worst_agree, worst_dd, t_on, t_off = 100.0, 0.0, 0.0, 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for case in cases:
            res = {}
            for crop in ("on", "off"):
                out = os.path.join(tmp, f"{crop}.nii.gz")
                p = subprocess.run([cli, "infer", case, "--crop-to-brain", crop, "--out", out, "--json"] + extra,
                                   capture_output=True, text=True)
                if p.returncode != 0:
                    sys.exit(f"{case}: {p.stderr.strip()}")
                res[crop] = (json.loads(p.stdout), np.asarray(nib.load(out).dataobj))
            on, off = res["on"][0], res["off"][0]
            agree = 100.0 * float(np.mean(res["on"][1] == res["off"][1]))
            d_on = on["dice_wt"] if on["dice_wt"] is not None else float("nan")
            d_off = off["dice_wt"] if off["dice_wt"] is not None else float("nan")
            worst_agree = min(worst_agree, agree)
            if d_on == d_on:
                worst_dd = max(worst_dd, abs(d_on - d_off))
            t_on += on["seconds"]
            t_off += off["seconds"]
            w = on["window"]
            print(f"{on['case'][:24]:<24} {agree:9.4f} {d_on:8.4f} {d_off:8.4f} {w[2]:>4}x{w[3]:<4}@{w[0]},{w[1]:<4} "
                  f"{on['slices_run']:>4}/{on['slices']:<3} {on['seconds']:6.2f} {off['seconds']:6.2f}", flush=True)
    print(f"worst agreement {worst_agree:.4f} %, largest |Dice change| {worst_dd:.4f}, "
          f"inference seconds {t_on:.1f} cropped vs {t_off:.1f} whole ({t_on / t_off:.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
