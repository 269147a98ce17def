"""Held-out camera-like noise, blind, with each model's mean error per colour channel: choose checkpoints on it.

A denoiser can lose PSNR on low camera noise to a colour cast that SSIM and a σ-25 float validation do not see:
real-v5 lost 0.7 dB on moderate camera noise mostly to a per-channel mean offset (docs/results.md). This runs
each model folder through the restore pipeline at its auto level (as a user would) on the same seeded camera-like
noise as ``peers.py --input camera`` and prints, per condition, PSNR (8-bit RGB, [0, 255], no cropping) and the
mean error per channel (restored − clean, 0–255 levels, over all pixels of all images), and the mean over images of
the RMS of each image's per-channel mean error (the colour cast a viewer sees).

    python benchmarks/studies/colour_bias.py --data runs/data/photos_val --models S11=pretrained/denoise-real
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from peers import camera_cases  # noqa: E402

from irae_hf.models.registry import load_model  # noqa: E402
from irae_hf.pipeline.evaluate import load_folder, model_restorer  # noqa: E402
from irae_hf.tasks.metrics import psnr  # noqa: E402

CONDITIONS = [("moderate", None), ("low light", None), ("moderate", 90), ("low light", 90)]


def bias_row(run, cases: list[tuple]) -> dict:
    """Mean PSNR, mean error per channel (levels) and mean per-image colour cast (levels) over ``cases``."""
    psnrs, casts, total, pixels = [], [], torch.zeros(3, dtype=torch.float64), 0
    for clean, noisy, _ in cases:
        restored = run(noisy, {"sigma": "auto"})
        error = (restored.double() - clean.double()) * 255
        per_channel = error.mean(dim=(1, 2))
        psnrs.append(psnr(restored, clean))
        casts.append(float(per_channel.pow(2).mean().sqrt()))
        total += error.sum(dim=(1, 2))
        pixels += error[0].numel()
    return {
        "psnr": sum(psnrs) / len(psnrs),
        "mean_error_rgb": (total / pixels).tolist(),
        "cast": sum(casts) / len(casts),
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True, help="a folder of clean held-out photos (never CBSD68 for choosing)")
    p.add_argument("--models", nargs="+", required=True, help="NAME=FOLDER ...")
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--seed", type=int, default=0, help="the noise seed (peers.py's default: the same noise)")
    p.add_argument("--json", default=None)
    return p.parse_args(argv)


def main() -> None:
    a = parse_args()
    images = load_folder(a.data, a.limit)
    models = {name: model_restorer(load_model(folder)) for name, folder in (m.split("=", 1) for m in a.models)}
    rows = []
    for kind, jpeg in CONDITIONS:
        cases = camera_cases(images, kind, jpeg, a.seed)
        condition = kind + (f", JPEG q{jpeg}" if jpeg else "")
        for name, run in models.items():
            row = {"condition": condition, "model": name, **bias_row(run, cases)}
            rgb = "/".join(f"{v:+.2f}" for v in row["mean_error_rgb"])
            print(f"{condition:22s} {name:12s} PSNR {row['psnr']:.2f}  mean error R/G/B {rgb}  cast {row['cast']:.2f}")
            rows.append(row)
    if a.json:
        Path(a.json).write_text(json.dumps({"data": a.data, "models": a.models, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
