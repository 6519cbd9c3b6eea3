#!/usr/bin/env python3
"""brainseg-cli train end to end on a tiny phantom task: the split, progress
lines, the stage table, per-test-case Dice, a Keras-layout weights file that
h5py reads and PyTorch loads, --evaluate, --bench-step, and clear errors (no
partial output file) for bad arguments and bad datasets.  Resume: N epochs in
one run and k epochs plus a resumed N - k end with the same weights; plain
weights fine-tune; damaged or mismatched states fail naming the file.
--figures: one PNG per requested slice of each test case.  Cross-validation:
folds split by case, every case held out exactly once, never trained on in its
own fold, reports and --cv-summary list every case once."""
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

try:
    import h5py
    import numpy as np
except ImportError as e:
    print(f"SKIP: {e}")
    sys.exit(77)

CLI = os.environ.get("BS_CLI")
if not CLI:
    print("SKIP: BS_CLI is not set (run through meson test)")
    sys.exit(77)

TINY = ["--fms", "2", "--crop", "32", "--batch", "4", "--steps-per-epoch", "3", "--val-slices", "8",
        "--threads", "2"]


def run(*args, ok=True):
    proc = subprocess.run([CLI, *args], capture_output=True, text=True)
    if ok:
        assert proc.returncode == 0, f"{args}: {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


def check_weights(path):
    with h5py.File(path, "r") as f:
        mw = f["model_weights"]
        k = mw["encodeAa"]["encodeAa"]["kernel:0"]
        assert k.shape == (3, 3, 1, 2), k.shape            # Conv2D: HWIO
        t = mw["transconvE"]["transconvE"]["kernel:0"]
        assert t.shape == (2, 2, 16, 32), t.shape           # Conv2DTranspose: HWOI
        p = mw["PredictionMask"]["PredictionMask"]["kernel:0"]
        assert p.shape == (1, 1, 2, 1), p.shape
        cfg = f.attrs["brainseg_config"]
        cfg = json.loads(cfg if isinstance(cfg, str) else cfg.decode())
        assert cfg["fms"] == 2, cfg
        assert [m.lower() for m in cfg["modalities"]] == ["flair"], cfg
        kernels = {name: np.array(mw[name][name]["kernel:0"]) for name in mw.keys()
                   if "kernel:0" in mw[name][name]}
    for name, arr in kernels.items():
        assert np.all(np.isfinite(arr)), name
    return kernels


def check_torch_loads(kernels):
    """The PyTorch peer's layout: Conv2d OIHW, ConvTranspose2d (in, out, kh, kw)."""
    try:
        import torch
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench"))
        import importlib
        peer = importlib.import_module("torch-train-step")
    except ImportError as e:
        print(f"(PyTorch check skipped: {e})")
        return
    model = peer.UNet2D(2, 1)
    state = model.state_dict()
    for name, k in kernels.items():
        w = state[f"{name}.weight"]
        if name.startswith("transconv"):
            conv = np.transpose(k, (3, 2, 0, 1))  # HWOI -> (in, out, kh, kw)
        else:
            conv = np.transpose(k, (3, 2, 0, 1))  # HWIO -> OIHW
        assert tuple(w.shape) == conv.shape, (name, tuple(w.shape), conv.shape)
        state[f"{name}.weight"] = torch.from_numpy(np.ascontiguousarray(conv))
    model.load_state_dict(state)
    model.eval()
    with torch.no_grad():
        out = model(torch.randn(2, 1, 32, 32))
    assert out.shape == (2, 1, 32, 32) and torch.isfinite(out).all()


# One thread: the same oneDNN kernels in both runs, so the comparison is exact
# in practice; the tolerance only allows for a different but deterministic ISA.
RESUME = ["--fms", "2", "--crop", "32", "--batch", "4", "--steps-per-epoch", "3", "--val-slices", "8",
          "--threads", "1", "--plain"]


def all_weights(path):
    with h5py.File(path, "r") as f:
        mw = f["model_weights"]
        return {f"{k}/{w}": np.array(mw[k][k][w]) for k in mw.keys() for w in mw[k][k].keys()}


def assert_same_weights(a, b):
    wa, wb = all_weights(a), all_weights(b)
    assert wa.keys() == wb.keys(), (a, b)
    for k in wa:
        assert np.allclose(wa[k], wb[k], rtol=0, atol=1e-6), (a, b, k, float(np.abs(wa[k] - wb[k]).max()))


def check_resume(tmp, task):
    # Three epochs at once, with dropout and augmentation (the default).
    one = os.path.join(tmp, "one.h5")
    proc = run("train", task, "--out", one, "--epochs", "3", *RESUME)
    assert "Resumable state of the last epoch" in proc.stdout and "one.last.h5" in proc.stdout, proc.stdout
    # One epoch, then the run resumed from its state up to epoch 3.
    two = os.path.join(tmp, "two.h5")
    run("train", task, "--out", two, "--epochs", "1", *RESUME)
    last = os.path.join(tmp, "two.last.h5")
    with h5py.File(last, "r") as f:
        st = f["training_state"]
        assert int(st.attrs["epoch"]) == 1 and int(st.attrs["steps"]) == 3, dict(st.attrs)
        for name in ("adam_m", "adam_v", "best_weights", "sampler_tumour", "sampler_other"):
            assert name in st, name
        assert np.any(np.array(st["adam_v"]) > 0)
    # The state file is a normal model file: h5py, PyTorch and the inference engine read it.
    check_torch_loads(check_weights(last))
    proc = run("infer", task, "--model", last, "--case", "phantom_001", "--json", "--threads", "1")
    assert json.loads(proc.stdout)["model"] == last, proc.stdout
    # Options given now that differ from the run's own (--seed, --batch) do not change it.
    proc = run("train", task, "--out", two, "--epochs", "3", "--resume", last, *RESUME, "--seed", "5")
    out = proc.stdout
    assert "Resuming" in out and "after epoch 1" in out, out
    assert "--seed 816" in out and "ignored" in out and "--batch" not in out, out
    assert "epoch 1/3" not in out and "epoch 2/3 done" in out and "epoch 3/3 done" in out, out
    assert "3 epochs, 9 steps" in out, out
    assert_same_weights(os.path.join(tmp, "one.last.h5"), last)
    assert_same_weights(one, two)
    with h5py.File(last, "r") as f:
        assert int(f["training_state"].attrs["epoch"]) == 3

    # Resuming a finished run trains nothing and still leaves the best weights in --out.
    three = os.path.join(tmp, "three.h5")
    proc = run("train", task, "--out", three, "--epochs", "3", "--resume", last, *RESUME)
    assert "epoch 3/3" not in proc.stdout and "nothing to train" in proc.stdout, proc.stdout
    assert_same_weights(one, three)

    # Plain weights (no state): fine-tuning from epoch 1, said in one line.
    tuned = os.path.join(tmp, "tuned.h5")
    proc = run("train", task, "--out", tuned, "--epochs", "1", "--resume", one, *RESUME)
    assert sum("fine-tuning" in line for line in proc.stdout.splitlines()) == 1, proc.stdout
    assert "epoch 1/1 done" in proc.stdout, proc.stdout
    shipped = os.path.join(os.environ.get("BS_SOURCE_ROOT", ""), "resources", "models", "brainseg-default.h5")
    if os.path.exists(shipped):
        proc = run("train", task, "--out", tuned, "--epochs", "0", "--resume", shipped, "--modalities", "flair,t1,t1gd,t2",
                   *RESUME)
        assert "fine-tuning" in proc.stdout, proc.stdout

    # Broken states: a clear error that names the file, and no output written.
    other = os.path.join(tmp, "other.h5")
    run("train", task, "--out", other, "--epochs", "1", *[a if a != "2" else "4" for a in RESUME])
    mixed = os.path.join(tmp, "mixed.last.h5")
    shutil.copy(last, mixed)
    with h5py.File(mixed, "a") as m, h5py.File(os.path.join(tmp, "other.last.h5"), "r") as o:
        del m["training_state"]
        o.copy("training_state", m)
    damaged = os.path.join(tmp, "damaged.last.h5")
    shutil.copy(last, damaged)
    with h5py.File(damaged, "a") as d:
        del d["training_state/adam_m"]
        d["training_state/adam_m"] = np.zeros(7, np.float32)
    nostep = os.path.join(tmp, "nostep.last.h5")
    shutil.copy(last, nostep)
    with h5py.File(nostep, "a") as d:
        del d["training_state"].attrs["steps"]
    truncated = os.path.join(tmp, "truncated.last.h5")
    with open(last, "rb") as src, open(truncated, "wb") as dst:
        dst.write(src.read(os.path.getsize(last) // 3))
    bad = os.path.join(tmp, "bad.h5")
    for path, needle in ((mixed, "another network"), (damaged, "adam_m"), (nostep, "steps"),
                         (truncated, "truncated.last.h5"), (os.path.join(tmp, "gone.last.h5"), "no such")):
        proc = run("train", task, "--out", bad, "--epochs", "4", "--resume", path, *RESUME, ok=False)
        assert proc.returncode != 0, path
        assert path in proc.stderr and needle in proc.stderr, f"{path}: {proc.stderr!r}"
        assert "epoch" not in proc.stdout, proc.stdout
        assert not os.path.exists(bad), path
    # The same state with other cases in the split.
    proc = run("train", task, "--out", bad, "--epochs", "4", "--resume", last, "--test-cases", "phantom_001",
               *RESUME, ok=False)
    assert last in proc.stderr and "phantom_001" in proc.stderr, proc.stderr
    assert not os.path.exists(bad)


def check_average(tmp, task):
    # --average-from 2: said once, kept in the state (with the running mean),
    # the saved model names the epochs it averages, and the run resumes with it.
    avg = os.path.join(tmp, "avg.h5")
    proc = run("train", task, "--out", avg, "--epochs", "2", "--average-from", "2", "--intensity-jitter", "0.3",
               *RESUME)
    assert proc.stdout.count("From epoch 2 on") == 1, proc.stdout
    last = os.path.join(tmp, "avg.last.h5")
    with h5py.File(last, "r") as f:
        st = f["training_state"]
        assert int(st.attrs["average_from"]) == 2 and int(st.attrs["mean_count"]) == 1, dict(st.attrs)
        assert abs(float(st.attrs["intensity_jitter"]) - 0.3) < 1e-12, dict(st.attrs)
        # one epoch in the mean so far: it is that epoch's weights
        flat = np.array(st["mean_weights"])
        assert flat.shape == np.array(st["adam_m"]).shape
    proc = run("train", task, "--out", avg, "--epochs", "3", "--resume", last, "--average-from", "1", *RESUME)
    assert "--average-from 2" in proc.stdout and "ignored" in proc.stdout, proc.stdout
    assert "From epoch" not in proc.stdout and "(mean of epochs 2-3, saved)" in proc.stdout, proc.stdout
    with h5py.File(last, "r") as f:
        assert int(f["training_state"].attrs["mean_count"]) == 2
    with h5py.File(avg, "r") as f:
        config = f.attrs["brainseg_config"]
        desc = json.loads(config.decode() if isinstance(config, bytes) else config).get("description", "")
    assert "mean of the weights after epochs 2-3 of 3" in desc, desc


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR", path
    return struct.unpack(">II", head[16:24])


def check_figures(tmp, task):
    figs = os.path.join(tmp, "figs")
    os.mkdir(figs)
    out = os.path.join(tmp, "fig.h5")
    proc = run("train", task, "--out", out, "--epochs", "1", "--figures", figs, *RESUME)
    test_ids = [line.split()[1:] for line in proc.stdout.splitlines() if line.startswith("test")][0]
    assert test_ids, proc.stdout
    # The slice with the most tumour and the slices 10 before and after it.
    expected = set()
    try:
        import nibabel as nib
    except ImportError:
        nib = None
    for case in test_ids:
        if nib is None:
            expected = None
            break
        label = np.asarray(nib.load(os.path.join(task, "labelsTr", case + ".nii.gz")).dataobj)
        z = int(np.argmax((label > 0).sum(axis=(0, 1))))
        for k in (z - 10, z, z + 10):
            expected.add(f"{case}-axial-{min(max(k, 0), label.shape[2] - 1):03d}.png")
    names = set(os.listdir(figs))
    if expected is not None:
        assert names == expected, (names, expected)
    assert len(names) == 3 * len(test_ids), names
    for name in names:
        assert png_size(os.path.join(figs, name)) == (1800, 720), name
    try:
        from PIL import Image
    except ImportError:
        Image = None
    if Image is not None:
        # The MRI panel: outside the head black (the z-scored input's background
        # is 0, which a plain window would draw mid-grey), inside it grey levels.
        with Image.open(os.path.join(figs, sorted(names)[1])) as im:
            grey = np.asarray(im.convert("L"), dtype=np.int32)
        panel = grey[150:690, 40:580]
        assert panel[:20, :20].max() < 16, panel[:20, :20].max()
        assert panel.max() > 150 and (panel > 40).mean() > 0.1, (panel.max(), (panel > 40).mean())
    assert "Wrote 3 figures" in proc.stdout, proc.stdout
    # Missing folder, or a file instead of a folder: refused before any training.
    bad = os.path.join(tmp, "bad.h5")
    for where, needle in ((os.path.join(tmp, "nofigs"), "no such folder"), (out, "not a folder")):
        proc = run("train", task, "--out", bad, "--epochs", "1", "--figures", where, *RESUME, ok=False)
        assert proc.returncode != 0 and where in proc.stderr and needle in proc.stderr, proc.stderr
        assert "training" not in proc.stdout and not os.path.exists(bad), proc.stdout

def held_out_lines(text):
    """{fold: [case ids]} from the partition a --folds run prints."""
    folds = {}
    for line in text.splitlines():
        words = line.split()
        if len(words) >= 2 and words[0] == "fold" and words[1].rstrip(":").isdigit():
            ids = line.split(":", 1)[1].split()
            folds[int(words[1].rstrip(":"))] = ids
    return folds


def check_cross_validation(tmp):
    task = os.path.join(tmp, "cv-task")
    run("phantom", task, "--cases", "5", "--seed", "4", "--size", "48x48x32")
    cases = [f"phantom_{i:03d}" for i in range(1, 6)]
    common = ["--folds", "3", "--seed", "21", "--epochs", "1", "--plain", "--phantoms", "1", "--phantom-size",
              "48x48x32", "--modalities", "flair,t1,t1gd,t2", "--modality-dropout", "0.3", *TINY]
    partition = None
    reports = []
    for fold in (1, 2, 3):
        out = os.path.join(tmp, f"cv{fold}.h5")
        report = os.path.join(tmp, f"cv{fold}.json")
        text = run("train", task, "--out", out, "--fold", str(fold), "--report", report, *common).stdout
        folds = held_out_lines(text)
        assert sorted(folds) == [1, 2, 3], text
        # The same partition in every fold's run, of all five cases, each in one fold.
        if partition is None:
            partition = folds
        assert folds == partition, (folds, partition)
        assert sorted(sum(folds.values(), [])) == cases, folds
        assert all(len(ids) in (1, 2) for ids in folds.values()), folds
        assert "phantom-001" in text.split("in no fold, always training:")[1].splitlines()[0], text
        with open(report) as f:
            r = json.load(f)
        assert r["folds"] == 3 and r["fold"] == fold and r["seed"] == 21, r
        assert sorted(r["test_cases"]) == sorted(partition[fold]), (r, partition)
        assert not set(r["training_cases"]) & set(r["test_cases"]), r
        assert not set(r["validation_cases"]) & set(r["test_cases"]), r
        assert "phantom-001" in r["training_cases"], r
        assert [c["id"] for c in r["cases"]] == r["test_cases"], r
        for c in r["cases"]:
            assert c["fold"] == fold and 0.0 <= c["dice_wt"] <= 1.0 and 0.0 <= c["dice_wt_raw"] <= 1.0, c
            assert c["channels_present"] == ["FLAIR", "T1w", "T1gd", "T2w"], c
            assert c["id"] in text.split("Test case")[1], text
        assert f"Fold {fold} of 3" in text, text
        reports.append(report)

    # The summary: every case once, with the fold that held it out; mean, median, worst.
    summary = os.path.join(tmp, "cv-all.json")
    text = run("train", "--cv-summary", *reports, "--report", summary).stdout
    with open(summary) as f:
        table = json.load(f)
    ids = [c["id"] for c in table["cases"]]
    assert sorted(ids) == cases, table
    for c in table["cases"]:
        assert c["id"] in partition[c["fold"]], (c, partition)
        assert text.count(c["id"]) >= 1, text
    dice = sorted(c["dice_wt"] for c in table["cases"])
    assert abs(table["dice_wt"]["mean"] - sum(dice) / 5) < 1e-9, table
    assert abs(table["dice_wt"]["median"] - dice[2]) < 1e-9, table
    assert table["dice_wt"]["worst"] == dice[0], table
    for needle in ("mean", "median", "worst", "5 cases from 3 of 3 folds"):
        assert needle in text, f"'{needle}' missing from:\n{text}"
    csv = os.path.join(tmp, "cv-all.csv")
    run("train", "--cv-summary", *reports, "--report", csv)
    with open(csv) as f:
        rows = f.read().splitlines()
    assert rows[0].startswith("case,fold,dice_wt,dice_wt_raw"), rows
    assert len(rows) == 6, rows
    # Two folds only: the table says which fold is missing.
    text = run("train", "--cv-summary", *reports[:2]).stdout
    assert "fold 3" in text, text
    # A fold given twice, or another split's report, is refused.
    proc = run("train", "--cv-summary", reports[0], reports[0], ok=False)
    assert proc.returncode != 0 and "twice" in proc.stderr, proc.stderr
    other = os.path.join(tmp, "cv-other.json")
    run("train", task, "--out", os.path.join(tmp, "cv-other.h5"), "--fold", "1", "--report", other,
        *[a if a != "21" else "22" for a in common])
    proc = run("train", "--cv-summary", reports[1], other, ok=False)
    assert proc.returncode != 0 and "seed" in proc.stderr, proc.stderr
    # A report or model that cannot be written is refused before training (fuzz
    # finding: --report into a missing folder failed after training, the model written).
    lost = os.path.join(tmp, "never.h5")
    proc = run("train", task, "--out", lost, "--fold", "1", "--report", "/nonexistent-brainseg/r.json",
               *common, ok=False)
    assert proc.returncode != 0 and "/nonexistent-brainseg" in proc.stderr, proc.stderr
    assert "epoch" not in proc.stdout and not os.path.exists(lost), proc.stdout
    # Damaged reports (fuzz findings): a Dice that is no number from 0 to 1, a fold
    # that is no whole number, an id that is no name, an empty file, nesting past
    # what the parser takes: refused, naming the file, with no GLib warning.
    with open(reports[0]) as f:
        good = json.load(f)
    damages = [
        (lambda r: r["cases"][0].update(dice_wt="x"), "dice_wt"),
        (lambda r: r["cases"][0].update(dice_wt=None), "dice_wt"),
        (lambda r: r["cases"][0].update(dice_wt=1e308), "dice_wt"),
        (lambda r: r["cases"][0].update(id=5), "id"),
        (lambda r: r["cases"][0].update(fold="x"), "fold"),
        (lambda r: r.update(fold=1.5), "cross-validation"),
    ]
    for i, (damage, needle) in enumerate(damages):
        bad = json.loads(json.dumps(good))
        damage(bad)
        path = os.path.join(tmp, f"damaged-{i}.json")
        with open(path, "w") as f:
            json.dump(bad, f)
        proc = run("train", "--cv-summary", path, ok=False)
        assert proc.returncode != 0 and needle in proc.stderr and path in proc.stderr, (needle, proc.stderr)
        assert "CRITICAL" not in proc.stderr and "WARNING" not in proc.stderr, proc.stderr
    for i, text in enumerate(["", '{"a":' + "[" * 100000 + "]" * 100000 + "}"]):
        path = os.path.join(tmp, f"damaged-text-{i}.json")
        with open(path, "w") as f:
            f.write(text)
        proc = run("train", "--cv-summary", path, ok=False)
        assert proc.returncode != 0 and path in proc.stderr, proc.stderr
        assert "CRITICAL" not in proc.stderr, proc.stderr

    # A resumed fold keeps its split (the state holds folds, fold and seed).
    out = os.path.join(tmp, "cv1.h5")
    text = run("train", task, "--out", out, "--resume", out.replace(".h5", ".last.h5"), "--epochs", "2",
               "--phantoms", "1", "--phantom-size", "48x48x32", "--modalities", "flair,t1,t1gd,t2", "--plain",
               *TINY).stdout
    assert held_out_lines(text) == partition, text
    assert "epoch 2/2" in text, text


def check_calibrate(tmp, task, model):
    """brainseg-cli calibrate stores int8's ranges with the weights; int8 then
    runs with them (and --calibration case still measures the case); training
    the weights drops them; bad arguments fail naming what is wrong."""
    cal = os.path.join(tmp, "calibrated.h5")
    proc = run("calibrate", task, "--model", model, "--out", cal)
    assert "int8 calibration of 4 cases stored" in proc.stdout, proc.stdout
    with h5py.File(cal, "r") as f:
        stored = json.loads(f.attrs["brainseg_calibration"])
    assert stored["cases"] == 4 and len(stored["layer_max"]) == 23, stored
    assert all(v > 0 for v in stored["layer_max"]) and stored["input_max"] > 0, stored
    assert_same_weights(model, cal)
    info = json.loads(run("info", cal, "--json").stdout)
    assert info["calibration_cases"] == 4, info
    assert json.loads(run("info", model, "--json").stdout)["calibration_cases"] is None
    assert "stored, the median of 4 cases" in run("info", cal).stdout
    assert "none stored" in run("info", model).stdout

    def infer(*extra):
        out = json.loads(run("infer", task, "--model", cal, "--layout", "nhwc", "--three-planes", "off", "--json",
                             *extra).stdout)
        return out["calibration"]
    assert infer("--precision", "int8") == {"source": "model", "cases": 4}
    assert infer("--precision", "int8", "--calibration", "case") == {"source": "case", "slices": 4}
    assert infer("--precision", "fp32") is None

    # the median of one case only, written over the model itself
    again = os.path.join(tmp, "again.h5")
    shutil.copy(cal, again)
    run("calibrate", task, "--model", again, "--out", again, "--cases", "phantom_002", "--quiet")
    with h5py.File(again, "r") as f:
        assert json.loads(f.attrs["brainseg_calibration"])["cases"] == 1

    # trained further: the ranges were of the old weights
    tuned = os.path.join(tmp, "tuned-cal.h5")
    run("train", task, "--out", tuned, "--epochs", "1", "--resume", cal, *RESUME)
    with h5py.File(tuned, "r") as f:
        assert "brainseg_calibration" not in f.attrs, list(f.attrs)

    bad = os.path.join(tmp, "bad-cal.h5")
    proc = run("calibrate", task, "--model", model, ok=False)
    assert proc.returncode == 2 and "--out" in proc.stderr, proc.stderr
    proc = run("calibrate", task, "--model", model, "--out", bad, "--cases", "phantom_002,NOPE", ok=False)
    assert proc.returncode == 1 and "NOPE" in proc.stderr and not os.path.exists(bad), proc.stderr
    # refused before any case is measured (it measured every case first)
    assert "ranges measured" not in proc.stdout, proc.stdout
    proc = run("infer", task, "--model", cal, "--calibration", "sometimes", ok=False)
    assert proc.returncode == 2 and "--calibration" in proc.stderr, proc.stderr


def check_not_over_cases(tmp, task, model):
    """No model, report or calibration is written over a file of the cases it
    reads (found here: calibrate and train --out onto a case's label replaced
    its ground truth with weights)."""
    label = os.path.join(task, "labelsTr", "phantom_001.nii.gz")
    image = os.path.join(task, "imagesTr", "phantom_002.nii.gz")
    listing = os.path.join(task, "dataset.json")
    before = {p: open(p, "rb").read() for p in (label, image, listing)}
    over = os.path.join(tmp, "m-over.h5")
    for args, path, why in (
            # a model's name must be a model's: the label is refused for its ending
            (["calibrate", task, "--model", model, "--out", label], label, "must end in .h5 or .hdf5"),
            (["train", task, "--out", label, "--epochs", "1", *TINY], label, "must end in .h5 or .hdf5"),
            # a table may have any name but another format's
            (["train", task, "--out", over, "--report", image, "--epochs", "1", *TINY], image,
             "another format's ending"),
            (["train", task, "--out", over, "--report", os.path.join(tmp, "fold1.h5"), "--epochs", "1", *TINY],
             "fold1.h5", "another format's ending"),
            # a name that fits is still refused when it is one of the inputs
            (["train", task, "--evaluate", "--resume", model, "--report", listing], listing, "inputs")):
        model_before = open(model, "rb").read()
        proc = run(*args, ok=False)
        assert proc.returncode == 1 and path in proc.stderr and why in proc.stderr, (args, proc.stderr)
        assert "epoch" not in proc.stdout, (args, proc.stdout)
        assert open(model, "rb").read() == model_before, args
    for p, data in before.items():
        assert open(p, "rb").read() == data, p
    assert not os.path.exists(over)
    assert not os.path.exists(os.path.join(tmp, "fold1.h5"))


def main():
    with tempfile.TemporaryDirectory() as tmp:
        task = os.path.join(tmp, "task")
        run("phantom", task, "--cases", "4", "--seed", "3", "--size", "48x48x32")
        out = os.path.join(tmp, "model.h5")

        proc = run("train", task, "--out", out, "--epochs", "2", "--loss", "dice+bce", "--plain", *TINY)
        text = proc.stdout
        for needle in ("training", "validation", "test", "epoch 1/2", "epoch 2/2", "data loading",
                       "preprocessing", "stratification", "prediction", "visualisation", "total", "Dice"):
            assert needle in text, f"'{needle}' missing from:\n{text}"
        assert "\r" not in text, "progress bar redraws in plain mode"
        # One test case, with a Dice in [0, 1].
        rows = [line.split() for line in text.splitlines() if line.startswith("phantom_")]
        assert rows, text
        assert 0.0 <= float(rows[-1][1]) <= 1.0, rows
        kernels = check_weights(out)
        check_torch_loads(kernels)

        # A network whose feature maps do not come in 16s (fms 2) runs "blocked"
        # channels-last: oneDNN left to pick formats took reference kernels for
        # its transposed convolutions and concats (fms 4: 210 ms a 128x128
        # slice against 2.8 ms).  --describe names every layer's kernel.
        for prec in ("fp32", "bf16"):
            proc = run("bench", "--model", out, "--size", "64", "--batch", "1", "--precision", prec, "--layout",
                       "blocked", "--no-reference", "--repeat", "1", "--describe")
            text = proc.stdout + proc.stderr
            assert "channels-last" in text and "transconvA" in text, text
            assert "ref:" not in text, text

        # --evaluate reads the weights back and scores every case.
        proc = run("train", task, "--evaluate", "--resume", out, "--threads", "2")
        assert proc.stdout.count("phantom_") == 4, proc.stdout
        # A report that cannot be written is refused before any case is
        # scored, naming its folder (helper finding: after the whole run).
        missing = os.path.join(tmp, "no-such-folder", "r.json")
        proc = run("train", task, "--evaluate", "--resume", out, "--report", missing, ok=False)
        assert proc.returncode != 0 and "no-such-folder" in proc.stderr, proc.stderr
        assert "phantom_" not in proc.stdout, proc.stdout
        # A --test-cases name that no dataset has is named.
        proc = run("train", task, "--evaluate", "--resume", out, "--test-cases", "NOPE", ok=False)
        assert proc.returncode != 0 and "NOPE" in proc.stderr, proc.stderr
        # beside a case that exists: refused before that case is scored, no report
        report = os.path.join(tmp, "nope.json")
        proc = run("train", task, "--evaluate", "--resume", out, "--test-cases", "NOPE,phantom_001", "--report",
                   report, ok=False)
        assert proc.returncode == 1 and "NOPE" in proc.stderr and "phantom_001" not in proc.stderr, proc.stderr
        assert "phantom_001" not in proc.stdout and not os.path.exists(report), proc.stdout

        # --resume of the best weights (no training state) fine-tunes them.
        out2 = os.path.join(tmp, "resumed.h5")
        proc = run("train", task, "--out", out2, "--epochs", "1", "--resume", out, *TINY)
        assert "fine-tuning" in proc.stdout, proc.stdout
        check_weights(out2)

        check_resume(tmp, task)
        check_calibrate(tmp, task, out)
        check_not_over_cases(tmp, task, out)
        check_average(tmp, task)
        check_figures(tmp, task)
        check_cross_validation(tmp)

        # --bench-step prints one JSON line.
        proc = run("train", "--bench-step", "--fms", "2", "--batch", "2", "--crop", "32", "--repeats", "1")
        j = json.loads(proc.stdout.strip().splitlines()[-1])
        assert j["step_ms_min"] > 0 and j["batch"] == 2, j
        # On lanes (the default: one a thread), and without.
        for lanes, want in (("on", 2), ("off", 1)):
            proc = run("train", "--bench-step", "--fms", "2", "--batch", "4", "--crop", "32", "--repeats", "1",
                       "--threads", "2", "--lanes", lanes)
            j = json.loads(proc.stdout.strip().splitlines()[-1])
            assert j["lanes"] == want and j["step_ms_min"] > 0, (lanes, j)

        # Bad input: a clear message, exit status != 0, no output file.
        bad = os.path.join(tmp, "bad.h5")
        cases = [
            (["train", task, "--out", bad, "--crop", "100"], "multiple of 16"),
            (["train", task, "--out", bad, "--loss", "l2"], "l2"),
            (["train", os.path.join(tmp, "nowhere"), "--out", bad], "nowhere"),
            (["train", task, "--out", bad, "--modalities", "dwi", *TINY], "dwi"),
            (["train", task, "--out", bad, "--test-cases", "BRATS_999", *TINY], "BRATS_999"),
            (["train", task], "--out"),
            (["train", task, "--out", bad, "--lanes", "maybe", *TINY], "--lanes"),
            (["train", task, "--out", bad, "--intensity-jitter", "1.5", *TINY], "--intensity-jitter"),
            (["train", task, "--out", bad, "--average-from", "-1", *TINY], "--average-from"),
            (["train", task, "--out", bad, "--fold", "1", *TINY], "--folds"),
            (["train", task, "--out", bad, "--folds", "3", "--fold", "4", *TINY], "--fold"),
            (["train", task, "--out", bad, "--folds", "2", "--fold", "1", "--test-cases", "phantom_001", *TINY],
             "--test-cases"),
            (["train", task, "--out", bad, "--folds", "5", "--fold", "1", *TINY], "folds"),
            (["train", task, "--out", bad, "--modalities", "flair,dwi", *TINY], "dwi"),
            (["train", task, "--out", bad, "--modality-dropout", "1", *TINY], "--modality-dropout"),
            (["train", task, "--out", bad, "--regions", "wt,tc,et", "--weight-wt", "1", *TINY], "--weight-wt"),
            (["train", "--cv-summary", os.path.join(tmp, "nowhere.json")], "nowhere.json"),
        ]
        for args, needle in cases:
            proc = run(*args, ok=False)
            assert proc.returncode != 0, args
            assert needle in proc.stderr, f"{args}: '{needle}' not in {proc.stderr!r}"
            assert not os.path.exists(bad), args
    print("ok")


if __name__ == "__main__":
    main()
