"""brainseg-cli export end to end: every --what on a small phantom case with a
random-weight model written here in the Keras layout, files checked with
PIL, nibabel and numpy independently of Brainseg's C code, and bad requests
refused with messages that name the file."""
import csv
import json
import os
import re
import subprocess
import sys
import tempfile

import h5py
import nibabel as nib
import numpy as np
from PIL import Image

CLI = os.environ["BS_CLI"]
PRED_RGB = (0xE6, 0x9F, 0x00)  # BS_COLOR_PREDICTION, engine/render/bs-overlay.c
FMS = 4


def run(*args, ok=True):
    p = subprocess.run([CLI, *args], capture_output=True, text=True, timeout=600)
    if ok and p.returncode != 0:
        sys.exit(f"FAIL: brainseg-cli {' '.join(args)} exited {p.returncode}: {p.stderr}")
    return p


def write_model(path):
    """A U-Net of the IntelAI topology with He-uniform weights, saved as Keras saves it."""
    rng = np.random.default_rng(7)
    f = FMS
    layers = [("encodeAa", 3, 1, f), ("encodeAb", 3, f, f), ("encodeBa", 3, f, 2 * f), ("encodeBb", 3, 2 * f, 2 * f),
              ("encodeCa", 3, 2 * f, 4 * f), ("encodeCb", 3, 4 * f, 4 * f), ("encodeDa", 3, 4 * f, 8 * f),
              ("encodeDb", 3, 8 * f, 8 * f), ("encodeEa", 3, 8 * f, 16 * f), ("encodeEb", 3, 16 * f, 16 * f),
              ("transconvE", 2, 16 * f, 8 * f), ("decodeCa", 3, 16 * f, 8 * f), ("decodeCb", 3, 8 * f, 8 * f),
              ("transconvC", 2, 8 * f, 4 * f), ("decodeBa", 3, 8 * f, 4 * f), ("decodeBb", 3, 4 * f, 4 * f),
              ("transconvB", 2, 4 * f, 2 * f), ("decodeAa", 3, 4 * f, 2 * f), ("decodeAb", 3, 2 * f, 2 * f),
              ("transconvA", 2, 2 * f, f), ("convOuta", 3, 2 * f, f), ("convOutb", 3, f, f),
              ("PredictionMask", 1, f, 1)]
    with h5py.File(path, "w") as h5:
        mw = h5.create_group("model_weights")
        names = []
        for name, k, cin, cout in layers:
            shape = (k, k, cout, cin) if name.startswith("transconv") else (k, k, cin, cout)
            limit = np.sqrt(6.0 / (k * k * cin))
            g = mw.create_group(name).create_group(name)
            g["kernel:0"] = rng.uniform(-limit, limit, size=shape).astype(np.float32)
            # Zero biases: the background (0 after normalisation) stays at
            # probability 0.5, not tumour, and the brain gets a mix of both.
            g["bias:0"] = np.zeros((cout,), np.float32)
            mw[name].attrs["weight_names"] = [f"{name}/kernel:0".encode(), f"{name}/bias:0".encode()]
            names.append(name.encode())
        mw.attrs["layer_names"] = names


def png_rgb(path):
    return np.asarray(Image.open(path).convert("RGB"))


def main():
    tmp = tempfile.mkdtemp(prefix="bs-cli-export-")
    model = os.path.join(tmp, "model.h5")
    write_model(model)
    task = os.path.join(tmp, "task")
    run("phantom", task, "--cases", "1", "--seed", "5", "--size", "64x64x32")
    with open(os.path.join(task, "dataset.json")) as f:
        ds = json.load(f)
    case = ds["training"][0]
    image_path = os.path.join(task, case["image"])
    label_path = os.path.join(task, case["label"])
    case_id = os.path.basename(image_path).split(".nii")[0]
    common = [task, "--model", model, "--case", case_id, "--threads", "1", "--quiet"]

    # The mask: uint8 0/1 with the source image's affine.
    mask_path = os.path.join(tmp, "mask.nii.gz")
    run("export", *common, "--what", "mask", "--out", mask_path)
    img = nib.load(image_path)
    msk = nib.load(mask_path)
    assert msk.get_data_dtype() == np.uint8, msk.get_data_dtype()
    m = np.asarray(msk.dataobj)
    assert m.shape == img.shape[:3], (m.shape, img.shape)
    assert set(np.unique(m)) <= {0, 1}
    assert np.allclose(msk.affine, img.affine, atol=1e-4), (msk.affine, img.affine)
    print(f"mask: {int(m.sum())} tumour voxels of {m.size}")
    # The same voxels as infer's mask of the case, and the Dice it prints is
    # the mask's against the label (the truth is made after the network).
    # The shipped model (the random one above overlaps nothing), so that the
    # Dice compared is not 0.
    infer_mask = os.path.join(tmp, "infer-mask.nii.gz")
    shipped_mask = os.path.join(tmp, "shipped-mask.nii.gz")
    run("infer", task, "--case", case_id, "--threads", "1", "--out", infer_mask)
    loud = run("export", task, "--case", case_id, "--threads", "1", "--what", "mask", "--out", shipped_mask)
    sm = np.asarray(nib.load(shipped_mask).dataobj)
    assert np.array_equal(np.asarray(nib.load(infer_mask).dataobj), sm)
    truth = np.asarray(nib.load(label_path).dataobj) > 0
    dice = 2.0 * np.logical_and(sm > 0, truth).sum() / ((sm > 0).sum() + truth.sum())
    printed = float(re.search(r"Dice ([0-9.]+)", loud.stdout).group(1))
    assert dice > 0.2 and abs(printed - dice) < 6e-5, (printed, dice, loud.stdout)
    print(f"mask: the shipped model's as infer's; Dice printed {printed:.4f}, numpy {dice:.4f}")
    # Never over a file of the case itself (helper finding: a mask written over
    # the label replaced the ground truth): export and infer refuse, by name.
    with open(label_path, "rb") as f:
        label_bytes = f.read()
    for cmd in (["export", *common, "--what", "mask", "--out", label_path],
                ["infer", task, "--model", model, "--case", case_id, "--out", label_path],
                ["infer", task, "--model", model, "--case", case_id, "--prob-out", image_path]):
        p = run(*cmd, ok=False)
        assert p.returncode != 0 and "one of this command's inputs" in p.stderr, (cmd, p.stderr)
    with open(label_path, "rb") as f:
        assert f.read() == label_bytes
    print("mask: refused over the case's own label and image")
    # An empty --out is refused before anything is computed.
    p = run("export", *common[:-1], "--what", "mask", "--out", "", ok=False)
    assert p.returncode != 0 and "empty file name" in p.stderr and "Segmenting" not in p.stderr, p.stderr
    # infer --slice measures that slice: its regions' metrics are of the one
    # slice against the same slice of the truth (helper finding: against the
    # whole volume's truth), and the slices run are 1 of 1.
    k = int(np.argmax((truth > 0).sum(axis=(0, 1))))
    one = json.loads(run("infer", task, "--case", case_id, "--threads", "1", "--slice", str(k), "--json").stdout)
    wt = one["regions"]["wt"]
    assert one["slices_run"] == 1, one
    assert abs(wt["dice"] - one["dice_wt"]) < 1e-6, (wt, one["dice_wt"])
    assert abs(wt["true_volume_ml"] - truth[:, :, k].sum() * np.prod(nib.load(label_path).header.get_zooms()[:3]) / 1000) < 1e-3, wt
    print(f"infer --slice {k}: whole-tumour Dice {wt['dice']:.4f} of that slice, truth {wt['true_volume_ml']:.2f} ml")

    # A volume of one voxel (or any with nothing but background) runs no slice
    # through the network: infer says so, where it said "0 threads on every
    # layer" (hostile-input finding).  Not too small for the network: without
    # the crop its one slice runs on a 16x16 window, on the thread asked for.
    tiny = os.path.join(tmp, "tiny")
    os.mkdir(tiny)
    nib.save(nib.Nifti1Image(np.full((1, 1, 1), 5, np.float32), np.eye(4)), os.path.join(tiny, "tiny_flair.nii.gz"))
    p = run("infer", tiny, "--model", model, "--threads", "1")
    assert "ran on no slice" in p.stdout and "0 threads" not in p.stdout and "three planes" not in p.stdout, p.stdout
    d = json.loads(run("infer", tiny, "--model", model, "--threads", "1", "--json").stdout)
    assert d["slices_run"] == 0 and d["threads"] == 0 and d["tumour_voxels"] == 0, d
    d = json.loads(run("infer", tiny, "--model", model, "--threads", "1", "--crop-to-brain", "off", "--json").stdout)
    assert d["slices_run"] == 1 and d["threads"] == 1, d
    print("infer on one voxel: no slice run, said in words; with the crop off, 1 slice on 1 thread")

    # Overlay of an axial slice at opacity 1: the prediction-coloured pixels
    # are exactly the mask's voxels in that slice (the phantom's affine is
    # RAS-diagonal, so axial slice k is z = k).
    k = 12
    over = os.path.join(tmp, "overlay.png")
    run("export", *common, "--what", "overlay", "--slice", str(k), "--opacity", "1", "--annotations", "off",
        "--out", over)
    rgb = png_rgb(over)
    assert rgb.shape[:2] == (64, 64), rgb.shape
    coloured = np.all(rgb == PRED_RGB, axis=2)
    grey = (rgb[..., 0] == rgb[..., 1]) & (rgb[..., 1] == rgb[..., 2])
    assert np.all(coloured | grey), "overlay has pixels that are neither grey nor the prediction colour"
    assert int(coloured.sum()) == int(m[:, :, k].sum()), (int(coloured.sum()), int(m[:, :, k].sum()))
    # Neither empty nor everything: otherwise the check above proves nothing.
    assert 0.01 * coloured.size < coloured.sum() < 0.99 * coloured.size, int(coloured.sum())
    print(f"overlay: {int(coloured.sum())} prediction pixels in slice {k}, as in the mask")
    # On a slice with tumour in neither mask nor truth, the line printed says
    # what the caption says, "no tumour", not the Dice of two empty masks
    # (helper finding: "Dice 1.0000" beside a caption of "no tumour"); on the
    # slice above it prints a Dice.
    empty = [z for z in range(m.shape[2]) if not m[:, :, z].any() and not truth[:, :, z].any()]
    assert empty, "the phantom has no slice without tumour"
    p = run("export", *common[:-1], "--what", "overlay", "--slice", str(empty[0]), "--out", over)
    assert "no tumour on this slice" in p.stdout and "Dice" not in p.stdout, p.stdout
    p = run("export", *common[:-1], "--what", "overlay", "--slice", str(k), "--out", over)
    assert "Dice" in p.stdout and "no tumour" not in p.stdout, p.stdout

    # By default the overlay is annotated: the same slice pixels, framed by a
    # caption, orientation letters and a legend that cover none of them.
    ann = os.path.join(tmp, "overlay-annotated.png")
    run("export", *common, "--what", "overlay", "--slice", str(k), "--opacity", "1", "--out", ann)
    argb = png_rgb(ann)
    H, W = argb.shape[:2]
    assert H > 64 and W > 64, argb.shape
    found = [(y, x) for y in range(H - 63) for x in range(W - 63)
             if np.array_equal(argb[y:y + 64, x:x + 64], rgb)]
    assert len(found) == 1, found
    y0, x0 = found[0]
    assert y0 > 0 and x0 > 0 and y0 + 64 < H and x0 + 64 < W, (found, argb.shape)
    # Caption text above, and the prediction colour's legend square below.
    assert (argb[:y0] > 128).any(), "no caption above the slice"
    assert np.all(argb[y0 + 64:] == PRED_RGB, axis=2).sum() >= 16, "no legend square below the slice"
    p = run("export", *common, "--what", "overlay", "--annotations", "maybe", "--out", ann, ok=False)
    assert "--annotations" in p.stderr, p.stderr
    print(f"annotated overlay {W}x{H}: the slice at ({x0}, {y0}), caption and legend around it")

    # The figure at a chosen resolution.
    fig = os.path.join(tmp, "figure.png")
    run("export", *common, "--what", "figure", "--slice", str(k), "--size", "900x360", "--out", fig)
    frgb = png_rgb(fig)
    assert frgb.shape == (360, 900, 3), frgb.shape
    assert tuple(frgb[0, 0]) == (255, 255, 255)

    # Per-slice Dice matches numpy on the mask and the label.
    csv_path = os.path.join(tmp, "dice.csv")
    run("export", *common, "--what", "dice-csv", "--out", csv_path)
    lab = np.asarray(nib.load(label_path).dataobj) > 0
    with open(csv_path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == m.shape[2], (len(rows), m.shape)
    for r in rows:
        z = int(r["slice"])
        p, t = m[:, :, z] > 0, lab[:, :, z]
        tp, fp, fn = int((p & t).sum()), int((p & ~t).sum()), int((~p & t).sum())
        if tp + fp + fn == 0:
            # no tumour in truth or prediction: Dice undefined, the cell is empty
            assert r["dice"] == "", (z, r)
        else:
            assert abs(float(r["dice"]) - 2 * tp / (2 * tp + fp + fn)) < 1e-6, (z, r)
        assert (int(r["tp"]), int(r["fp"]), int(r["fn"])) == (tp, fp, fn), (z, r, tp, fp, fn)
        # the file says which Dice it holds: the clean-up is on by default
        assert r["cleanup"] == "on", (z, r)
    print(f"dice-csv: {len(rows)} slices agree with numpy")
    off_path = os.path.join(tmp, "dice-raw.csv")
    run("export", *common, "--what", "dice-csv", "--cleanup", "off", "--out", off_path)
    with open(off_path, newline="") as f:
        assert {r["cleanup"] for r in csv.DictReader(f)} == {"off"}

    # Every slice as PNG.
    series = os.path.join(tmp, "series")
    run("export", *common, "--what", "series", "--out", series, "--plane", "coronal")
    files = sorted(os.listdir(series))
    assert files == [f"coronal-{i:03d}.png" for i in range(64)], files[:3]

    # Compare all, headless: every configuration once, the reference available.
    cmp_path = os.path.join(tmp, "compare.csv")
    run("export", *common, "--what", "compare", "--out", cmp_path)
    with open(cmp_path, newline="") as f:
        crow = list(csv.DictReader(f))
    assert len(crow) == 18, len(crow)
    assert len({(r["precision"], r["layout"], r["fusion"]) for r in crow}) == 18
    ref = [r for r in crow if (r["precision"], r["layout"], r["fusion"]) == ("fp32", "blocked", "on")][0]
    assert ref["available"] == "yes" and float(ref["ms_per_slice"]) > 0 and float(ref["agreement"]) == 1.0, ref
    for r in crow:
        assert (r["available"] == "yes") == (r["reason"] == ""), r
    print("compare: " + ", ".join(f"{r['precision']}/{r['layout']}/{r['fusion']}={r['ms_per_slice'] or '-'}" for r in crow))

    # Bad requests: a clear message naming the problem, exit status != 0, no file.
    p = run("export", *common, "--what", "poster", "--out", os.path.join(tmp, "x.png"), ok=False)
    assert p.returncode != 0 and "poster" in p.stderr, p.stderr
    missing = os.path.join(tmp, "no-such-folder", "dice.csv")
    p = run("export", *common, "--what", "dice-csv", "--out", missing, ok=False)
    assert p.returncode == 1 and missing in p.stderr, p.stderr
    assert not os.path.exists(os.path.dirname(missing))
    # the reason in words, without the temporary name the file would have had
    for what, name in (("overlay", "o.png"), ("mask", "m.nii.gz")):
        target = os.path.join(tmp, "no-such-folder", name)
        p = run("export", *common, "--what", what, "--out", target, ok=False)
        assert p.returncode == 1 and target in p.stderr and "does not exist" in p.stderr, p.stderr
        assert target + "." not in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr
    p = run("export", *common, "--what", "overlay", "--slice", "999", "--out", os.path.join(tmp, "y.png"), ok=False)
    assert p.returncode == 1 and "999" in p.stderr, p.stderr
    assert not os.path.exists(os.path.join(tmp, "y.png"))
    # a mask never shows the image (it is normalised in place), but a modality the case lacks is still refused
    p = run("export", *common, "--what", "mask", "--modality", "pd", "--out", os.path.join(tmp, "w.nii.gz"), ok=False)
    assert p.returncode == 1 and "“pd”" in p.stderr, p.stderr
    assert not os.path.exists(os.path.join(tmp, "w.nii.gz"))
    # An --out whose ending is another format's is refused before any work
    # (hostile-input finding: --what mask --out m.png wrote a NIfTI file named
    # .png), naming the file and the endings it takes; infer's NIfTI outputs
    # too.  The right endings are taken in any letter case.
    for what, name, says in (("mask", "m.png", ".nii or .nii.gz"), ("mask", "m", ".nii or .nii.gz"),
                             ("overlay", "o.jpg", "must end in .png"), ("figure", "f.nii.gz", "must end in .png"),
                             ("dice-csv", "d.png", "ends in .png"), ("compare", "c.nii", "ends in .nii")):
        target = os.path.join(tmp, name)
        p = run("export", *common[:-1], "--what", what, "--out", target, ok=False)
        assert p.returncode == 1 and target in p.stderr and says in p.stderr, (what, p.stderr)
        assert "Segmenting" not in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr
        assert not os.path.exists(target), target
    for opt in ("--out", "--prob-out", "--prepared-out"):
        target = os.path.join(tmp, "i.png")
        p = run("infer", task, "--model", model, "--case", case_id, opt, target, ok=False)
        assert p.returncode == 1 and target in p.stderr and ".nii or .nii.gz" in p.stderr, (opt, p.stderr)
        assert not os.path.exists(target), target
    upper = os.path.join(tmp, "UPPER.NII.GZ")
    run("export", *common, "--what", "mask", "--out", upper, "--three-planes", "off")
    assert nib.load(upper).shape == m.shape
    p = run("export", os.path.join(tmp, "nothing-here"), "--model", model, "--what", "mask", "--out",
            os.path.join(tmp, "z.nii.gz"), ok=False)
    assert p.returncode == 1 and "nothing-here" in p.stderr, p.stderr
    print("bad requests refused")

    # A clinical scan's voxels: the same case on 4 mm slices of 0.6 mm pixels.
    # The shipped model runs the coronal and sagittal passes on the case as
    # given; the thick one loads resampled to about 1 mm pixels, runs on its
    # axial slices alone and says both, and its mask is written on the file's
    # grid; with --resample off it runs on the fine pixels with a warning.
    thick_image = os.path.join(tmp, "thick.nii.gz")
    thick_label = os.path.join(tmp, "thick_label.nii.gz")
    from scipy.ndimage import zoom
    for src, dst, order in ((image_path, thick_image, 1), (label_path, thick_label, 0)):
        v = nib.load(src)
        a = np.asarray(v.dataobj)
        mm = (0.6, 0.6, 4.0)
        a = zoom(a, tuple(z / m for z, m in zip(v.header.get_zooms()[:3], mm)) + (1,) * (a.ndim - 3), order=order)
        aff = v.affine.copy()
        for k in range(3):
            aff[:3, k] *= mm[k] / v.header.get_zooms()[k]
        out = nib.Nifti1Image(a.astype(v.get_data_dtype()), aff)
        out.header.set_zooms(mm + tuple(v.header.get_zooms()[3:]))
        nib.save(out, dst)
    thick_truth = np.asarray(nib.load(thick_label).dataobj) > 0
    given = json.loads(run("infer", task, "--case", case_id, "--threads", "1", "--json").stdout)
    assert given["three_planes"] == "on" and "three_planes_note" not in given and "pixel_note" not in given, given
    thick_mask = os.path.join(tmp, "thick-infer.nii.gz")
    thick = json.loads(run("infer", thick_image, "--label", thick_label, "--threads", "1", "--json",
                           "--out", thick_mask).stdout)
    assert thick["three_planes"] == "off", thick
    assert "three_planes_note" in thick and "pixel_note" not in thick, thick
    assert np.allclose(thick["resampled"]["file_voxel_mm"], [0.6, 0.6, 4.0], atol=1e-4), thick["resampled"]
    assert all(abs(v - 1.0) < 0.05 for v in thick["resampled"]["voxel_mm"][:2]), thick["resampled"]
    tm = nib.load(thick_mask)
    assert tm.shape == thick_truth.shape and np.allclose(tm.affine, nib.load(thick_image).affine, atol=1e-4), \
        (tm.shape, tm.affine)
    tmask = np.asarray(tm.dataobj) > 0
    tdice = 2.0 * np.logical_and(tmask, thick_truth).sum() / (tmask.sum() + thick_truth.sum())
    # the mask on the file's grid scores what infer measured on the 1 mm one
    assert tmask.sum() > 0 and abs(tdice - thick["dice_wt"]) < 0.01, (tdice, thick["dice_wt"])
    fine = json.loads(run("infer", thick_image, "--label", thick_label, "--threads", "1", "--json",
                          "--resample", "off").stdout)
    assert "0.6 x 0.6 x 4 mm" in fine["three_planes_note"], fine["three_planes_note"]
    assert "Pixels of 0.6 x 0.6 mm" in fine["pixel_note"] and "resampled" not in fine, fine
    loud = run("export", thick_image, "--threads", "1", "--what", "mask", "--out", os.path.join(tmp, "thick-mask.nii.gz"))
    assert "three planes not run" in loud.stdout and "Resampled from the file's voxels of 0.6 x 0.6 x 4 mm" in loud.stdout, \
        (loud.stdout, loud.stderr)
    assert np.array_equal(np.asarray(nib.load(os.path.join(tmp, "thick-mask.nii.gz")).dataobj) > 0, tmask)
    print(f"thick slices of fine pixels: resampled, one plane, Dice {thick['dice_wt']:.4f} "
          f"({tdice:.4f} on the file's grid; {fine['dice_wt']:.4f} on its own pixels)")

    subprocess.run(["rm", "-rf", tmp])
    print("PASS")


if __name__ == "__main__":
    main()
