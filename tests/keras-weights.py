"""Writes U-Net weight files the way Keras does (model.save(): model_weights/<layer>/<layer>/kernel:0,
Conv2D kernels HWIO, Conv2DTranspose kernels HWOI, model_config JSON), plus broken variants, and the
expected forward pass computed here with numpy, independently of Brainseg's C code.

usage: keras-weights.py OUTDIR   (writes good.h5, input.f32, expected.f32, missing.h5, shape.h5, other.h5)
"""
import json
import os
import sys

import h5py
import numpy as np

FMS, CIN, H, W = 4, 2, 32, 48
rng = np.random.default_rng(1234)

# (name, kind, in, out) with kind conv3 / tconv / conv1, as the IntelAI model builds it.
LAYERS = [
    ("encodeAa", "conv3", CIN, FMS), ("encodeAb", "conv3", FMS, FMS),
    ("encodeBa", "conv3", FMS, 2 * FMS), ("encodeBb", "conv3", 2 * FMS, 2 * FMS),
    ("encodeCa", "conv3", 2 * FMS, 4 * FMS), ("encodeCb", "conv3", 4 * FMS, 4 * FMS),
    ("encodeDa", "conv3", 4 * FMS, 8 * FMS), ("encodeDb", "conv3", 8 * FMS, 8 * FMS),
    ("encodeEa", "conv3", 8 * FMS, 16 * FMS), ("encodeEb", "conv3", 16 * FMS, 16 * FMS),
    ("transconvE", "tconv", 16 * FMS, 8 * FMS),
    ("decodeCa", "conv3", 16 * FMS, 8 * FMS), ("decodeCb", "conv3", 8 * FMS, 8 * FMS),
    ("transconvC", "tconv", 8 * FMS, 4 * FMS),
    ("decodeBa", "conv3", 8 * FMS, 4 * FMS), ("decodeBb", "conv3", 4 * FMS, 4 * FMS),
    ("transconvB", "tconv", 4 * FMS, 2 * FMS),
    ("decodeAa", "conv3", 4 * FMS, 2 * FMS), ("decodeAb", "conv3", 2 * FMS, 2 * FMS),
    ("transconvA", "tconv", 2 * FMS, FMS),
    ("convOuta", "conv3", 2 * FMS, FMS), ("convOutb", "conv3", FMS, FMS),
    ("PredictionMask", "conv1", FMS, 1),
]
WEIGHTLESS = ["MRImages", "poolA", "poolB", "poolC", "poolD", "concatD", "concatC", "concatB", "concatA"]


def make_weights():
    weights = {}
    for name, kind, cin, cout in LAYERS:
        if kind == "conv3":
            shape = (3, 3, cin, cout)          # HWIO
        elif kind == "tconv":
            shape = (2, 2, cout, cin)          # HWOI
        else:
            shape = (1, 1, cin, cout)
        fan_in = shape[0] * shape[1] * cin
        limit = np.sqrt(6.0 / fan_in)
        k = rng.uniform(-limit, limit, size=shape).astype(np.float32)
        b = rng.uniform(-0.1, 0.1, size=(cout,)).astype(np.float32)
        weights[name] = (k, b)
    return weights


def conv_same(x, k, b):
    """x: H x W x C (NHWC, one image); k: kh x kw x in x out."""
    kh, kw = k.shape[:2]
    ph, pw = kh // 2, kw // 2
    xp = np.pad(x, ((ph, ph), (pw, pw), (0, 0)))
    out = np.zeros(x.shape[:2] + (k.shape[3],), dtype=np.float64)
    for dy in range(kh):
        for dx in range(kw):
            out += xp[dy:dy + x.shape[0], dx:dx + x.shape[1], :] @ k[dy, dx].astype(np.float64)
    return out + b


def tconv(x, k, b):
    """2x2 stride 2, k: 2 x 2 x out x in."""
    h, w, _ = x.shape
    out = np.zeros((2 * h, 2 * w, k.shape[2]), dtype=np.float64)
    for dy in range(2):
        for dx in range(2):
            out[dy::2, dx::2, :] = x @ k[dy, dx].T.astype(np.float64)
    return out + b


def pool(x):
    h, w, c = x.shape
    return x.reshape(h // 2, 2, w // 2, 2, c).max(axis=(1, 3))


def forward(weights, img):
    relu = lambda t: np.maximum(t, 0)
    x = img
    skips = []
    names = [n for n, _, _, _ in LAYERS]
    it = iter(names)
    for level in range(5):
        x = relu(conv_same(x, *weights[next(it)]))
        x = relu(conv_same(x, *weights[next(it)]))
        if level < 4:
            skips.append(x)
            x = pool(x)
    for level in range(3, -1, -1):
        up = tconv(x, *weights[next(it)])
        x = np.concatenate([up, skips[level]], axis=-1)
        x = relu(conv_same(x, *weights[next(it)]))
        x = relu(conv_same(x, *weights[next(it)]))
    logits = conv_same(x, *weights[next(it)])
    return 1.0 / (1.0 + np.exp(-logits[:, :, 0]))


def model_config():
    layers = [{"class_name": "InputLayer", "name": "MRImages",
               "config": {"batch_input_shape": [None, None, None, CIN], "dtype": "float32", "name": "MRImages"}}]
    for name, kind, cin, cout in LAYERS:
        cls = {"conv3": "Conv2D", "tconv": "Conv2DTranspose", "conv1": "Conv2D"}[kind]
        layers.append({"class_name": cls, "name": name,
                       "config": {"name": name, "filters": cout, "padding": "same",
                                  "activation": "sigmoid" if kind == "conv1" else ("linear" if kind == "tconv" else "relu")}})
    return json.dumps({"class_name": "Functional", "config": {"name": "2DUNet", "layers": layers}})


def write(path, weights, skip=None, reshape=None, extra=None):
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = "2.9.0"
        f.attrs["backend"] = "tensorflow"
        f.attrs["model_config"] = model_config()
        mw = f.create_group("model_weights")
        names = [n for n in WEIGHTLESS] + [n for n, _, _, _ in LAYERS if n != skip]
        if extra:
            names.append(extra)
        mw.attrs["layer_names"] = np.array([n.encode() for n in names])
        mw.attrs["backend"] = "tensorflow"
        for n in WEIGHTLESS:
            g = mw.create_group(n)
            g.attrs["weight_names"] = np.array([], dtype="S1")
        for n, _, _, _ in LAYERS:
            if n == skip:
                continue
            k, b = weights[n]
            if n == reshape:
                k = np.zeros(k.shape[:3] + (k.shape[3] + 1,), dtype=np.float32)
            g = mw.create_group(n)
            g.attrs["weight_names"] = np.array([f"{n}/kernel:0".encode(), f"{n}/bias:0".encode()])
            g.create_dataset(f"{n}/kernel:0", data=k)
            g.create_dataset(f"{n}/bias:0", data=b)
        if extra:
            g = mw.create_group(extra)
            g.create_dataset(f"{extra}/kernel:0", data=np.zeros((16, 10), dtype=np.float32))
            g.create_dataset(f"{extra}/bias:0", data=np.zeros((10,), dtype=np.float32))


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    weights = make_weights()
    img = rng.standard_normal((H, W, CIN)).astype(np.float32)
    probs = forward(weights, img.astype(np.float64)).astype(np.float32)
    write(os.path.join(out, "good.h5"), weights)
    write(os.path.join(out, "missing.h5"), weights, skip="decodeBb")
    write(os.path.join(out, "shape.h5"), weights, reshape="decodeCa")
    write(os.path.join(out, "other.h5"), weights, extra="dense_1")
    # A 3D U-Net: 5-dimensional kernels.
    w3 = {n: (k[None], b) for n, (k, b) in weights.items()}
    write(os.path.join(out, "unet3d.h5"), w3)
    # A file that says in brainseg_config that it is for another network.
    write(os.path.join(out, "topology.h5"), weights)
    with h5py.File(os.path.join(out, "topology.h5"), "a") as f:
        f.attrs["brainseg_config"] = json.dumps({"topology": "unet3d-decathlon", "fms": FMS})
    # Brainseg takes NCHW input.
    np.ascontiguousarray(img.transpose(2, 0, 1)).tofile(os.path.join(out, "input.f32"))
    probs.tofile(os.path.join(out, "expected.f32"))
    with open(os.path.join(out, "meta.json"), "w") as f:
        json.dump({"fms": FMS, "in_channels": CIN, "h": H, "w": W}, f)


if __name__ == "__main__":
    main()
