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


def write_model(path, fms=4, cin=1, skip=None, outs=1, head_bias=None):
    """outs: PredictionMask's outputs (3: a region model, WT, TC, ET); head_bias: its biases with a zero
    kernel, so that every voxel in the head gets sigmoid(bias)."""
    rng = np.random.default_rng(3)
    f2 = 2 * fms
    specs = [("encodeAa", cin, fms), ("encodeAb", fms, fms), ("encodeBa", fms, f2), ("encodeBb", f2, f2),
             ("encodeCa", f2, 2 * f2), ("encodeCb", 2 * f2, 2 * f2), ("encodeDa", 2 * f2, 4 * f2),
             ("encodeDb", 4 * f2, 4 * f2), ("encodeEa", 4 * f2, 8 * f2), ("encodeEb", 8 * f2, 8 * f2),
             ("transconvE", 8 * f2, 4 * f2), ("decodeCa", 8 * f2, 4 * f2), ("decodeCb", 4 * f2, 4 * f2),
             ("transconvC", 4 * f2, 2 * f2), ("decodeBa", 4 * f2, 2 * f2), ("decodeBb", 2 * f2, 2 * f2),
             ("transconvB", 2 * f2, f2), ("decodeAa", 2 * f2, f2), ("decodeAb", f2, f2),
             ("transconvA", f2, fms), ("convOuta", f2, fms), ("convOutb", fms, fms), ("PredictionMask", fms, outs)]
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = json.dumps({"class_name": "Functional", "config": {"name": "2DUNet"}})
        mw = f.create_group("model_weights")
        for name, i, o in specs:
            if name == skip:
                continue
            k = 2 if name.startswith("transconv") else 1 if name == "PredictionMask" else 3
            shape = (k, k, o, i) if name.startswith("transconv") else (k, k, i, o)
            g = mw.create_group(name)
            kernel = rng.uniform(-0.5, 0.5, shape).astype(np.float32)
            bias = np.full(o, 0.01, np.float32)
            if name == "PredictionMask" and head_bias is not None:
                kernel[:] = 0
                bias = np.array(head_bias, np.float32)
            g.create_dataset(f"{name}/kernel:0", data=kernel)
            g.create_dataset(f"{name}/bias:0", data=bias)


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
        # the command from start to mask written: loading and writing are timed too
        assert out["load_seconds"] > 0 and out["write_seconds"] > 0, out
        assert out["total_seconds"] >= out["seconds"], out
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
        # a file whose name says no sequence: the message says how to name it
        assert "sequence" in p.stderr and "_flair" in p.stderr and "img.nii.gz" in p.stderr, p.stderr
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
        # "% of peak" divides by the peak the JSON reports (measured before and after the rows, the higher
        # kept), the reference row by fp32's
        peaks = {"fp32": out["peak_gflops_fp32"], "int8": out["peak_gops_int8"], "bf16": out["peak_gflops_bf16"]}
        for r in rows:
            peak = peaks["fp32" if r["layout"] == "reference" else r["precision"]]
            assert peak > 0 and abs(r["peak_percent"] - 100 * r["gflops"] / peak) < 1e-6 * max(1, r["peak_percent"]), r
        check_regions(d, affine)
    print("ok")


def check_regions(d, affine):
    """A region model (WT, TC, ET outputs): --mask-labels writes its regions as labels, "regions" in the JSON
    carries tumour core and enhancing tumour, and a one-output model refuses anything but wt."""
    nx, ny, nz = 48, 40, 6
    z, y, x = np.mgrid[0:nz, 0:ny, 0:nx]
    blob = np.exp(-(((x - 24) / 12.0) ** 2 + ((y - 20) / 10.0) ** 2)).transpose(2, 1, 0) * 100.0
    # A head with air around it: only the head is tumour for the forced model below.
    img = np.where(blob > 5, blob + 1.0, 0.0).astype(np.float32)
    head = img != 0
    img_p = os.path.join(d, "rimg.nii.gz")
    nib.save(nib.Nifti1Image(img, affine), img_p)
    # BraTS 2015 labels (1 necrosis, 2 edema, 3 non-enhancing, 4 enhancing): TC = 1, 3, 4, ET = 4.
    lab = np.zeros(img.shape, np.uint8)
    lab[blob > 20] = 2
    lab[blob > 50] = 3
    lab[blob > 70] = 1
    lab[blob > 85] = 4
    lab15_p = os.path.join(d, "lab2015.nii.gz")
    nib.save(nib.Nifti1Image(lab, affine), lab15_p)
    binlab_p = os.path.join(d, "labbin.nii.gz")
    nib.save(nib.Nifti1Image((lab > 0).astype(np.uint8), affine), binlab_p)

    def infer(model, *extra, label=None, expect=0):
        args = ["infer", img_p, "--model", model, "--threads", "1", *extra]
        if label:
            args += ["--label", label]
        return run(*args, expect=expect)

    def values(path):
        return np.asanyarray(nib.load(path).dataobj)

    # Forced outputs: P(WT), P(TC) high and P(ET) low in the head, so WT = TC = the head and ET is empty.
    forced = os.path.join(d, "forced3.h5")
    write_model(forced, outs=3, head_bias=[6.0, 4.0, -4.0])
    expect = {"brats": 1, "decathlon": 2}
    for labels, core in expect.items():
        out_p = os.path.join(d, f"forced-{labels}.nii.gz")
        out = json.loads(infer(forced, "--out", out_p, "--mask-labels", labels, "--json").stdout)
        m = values(out_p)
        assert m.dtype == np.uint8, m.dtype
        assert np.array_equal(m, np.where(head, core, 0)), (labels, np.unique(m))
        assert out["regions"]["tc"]["predicted"] and out["regions"]["et"]["predicted"], out["regions"]
        assert out["regions"]["et"]["volume_ml"] == 0.0
    # input: the case's own convention (BraTS 2015: the core is 3), else brats
    out_p = os.path.join(d, "forced-input.nii.gz")
    out = json.loads(infer(forced, "--out", out_p, "--mask-labels", "input", "--json", label=lab15_p).stdout)
    assert np.array_equal(values(out_p), np.where(head, 3, 0)), np.unique(values(out_p))
    assert out["mask_labels"] == "brats2015", out["mask_labels"]
    voxel_ml = 0.001
    tc = out["regions"]["tc"]
    truth_tc = np.isin(lab, [1, 3, 4])
    assert tc["predicted"] is True
    want = 2 * (truth_tc & head).sum() / (truth_tc.sum() + head.sum())
    assert abs(tc["dice"] - want) < 1e-9, (tc["dice"], want)
    assert abs(tc["volume_ml"] - head.sum() * voxel_ml) < 1e-9 and abs(tc["true_volume_ml"] - truth_tc.sum() * voxel_ml) < 1e-9
    for key in ("hd95", "sensitivity", "specificity"):
        assert isinstance(tc[key], float), (key, tc)
    et = out["regions"]["et"]
    assert et["predicted"] is True and et["dice"] == 0.0 and et["sensitivity"] == 0.0, et
    assert abs(et["true_volume_ml"] - (lab == 4).sum() * voxel_ml) < 1e-9
    out_p = os.path.join(d, "forced-input-bin.nii.gz")
    infer(forced, "--out", out_p, "--mask-labels", "input", label=binlab_p)
    assert np.array_equal(values(out_p), np.where(head, 1, 0))
    # default: today's binary whole-tumour mask
    out_p = os.path.join(d, "forced-wt.nii.gz")
    infer(forced, "--out", out_p)
    assert np.array_equal(values(out_p), head.astype(np.uint8))
    # the text output has a line per region
    text = infer(forced, label=lab15_p).stdout
    assert "tumour core: Dice" in text and "enhancing tumour: Dice 0.0000" in text, text

    # Random weights: every sub-region present; the label map agrees with the regions' volumes, and the
    # conventions map onto each other value by value.
    rand3 = os.path.join(d, "random3.h5")
    write_model(rand3, outs=3)
    brats_p, dec_p = os.path.join(d, "r-brats.nii.gz"), os.path.join(d, "r-dec.nii.gz")
    out = json.loads(infer(rand3, "--out", brats_p, "--mask-labels", "brats", "--json", label=lab15_p).stdout)
    infer(rand3, "--out", dec_p, "--mask-labels", "decathlon")
    b, dec = values(brats_p), values(dec_p)
    assert set(np.unique(b)) == {0, 1, 2, 4}, np.unique(b)
    assert int((b > 0).sum()) == out["tumour_voxels"]
    r = out["regions"]
    assert abs(np.isin(b, [1, 4]).sum() * voxel_ml - r["tc"]["volume_ml"]) < 1e-9, r["tc"]
    assert abs((b == 4).sum() * voxel_ml - r["et"]["volume_ml"]) < 1e-9, r["et"]
    assert np.array_equal(dec, np.choose(np.searchsorted([0, 1, 2, 4], b), [0, 2, 1, 3]).astype(dec.dtype))
    # export --what mask takes the same option and writes the same labels
    exp_p = os.path.join(d, "r-export.nii.gz")
    run("export", img_p, "--model", rand3, "--what", "mask", "--mask-labels", "decathlon", "--threads", "1",
        "--quiet", "--out", exp_p)
    assert np.array_equal(values(exp_p), dec)

    # A one-output model predicts the whole tumour only: a clear refusal naming the file, for infer and export.
    one = os.path.join(d, "single.h5")
    write_model(one)
    for labels in ("brats", "decathlon", "input"):
        p = infer(one, "--out", os.path.join(d, "never.nii.gz"), "--mask-labels", labels, expect=1)
        assert "single.h5" in p.stderr and "whole tumour only" in p.stderr, p.stderr
        assert not os.path.exists(os.path.join(d, "never.nii.gz"))
    p = run("export", img_p, "--model", one, "--what", "mask", "--mask-labels", "brats", "--quiet",
            "--out", os.path.join(d, "never.nii.gz"), expect=1)
    assert "single.h5" in p.stderr and "whole tumour only" in p.stderr, p.stderr
    p = infer(one, "--mask-labels", "labels", expect=2)
    assert "--mask-labels" in p.stderr, p.stderr


if __name__ == "__main__":
    main()
