#!/usr/bin/env python3
"""The BraTS region metrics (Dice, HD95, sensitivity, specificity, volumes) of
engine/base/bs-metrics against scipy: HD95 as medpy computes it (surfaces by a
6-connected erosion, distances by scipy.ndimage.distance_transform_edt with the
voxel spacing, the pooled distances' 95th percentile), on random masks with
anisotropic spacing, on the empty cases, and on a real case segmented by
`brainseg-cli infer --json`.  The clean-up's filling of the tumour core's
holes (in its axial, coronal and sagittal slices, then kept inside the whole
tumour) against scipy.ndimage.binary_fill_holes slice by slice, and its
trimming of the core to the enhancing rim against scipy's distance_transform_edt,
on random masks and on that real case's probabilities."""
import json, os, subprocess, sys, tempfile
import numpy as np
import nibabel as nib
from scipy import ndimage

CLI = os.environ["BS_CLI"]
TOOL = os.environ["BS_METRICS_TOOL"]
SAMPLES = os.environ.get("BS_SAMPLES_DIR", "")


def hd95(a, b, spacing):
    if not a.any() and not b.any():
        return 0.0
    if not a.any() or not b.any():
        return float(np.sqrt(sum((n * s) ** 2 for n, s in zip(a.shape, spacing))))
    st = ndimage.generate_binary_structure(3, 1)
    sa = a ^ ndimage.binary_erosion(a, structure=st, iterations=1)
    sb = b ^ ndimage.binary_erosion(b, structure=st, iterations=1)
    da = ndimage.distance_transform_edt(~sa, sampling=spacing)
    db = ndimage.distance_transform_edt(~sb, sampling=spacing)
    return float(np.percentile(np.hstack((db[sa], da[sb])), 95))


def reference(p, t, spacing):
    tp = int((p & t).sum()); fp = int((p & ~t).sum()); fn = int((~p & t).sum()); tn = int((~p & ~t).sum())
    ml = float(np.prod(spacing)) / 1000.0
    return {
        "dice": 1.0 if 2 * tp + fp + fn == 0 else 2 * tp / (2 * tp + fp + fn),
        "hd95": hd95(p, t, spacing),
        "sensitivity": None if tp + fn == 0 else tp / (tp + fn),
        "specificity": None if tn + fp == 0 else tn / (tn + fp),
        "volume_ml": (tp + fp) * ml,
        "true_volume_ml": (tp + fn) * ml,
    }


def close(name, got, want, tol):
    if want is None or got is None:
        assert got is None and want is None, f"{name}: {got} vs {want}"
        return
    assert abs(got - want) <= tol * max(1.0, abs(want)), f"{name}: brainseg {got} vs scipy {want}"


def save(arr, spacing, path):
    img = nib.Nifti1Image(arr.astype(np.uint8), np.diag(list(spacing) + [1.0]))
    img.header.set_zooms(spacing)
    img.to_filename(path)


def blob(rng, shape, n):
    m = np.zeros(shape, bool)
    for _ in range(n):
        c = [rng.integers(0, s) for s in shape]
        r = rng.uniform(1.5, 6)
        zz, yy, xx = np.ogrid[: shape[0], : shape[1], : shape[2]]
        m |= (zz - c[0]) ** 2 + (yy - c[1]) ** 2 + (xx - c[2]) ** 2 <= r * r
    return m


def fill_planes(m):
    """The holes of every 2D slice filled, axial (numpy axis 2 of a NIfTI array) first, then coronal, then
    sagittal, each on what the one before left; 2D holes are 4-connected background, binary_fill_holes' default."""
    out = m.copy()
    for axis in (2, 1, 0):
        for k in range(out.shape[axis]):
            sl = [slice(None)] * 3
            sl[axis] = k
            out[tuple(sl)] = ndimage.binary_fill_holes(out[tuple(sl)])
    return out


def near_rim(core, et, spacing, radius):
    return core & (ndimage.distance_transform_edt(~fill_planes(et), sampling=spacing) <= radius)


def trim_core(core, et, spacing, radius, share):
    """The core's voxels within radius mm of the enhancing tumour with its plane holes filled, and of those only
    the pieces (26-connected, enhancing voxels joining them) that hold an enhancing voxel, when the enhancing
    tumour is at least share of the core; else the core unchanged."""
    if not core.any() or not et.any() or et.sum() < share * core.sum():
        return core
    near = near_rim(core, et, spacing, radius)
    lab, n = ndimage.label(near | et, np.ones((3, 3, 3), bool))
    keep = np.zeros(n + 1, bool)
    keep[np.unique(lab[et])] = True
    keep[0] = False
    return near & keep[lab]


def check_trim(rng, tmp):
    """Random cores with enhancing shells (some enclosing a cavity wider than the radius, some with too little
    enhancement), on isotropic and anisotropic voxels, against scipy."""
    total = [0, 0, 0, 0]
    for shape, spacing in [((44, 40, 30), (1.0, 1.0, 1.0)), ((38, 46, 20), (0.9, 1.2, 3.0))]:
        for trial in range(5):
            b = blob(rng, shape, 2)
            et = ndimage.binary_dilation(b, iterations=2) & ~b
            if trial == 1:
                et &= rng.random(shape) > 0.3
            core = ndimage.binary_dilation(et | b, iterations=int(rng.integers(3, 7))) | blob(rng, shape, 3)
            if trial == 4:
                # a moat 2-3 mm out from the rim: the core beyond it, though near, is cut off from the rim
                core = ndimage.binary_dilation(et | b, iterations=4)
                d = ndimage.distance_transform_edt(~fill_planes(et), sampling=spacing)
                core &= ~((d > 2.0) & (d <= 3.2))
            if trial == 2:
                et &= blob(rng, shape, 1)
            if trial == 3:
                # a big cavity: a thick shell around a ball of radius 9 voxels, all core
                zz, yy, xx = np.ogrid[: shape[0], : shape[1], : shape[2]]
                c = [s // 2 for s in shape]
                rr = (zz - c[0]) ** 2 + (yy - c[1]) ** 2 + (xx - c[2]) ** 2
                et = (rr > 81) & (rr <= 121)
                core = (rr <= 121) | blob(rng, shape, 2)
            et &= core
            cp = os.path.join(tmp, "c.nii.gz"); ep = os.path.join(tmp, "e.nii.gz"); op = os.path.join(tmp, "o.nii.gz")
            save(core, spacing, cp); save(et, spacing, ep)
            got = json.loads(subprocess.run([TOOL, "trim", cp, ep, op], check=True, capture_output=True,
                                            text=True).stdout)
            stored = tuple(float(z) for z in nib.load(cp).header.get_zooms()[:3])
            want = trim_core(core, et, stored, got["radius_mm"], got["min_share"])
            out = np.asarray(nib.load(op).dataobj) > 0
            assert (out == want).all(), f"trim {shape} trial {trial}: {int((out != want).sum())} voxels differ"
            assert got["trimmed"] == int((core & ~want).sum()), (got, int((core & ~want).sum()))
            assert (out & et).sum() == et.sum(), "the enhancing tumour stays in the core"
            total[0] += got["trimmed"]
            total[1] += int(got["trimmed"] == 0 and et.sum() < got["min_share"] * core.sum())
            if trial == 3:
                # the cavity's centre is 9 voxels or more from any enhancing voxel, and stays core
                total[2] += int(want[tuple(s // 2 for s in shape)] and et.any())
            if et.any() and et.sum() >= got["min_share"] * core.sum():
                # near the rim, but in a piece without enhancement
                total[3] += int((near_rim(core, et, stored, got["radius_mm"]) & ~want).sum())
    assert min(total) > 0, f"the random masks must exercise every case: {total}"
    print(f"trimmed {total[0]} core voxels as scipy does ({total[3]} of them near the rim, in pieces without "
          f"enhancement); {total[1]} cores with too little enhancement left whole; {total[2]} enclosed cavities kept")


def islands(m, fraction=0.2):
    lab, n = ndimage.label(m, np.ones((3, 3, 3), bool))
    if n == 0:
        return m
    size = np.bincount(lab.ravel())
    size[0] = 0
    keep = size >= int(fraction * size.max())
    keep[0] = False
    return keep[lab]


def check_fill(rng, tmp):
    cases, total = 0, [0, 0, 0]
    for shape in [(30, 26, 20), (17, 40, 23)]:
        for trial in range(4):
            # hollow shells (closed, or pierced by a few missing voxels), tubes open at both ends, blobs minus blobs
            b = blob(rng, shape, 3)
            m = ndimage.binary_dilation(b, iterations=2) & ~b
            if trial == 1:
                m &= rng.random(shape) > 0.05
            elif trial == 2:
                ring = ndimage.binary_dilation(b[:, :, shape[2] // 2], iterations=2) & ~b[:, :, shape[2] // 2]
                m = np.repeat(ring[:, :, None], shape[2], axis=2)
            elif trial == 3:
                m = blob(rng, shape, 4) & ~blob(rng, shape, 6)
            within = m | (rng.random(shape) > 0.3) if trial < 3 else np.ones(shape, bool)
            mp = os.path.join(tmp, "m.nii.gz"); wp = os.path.join(tmp, "w.nii.gz"); op = os.path.join(tmp, "o.nii.gz")
            save(m, (1.0, 1.0, 1.0), mp); save(within, (1.0, 1.0, 1.0), wp)
            got = json.loads(subprocess.run([TOOL, "fill", mp, wp, op], check=True, capture_output=True,
                                            text=True).stdout)
            want = fill_planes(m) & within | m
            filled = np.asarray(nib.load(op).dataobj) > 0
            assert (filled == want).all(), f"fill {shape} trial {trial}: {int((filled != want).sum())} voxels differ"
            assert got["filled"] == int((want & ~m).sum()), (got, int((want & ~m).sum()))
            # holes that 3D filling would leave (open along some axis) and voxels kept out by `within`
            total[0] += got["filled"]
            total[1] += int((fill_planes(m) & ~ndimage.binary_fill_holes(m)).sum())
            total[2] += int((fill_planes(m) & ~within & ~m).sum())
            cases += 1
    assert min(total) > 0, f"the random masks must exercise every case: {total}"
    print(f"filled {total[0]} voxels; before within, {total[1]} were holes of slices only (3D filling leaves them) "
          f"and {total[2]} were kept out")
    return cases


def main():
    rng = np.random.default_rng(20261204)
    tmp = tempfile.mkdtemp()
    n = check_fill(rng, tmp)
    print(f"{n} random masks: the core's holes filled as scipy fills them")
    check_trim(rng, tmp)
    cases = 0
    shapes = [(40, 36, 24), (33, 41, 17)]
    spacings = [(1.0, 1.0, 1.0), (0.9, 1.2, 3.0)]
    for shape, spacing in zip(shapes, spacings):
        for trial in range(4):
            t = blob(rng, shape, 2)
            p = ndimage.binary_dilation(t, iterations=1) if trial % 2 else blob(rng, shape, 3)
            if trial == 3:
                p = p & (rng.random(shape) > 0.2)  # ragged, with holes
            pairs = [(p, t)]
            if trial == 0:
                z = np.zeros(shape, bool)
                pairs += [(z, z), (z, t), (p, z)]
            for a, b in pairs:
                pp = os.path.join(tmp, "p.nii.gz"); tp = os.path.join(tmp, "t.nii.gz")
                save(a, spacing, pp); save(b, spacing, tp)
                got = json.loads(subprocess.run([TOOL, pp, tp], check=True, capture_output=True, text=True).stdout)
                # the spacing as stored (float32 in the header), as both sides read it
                stored = tuple(float(z) for z in nib.load(tp).header.get_zooms()[:3])
                want = reference(a, b, stored)
                for k in want:
                    close(k, got[k], want[k], 1e-9)
                cases += 1
    print(f"{cases} random mask pairs agree with scipy")

    case = os.path.join(SAMPLES, "brats2017-2018", "Brats18_TCIA01_201_1")
    if SAMPLES and os.path.isdir(case):
        out = os.path.join(tmp, "mask.nii.gz")
        # The default model predicts all three regions: its BraTS label map against scipy, region by region.
        prob_out = os.path.join(tmp, "prob.nii.gz")
        d = json.loads(subprocess.run([CLI, "infer", case, "--json", "--out", out, "--mask-labels", "brats",
                                       "--prob-out", prob_out], check=True, capture_output=True, text=True).stdout)
        pred = np.asarray(nib.load(out).dataobj)
        # The masks from the network's probabilities as the pipeline makes them: the whole tumour without its
        # islands, the core inside it with its holes filled, the enhancing tumour inside the core, then the core
        # kept within 6 mm of the enhancing tumour.
        prob = np.asarray(nib.load(prob_out).dataobj)
        wt = islands(prob[..., 0] > 0.5)
        core = (prob[..., 1] > 0.5) & wt
        filled = fill_planes(core) & wt
        et = (prob[..., 2] > 0.5) & filled
        zooms = tuple(float(z) for z in nib.load(prob_out).header.get_zooms()[:3])
        tc = trim_core(filled, et, zooms, 6.0, 0.1)
        for r, mine, values in (("wt", wt, (1, 2, 4)), ("tc", tc, (1, 4)), ("et", et, (4,))):
            differ = int((np.isin(pred, values) != mine).sum())
            assert differ == 0, f"{r}: {differ} voxels differ from the masks made from the probabilities"
        assert d["core_filled_voxels"] == int((filled & ~core).sum()), (d["core_filled_voxels"],
                                                                         int((filled & ~core).sum()))
        assert d["core_trimmed_voxels"] == int((filled & ~tc).sum()), (d["core_trimmed_voxels"],
                                                                        int((filled & ~tc).sum()))
        print(f"Brats18_TCIA01_201_1: the masks are the probabilities' as scipy makes them "
              f"({d['core_filled_voxels']} core voxels filled, {d['core_trimmed_voxels']} trimmed)")
        seg = [f for f in os.listdir(case) if f.endswith("_seg.nii.gz")][0]
        label_img = nib.load(os.path.join(case, seg))
        label = np.asarray(label_img.dataobj)
        spacing = tuple(float(z) for z in label_img.header.get_zooms()[:3])
        ml = float(np.prod(spacing)) / 1000.0
        regions = {"wt": (1, 2, 4), "tc": (1, 4), "et": (4,)}
        for r, values in regions.items():
            want = reference(np.isin(pred, values), np.isin(label, values), spacing)
            for k in want:
                close(f"{r} {k}", d["regions"][r][k], want[k], 1e-6)
            close(f"{r} true volume", d["regions"][r]["true_volume_ml"], float(np.isin(label, values).sum()) * ml, 1e-9)
            assert d["regions"][r]["predicted"] is True, d["regions"][r]
        wt = d["regions"]["wt"]
        close("dice_wt", d["dice_wt"], wt["dice"], 1e-9)
        print(f"Brats18_TCIA01_201_1: TC Dice {d['regions']['tc']['dice']:.4f}, HD95 {d['regions']['tc']['hd95']:.3f} mm; "
              f"ET Dice {d['regions']['et']['dice']:.4f}, HD95 {d['regions']['et']['hd95']:.3f} mm as scipy computes them")

        # The whole-tumour model: its binary mask, and no core or enhancing tumour predicted.
        wt_model = os.path.join(os.environ.get("BS_SOURCE_ROOT", ""), "resources", "models", "brainseg-wt.h5")
        d = json.loads(subprocess.run([CLI, "infer", case, "--json", "--out", out, "--model", wt_model],
                                      check=True, capture_output=True, text=True).stdout)
        mask = np.asarray(nib.load(out).dataobj) > 0
        want = reference(mask, label > 0, spacing)
        wt = d["regions"]["wt"]
        for k in want:
            close(k, wt[k], want[k], 1e-6)
        close("dice_wt", d["dice_wt"], want["dice"], 1e-9)
        close("tc true volume", d["regions"]["tc"]["true_volume_ml"], float(np.isin(label, (1, 4)).sum()) * ml, 1e-9)
        close("et true volume", d["regions"]["et"]["true_volume_ml"], float((label == 4).sum()) * ml, 1e-9)
        assert d["regions"]["tc"]["dice"] is None and d["regions"]["tc"]["predicted"] is False
        print(f"Brats18_TCIA01_201_1: Dice {wt['dice']:.4f}, HD95 {wt['hd95']:.3f} mm as scipy computes them")
    else:
        print("real samples absent: the real-case check is skipped")


if __name__ == "__main__":
    main()
