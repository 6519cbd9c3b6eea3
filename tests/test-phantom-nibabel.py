#!/usr/bin/env python3
"""brainseg-cli phantom output read by an independent implementation (nibabel):
a Decathlon task folder with 4D int16 images, uint8 labels 0-3, an identity
RAS affine at 1 mm, zero background, and the same bytes for the same seed."""
import json
import os
import subprocess
import sys
import tempfile

try:
    import nibabel as nib
    import numpy as np
except ImportError as e:  # Debian's python3-nibabel / python3-numpy missing
    print(f"SKIP: {e}")
    sys.exit(77)

CLI = os.environ.get("BS_CLI")
if not CLI:
    print("SKIP: BS_CLI is not set (run through meson test)")
    sys.exit(77)


def phantom(outdir, *args):
    proc = subprocess.run([CLI, "phantom", outdir, *args], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc


def main():
    with tempfile.TemporaryDirectory() as tmp:
        a = os.path.join(tmp, "a")
        b = os.path.join(tmp, "b")
        c = os.path.join(tmp, "c")
        phantom(a, "--cases", "2", "--seed", "9", "--size", "80x88x60")
        phantom(b, "--cases", "1", "--seed", "9", "--size", "80x88x60")
        phantom(c, "--cases", "1", "--seed", "10", "--size", "80x88x60")

        with open(os.path.join(a, "dataset.json")) as f:
            ds = json.load(f)
        assert ds["modality"] == {"0": "FLAIR", "1": "T1w", "2": "T1gd", "3": "T2w"}, ds["modality"]
        assert ds["labels"]["0"] == "background" and ds["labels"]["1"] == "edema", ds["labels"]
        assert ds["numTraining"] == 2 and len(ds["training"]) == 2 and ds["test"] == []

        for entry in ds["training"]:
            img = nib.load(os.path.join(a, entry["image"]))
            lab = nib.load(os.path.join(a, entry["label"]))
            assert img.shape == (80, 88, 60, 4), img.shape
            assert lab.shape == (80, 88, 60), lab.shape
            assert img.get_data_dtype() == np.int16, img.get_data_dtype()
            assert lab.get_data_dtype() == np.uint8, lab.get_data_dtype()
            assert np.allclose(img.affine, np.eye(4)), img.affine
            assert np.allclose(lab.affine, np.eye(4)), lab.affine
            assert nib.aff2axcodes(img.affine) == ("R", "A", "S")
            assert np.allclose(img.header.get_zooms()[:3], 1.0)

            x = np.asarray(img.dataobj)
            y = np.asarray(lab.dataobj)
            assert set(np.unique(y).tolist()) == {0, 1, 2, 3}, np.unique(y)
            brain = x[..., 0] > 0
            # every channel has the same foreground, and the tumour lies in it
            for ch in range(4):
                assert np.array_equal(x[..., ch] > 0, brain), ch
            assert x.min() == 0
            assert brain[y > 0].all()
            assert 0.05 < brain.mean() < 0.5, brain.mean()
            # the corners of the box are background
            assert (x[0, 0, :, :] == 0).all() and (x[-1, -1, :, :] == 0).all()

        # same seed, same case: the same voxels; another seed: another head
        first_a = np.asarray(nib.load(os.path.join(a, "imagesTr", "phantom_001.nii.gz")).dataobj)
        first_b = np.asarray(nib.load(os.path.join(b, "imagesTr", "phantom_001.nii.gz")).dataobj)
        first_c = np.asarray(nib.load(os.path.join(c, "imagesTr", "phantom_001.nii.gz")).dataobj)
        second_a = np.asarray(nib.load(os.path.join(a, "imagesTr", "phantom_002.nii.gz")).dataobj)
        assert np.array_equal(first_a, first_b)
        assert (first_a != first_c).mean() > 0.05
        assert (first_a != second_a).mean() > 0.05
    print("ok")


if __name__ == "__main__":
    main()
