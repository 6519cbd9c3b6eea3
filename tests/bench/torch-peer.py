"""Brainseg side by side with PyTorch on the same U-Net weights.

Loads the SAME Keras-layout weights file Brainseg uses (h5py), builds the same network in PyTorch,
checks that its probabilities match Brainseg's on a real slice (within 1e-4), then times PyTorch eager,
channels_last, jit.trace+freeze(+optimize_for_inference) fp32 and its oneDNN int8 path at the sizes and
batches given, each right after `brainseg-cli bench --json` on the same configuration, and prints the
ratios.  It reports; it does not pass or fail CI.

usage: torch-peer.py [--cli brainseg-cli] [--model M.h5] [--samples DIR] [--size 128] [--batch 1,16]
                     [--threads N] [--repeat 10] [--precision fp32,int8] [--json OUT.json]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import h5py
import nibabel as nib
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

ENCODER = ["encodeAa", "encodeAb", "encodeBa", "encodeBb", "encodeCa", "encodeCb", "encodeDa", "encodeDb",
           "encodeEa", "encodeEb"]
DECODER = [("transconvE", "decodeCa", "decodeCb"), ("transconvC", "decodeBa", "decodeBb"),
           ("transconvB", "decodeAa", "decodeAb"), ("transconvA", "convOuta", "convOutb")]


def read_weights(path):
    """Layer name -> (kernel, bias) as stored (HWIO / HWOI), plus the topology."""
    with h5py.File(path, "r") as f:
        base = f["model_weights"] if "model_weights" in f else f
        weights = {}
        for name in base:
            g = base[name]
            if name in g and "kernel:0" in g[name]:
                weights[name] = (np.array(g[name]["kernel:0"]), np.array(g[name]["bias:0"]))
        config = {}
        if "brainseg_config" in f.attrs:
            raw = f.attrs["brainseg_config"]
            config = json.loads(raw.decode() if isinstance(raw, bytes) else raw)
    k = weights["encodeAa"][0]
    config.setdefault("in_channels", int(k.shape[2]))
    config.setdefault("fms", int(k.shape[3]))
    config.setdefault("upsample", "transposed" if "transconvE" in weights else "nearest")
    return weights, config


def write_random_weights(path, fms=16, in_ch=1, seed=2024):
    """The default topology with He-uniform weights, in the Keras layout (when no model ships)."""
    rng = np.random.default_rng(seed)
    specs = [("encodeAa", in_ch, fms), ("encodeAb", fms, fms), ("encodeBa", fms, 2 * fms),
             ("encodeBb", 2 * fms, 2 * fms), ("encodeCa", 2 * fms, 4 * fms), ("encodeCb", 4 * fms, 4 * fms),
             ("encodeDa", 4 * fms, 8 * fms), ("encodeDb", 8 * fms, 8 * fms), ("encodeEa", 8 * fms, 16 * fms),
             ("encodeEb", 16 * fms, 16 * fms), ("transconvE", 16 * fms, 8 * fms), ("decodeCa", 16 * fms, 8 * fms),
             ("decodeCb", 8 * fms, 8 * fms), ("transconvC", 8 * fms, 4 * fms), ("decodeBa", 8 * fms, 4 * fms),
             ("decodeBb", 4 * fms, 4 * fms), ("transconvB", 4 * fms, 2 * fms), ("decodeAa", 4 * fms, 2 * fms),
             ("decodeAb", 2 * fms, 2 * fms), ("transconvA", 2 * fms, fms), ("convOuta", 2 * fms, fms),
             ("convOutb", fms, fms), ("PredictionMask", fms, 1)]
    with h5py.File(path, "w") as f:
        mw = f.create_group("model_weights")
        for name, cin, cout in specs:
            k = 2 if name.startswith("transconv") else 1 if name == "PredictionMask" else 3
            shape = (k, k, cout, cin) if name.startswith("transconv") else (k, k, cin, cout)
            lim = np.sqrt(6.0 / (k * k * cin))
            g = mw.create_group(name)
            g.create_dataset(f"{name}/kernel:0", data=rng.uniform(-lim, lim, shape).astype(np.float32))
            g.create_dataset(f"{name}/bias:0", data=np.zeros(cout, np.float32))


class UNet(nn.Module):
    def __init__(self, weights, config):
        super().__init__()
        self.nearest = config["upsample"] == "nearest"

        def conv(name, pad):
            k, b = weights[name]
            m = nn.Conv2d(k.shape[2], k.shape[3], k.shape[0], padding=pad)
            m.weight.data = torch.from_numpy(np.ascontiguousarray(k.transpose(3, 2, 0, 1)))
            m.bias.data = torch.from_numpy(b)
            return m

        self.enc = nn.ModuleList([conv(n, 1) for n in ENCODER])
        ups, decs = [], []
        for t, a, b in DECODER:
            if not self.nearest:
                k, bias = weights[t]
                m = nn.ConvTranspose2d(k.shape[3], k.shape[2], 2, stride=2)
                m.weight.data = torch.from_numpy(np.ascontiguousarray(k.transpose(3, 2, 0, 1)))
                m.bias.data = torch.from_numpy(bias)
                ups.append(m)
            decs.append(nn.ModuleList([conv(a, 1), conv(b, 1)]))
        self.ups = nn.ModuleList(ups)
        self.dec = nn.ModuleList(decs)
        self.out = conv("PredictionMask", 0)
        self.relu = nn.ReLU()

    def forward(self, x):
        skips = []
        for level in range(5):
            x = self.relu(self.enc[2 * level](x))
            x = self.relu(self.enc[2 * level + 1](x))
            if level < 4:
                skips.append(x)
                x = F.max_pool2d(x, 2)
        for i in range(4):
            up = F.interpolate(x, scale_factor=2.0, mode="nearest") if self.nearest else self.ups[i](x)
            x = torch.cat([up, skips[3 - i]], dim=1)
            x = self.relu(self.dec[i][0](x))
            x = self.relu(self.dec[i][1](x))
        return torch.sigmoid(self.out(x))


def synthetic(batch, ch, size):
    """The same kind of input brainseg-cli bench feeds: a disc with a bright blob."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float64)
    out = np.zeros((batch, ch, size, size), np.float32)
    for s in range(batch):
        for k in range(ch):
            dx, dy = (x - size * 0.5) / (size * 0.4), (y - size * 0.5) / (size * 0.45)
            bx, by = (x - size * (0.35 + 0.05 * s)) / (size * 0.1), (y - size * 0.4) / (size * 0.12)
            v = 0.3 * np.sin(x * 0.3 + k) * np.cos(y * 0.2) + 2.5 * np.exp(-(bx * bx + by * by))
            out[s, k] = np.where(dx * dx + dy * dy < 1.0, v, 0.0)
    return torch.from_numpy(out)


def check_real_slice(cli, model_path, net, samples, threads):
    case = os.path.join(samples, "decathlon-brats-001-006", "brats_2013_pat0001_1")
    if not os.path.isdir(case):
        print(f"probability check skipped: {case} absent")
        return None
    with tempfile.TemporaryDirectory() as tmp:
        prob_p, prep_p = os.path.join(tmp, "prob.nii.gz"), os.path.join(tmp, "in.nii.gz")
        k = 80
        cmd = [cli, "infer", case, "--model", model_path, "--slice", str(k), "--precision", "fp32",
               "--threads", str(threads), "--crop-to-brain", "off", "--prob-out", prob_p, "--prepared-out", prep_p, "--json"]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        prob = np.asanyarray(nib.load(prob_p).dataobj)[:, :, k].astype(np.float32)
        # one channel per model output (a region model writes WT, TC and ET): outputs x nx x ny
        prob = np.moveaxis(prob, -1, 0) if prob.ndim == 3 else prob[None]
        prep = np.asanyarray(nib.load(prep_p).dataobj).astype(np.float32)
    if prep.ndim == 3:
        prep = prep[..., None]
    xs = np.moveaxis(prep[:, :, k, :], -1, 0)  # C x nx x ny (voxel axes)
    # Brainseg feeds the slice in display orientation (from the affine); find which of the eight
    # flips/transposes that is by trying them all (the others give very different outputs).
    best = None
    for transpose in (False, True):
        for fx in (False, True):
            for fy in (False, True):
                def to_disp(a):
                    a = np.swapaxes(a, -1, -2) if transpose else a
                    a = a[..., ::-1, :] if fy else a
                    return a[..., :, ::-1] if fx else a

                def from_disp(a):
                    a = a[..., :, ::-1] if fx else a
                    a = a[..., ::-1, :] if fy else a
                    return np.swapaxes(a, -1, -2) if transpose else a

                with torch.no_grad():
                    p = net(torch.from_numpy(np.ascontiguousarray(to_disp(xs)))[None])[0].numpy()
                # Brainseg's rule: probability 0 where every input channel is 0 (outside the head).
                p = np.where(np.any(to_disp(xs) != 0, axis=0)[None], p, 0.0)
                err = float(np.abs(from_disp(p) - prob).max())
                if best is None or err < best:
                    best = err
    ok = best <= 1e-4
    print(f"probabilities on real slice {k} of brats_2013_pat0001_1: max |torch - brainseg| = {best:.2e} "
          f"({'match' if ok else 'MISMATCH'}, bound 1e-4)")
    return best


def time_fn(fn, x, warmup, repeat):
    with torch.no_grad():
        for _ in range(warmup):
            fn(x)
        t = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            fn(x)
            t.append((time.perf_counter() - t0) * 1000.0)
    return statistics.median(t), min(t), max(t)


def torch_variants(net, size, batch, ch, warmup, repeat, precisions=("fp32", "int8")):
    x = synthetic(batch, ch, size)
    rows = {}
    if "fp32" in precisions:
        fp32_variants(net, x, warmup, repeat, rows)
    if "int8" in precisions:
        int8_variant(net, x, size, ch, warmup, repeat, rows)
    return {k: (v[0] / batch, v[1] / batch, v[2] / batch) for k, v in rows.items()}


def fp32_variants(net, x, warmup, repeat, rows):
    rows["eager"] = time_fn(net, x, warmup, repeat)
    cl = net.to(memory_format=torch.channels_last)
    xcl = x.contiguous(memory_format=torch.channels_last)
    rows["channels_last"] = time_fn(cl, xcl, warmup, repeat)
    net = net.to(memory_format=torch.contiguous_format)
    with torch.no_grad():
        frozen = torch.jit.freeze(torch.jit.trace(net, x))
        rows["jit_frozen"] = time_fn(frozen, x, warmup, repeat)
        try:
            opt = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.trace(net, x)))
            rows["jit_optimized"] = time_fn(opt, x, warmup, repeat)
        except Exception as e:  # older builds without the pass
            print(f"  optimize_for_inference unavailable: {e}")


def int8_variant(net, x, size, ch, warmup, repeat, rows):
    try:
        from torch.ao.quantization import get_default_qconfig_mapping
        from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx
        torch.backends.quantized.engine = "onednn"
        from torch.ao.quantization import default_qconfig
        qmap = get_default_qconfig_mapping("onednn")
        # PyTorch 1.13 has no per-channel weight observer for transposed convolutions.
        qmap.set_object_type(nn.ConvTranspose2d, default_qconfig)
        prepared = prepare_fx(UNetCopy(net), qmap, (x,))
        with torch.no_grad():
            for s in range(4):
                prepared(synthetic(1, ch, size) * (1.0 + 0.1 * s))
        q = convert_fx(prepared)
        rows["int8"] = time_fn(q, x, warmup, repeat)
    except Exception as e:
        print(f"  PyTorch int8 unavailable: {e}")


def UNetCopy(net):
    import copy
    return copy.deepcopy(net).eval()


def brainseg_rows(cli, model_path, size, batch, threads, repeat, precisions=("fp32", "int8")):
    rows = []
    # fp32 in every layout; int8 only where oneDNN has int8 kernels (it refuses plain nchw).
    for prec, layouts in (("fp32", "nchw,nhwc,blocked"), ("int8", "nhwc,blocked")):
        if prec not in precisions:
            continue
        cmd = [cli, "bench", "--model", model_path, "--json", "--size", str(size), "--batch", str(batch),
               "--precision", prec, "--layout", layouts, "--fusion", "off,on", "--threads", str(threads),
               "--repeat", str(repeat), "--no-reference"]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        rows += json.loads(out)["rows"]
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", default=os.environ.get("BS_CLI", "brainseg-cli"))
    ap.add_argument("--model")
    ap.add_argument("--samples", default=os.environ.get("BS_SAMPLES_DIR", ""))
    ap.add_argument("--size", default="128")
    ap.add_argument("--batch", default="1,16")
    ap.add_argument("--threads", default=f"1,{os.cpu_count()}",
                    help="thread counts to compare at (each side gets the same); default 1 and all cores")
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--precision", default="fp32,int8",
                    help="which precisions to compare (fp32, int8 or both); int8 alone takes a fraction of the time")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--json")
    args = ap.parse_args()
    thread_list = [int(t) for t in args.threads.split(",")]
    precisions = tuple(p.strip() for p in args.precision.split(","))

    tmpdir = tempfile.TemporaryDirectory()
    model = args.model
    if not model:
        src = os.environ.get("BS_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "..", ".."))
        shipped = os.path.join(src, "resources", "models", "brainseg-default.h5")
        if os.path.exists(shipped):
            model = shipped
        else:
            model = os.path.join(tmpdir.name, "random.h5")
            write_random_weights(model)
            print("no model given and none ships: random weights of the default topology")
    weights, config = read_weights(model)
    net = UNet(weights, config).eval()
    ch = config["in_channels"]
    print(f"model {model}: fms {config['fms']}, {ch} channel(s), {config['upsample']} upsampling; "
          f"torch {torch.__version__}, threads {args.threads}")

    report = {"model": model, "torch": torch.__version__, "threads": args.threads, "rows": []}
    if args.samples:
        torch.set_num_threads(max(thread_list))
        report["max_abs_diff"] = check_real_slice(args.cli, model, net, args.samples, max(thread_list))

    for size in [int(s) for s in args.size.split(",")]:
        for batch in [int(b) for b in args.batch.split(",")]:
            best = {"bs_fp32": None, "bs_int8": None, "t_fp32": None, "t_int8": None}
            for threads in thread_list:
                torch.set_num_threads(threads)
                bs = brainseg_rows(args.cli, model, size, batch, threads, args.repeat, precisions)
                tv = torch_variants(net, size, batch, ch, args.warmup, args.repeat, precisions)
                fp32 = [r for r in bs if r["precision"] == "fp32" and r["ms_per_slice"]]
                int8 = [r for r in bs if r["precision"] == "int8" and r["ms_per_slice"]]
                bs_fp32 = min(r["ms_per_slice"] for r in fp32) if fp32 else None
                bs_int8 = min(r["ms_per_slice"] for r in int8) if int8 else None
                t_fp32 = min((v[0] for k, v in tv.items() if k != "int8"), default=None)
                t_int8 = tv.get("int8", (None,))[0]
                print(f"\nsize {size}x{size}, batch {batch}, {threads} thread(s) (ms per slice, median of {args.repeat})")
                for r in bs:
                    print(f"  brainseg {r['precision']} {r['layout']:8s} fusion {r['fusion']:3s}  "
                          f"{r['ms_per_slice']:9.2f}  ({r['ms_min']:.2f}-{r['ms_max']:.2f})")
                for k, v in tv.items():
                    print(f"  pytorch  {k:26s}  {v[0]:9.2f}  ({v[1]:.2f}-{v[2]:.2f})")
                parts = []
                if bs_fp32 and t_fp32:
                    parts.append(f"fp32 best {bs_fp32 / t_fp32:.2f}x")
                if bs_int8 and t_int8:
                    parts.append(f"int8 {bs_int8 / t_int8:.2f}x")
                line = "  ratio brainseg/pytorch: " + ", ".join(parts)
                print(line)
                report["rows"].append({"size": size, "batch": batch, "threads": threads, "brainseg": bs,
                                       "pytorch": {k: v[0] for k, v in tv.items()},
                                       "ratio_fp32": (bs_fp32 / t_fp32) if bs_fp32 and t_fp32 else None,
                                       "ratio_int8": (bs_int8 / t_int8) if bs_int8 and t_int8 else None})
                for key, val in (("bs_fp32", bs_fp32), ("bs_int8", bs_int8), ("t_fp32", t_fp32), ("t_int8", t_int8)):
                    if val is not None and (best[key] is None or val < best[key]):
                        best[key] = val
            parts = []
            if best["bs_fp32"] and best["t_fp32"]:
                parts.append(f"fp32 {best['bs_fp32']:.2f} vs {best['t_fp32']:.2f} ms "
                             f"({best['bs_fp32'] / best['t_fp32']:.2f}x)")
            if best["bs_int8"] and best["t_int8"]:
                parts.append(f"int8 {best['bs_int8']:.2f} vs {best['t_int8']:.2f} ms "
                             f"({best['bs_int8'] / best['t_int8']:.2f}x)")
            line = f"size {size}x{size}, batch {batch}, best of each side over threads {args.threads}: " + ", ".join(parts)
            print(line)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
