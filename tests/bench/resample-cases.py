#!/usr/bin/python3
"""Writes copies of BraTS case folders resampled to other voxel sizes, to see
what a clinical scan's voxels (thick slices, fine pixels) do to the model.

    /usr/bin/python3 tests/bench/resample-cases.py OUT SPACINGS CASE_DIR...

SPACINGS is a comma-separated list such as 1x1x5,0.7x0.7x1 (mm along the
files' voxel axes i, j, k).  Every *.nii.gz of each case is resampled with
scipy.ndimage.zoom (linear for images, nearest for *seg* label maps) from the
case's voxels (images keep integers or floats as they were), its affine's columns scaled to the new spacing, into
OUT/<spacing>/<case>/.  Needs numpy, scipy and nibabel.  The copies are
derived from the cases: keep them out of the repository.
"""
import glob
import os
import sys

import nibabel as nib
import numpy as np
from scipy.ndimage import zoom


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    out = sys.argv[1]
    spacings = [tuple(float(v) for v in s.split("x")) for s in sys.argv[2].split(",")]
    for case in sys.argv[3:]:
        name = os.path.basename(os.path.normpath(case))
        for sp in spacings:
            tag = "x".join("%g" % v for v in sp)
            dest = os.path.join(out, tag, name)
            os.makedirs(dest, exist_ok=True)
            for f in sorted(glob.glob(os.path.join(case, "*.nii.gz"))):
                im = nib.load(f)
                seg = "seg" in os.path.basename(f)
                a = np.asarray(im.dataobj).astype(np.float32)
                old = im.header.get_zooms()[:3]
                b = zoom(a, tuple(o / n for o, n in zip(old, sp)), order=0 if seg else 1)
                aff = im.affine.copy()
                for k in range(3):
                    aff[:3, k] *= sp[k] / old[k]
                if seg:
                    b = b.astype(np.uint8)
                elif np.issubdtype(im.get_data_dtype(), np.floating):
                    b = b.astype(np.float32)
                else:
                    b = np.rint(b).astype(np.int16)
                img = nib.Nifti1Image(b, aff)
                img.header.set_zooms(sp)
                nib.save(img, os.path.join(dest, os.path.basename(f)))
            print(dest)


if __name__ == "__main__":
    main()
