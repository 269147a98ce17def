"""Inpainting by mask kind, against OpenCV: is the model better where the app says it is (scratches, text)?

Every method fills the same seeded masks of each kind on the same images: a 64×64 box, a 128×32 bar, 3-px scratches
and a line of rendered text (``irae_hf.tasks.degradations``); PSNR inside the mask (8-bit RGB, [0, 255]), as
``irae evaluate`` reports it.

    python benchmarks/studies/inpaint_masks.py --data ../shared/data/cbsd68 --limit 20 \
        --json benchmarks/results/inpaint-masks.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from irae_hf.models.registry import load_model
from irae_hf.pipeline.evaluate import BASELINES, load_folder, model_restorer
from irae_hf.tasks.degradations import apply_mask, bar_mask, box_mask, scratch_mask, text_mask
from irae_hf.tasks.metrics import psnr

MASKS = {
    "64×64 box": lambda h, w, seed: box_mask(h, w, 64, seed=seed),
    "128×32 bar": lambda h, w, seed: bar_mask(h, w, (128, 32), seed=seed),
    "3-px scratches": lambda h, w, seed: scratch_mask(h, w, 3, seed=seed),
    "6-px strokes (the app's default brush)": lambda h, w, seed: scratch_mask(h, w, 6, seed=seed),
    "12-px strokes": lambda h, w, seed: scratch_mask(h, w, 12, seed=seed),
    "text": lambda h, w, seed: text_mask(h, w, 24, seed=seed),
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True)
    p.add_argument("--model", default="pretrained/inpaint")
    p.add_argument("--limit", type=int)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json")
    a = p.parse_args()
    images = load_folder(a.data, a.limit)
    methods = {"IRAE": model_restorer(load_model(a.model))}
    methods.update({k: v for k, v in BASELINES["inpaint"].items() if k.startswith("OpenCV")})
    rows = []
    print("| mask | " + " | ".join(methods) + " | IRAE − best OpenCV (dB) |\n|---|" + "---|" * (len(methods) + 1))
    for kind, make in MASKS.items():
        scores: dict[str, list[float]] = {name: [] for name in methods}
        for i, (_, clean) in enumerate(images):
            mask = make(*clean.shape[-2:], a.seed + i)
            holed, inside = apply_mask(clean, mask), mask[0].numpy() > 0.5
            for name, run in methods.items():
                scores[name].append(psnr(run(holed, {"mask": mask}), clean, mask=inside))
        means = {name: float(np.mean(v)) for name, v in scores.items()}
        best_cv = max(v for k, v in means.items() if k != "IRAE")
        rows.append(
            {"mask": kind, "images": len(images), "psnr_mask": means, "irae_minus_best_opencv": means["IRAE"] - best_cv}
        )
        cells = " | ".join(f"{means[n]:.2f}" for n in methods)
        print(f"| {kind} | {cells} | {means['IRAE'] - best_cv:+.2f} |")
    if a.json:
        Path(a.json).write_text(json.dumps({"data": Path(a.data).name, "seed": a.seed, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
