#!/usr/bin/env python3
"""brainseg-cli train --regions wt,tc,et on a tiny phantom task (Decathlon
labels, so every region is there): a model file with three outputs, a column
per region in the tables and --report, the same file contents for the same
seed, --regions wt the same as no --regions, a resumed run keeping its regions
and refusing others, a whole-tumour model fine-tuned into a region model with
its WT head row copied to every output, --evaluate and --cv-summary with the
region columns, 2.5D (--context 1) widening and training, and a clear error for
a bad region list."""
import json
import os
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
        "--threads", "1", "--plain"]


def run(*args, ok=True):
    proc = subprocess.run([CLI, *args], capture_output=True, text=True)
    if ok:
        assert proc.returncode == 0, f"{args}: {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


def head(path):
    with h5py.File(path, "r") as f:
        p = f["model_weights"]["PredictionMask"]["PredictionMask"]
        cfg = f.attrs["brainseg_config"]
        cfg = json.loads(cfg if isinstance(cfg, str) else cfg.decode())
        return np.array(p["kernel:0"]), np.array(p["bias:0"]), cfg


def layers(path):
    with h5py.File(path, "r") as f:
        mw = f["model_weights"]
        return {name: {k: np.array(v) for k, v in mw[name][name].items()} for name in mw.keys()
                if len(mw[name][name].keys())}


def content(path):
    """Every dataset and attribute of an HDF5 file (its bytes also hold
    modification times)."""
    out = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            for k, v in obj.attrs.items():
                out[f"{name}@{k}"] = repr(v)
            if isinstance(obj, h5py.Dataset):
                out[name] = np.array(obj).tobytes()
        for k, v in f.attrs.items():
            out[f"@{k}"] = repr(v)
        f.visititems(visit)
    return out


def same(a, b):
    return content(a) == content(b)


def table_rows(text, prefix):
    return [line.split() for line in text.splitlines() if line.startswith(prefix)]


def main():
    with tempfile.TemporaryDirectory() as tmp:
        task = os.path.join(tmp, "task")
        run("phantom", task, "--cases", "4", "--seed", "3", "--size", "48x48x32")
        j = lambda name: os.path.join(tmp, name)

        # A region run: three outputs, named, and a Dice per region everywhere.
        text = run("train", task, "--out", j("r.h5"), "--epochs", "2", "--regions", "wt,tc,et",
                   "--report", j("r.json"), *TINY).stdout
        kernel, bias, cfg = head(j("r.h5"))
        assert kernel.shape == (1, 1, 2, 3) and bias.shape == (3,), kernel.shape
        assert cfg["outputs"] == ["wt", "tc", "et"], cfg
        assert "(WT " in text and " TC " in text and " ET " in text, text
        header = [line for line in text.splitlines() if line.startswith("Test case")]
        assert header and header[0].split()[4:6] == ["TC", "ET"], header
        with open(j("r.json")) as f:
            report = json.load(f)
        assert report["regions"] == ["wt", "tc", "et"], report
        assert report["cases"], report
        for c in report["cases"]:
            for key in ("dice_wt", "dice_tc", "dice_et"):
                assert 0.0 <= c[key] <= 1.0, c
        tc = [c["dice_tc"] for c in report["cases"]]
        assert abs(report["mean_dice_tc"] - sum(tc) / len(tc)) < 1e-9, report
        assert "mean_dice_et" in report, report

        # The same seed gives the same weights and state, with regions too.
        run("train", task, "--out", j("r2.h5"), "--epochs", "2", "--regions", "wt,tc,et", *TINY)
        assert same(j("r.h5"), j("r2.h5"))
        assert same(j("r.last.h5"), j("r2.last.h5"))

        # --regions wt is what no --regions always was: the same file, one output, no region columns.
        text = run("train", task, "--out", j("w.h5"), "--epochs", "1", "--report", j("w.json"), *TINY).stdout
        run("train", task, "--out", j("w2.h5"), "--epochs", "1", "--regions", "wt", *TINY)
        assert same(j("w.h5"), j("w2.h5")) and same(j("w.last.h5"), j("w2.last.h5"))
        assert head(j("w.h5"))[0].shape == (1, 1, 2, 1)
        assert " TC " not in text and "(WT " not in text, text
        with open(j("w.json")) as f:
            assert "regions" not in json.load(f)

        # A resumed region run keeps its regions; asking for others is an error naming the file.
        proc = run("train", task, "--out", j("r.h5"), "--resume", j("r.last.h5"), "--epochs", "3",
                   "--regions", "wt", *TINY, ok=False)
        assert proc.returncode != 0, proc.stdout
        assert "r.last.h5" in proc.stderr and "wt,tc,et" in proc.stderr, proc.stderr
        text = run("train", task, "--out", j("r.h5"), "--resume", j("r.last.h5"), "--epochs", "3", *TINY).stdout
        assert "epoch 3/3" in text, text
        assert head(j("r.h5"))[0].shape == (1, 1, 2, 3)

        # Fine-tuning the whole-tumour model into a region model: every layer
        # copied, the WT head row in every output (no epochs: the start is saved).
        text = run("train", task, "--out", j("ft.h5"), "--resume", j("w.h5"), "--epochs", "0",
                   "--regions", "wt,tc,et", *TINY).stdout
        assert "fine-tuning" in text, text
        src, dst = layers(j("w.h5")), layers(j("ft.h5"))
        assert set(src) == set(dst)
        for name in src:
            if name == "PredictionMask":
                continue
            for key in src[name]:
                assert np.array_equal(src[name][key], dst[name][key]), name
        k1, b1 = src["PredictionMask"]["kernel:0"], src["PredictionMask"]["bias:0"]
        k3, b3 = dst["PredictionMask"]["kernel:0"], dst["PredictionMask"]["bias:0"]
        assert k3.shape == (1, 1, 2, 3)
        for o in range(3):
            assert np.array_equal(k3[..., o], k1[..., 0]) and b3[o] == b1[0], o
        # and then trains
        run("train", task, "--out", j("ft1.h5"), "--resume", j("w.h5"), "--epochs", "1",
            "--regions", "wt,tc,et", *TINY)
        assert head(j("ft1.h5"))[0].shape == (1, 1, 2, 3)

        # --evaluate of a region model: a TC and an ET column, and in its report.
        text = run("train", task, "--evaluate", "--resume", j("r.h5"), "--threads", "1",
                   "--report", j("e.json")).stdout
        assert text.splitlines()[0].split()[3:5] == ["TC", "ET"], text
        rows = table_rows(text, "phantom_")
        assert len(rows) == 4 and all(0.0 <= float(r[3]) <= 1.0 for r in rows), rows
        with open(j("e.json")) as f:
            assert all("dice_et" in c for c in json.load(f)["cases"])

        # Cross-validation: every fold's report has the regions, the summary a column each.
        reports = []
        for fold in (1, 2):
            reports.append(j(f"cv{fold}.json"))
            run("train", task, "--out", j(f"cv{fold}.h5"), "--folds", "2", "--fold", str(fold), "--epochs", "1",
                "--regions", "wt,tc,et", "--report", reports[-1], *TINY)
        text = run("train", "--cv-summary", *reports, "--report", j("cv.json")).stdout
        assert text.splitlines()[0].split()[4:6] == ["TC", "ET"], text
        assert len(table_rows(text, "phantom_")) == 4, text
        with open(j("cv.json")) as f:
            summary = json.load(f)
        assert 0.0 <= summary["dice_tc"]["mean"] <= 1.0 and "dice_et" in summary, summary
        assert all("dice_tc" in c for c in summary["cases"]), summary
        run("train", "--cv-summary", *reports, "--report", j("cv.csv"))
        with open(j("cv.csv")) as f:
            assert f.readline().startswith("case,fold,dice_wt,dice_wt_raw,dice_tc,dice_et,")

        # 2.5D: the region model widened to one neighbouring slice on each side
        # (the slice's weights kept, the neighbours' zero), then trained; info,
        # infer (fp32 and int8) and export read it, and a bad --context is refused.
        run("train", task, "--out", j("c0.h5"), "--resume", j("r.h5"), "--epochs", "0", "--context", "1", *TINY)
        with h5py.File(j("r.h5"), "r") as f:
            k2d = f["model_weights/encodeAa/encodeAa/kernel:0"][()]
        with h5py.File(j("c0.h5"), "r") as f:
            k25 = f["model_weights/encodeAa/encodeAa/kernel:0"][()]
            cfg = json.loads(f.attrs["brainseg_config"])
        assert cfg["context"] == 1 and cfg["in_channels"] == 1, cfg
        assert k25.shape == (3, 3, 3, 2) and np.array_equal(k25[:, :, :1, :], k2d), k25.shape
        assert not k25[:, :, 1:, :].any()
        run("train", task, "--out", j("c1.h5"), "--resume", j("c0.h5"), "--epochs", "1", *TINY)
        with h5py.File(j("c1.h5"), "r") as f:
            assert f["model_weights/encodeAa/encodeAa/kernel:0"][()][:, :, 1:, :].any()
        info = json.loads(run("info", j("c1.h5"), "--json").stdout)
        assert info["context"] == 1, info
        assert "neighbour" in run("info", j("c1.h5")).stdout
        dice = {}
        for prec in ("fp32", "int8"):
            out = json.loads(run("infer", task, "--model", j("c1.h5"), "--case", "phantom_001", "--json",
                                 "--threads", "1", "--precision", prec, "--layout", "nhwc").stdout)
            assert out["context"] == 1 and "wt" in out["regions"], out
            dice[prec] = out["dice_wt"]
        assert abs(dice["fp32"] - dice["int8"]) < 0.05, dice
        run("export", task, "--model", j("c1.h5"), "--case", "phantom_001", "--what", "mask", "--out", j("c.nii.gz"),
            "--threads", "1", "--quiet")
        assert os.path.getsize(j("c.nii.gz")) > 0
        proc = run("train", task, "--out", j("bad.h5"), "--context", "9", *TINY, ok=False)
        assert proc.returncode == 2 and "--context" in proc.stderr and not os.path.exists(j("bad.h5")), proc.stderr

        # A bad list: a clear message, exit status 2, no output file.
        for bad in ("tc,wt", "wt,xx", "wt,wt"):
            proc = run("train", task, "--out", j("bad.h5"), "--regions", bad, *TINY, ok=False)
            assert proc.returncode == 2 and "--regions" in proc.stderr, (bad, proc.stderr)
            assert not os.path.exists(j("bad.h5"))
    print("ok")


if __name__ == "__main__":
    main()
