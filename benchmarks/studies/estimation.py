"""How well the blind estimates recover the true degradation level (irae_hf.tasks.estimate), on a folder of clean
images.

    python benchmarks/studies/estimation.py --data ../shared/data/cbsd68 --json benchmarks/results/estimation.json

σ: each image gets seeded Gaussian noise at σ 5–75, as 8-bit files (clipped and rounded, what users have) and as the
evaluation's unclipped floats; the error is |estimate − σ| in 0–255 units. JPEG: each image is saved by Pillow at
quality 10–90; the quality is read back from the file's tables and estimated from its decoded pixels. Clean images:
the σ estimate and how often the pixels are (wrongly) said to be compressed.
"""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import numpy as np
from PIL import Image
from skimage.restoration import estimate_sigma as wavelet_mad

from irae_hf.io.images import to_uint8
from irae_hf.io.jpeg_tables import jpeg_quality_from_tables
from irae_hf.pipeline.evaluate import load_folder
from irae_hf.tasks.degradations import add_gaussian_noise
from irae_hf.tasks.estimate import estimate_sigma, jpeg_quality_from_pixels

SIGMAS = (5, 10, 15, 25, 35, 50, 75)
QUALITIES = (10, 20, 30, 40, 50, 60, 70, 80, 90)


def stats(errors: list[float]) -> dict:
    return {"mean": float(np.mean(errors)), "worst": float(np.max(errors))}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="a folder of clean images")
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--json", default=None)
    args = p.parse_args()
    images = load_folder(args.data, args.limit)
    out: dict = {"data": Path(args.data).name, "images": len(images), "sigma": {}, "jpeg": {}}
    clean_sigma, flagged = [], 0
    for _, clean in images:
        rgb = to_uint8(clean)
        clean_sigma.append(estimate_sigma(rgb))
        flagged += jpeg_quality_from_pixels(rgb) is not None
    out["clean"] = {"sigma_mean": float(np.mean(clean_sigma)), "said_compressed": flagged}
    for sigma in SIGMAS:
        as_files, as_floats = [], []
        for i, (_, clean) in enumerate(images):
            noisy = add_gaussian_noise(clean, sigma, seed=i)
            as_files.append(abs(estimate_sigma(to_uint8(noisy)) - sigma))
            floats = noisy.permute(1, 2, 0).numpy().astype(np.float64)
            as_floats.append(abs(wavelet_mad(floats, channel_axis=-1, average_sigmas=True) * 255 - sigma))
        out["sigma"][sigma] = {"8-bit files": stats(as_files), "floats": stats(as_floats)}
    for quality in QUALITIES:
        tables, pixels, missed = [], [], 0
        for _, clean in images:
            buf = io.BytesIO()
            Image.fromarray(to_uint8(clean)).save(buf, format="JPEG", quality=quality)
            opened = Image.open(io.BytesIO(buf.getvalue()))
            tables.append(abs(jpeg_quality_from_tables(opened) - quality))
            found = jpeg_quality_from_pixels(np.asarray(opened.convert("RGB")))
            missed += found is None
            pixels.append(100 - quality if found is None else abs(found - quality))  # a miss counts as "quality 100"
        out["jpeg"][quality] = {"tables": stats(tables), "pixels": stats(pixels), "pixels_missed": missed}
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    n = len(images)
    print(f"{n} images of {out['data']}; clean: σ estimate {out['clean']['sigma_mean']:.2f} on average, "
          f"{flagged} of {n} said to be JPEG-compressed\n")  # fmt: skip
    print("| σ | error, 8-bit files: mean | worst | error, unclipped floats: mean | worst |\n|---|---|---|---|---|")
    for sigma, row in out["sigma"].items():
        f, g = row["8-bit files"], row["floats"]
        print(f"| {sigma} | {f['mean']:.2f} | {f['worst']:.2f} | {g['mean']:.2f} | {g['worst']:.2f} |")
    print("\n| quality | error from tables: mean | worst | from pixels: mean | worst | no compression found |")
    print("|---|---|---|---|---|---|")
    for quality, row in out["jpeg"].items():
        t, px = row["tables"], row["pixels"]
        print(
            f"| {quality} | {t['mean']:.2f} | {t['worst']:.0f} | {px['mean']:.2f} | {px['worst']:.0f} | "
            f"{row['pixels_missed']} of {n} |"
        )


if __name__ == "__main__":
    main()
