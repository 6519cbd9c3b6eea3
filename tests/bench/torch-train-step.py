"""One training step of the IntelAI 2D U-Net in PyTorch beside Brainseg's oneDNN
trainer, same model (fms), batch, crop, loss, optimiser and thread count, in the
same run, alternating so that both see the same machine load.

usage: torch-train-step.py [--cli PATH] [--fms 16] [--batch 16] [--crop 128]
                           [--threads 2] [--repeats 3] [--rounds 2] [--channels-last]
Prints both step times (best of all rounds) and the ratio Brainseg / PyTorch.
Never fails on a time: this is a benchmark, not a test.
"""
import argparse
import json
import os
import subprocess
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class UNet2D(nn.Module):
    """The IntelAI "2D U-Net for Medical Decathlon" topology (Keras names)."""

    def __init__(self, fms, cin, dropout=0.2):
        super().__init__()
        c = lambda i, o: nn.Conv2d(i, o, 3, padding=1)
        self.encodeAa, self.encodeAb = c(cin, fms), c(fms, fms)
        self.encodeBa, self.encodeBb = c(fms, 2 * fms), c(2 * fms, 2 * fms)
        self.encodeCa, self.encodeCb = c(2 * fms, 4 * fms), c(4 * fms, 4 * fms)
        self.encodeDa, self.encodeDb = c(4 * fms, 8 * fms), c(8 * fms, 8 * fms)
        self.encodeEa, self.encodeEb = c(8 * fms, 16 * fms), c(16 * fms, 16 * fms)
        t = lambda i, o: nn.ConvTranspose2d(i, o, 2, stride=2)
        self.transconvE, self.decodeCa, self.decodeCb = t(16 * fms, 8 * fms), c(16 * fms, 8 * fms), c(8 * fms, 8 * fms)
        self.transconvC, self.decodeBa, self.decodeBb = t(8 * fms, 4 * fms), c(8 * fms, 4 * fms), c(4 * fms, 4 * fms)
        self.transconvB, self.decodeAa, self.decodeAb = t(4 * fms, 2 * fms), c(4 * fms, 2 * fms), c(2 * fms, 2 * fms)
        self.transconvA, self.convOuta, self.convOutb = t(2 * fms, fms), c(2 * fms, fms), c(fms, fms)
        self.PredictionMask = nn.Conv2d(fms, 1, 1)
        self.drop = nn.Dropout2d(dropout)

    def forward(self, x):
        r = F.relu
        a = r(self.encodeAb(r(self.encodeAa(x))))
        b = r(self.encodeBb(r(self.encodeBa(F.max_pool2d(a, 2)))))
        c = r(self.encodeCb(self.drop(r(self.encodeCa(F.max_pool2d(b, 2))))))
        d = r(self.encodeDb(self.drop(r(self.encodeDa(F.max_pool2d(c, 2))))))
        e = r(self.encodeEb(r(self.encodeEa(F.max_pool2d(d, 2)))))
        x = torch.cat([self.transconvE(e), d], 1)
        x = r(self.decodeCb(r(self.decodeCa(x))))
        x = torch.cat([self.transconvC(x), c], 1)
        x = r(self.decodeBb(r(self.decodeBa(x))))
        x = torch.cat([self.transconvB(x), b], 1)
        x = r(self.decodeAb(r(self.decodeAa(x))))
        x = torch.cat([self.transconvA(x), a], 1)
        x = r(self.convOutb(r(self.convOuta(x))))
        return torch.sigmoid(self.PredictionMask(x))


def loss_fn(p, t, weight_dice=0.85, smooth=1.0):
    """Same as Brainseg's dice+bce: batch soft Dice, -log, plus mean BCE."""
    inter, ps, ts = (p * t).sum(), p.sum(), t.sum()
    dice = -torch.log((2 * inter + smooth) / (ps + ts + smooth))
    bce = F.binary_cross_entropy(p.clamp(1e-7, 1 - 1e-7), t)
    return weight_dice * dice + (1 - weight_dice) * bce


def torch_steps(args):
    torch.manual_seed(816)
    model = UNet2D(args.fms, 1)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4, eps=1e-7)
    x = torch.rand(args.batch, 1, args.crop, args.crop) * 4 - 2
    yy, xx = torch.meshgrid(torch.arange(args.crop), torch.arange(args.crop), indexing="ij")
    disc = (((yy - args.crop / 2) ** 2 + (xx - args.crop / 2) ** 2) < args.crop ** 2 / 16).float()
    t = disc.expand(args.batch, 1, args.crop, args.crop).contiguous()
    if args.channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    model.train()
    times = []
    for it in range(args.repeats + 1):  # the first step warms up
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), t)
        loss.backward()
        opt.step()
        dt = (time.perf_counter() - t0) * 1000
        if it > 0:
            times.append(dt)
    return min(times), sum(times) / len(times)


def brainseg_steps(args):
    cmd = [args.cli, "train", "--bench-step", "--fms", str(args.fms), "--batch", str(args.batch),
           "--crop", str(args.crop), "--threads", str(args.threads), "--repeats", str(args.repeats),
           "--lr", "1e-4", "--loss", "dice+bce"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    j = json.loads(out.strip().splitlines()[-1])
    return j["step_ms_min"], j["step_ms_mean"], j


def main():
    ap = argparse.ArgumentParser()
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--cli", default=os.environ.get("BS_CLI", os.path.join(here, "..", "..", "build", "app",
                                                                            "brainseg-cli")))
    ap.add_argument("--fms", type=int, default=16)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--crop", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--channels-last", action="store_true")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, mkldnn {torch.backends.mkldnn.is_available()}, "
          f"threads {args.threads}; fms {args.fms}, batch {args.batch}, crop {args.crop}, "
          f"{args.repeats} timed steps x {args.rounds} rounds")
    bs_best, th_best = float("inf"), float("inf")
    for rnd in range(args.rounds):
        bmin, bmean, _ = brainseg_steps(args)
        tmin, tmean = torch_steps(args)
        print(f"round {rnd + 1}: brainseg {bmin:9.1f} ms (mean {bmean:9.1f})   "
              f"pytorch {tmin:9.1f} ms (mean {tmean:9.1f})")
        bs_best, th_best = min(bs_best, bmin), min(th_best, tmin)
    print(f"best step: brainseg {bs_best:.1f} ms, pytorch {th_best:.1f} ms, "
          f"ratio brainseg/pytorch = {bs_best / th_best:.2f}x")


if __name__ == "__main__":
    sys.exit(main())
