#!/usr/bin/python3
"""brainseg-cli infer --all-cases on the BraTS 2015 samples: a mask per case
in --out-dir, each scoring what its case's JSON says, and a summary that is
their mean, median and worst; a damaged case fails alone.  brainseg-cli
score on a real case: the case's own labels score 1 in every
region; a mask infer wrote scores what infer reported (binary and as a BraTS
label map), also with its voxels stored in another order; the whole tumour's
Dice agrees with numpy's on the files; bad masks are one-line errors naming
the file.  Skips (77) when the samples are absent."""

import json
import shutil
import os
import subprocess
import sys
import tempfile

import nibabel as nib
import numpy as np

CLI = os.environ.get("BS_CLI")
SAMPLES = os.environ.get("BS_SAMPLES_DIR", "")
CASE = "Brats18_TCIA01_201_1"
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def run(*args):
    r = subprocess.run([CLI, *args], capture_output=True, text=True)
    return r.returncode, r.stdout, r.stderr


def score(folder, mask, *more):
    rc, out, err = run("score", folder, "--mask", mask, "--json", *more)
    check(rc == 0, f"score {mask}: rc {rc} {err!r}")
    return json.loads(out) if rc == 0 else None


def one_line_error(args, names, what):
    rc, _, err = run(*args)
    check(rc == 1 and len(err.strip().splitlines()) == 1 and names in err, f"{what}: rc {rc} {err!r}")
    print(f"{what}: {err.strip()}")


def all_cases(tmp):
    dataset = os.path.join(SAMPLES, "decathlon-brats-001-006")
    if not os.path.isdir(dataset):
        return
    masks = os.path.join(tmp, "masks")
    os.mkdir(masks)
    rc, text, err = run("infer", dataset, "--all-cases", "--out-dir", masks, "--precision", "int8", "--layout", "nhwc",
                        "--three-planes", "off", "--json")
    check(rc == 0, f"infer --all-cases: rc {rc} {err!r}")
    if rc != 0:
        return
    got = json.loads(text)
    ids = [c["case"] for c in got["cases"]]
    check(len(ids) == 6 and sorted(os.listdir(masks)) == sorted(i + ".nii.gz" for i in ids), f"masks {os.listdir(masks)}")
    for c in got["cases"]:
        s = score(dataset, os.path.join(masks, c["case"] + ".nii.gz"), "--case", c["case"])
        check(abs(s["regions"]["wt"]["dice"] - c["regions"]["wt"]["dice"]) < 1e-9,
              f"{c['case']}: its mask scores {s['regions']['wt']['dice']}, infer said {c['regions']['wt']['dice']}")
    for r in ("wt", "tc", "et"):
        dice = sorted(c["regions"][r]["dice"] for c in got["cases"])
        summ = got["summary"][r]
        check(summ["n"] == 6 and abs(summ["mean_dice"] - sum(dice) / 6) < 1e-9
              and abs(summ["median_dice"] - (dice[2] + dice[3]) / 2) < 1e-9 and summ["worst_dice"] == dice[0],
              f"summary {r}: {summ} against {dice}")
    print("all cases:", {r: round(got["summary"][r]["mean_dice"], 4) for r in ("wt", "tc", "et")})
    check(got["summary"]["processes"] == 1, f"alone: {got['summary']['processes']} processes")
    # the folder of masks scored case by case: what infer said, and the same summary of the whole tumour
    rc, text, err = run("score", dataset, "--all-cases", "--mask-dir", masks, "--json")
    check(rc == 0, f"score --all-cases: rc {rc} {err!r}")
    if rc == 0:
        scored = json.loads(text)
        check([c["case"] for c in scored["cases"]] == ids, f"score --all-cases: {[c['case'] for c in scored['cases']]}")
        for a, b in zip(got["cases"], scored["cases"]):
            check(abs(a["regions"]["wt"]["dice"] - b["regions"]["wt"]["dice"]) < 1e-9, f"{a['case']}: score {b['regions']['wt']}")
        check(abs(scored["summary"]["wt"]["mean_dice"] - got["summary"]["wt"]["mean_dice"]) < 1e-9
              and scored["summary"]["tc"]["n"] == 0, f"score --all-cases summary: {scored['summary']}")
    os.unlink(os.path.join(masks, ids[2] + ".nii.gz"))
    rc, text, err = run("score", dataset, "--all-cases", "--mask-dir", masks)
    check(rc == 1 and ids[2] + ".nii.gz" in err and "5 cases" in text, f"a case without its mask: rc {rc} {text!r} {err!r}")
    # two processes of one run (MPI): each takes every other case, the first prints them all, the same figures
    if os.environ.get("BS_HAVE_MPI") == "1":
        mpirun = shutil.which("mpirun")
        check(mpirun is not None, "brainseg-cli was built with MPI but there is no mpirun")
        if mpirun:
            env = dict(os.environ)
            # (under the sanitizers, no leak check: Open MPI's components keep memory and are unloaded at
            # MPI_Finalize, so LeakSanitizer cannot name them or take a suppression for them)
            env["ASAN_OPTIONS"] = "detect_leaks=0:abort_on_error=1"
            r = subprocess.run([mpirun, "--allow-run-as-root", "--oversubscribe", "-n", "2", CLI, "infer", dataset,
                                "--all-cases", "--precision", "int8", "--layout", "nhwc", "--three-planes", "off",
                                "--json"], capture_output=True, text=True, env=env)
            check(r.returncode == 0, f"mpirun -n 2 infer --all-cases: rc {r.returncode} {r.stderr[-800:]!r}")
            if r.returncode == 0:
                two = json.loads(r.stdout)
                check(two["summary"]["processes"] == 2, f"mpirun -n 2: {two['summary']['processes']} processes")
                check([c["case"] for c in two["cases"]] == ids, f"mpirun -n 2: cases {[c['case'] for c in two['cases']]}")
                for a, b in zip(got["cases"], two["cases"]):
                    for r_ in ("wt", "tc", "et"):
                        check(a["regions"][r_]["dice"] == b["regions"][r_]["dice"],
                              f"{a['case']} {r_}: alone {a['regions'][r_]['dice']}, of two {b['regions'][r_]['dice']}")
                for r_ in ("wt", "tc", "et"):
                    check(two["summary"][r_] == got["summary"][r_], f"summary {r_}: {two['summary'][r_]}")
                print("mpirun -n 2: the same", len(two["cases"]), "cases, threads", [c["threads"] for c in two["cases"]])
            # a step that fails in the processes ends them all, with the error (the others must not wait for ever)
            try:
                r = subprocess.run([mpirun, "--allow-run-as-root", "--oversubscribe", "-n", "2", CLI, "infer", dataset,
                                    "--all-cases", "--out-dir", os.path.join(tmp, "no-such-folder")],
                                   capture_output=True, text=True, env=env, timeout=120)
                check(r.returncode != 0 and "no-such-folder" in r.stderr, f"mpirun, a missing --out-dir: rc {r.returncode}")
            except subprocess.TimeoutExpired:
                check(False, "mpirun with a missing --out-dir hung")
            r = subprocess.run([mpirun, "--allow-run-as-root", "--oversubscribe", "-n", "2", CLI, "score", dataset,
                                "--all-cases", "--mask-dir", masks], capture_output=True, text=True, env=env, timeout=120)
            check(r.returncode != 0 and "only infer --all-cases" in r.stderr, f"mpirun score: rc {r.returncode} {r.stderr[-300:]!r}")
    # one damaged case among good ones: it fails alone, named, and the run says so
    coll = os.path.join(tmp, "collection")
    os.makedirs(os.path.join(coll, "Brats18_bad_1"))
    os.symlink(os.path.join(SAMPLES, "brats2017-2018", CASE), os.path.join(coll, CASE))
    src = os.path.join(SAMPLES, "brats2017-2018", CASE, CASE)
    for m in ("flair", "t1", "t1ce", "t2", "seg"):
        with open(f"{src}_{m}.nii.gz", "rb") as f:
            data = f.read()
        with open(os.path.join(coll, "Brats18_bad_1", f"Brats18_bad_1_{m}.nii.gz"), "wb") as f:
            f.write(data if m != "t1" else data[: len(data) // 4])
    rc, text, err = run("infer", coll, "--all-cases", "--precision", "int8", "--layout", "nhwc", "--three-planes", "off",
                        "--json")
    check(rc == 1 and json.loads(text)["summary"]["failed_cases"] == ["Brats18_bad_1"], f"failed_cases: {text[-300:]!r}")
    rc, text, err = run("infer", coll, "--all-cases", "--precision", "int8", "--layout", "nhwc", "--three-planes", "off")
    print(text.strip())
    check(rc == 1 and "Brats18_bad_1_t1.nii.gz" in err and text.startswith(CASE + ": WT ") and "1 failed" in text,
          f"a damaged case among good ones: rc {rc} {text!r} {err!r}")
    rc, _, err = run("infer", dataset, "--all-cases", "--out", os.path.join(tmp, "m.nii.gz"))
    check(rc == 2 and "--out-dir" in err, f"--all-cases with --out: {rc} {err!r}")


def main():
    if not CLI:
        print("SKIP: BS_CLI not set")
        return 77
    rc, _, err = run("score", "x")
    check(rc == 2 and "--mask" in err, f"score without --mask: {rc} {err!r}")
    folder = os.path.join(SAMPLES, "brats2017-2018", CASE)
    if not os.path.isdir(folder):
        print("SKIP: no real case at", folder)
        return 77 if not failures else 1
    seg = os.path.join(folder, CASE + "_seg.nii.gz")
    tmp = tempfile.mkdtemp(prefix="bs-cli-score-")

    # the truth against itself
    own = score(folder, seg)
    for r in ("wt", "tc", "et"):
        m = own["regions"][r]
        check(m["predicted"] and m["dice"] == 1.0 and m["hd95"] == 0.0, f"own labels, {r}: {m}")
    check(own["mask_labels"] == "brats2017", f"own labels read as {own['mask_labels']}")

    # a mask infer wrote: the same figures infer reported
    for labels in ("wt", "input"):
        out = os.path.join(tmp, f"mask-{labels}.nii.gz")
        rc, text, err = run("infer", folder, "--precision", "int8", "--layout", "nhwc", "--three-planes", "off",
                            "--mask-labels", labels, "--out", out, "--json")
        check(rc == 0, f"infer --mask-labels {labels}: {err!r}")
        if rc != 0:
            continue
        inferred = json.loads(text)
        got = score(folder, out)
        for r in ("wt", "tc", "et") if labels == "input" else ("wt",):
            a, b = inferred["regions"][r], got["regions"][r]
            for k in ("dice", "hd95", "sensitivity", "specificity", "volume_ml", "true_volume_ml"):
                check(abs(a[k] - b[k]) < 1e-9, f"{labels} mask, {r} {k}: infer {a[k]} score {b[k]}")
        if labels == "wt":
            check(not got["regions"]["tc"]["predicted"] and got["regions"]["tc"]["dice"] is None
                  and got["regions"]["tc"]["true_volume_ml"] > 0, f"a 0/1 mask tells no core: {got['regions']['tc']}")
            # numpy on the files
            p = np.asarray(nib.load(out).dataobj) > 0
            t = np.asarray(nib.load(seg).dataobj) > 0
            dice = 2 * np.logical_and(p, t).sum() / (p.sum() + t.sum())
            check(abs(dice - got["regions"]["wt"]["dice"]) < 1e-9, f"numpy Dice {dice} score {got['regions']['wt']['dice']}")
            print(f"{CASE}: infer's mask scores WT Dice {got['regions']['wt']['dice']:.4f} (numpy {dice:.4f})")
            # the same mask with its voxels in another order (RAS): the same figures
            img = nib.load(out)
            ras = nib.as_closest_canonical(img)
            check(nib.aff2axcodes(ras.affine) != nib.aff2axcodes(img.affine), "the reordered mask has another axis order")
            ras_path = os.path.join(tmp, "mask-ras.nii.gz")
            nib.save(ras, ras_path)
            got_ras = score(folder, ras_path)
            check(got_ras["regions"]["wt"] == got["regions"]["wt"], f"RAS mask: {got_ras['regions']['wt']}")

    # label maps of 1-3 (Decathlon): infer's Decathlon export reads back as Decathlon on a BraTS 2017 case and on a
    # BraTS 2015 one (walk finding: read as BraTS 2015 there), the Decathlon release's own labels of a 2015 case too
    dec = os.path.join(tmp, "mask-decathlon.nii.gz")
    rc, text, err = run("infer", folder, "--precision", "int8", "--layout", "nhwc", "--three-planes", "off",
                        "--mask-labels", "decathlon", "--out", dec, "--json")
    if rc == 0:
        got = score(folder, dec)
        check(got["mask_labels"] == "decathlon", f"a Decathlon export read as {got['mask_labels']}")
        for r in ("wt", "tc", "et"):
            check(abs(got["regions"][r]["dice"] - json.loads(text)["regions"][r]["dice"]) < 1e-9, f"Decathlon export {r}")
    pat1 = os.path.join(SAMPLES, "decathlon-brats-001-006", "brats_2013_pat0001_1")
    dec_label = os.path.join(SAMPLES, "decathlon-labels-001-003", "BRATS_001_label.nii.gz")
    if os.path.isdir(pat1) and os.path.exists(dec_label):
        got = score(pat1, dec_label)
        check(got["mask_labels"] == "decathlon" and all(got["regions"][r]["dice"] == 1.0 for r in ("wt", "tc", "et")),
              f"BRATS_001's Decathlon labels on pat0001: {got['mask_labels']} {got['regions']}")
        forced = score(pat1, dec_label, "--mask-labels", "brats2015")
        check(forced["mask_labels"] == "brats2015" and forced["regions"]["et"]["dice"] == 0.0, "--mask-labels brats2015 obeyed")
    one_line_error(["score", folder, "--mask", seg, "--mask-labels", "brats2023"], "_seg.nii.gz", "a 4 named BraTS 2023")

    # bad masks: one line naming the file
    small = os.path.join(tmp, "small.nii.gz")
    nib.save(nib.Nifti1Image(np.zeros((10, 12, 8), np.uint8), np.eye(4)), small)
    one_line_error(["score", folder, "--mask", small], "small.nii.gz", "another grid")
    trunc = os.path.join(tmp, "truncated.nii.gz")
    with open(seg, "rb") as f:
        data = f.read()
    with open(trunc, "wb") as f:
        f.write(data[: len(data) // 3])
    one_line_error(["score", folder, "--mask", trunc], "truncated.nii.gz", "truncated mask")
    nan = os.path.join(tmp, "nan.nii.gz")
    ref = nib.load(seg)
    header = ref.header.copy()
    header.set_data_dtype(np.float32)   # (the label's own type would round them away)
    vals = np.asarray(ref.dataobj).astype(np.float32)
    vals[100, 100, 70] = np.nan
    nib.save(nib.Nifti1Image(vals, ref.affine, header), nan)
    one_line_error(["score", folder, "--mask", nan], "nan.nii.gz", "a NaN in the mask")
    frac = os.path.join(tmp, "fraction.nii.gz")
    vals = np.asarray(ref.dataobj).astype(np.float32)
    vals[100, 100, 70] = 0.5
    nib.save(nib.Nifti1Image(vals, ref.affine, header), frac)
    one_line_error(["score", folder, "--mask", frac], "fraction.nii.gz", "a value of no class")
    one_line_error(["score", folder, "--mask", os.path.join(tmp, "missing.nii.gz")], "missing.nii.gz", "no such file")
    unlabelled = os.path.join(SAMPLES, "brats2023-gli-00001")
    if os.path.isdir(unlabelled):
        one_line_error(["score", unlabelled, "--mask", seg], seg, "a case without ground truth")

    all_cases(tmp)
    shutil.rmtree(tmp)
    if failures:
        print(f"{len(failures)} failure(s)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
