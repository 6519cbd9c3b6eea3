#!/usr/bin/python3
"""brainseg-cli info on the real samples, checked against nibabel, and its
usage errors.  Skips (77) when the samples are absent."""

import glob
import json
import os
import subprocess
import sys

import nibabel as nib
import numpy as np

CLI = os.environ.get("BS_CLI")
SAMPLES = os.environ.get("BS_SAMPLES_DIR", "")
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def info(*args):
    r = subprocess.run([CLI, "info", *args], capture_output=True, text=True)
    return r.returncode, r.stdout, r.stderr


def modality_file(folder, names):
    for f in sorted(glob.glob(os.path.join(folder, "*.nii*"))):
        base = os.path.basename(f).lower()
        if any(n in base for n in names):
            return f
    return None


def main():
    if not CLI:
        print("SKIP: BS_CLI not set")
        return 77
    # usage errors need no samples
    rc, _, err = info()
    check(rc == 2 and "PATH" in err, f"info without PATH: {rc} {err!r}")
    rc, _, err = info("--no-such-option", "x")
    check(rc == 2, f"info with an unknown option: {rc}")
    missing = "/nonexistent/brainseg/case"
    rc, _, err = info(missing)
    check(rc == 1 and len(err.strip().splitlines()) == 1 and missing in err, f"info on a missing path: {err!r}")
    # infer's model error comes first and alone, whatever the data (a missing
    # folder, an HDF5 file), and the data's when the model is fine.
    def infer_err(*args):
        r = subprocess.run([CLI, "infer", *args], capture_output=True, text=True)
        return r.returncode, r.stderr
    no_model = "/nonexistent/brainseg/model.h5"
    h5_data = os.path.join(os.environ.get("BS_SOURCE_ROOT", ""), "resources", "models", "brainseg-wt.h5")
    for data in (missing, h5_data):
        rc, err = infer_err(data, "--model", no_model)
        check(rc == 1 and len(err.strip().splitlines()) == 1 and no_model in err and missing not in err,
              f"infer {data} with a missing model: {rc} {err!r}")
    rc, err = infer_err(missing)
    check(rc == 1 and len(err.strip().splitlines()) == 1 and missing in err, f"infer on a missing path: {err!r}")
    # German from the build tree, before any install (issue 14, finding 13): the
    # catalogue is found beside the program, not only under the install prefix.
    env = dict(os.environ, LANGUAGE="de", LC_ALL="C.UTF-8")
    r = subprocess.run([CLI, "infer", "--help"], capture_output=True, text=True, env=env)
    check("Einen Fall segmentieren" in r.stdout, f"infer --help in German: {r.stdout[:200]!r}")
    # A folder name that is not UTF-8 still gives valid JSON (fuzz finding: a raw
    # 0xff byte came out), and a pipe named like an image is refused at once.
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        odd = os.path.join(tmp.encode(), b"case\xff")
        os.mkdir(odd)
        task = os.path.join(odd, b"task")
        subprocess.run([CLI.encode(), b"phantom", task, b"--size", b"64x64x32"], check=True, capture_output=True)
        r = subprocess.run([CLI.encode(), b"info", task, b"--json"], capture_output=True)
        try:
            d = json.loads(r.stdout.decode("utf-8"))
            check(r.returncode == 0 and "\ufffd" in d["path"], f"info --json on a non-UTF-8 name: {d['path']!r}")
        except (UnicodeDecodeError, ValueError) as e:
            check(False, f"info --json on a non-UTF-8 name is not UTF-8 JSON: {e}")
        fifo = os.path.join(tmp, "pipe.nii.gz")
        os.mkfifo(fifo)
        try:
            r = subprocess.run([CLI, "info", fifo], capture_output=True, text=True, timeout=60)
            check(r.returncode == 1 and "regular" in r.stderr and fifo in r.stderr, f"info on a pipe: {r.stderr!r}")
        except subprocess.TimeoutExpired:
            check(False, "info on a pipe blocked")

    if not os.path.isdir(SAMPLES):
        print(f"SKIP: real samples absent ({SAMPLES!r}); usage checks ran")
        return 77 if not failures else 1

    # The id is the one the files carry before their modality suffix; prefix-named
    # files (BraTS 2015) carry none and the folder names the case.
    ids = {"tcga-du-7294": "TCGA-DU-7294", "brats2023-gli-00001": "BraTS-GLI-00001-000",
           "decathlon-brats-001-006/brats_2013_pat0002_1": "brats_2013_pat0002_1"}
    cases = {
        "tcga-du-7294": ({"FLAIR": "_fla_", "T1w": "_t1_", "T1gd": "_t1c_", "T2w": "_t2_"}, "seg"),
        "brats2023-gli-00001": ({"FLAIR": "-t2f", "T1w": "-t1n", "T1gd": "-t1c", "T2w": "-t2w"}, None),
        "decathlon-brats-001-006/brats_2013_pat0002_1": ({"FLAIR": "flair_", "T1gd": "t1c_"}, "otmulticlass"),
    }
    for rel, (mods, seg) in cases.items():
        folder = os.path.join(SAMPLES, rel)
        rc, out, err = info(folder, "--json")
        check(rc == 0, f"info {rel}: {err!r}")
        if rc != 0:
            continue
        doc = json.loads(out)
        check(doc["layout"] == "brats-case", f"{rel}: layout {doc['layout']}")
        case = doc["cases"][0]
        check(case["id"] == ids[rel], f"{rel}: id {case['id']}")
        check(case["channels"] == [m for m in ("FLAIR", "T1w", "T1gd", "T2w") if m in mods],
              f"{rel}: channels {case['channels']}")
        for c, name in enumerate(case["channels"]):
            img = nib.load(modality_file(folder, [mods[name]]))
            data = np.asanyarray(img.dataobj)
            check(case["dims"] == list(data.shape), f"{rel}: dims")
            check(case["orientation"] == "".join(nib.aff2axcodes(img.affine)), f"{rel}: orientation")
            lo, hi = case["ranges"][c]
            check(np.isclose(lo, data.min(), rtol=1e-6) and np.isclose(hi, data.max(), rtol=1e-6),
                  f"{rel}: {name} range {lo}..{hi} != {data.min()}..{data.max()}")
        if seg:
            lab = np.asanyarray(nib.load(modality_file(folder, [seg])).dataobj)
            want = {str(int(v)): int(n) for v, n in zip(*np.unique(lab, return_counts=True))}
            check(case["labels"] == want, f"{rel}: labels {case['labels']} != {want}")
        else:
            check(case["labels"] == {} and case["has_label"] is False, f"{rel}: expected no labels")

    # text mode
    folder = os.path.join(SAMPLES, "tcga-du-7294")
    rc, out, _ = info(folder)
    check(rc == 0 and out.startswith("layout: brats-case") and "tcga-du-7294" in out and "LPS" in out,
          f"text output: {out[:200]!r}")

    # a single file with a separate label (the Decathlon labels are on the same grid)
    flair = modality_file(os.path.join(SAMPLES, "decathlon-brats-001-006/brats_2013_pat0001_1"), ["flair_"])
    label = os.path.join(SAMPLES, "decathlon-labels-001-003/BRATS_001_label.nii.gz")
    rc, out, err = info(flair, "--label", label, "--json")
    check(rc == 0, f"info --label: {err!r}")
    if rc == 0:
        case = json.loads(out)["cases"][0]
        lab = np.asanyarray(nib.load(label).dataobj)
        want = {str(int(v)): int(n) for v, n in zip(*np.unique(lab, return_counts=True))}
        check(case["labels"] == want and case["channels"] == ["FLAIR"], f"info --label: {case['labels']}")

    # a weights file: described, its parameter count read from the file's own datasets
    model = os.path.join(os.environ.get("BS_SOURCE_ROOT", ""), "resources", "models", "brainseg-default.h5")
    if os.path.exists(model):
        import h5py
        rc, out, err = info(model, "--json")
        check(rc == 0, f"info on the model: {err!r}")
        if rc == 0:
            d = json.loads(out)
            with h5py.File(model, "r") as f:
                sizes = []
                f["model_weights"].visititems(lambda n, o: sizes.append(o.size) if isinstance(o, h5py.Dataset) else None)
                first = f["model_weights/encodeAa/encodeAa/kernel:0"].shape  # HWIO
                head = f["model_weights/PredictionMask/PredictionMask/kernel:0"].shape
            check(d["layout"] == "model" and d["parameters"] == sum(sizes), f"model parameters: {d} vs {sum(sizes)}")
            check(len(d["inputs"]) == first[2] and d["outputs"] == ["wt", "tc", "et"][:head[3]],
                  f"model inputs/outputs: {d}")
        rc, out, _ = info(model)
        check(rc == 0 and out.startswith("model: ") and "inputs: FLAIR, T1w, T1gd, T2w" in out, f"model text: {out!r}")

    if failures:
        print(f"{len(failures)} check(s) failed")
        return 1
    print("all info checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
