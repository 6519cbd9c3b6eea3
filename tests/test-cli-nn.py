"""brainseg-cli infer and bench end to end on a tiny case: JSON keys and values, the mask file
(shape, affine, values), a Keras-layout model given with --model, and refusals."""
import json
import os
import subprocess
import sys
import tempfile

import h5py
import nibabel as nib
import numpy as np

CLI = os.environ["BS_CLI"]


def run(*args, expect=0):
    p = subprocess.run([CLI, *args], capture_output=True, text=True)
    if p.returncode != expect:
        sys.exit(f"brainseg-cli {' '.join(args)}: exit {p.returncode}, expected {expect}\n{p.stderr}")
    return p


def write_model(path, fms=4, cin=1, skip=None):
    rng = np.random.default_rng(3)
    f2 = 2 * fms
    specs = [("encodeAa", cin, fms), ("encodeAb", fms, fms), ("encodeBa", fms, f2), ("encodeBb", f2, f2),
             ("encodeCa", f2, 2 * f2), ("encodeCb", 2 * f2, 2 * f2), ("encodeDa", 2 * f2, 4 * f2),
             ("encodeDb", 4 * f2, 4 * f2), ("encodeEa", 4 * f2, 8 * f2), ("encodeEb", 8 * f2, 8 * f2),
             ("transconvE", 8 * f2, 4 * f2), ("decodeCa", 8 * f2, 4 * f2), ("decodeCb", 4 * f2, 4 * f2),
             ("transconvC", 4 * f2, 2 * f2), ("decodeBa", 4 * f2, 2 * f2), ("decodeBb", 2 * f2, 2 * f2),
             ("transconvB", 2 * f2, f2), ("decodeAa", 2 * f2, f2), ("decodeAb", f2, f2),
             ("transconvA", f2, fms), ("convOuta", f2, fms), ("convOutb", fms, fms), ("PredictionMask", fms, 1)]
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = json.dumps({"class_name": "Functional", "config": {"name": "2DUNet"}})
        mw = f.create_group("model_weights")
        for name, i, o in specs:
            if name == skip:
                continue
            k = 2 if name.startswith("transconv") else 1 if name == "PredictionMask" else 3
            shape = (k, k, o, i) if name.startswith("transconv") else (k, k, i, o)
            g = mw.create_group(name)
            g.create_dataset(f"{name}/kernel:0", data=rng.uniform(-0.5, 0.5, shape).astype(np.float32))
            g.create_dataset(f"{name}/bias:0", data=np.full(o, 0.01, np.float32))


def main():
    with tempfile.TemporaryDirectory() as d:
        nx, ny, nz = 48, 40, 5
        affine = np.diag([-1.0, -1.0, 1.0, 1.0])
        affine[:3, 3] = [10, 20, -5]
        z, y, x = np.mgrid[0:nz, 0:ny, 0:nx]
        img = np.exp(-(((x - 24) / 12.0) ** 2 + ((y - 20) / 10.0) ** 2)).transpose(2, 1, 0) * 100.0
        img = img.astype(np.float32) + 1.0
        lab = (img > 60).astype(np.uint8)
        nib.save(nib.Nifti1Image(img, affine), os.path.join(d, "img.nii.gz"))
        nib.save(nib.Nifti1Image(lab, affine), os.path.join(d, "lab.nii.gz"))
        model = os.path.join(d, "tiny.h5")
        write_model(model)

        # infer with ground truth and a mask file
        mask_p = os.path.join(d, "mask.nii.gz")
        out = json.loads(run("infer", os.path.join(d, "img.nii.gz"), "--label", os.path.join(d, "lab.nii.gz"),
                             "--model", model, "--out", mask_p, "--threads", "1", "--json").stdout)
        for key in ("dice_wt", "slices", "seconds", "stages", "tumour_voxels", "model"):
            assert key in out, key
        assert out["slices"] == nz, out["slices"]
        assert isinstance(out["dice_wt"], float) and 0.0 <= out["dice_wt"] <= 1.0, out["dice_wt"]
        assert out["seconds"] > 0
        for stage in ("preprocess", "reorder", "network", "output", "threshold"):
            assert stage in out["stages"] and out["stages"][stage] >= 0, stage
        assert out["model"] == model
        m = nib.load(mask_p)
        assert m.shape == img.shape, m.shape
        assert np.allclose(m.affine, affine), m.affine
        data = np.asanyarray(m.dataobj)
        assert data.dtype == np.uint8, data.dtype
        assert set(np.unique(data)) <= {0, 1}
        assert int(data.sum()) == out["tumour_voxels"]
        # Dice recomputed here from the written mask and the label.
        tp = float((data * lab).sum())
        dice = 2 * tp / (data.sum() + lab.sum()) if data.sum() + lab.sum() else 1.0
        assert abs(dice - out["dice_wt"]) < 1e-6, (dice, out["dice_wt"])

        # island clean-up: the default mask is scipy's 26-connected clean-up of the raw one
        import scipy.ndimage as ndi
        raw_p = os.path.join(d, "raw.nii.gz")
        prob_p = os.path.join(d, "prob.nii.gz")
        raw = json.loads(run("infer", os.path.join(d, "img.nii.gz"), "--label", os.path.join(d, "lab.nii.gz"),
                             "--model", model, "--out", raw_p, "--prob-out", prob_p, "--cleanup", "off",
                             "--threads", "1", "--json").stdout)
        assert raw["cleanup"] == "off" and raw["removed_voxels"] == 0
        assert abs(raw["dice_wt_raw"] - raw["dice_wt"]) < 1e-12
        assert out["cleanup"] == "on"
        assert abs(out["dice_wt_raw"] - raw["dice_wt"]) < 1e-9, (out["dice_wt_raw"], raw["dice_wt"])
        rawm = np.asanyarray(nib.load(raw_p).dataobj) > 0
        assert np.array_equal(rawm, np.asanyarray(nib.load(prob_p).dataobj) > 0.5)
        comp, n = ndi.label(rawm, structure=np.ones((3, 3, 3)))
        assert n == out["components"], (n, out["components"])
        sizes = np.bincount(comp.ravel())[1:] if n else np.zeros(0)
        keep = np.concatenate([[False], sizes >= int(0.2 * sizes.max())]) if n else np.array([False])
        assert np.array_equal(keep[comp], data > 0)
        assert int(rawm.sum()) - int(data.sum()) == out["removed_voxels"]
        p = run("infer", os.path.join(d, "img.nii.gz"), "--model", model, "--cleanup", "maybe", expect=2)
        assert "--cleanup" in p.stderr, p.stderr

        # no ground truth: dice_wt is null; int8 and another layout run too
        out = json.loads(run("infer", os.path.join(d, "img.nii.gz"), "--model", model, "--precision", "int8",
                             "--layout", "nhwc", "--batch", "2", "--threads", "1", "--json").stdout)
        assert out["dice_wt"] is None
        assert out["slices"] == nz and out["precision"] == "int8" and out["batch"] == 2

        # refusals: a model missing a layer, a model for two modalities, bad sizes
        bad = os.path.join(d, "missing.h5")
        write_model(bad, skip="decodeAb")
        p = run("infer", os.path.join(d, "img.nii.gz"), "--model", bad, expect=1)
        assert "decodeAb" in p.stderr and "missing.h5" in p.stderr, p.stderr
        two = os.path.join(d, "two.h5")
        write_model(two, cin=2)
        p = run("infer", os.path.join(d, "img.nii.gz"), "--model", two, expect=1)
        assert "modalit" in p.stderr and "img.nii.gz" in p.stderr, p.stderr
        p = run("bench", "--model", model, "--size", "120", expect=2)
        assert "16" in p.stderr, p.stderr

        # bench matrix
        out = json.loads(run("bench", "--model", model, "--size", "32", "--batch", "1,2", "--precision", "fp32,int8",
                             "--layout", "nchw,blocked", "--fusion", "on,off", "--instances", "1,2",
                             "--repeat", "2", "--warmup", "1", "--reference-repeat", "1", "--json").stdout)
        rows = out["rows"]
        assert len(rows) == 1 + 2 * 2 * 2 * 2 * 2, len(rows)
        # int8 in plain nchw is refused with a reason, not run at reference-kernel speed
        refused = [r for r in rows if r["precision"] == "int8" and r["layout"] == "nchw"]
        assert len(refused) == 8 and all("nchw" in r["error"] and r["ms_per_slice"] is None for r in refused)
        rows = [r for r in rows if r not in refused]
        keys = ("precision", "layout", "fusion", "threads", "batch", "instances", "size", "ms_per_slice",
                "slices_per_s")
        for r in rows:
            for k in keys:
                assert k in r, (k, r)
            assert r["ms_per_slice"] is not None and r["ms_per_slice"] > 0, r
            assert r["slices_per_s"] > 0 and r["size"] == 32
        assert sum(1 for r in rows if r["layout"] == "reference") == 1
        assert {r["instances"] for r in rows if r["layout"] != "reference"} == {1, 2}
        assert all(r["threads"] >= 1 for r in rows)
    print("ok")


if __name__ == "__main__":
    main()
