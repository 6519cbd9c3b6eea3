#!/usr/bin/env python3
"""brainseg-cli train end to end on a tiny phantom task: the split, progress
lines, the stage table, per-test-case Dice, a Keras-layout weights file that
h5py reads and PyTorch loads, --evaluate, --bench-step, and clear errors (no
partial output file) for bad arguments and bad datasets."""
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
        rows = [line.split() for line in text.splitlines() if line.startswith("BRATS_")]
        assert rows, text
        assert 0.0 <= float(rows[-1][1]) <= 1.0, rows
        kernels = check_weights(out)
        check_torch_loads(kernels)

        # --evaluate reads the weights back and scores every case.
        proc = run("train", task, "--evaluate", "--resume", out, "--threads", "2")
        assert proc.stdout.count("BRATS_") == 4, proc.stdout

        # --resume continues from the checkpoint.
        out2 = os.path.join(tmp, "resumed.h5")
        run("train", task, "--out", out2, "--epochs", "1", "--resume", out, *TINY)
        check_weights(out2)

        # --bench-step prints one JSON line.
        proc = run("train", "--bench-step", "--fms", "2", "--batch", "2", "--crop", "32", "--repeats", "1")
        j = json.loads(proc.stdout.strip().splitlines()[-1])
        assert j["step_ms_min"] > 0 and j["batch"] == 2, j

        # Bad input: a clear message, exit status != 0, no output file.
        bad = os.path.join(tmp, "bad.h5")
        cases = [
            (["train", task, "--out", bad, "--crop", "100"], "multiple of 16"),
            (["train", task, "--out", bad, "--loss", "l2"], "l2"),
            (["train", os.path.join(tmp, "nowhere"), "--out", bad], "nowhere"),
            (["train", task, "--out", bad, "--modalities", "dwi", *TINY], "dwi"),
            (["train", task, "--out", bad, "--test-cases", "BRATS_999", *TINY], "BRATS_999"),
            (["train", task], "--out"),
        ]
        for args, needle in cases:
            proc = run(*args, ok=False)
            assert proc.returncode != 0, args
            assert needle in proc.stderr, f"{args}: '{needle}' not in {proc.stderr!r}"
            assert not os.path.exists(bad), args
    print("ok")


if __name__ == "__main__":
    main()
