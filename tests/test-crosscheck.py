#!/usr/bin/python3
"""Cross-checks Brainseg's readers against nibabel and h5py.

Fixtures are written at test time with Debian's python3-nibabel and
python3-h5py into a temporary folder; Brainseg reads them through the bs-dump
helper (raw voxels) and `brainseg-cli info --json` (metadata), and both must
agree with what nibabel/h5py/numpy say about the same files."""

import json
import os
import subprocess
import sys
import tempfile

try:
    import h5py
    import nibabel as nib
    import numpy as np
except ImportError as e:  # pragma: no cover - depends on the machine
    print(f"SKIP: python3-nibabel/h5py/numpy missing ({e})")
    sys.exit(77)

CLI = os.environ.get("BS_CLI")
DUMP = os.environ.get("BS_DUMP")
if not CLI or not DUMP:
    print("SKIP: BS_CLI and BS_DUMP must point at brainseg-cli and bs-dump")
    sys.exit(77)

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def oblique_affine(rng):
    # A rotation about a random axis, a flip and anisotropic spacing.
    q = rng.normal(size=4)
    q /= np.linalg.norm(q)
    a, b, c, d = q
    rot = np.array([
        [a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c)],
        [2 * (b * c + a * d), a * a + c * c - b * b - d * d, 2 * (c * d - a * b)],
        [2 * (b * d - a * c), 2 * (c * d + a * b), a * a + d * d - b * b - c * c],
    ])
    aff = np.eye(4)
    aff[:3, :3] = rot @ np.diag([0.9, 1.2, 2.5]) @ np.diag([-1, 1, 1])
    aff[:3, 3] = rng.uniform(-100, 100, size=3)
    return aff


def run_dump(path, outdir, label=None):
    args = [DUMP, path, outdir] + ([label] if label else [])
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"bs-dump {path}: {r.stderr.strip()}")
    return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]


def run_info(path, label=None):
    args = [CLI, "info", path, "--json"] + (["--label", label] if label else [])
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"brainseg-cli info {path}: {r.stderr.strip()}")
    return json.loads(r.stdout)


def brainseg_layout(arr):
    """numpy (x, y, z[, c]) -> BsVolume order (c, z, y, x), flattened."""
    if arr.ndim == 3:
        arr = arr[..., None]
    return np.ascontiguousarray(arr.transpose(3, 2, 1, 0)).ravel()


def read_f32(outdir, i, what):
    return np.fromfile(os.path.join(outdir, f"case{i}.{what}.f32"), dtype=np.float32)


def nifti_fixtures(tmp, rng):
    ranges = {
        "uint8": (0, 255), "int8": (-128, 127), "int16": (-32768, 32767), "uint16": (0, 65535),
        "int32": (-10**6, 10**6), "float32": (-1e4, 1e4), "float64": (-1e4, 1e4),
    }
    fixtures = []
    n = 0
    for dtype, (lo, hi) in ranges.items():
        for shape in [(7, 6, 5), (7, 6, 5, 3)]:
            if dtype.startswith("float"):
                data = rng.uniform(lo, hi, size=shape).astype(dtype)
            else:
                data = rng.integers(lo, hi, size=shape, endpoint=True).astype(dtype)
            aff = oblique_affine(rng)
            n += 1
            big_endian = n % 3 == 0
            nifti2 = n % 4 == 0
            klass = nib.Nifti2Image if nifti2 else nib.Nifti1Image
            hdr = (nib.Nifti2Header if nifti2 else nib.Nifti1Header)(endianness=">" if big_endian else "<")
            img = klass(data, aff, hdr)
            img.header.set_data_dtype(dtype)
            ext = ".nii.gz" if n % 2 else ".nii"
            path = os.path.join(tmp, f"fx-{dtype}-{len(shape)}d-{n}{ext}")
            img.to_filename(path)
            fixtures.append(path)

    # scl_slope / scl_inter on int16 data
    data = rng.integers(-1000, 1000, size=(8, 7, 6)).astype(np.int16)
    img = nib.Nifti1Image(data, np.diag([-1.0, -1.0, 1.0, 1.0]))
    img.header.set_data_dtype(np.int16)
    img.header.set_slope_inter(0.25, -7.5)
    path = os.path.join(tmp, "fx-scaled.nii.gz")
    img.to_filename(path)
    fixtures.append(path)

    # qform only (sform code 0)
    img = nib.Nifti1Image(rng.uniform(0, 1, size=(5, 6, 7)).astype(np.float32), None)
    img.set_qform(oblique_affine(rng), code=1)
    img.set_sform(None, code=0)
    path = os.path.join(tmp, "fx-qform-only.nii.gz")
    img.to_filename(path)
    fixtures.append(path)

    # sform and qform disagree: the sform wins
    img = nib.Nifti1Image(rng.uniform(0, 1, size=(5, 6, 7)).astype(np.float32), None)
    img.set_qform(np.diag([2.0, 2.0, 2.0, 1.0]), code=1)
    img.set_sform(oblique_affine(rng), code=2)
    path = os.path.join(tmp, "fx-sform-wins.nii.gz")
    img.to_filename(path)
    fixtures.append(path)
    return fixtures


def check_nifti_file(path, tmp):
    img = nib.load(path)
    want = np.asanyarray(img.dataobj).astype(np.float64)
    outdir = tempfile.mkdtemp(dir=tmp)
    meta = run_dump(path, outdir)[0]
    got = read_f32(outdir, 0, "image")
    name = os.path.basename(path)
    shape = want.shape
    check(meta["dims"] == list(shape[:3]), f"{name}: dims {meta['dims']} != {shape[:3]}")
    check(meta["n_channels"] == (shape[3] if len(shape) > 3 else 1), f"{name}: channels")
    exp = brainseg_layout(want).astype(np.float32)
    check(got.shape == exp.shape, f"{name}: voxel count {got.shape} != {exp.shape}")
    if got.shape == exp.shape:
        check(np.allclose(got, exp, rtol=1e-6, atol=1e-6), f"{name}: voxels differ (max {np.abs(got - exp).max()})")
    aff = np.array(meta["affine"]).reshape(4, 4)
    check(np.allclose(aff, img.affine, atol=1e-4), f"{name}: affine\n{aff}\n!=\n{img.affine}")

    info = run_info(path)
    case = info["cases"][0]
    check(info["layout"] == "nifti-file", f"{name}: layout {info['layout']}")
    check(case["dims"] == list(shape[:3]), f"{name}: info dims")
    zooms = img.header.get_zooms()[:3]
    check(np.allclose(case["spacing"], zooms, atol=1e-4), f"{name}: spacing {case['spacing']} != {zooms}")
    code = "".join(nib.aff2axcodes(img.affine))
    check(case["orientation"] == code, f"{name}: orientation {case['orientation']} != {code}")
    for c, (lo, hi) in enumerate(case["ranges"]):
        chan = want if want.ndim == 3 else want[..., c]
        check(np.isclose(lo, chan.min(), rtol=1e-5, atol=1e-5) and np.isclose(hi, chan.max(), rtol=1e-5, atol=1e-5),
              f"{name}: range of channel {c}")


def check_nonfinite(tmp):
    data = np.ones((6, 5, 4), dtype=np.float32)
    data[1, 2, 3] = np.nan
    data[0, 0, 0] = np.inf
    data[5, 4, 3] = -np.inf
    path = os.path.join(tmp, "fx-nan.nii.gz")
    nib.Nifti1Image(data, np.eye(4)).to_filename(path)
    outdir = tempfile.mkdtemp(dir=tmp)
    meta = run_dump(path, outdir)[0]
    got = read_f32(outdir, 0, "image")
    check(meta["nonfinite"] == 3, f"fx-nan: nonfinite {meta['nonfinite']} != 3")
    check(np.isfinite(got).all() and (got == 0).sum() == 3, "fx-nan: non-finite voxels not replaced by 0")
    info = run_info(path)
    check(info["cases"][0]["nonfinite"] == 3, "fx-nan: info does not report the non-finite voxels")


def check_label_pair(tmp, rng):
    img = rng.uniform(0, 500, size=(9, 8, 7)).astype(np.float32)
    lab = rng.choice([0, 0, 0, 1, 2, 4], size=(9, 8, 7)).astype(np.uint8)
    aff = np.diag([-1.0, -1.0, 1.0, 1.0])
    ip = os.path.join(tmp, "case_t1.nii.gz")
    lp = os.path.join(tmp, "case_seg.nii.gz")
    nib.Nifti1Image(img, aff).to_filename(ip)
    nib.Nifti1Image(lab, aff).to_filename(lp)
    info = run_info(ip, lp)
    case = info["cases"][0]
    want = {str(v): int(c) for v, c in zip(*np.unique(lab, return_counts=True))}
    check(case["labels"] == want, f"label counts {case['labels']} != {want}")
    check(case["label_convention"] == "brats2017", f"label convention {case['label_convention']}")
    check(case["channels"] == ["T1w"], f"channel from the file name: {case['channels']}")
    outdir = tempfile.mkdtemp(dir=tmp)
    run_dump(ip, outdir, lp)
    check(np.array_equal(read_f32(outdir, 0, "label"), brainseg_layout(lab).astype(np.float32)), "label voxels")


def check_decathlon(tmp, rng):
    root = os.path.join(tmp, "Task01_BrainTumour")
    for sub in ("imagesTr", "labelsTr", "imagesTs"):
        os.makedirs(os.path.join(root, sub))
    entries, arrays = [], {}
    for i in (1, 2):
        img = rng.integers(-50, 3000, size=(10, 9, 8, 4)).astype(np.int16)
        lab = rng.choice([0, 0, 1, 2, 3], size=(10, 9, 8)).astype(np.uint8)
        nib.Nifti1Image(img, np.eye(4)).to_filename(os.path.join(root, f"imagesTr/BRATS_00{i}.nii.gz"))
        nib.Nifti1Image(lab, np.eye(4)).to_filename(os.path.join(root, f"labelsTr/BRATS_00{i}.nii.gz"))
        entries.append({"image": f"./imagesTr/BRATS_00{i}.nii.gz", "label": f"./labelsTr/BRATS_00{i}.nii.gz"})
        arrays[f"BRATS_00{i}"] = (img, lab)
    img = rng.integers(0, 3000, size=(10, 9, 8, 4)).astype(np.int16)
    nib.Nifti1Image(img, np.eye(4)).to_filename(os.path.join(root, "imagesTs/BRATS_485.nii.gz"))
    with open(os.path.join(root, "dataset.json"), "w") as f:
        json.dump({"name": "BRATS", "modality": {"0": "FLAIR", "1": "T1w", "2": "t1gd", "3": "T2w"},
                   "labels": {"0": "background", "1": "edema", "2": "non-enhancing tumor",
                              "3": "enhancing tumour"},
                   "training": entries, "test": ["./imagesTs/BRATS_485.nii.gz"]}, f)
    info = run_info(root)
    check(info["layout"] == "decathlon", f"decathlon layout {info['layout']}")
    ids = [c["id"] for c in info["cases"]]
    check(ids == ["BRATS_001", "BRATS_002", "BRATS_485"], f"decathlon ids {ids}")
    for case in info["cases"]:
        check(case["channels"] == ["FLAIR", "T1w", "T1gd", "T2w"], f"decathlon channels {case['channels']}")
        check(case["orientation"] == "RAS", "decathlon orientation")
        if case["id"] in arrays:
            lab = arrays[case["id"]][1]
            want = {str(v): int(c) for v, c in zip(*np.unique(lab, return_counts=True))}
            check(case["labels"] == want, f"{case['id']}: label counts")
            check(case["label_convention"] == "decathlon", f"{case['id']}: convention")
        else:
            check(case["labels"] == {} and not case["has_label"], "test case has no labels")
    outdir = tempfile.mkdtemp(dir=tmp)
    run_dump(root, outdir)
    img, lab = arrays["BRATS_002"]
    check(np.array_equal(read_f32(outdir, 1, "image"), brainseg_layout(img).astype(np.float32)),
          "decathlon 4D voxels")


def check_hdf5(tmp, rng):
    path = os.path.join(tmp, "tutorial.h5")
    imgs = {s: rng.normal(size=(5, 16, 12, c)).astype(np.float32)
            for s, c in (("train", 1), ("validation", 1), ("testing", 4))}
    with h5py.File(path, "w") as f:
        for split, arr in imgs.items():
            f.create_dataset(f"imgs_{split}", data=arr, compression="gzip")
            f.create_dataset(f"msks_{split}", data=(arr[..., :1] > 0.5).astype(np.float32), compression="gzip")
    info = run_info(path)
    check(info["layout"] == "hdf5", "hdf5 layout")
    check([c["id"] for c in info["cases"]] == ["imgs_train", "imgs_validation", "imgs_testing"], "hdf5 splits")
    outdir = tempfile.mkdtemp(dir=tmp)
    run_dump(path, outdir)
    for i, (split, arr) in enumerate(imgs.items()):
        case = info["cases"][i]
        n, h, w, c = arr.shape
        check(case["dims"] == [w, h, n], f"hdf5 {split} dims {case['dims']}")
        check(len(case["channels"]) == c, f"hdf5 {split} channels")
        got = read_f32(outdir, i, "image")
        check(np.array_equal(got, np.ascontiguousarray(arr.transpose(3, 0, 1, 2)).ravel()), f"hdf5 {split} voxels")
        mask = (arr[..., 0] > 0.5)
        check(case["labels"].get("1", 0) == int(mask.sum()), f"hdf5 {split} mask count")

    # a split larger than the reader's 16 MiB block: read in several hyperslabs
    big = os.path.join(tmp, "big.h5")
    arr = (np.arange(300 * 96 * 96 * 2, dtype=np.float32) % 997).reshape(300, 96, 96, 2)  # 22 MB
    with h5py.File(big, "w") as f:
        f.create_dataset("imgs_testing", data=arr, compression="gzip", chunks=(10, 96, 96, 2))
    outdir = tempfile.mkdtemp(dir=tmp)
    run_dump(big, outdir)
    check(np.array_equal(read_f32(outdir, 0, "image"), np.ascontiguousarray(arr.transpose(3, 0, 1, 2)).ravel()),
          "hdf5 multi-block voxels")

    bad = os.path.join(tmp, "bad-rank.h5")
    with h5py.File(bad, "w") as f:
        f.create_dataset("imgs_train", data=np.zeros((4, 4), np.float32))
    r = subprocess.run([CLI, "info", bad], capture_output=True, text=True)
    check(r.returncode != 0 and bad in r.stderr and "rank" in r.stderr and len(r.stderr.strip().splitlines()) == 1,
          f"bad-rank HDF5 error: {r.stderr!r}")
    bad = os.path.join(tmp, "no-datasets.h5")
    with h5py.File(bad, "w") as f:
        f.create_dataset("something_else", data=np.zeros((4, 4, 4, 1), np.float32))
    r = subprocess.run([CLI, "info", bad], capture_output=True, text=True)
    check(r.returncode != 0 and bad in r.stderr and len(r.stderr.strip().splitlines()) == 1,
          f"HDF5 without datasets error: {r.stderr!r}")


def check_cli_errors(tmp):
    """Every failure is one line naming the file, with a non-zero exit."""
    empty = os.path.join(tmp, "empty-folder")
    os.makedirs(empty)
    trunc = os.path.join(tmp, "truncated.nii.gz")
    src = os.path.join(tmp, "fx-scaled.nii.gz")
    with open(src, "rb") as f:
        data = f.read()
    with open(trunc, "wb") as f:
        f.write(data[: len(data) // 2])
    for path in (empty, trunc, os.path.join(tmp, "missing.nii.gz")):
        r = subprocess.run([CLI, "info", path], capture_output=True, text=True)
        lines = r.stderr.strip().splitlines()
        check(r.returncode != 0 and len(lines) == 1 and path in lines[0], f"info {path}: {r.returncode} {r.stderr!r}")


def main():
    rng = np.random.default_rng(20240611)
    with tempfile.TemporaryDirectory(prefix="bs-crosscheck-") as tmp:
        for path in nifti_fixtures(tmp, rng):
            try:
                check_nifti_file(path, tmp)
            except RuntimeError as e:
                check(False, str(e))
        for fn in (check_nonfinite, check_label_pair, check_decathlon, check_hdf5, check_cli_errors):
            try:
                fn(tmp, rng) if fn not in (check_nonfinite, check_cli_errors) else fn(tmp)
            except RuntimeError as e:
                check(False, f"{fn.__name__}: {e}")
    if failures:
        print(f"{len(failures)} cross-check(s) failed")
        return 1
    print("all cross-checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
