"""The README's before/after strips: degraded | classical baseline | models... | clean, PSNR under each.

Crops of the CC0/public-domain images in ``examples/`` are degraded with the evaluation's seeded
degradations (``irae_hf.tasks.degrade``) and restored by each model folder given, so the strips show
exactly what the tables measure.

    python benchmarks/figures/example_images.py --models IRAE=pretrained DnCNN=runs-dncnn --out docs/examples
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from irae_hf.io.images import load_image, to_tensor, to_uint8
from irae_hf.models.registry import load_model
from irae_hf.pipeline.evaluate import BASELINES
from irae_hf.pipeline.restore import restore
from irae_hf.tasks import degrade, level_kwargs
from irae_hf.tasks.metrics import psnr

ROOT = Path(__file__).resolve().parents[2]

# task -> (example image, crop box left/top/width/height, setting, the baseline shown)
CASES = {
    "denoise": ("chelsea.png", (80, 30, 192, 144), 25.0, "BM3D"),
    "jpeg": ("coffee.png", (60, 30, 192, 144), 10, "input (JPEG)"),
    "inpaint": ("astronaut.png", (40, 0, 192, 144), "free-form", "OpenCV Telea"),
}


def strip(task: str, models: dict[str, str], seed: int = 0) -> Image.Image:
    name, (left, top, w, h), setting, baseline = CASES[task]
    image = np.asarray(load_image(ROOT / "examples" / name).convert("RGB"))[top : top + h, left : left + w]
    clean = to_tensor(image)
    degraded, value = degrade(clean, task, setting, seed)
    level = level_kwargs(task, value)
    panels = [("input", degraded)]
    if baseline != "input (JPEG)":
        panels.append((baseline, BASELINES[task][baseline](degraded, level)))
    for label, folder in models.items():
        model = load_model(Path(folder) / task).eval()
        with torch.no_grad():
            panels.append((label, restore(model, degraded, **level)))
    panels.append(("clean", clean))
    out = Image.new("RGB", (w * len(panels), h + 16), "white")
    draw = ImageDraw.Draw(out)
    for i, (label, x) in enumerate(panels):
        out.paste(Image.fromarray(to_uint8(x)), (i * w, 0))
        score = "" if label == "clean" else f" {psnr(x, clean):.2f} dB"
        draw.text((i * w + 4, h + 2), label + score, fill="black")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["IRAE=pretrained"], metavar="LABEL=FOLDER")
    parser.add_argument("--tasks", nargs="+", default=list(CASES))
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "examples")
    args = parser.parse_args()
    models = dict(m.split("=", 1) for m in args.models)
    args.out.mkdir(parents=True, exist_ok=True)
    for task in args.tasks:
        path = args.out / f"{task}.png"
        strip(task, models).save(path, optimize=True)
        print(f"{path} ({path.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
