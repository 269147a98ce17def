"""What blind ("auto") levels cost against knowing the true level: PSNR of restore's auto level beside the oracle.

    python benchmarks/studies/auto_vs_oracle.py --data ../shared/data/cbsd68 --json
benchmarks/results/auto_vs_oracle.json

Same degradations and seeds as ``irae evaluate`` (the README's protocol: RGB, [0, 255], no border cropping). The
oracle passes the true σ / quality to ``restore``; auto passes nothing, so ``restore`` estimates it from the pixels
(irae_hf.tasks.estimate; a JPEG *file* gives its quality from its tables, identical to the oracle by construction, so
the
JPEG rows measure the harder pixel-only case). Denoising is measured on the protocol's unclipped float inputs and on
the 8-bit files users have (clipped and rounded, where the σ estimate needs its clipping correction).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from irae_hf import IRAE
from irae_hf.pipeline.evaluate import evaluate, load_folder, model_restorer
from irae_hf.pipeline.restore import restore
from irae_hf.tasks.degradations import as_8bit_file

LEVELS = {"denoise": (15, 25, 50), "jpeg": (10, 20, 30, 40)}


def as_8bit(run):
    """The restorer run on the 8-bit file of its input (clipped and rounded), as users have it."""
    return lambda x, level: run(as_8bit_file(x), level)


def auto(model):
    return lambda x, level: restore(model, x[None])[0].float().cpu()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="a folder of clean images")
    p.add_argument("--models", default="pretrained", help="a folder holding denoise/ and jpeg/")
    p.add_argument("--tasks", nargs="+", default=list(LEVELS), choices=list(LEVELS))
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--json", default=None)
    args = p.parse_args()
    torch.manual_seed(0)
    images = load_folder(args.data, args.limit)
    rows = []
    for task in args.tasks:
        model = IRAE.from_pretrained(Path(args.models) / task).eval()
        methods = {"oracle": model_restorer(model), "auto": auto(model)}
        if task == "denoise":
            methods.update({"oracle, 8-bit file": as_8bit(methods["oracle"]), "auto, 8-bit file": as_8bit(auto(model))})
        rows += evaluate(methods, images, task, LEVELS[task])
    if args.json:
        Path(args.json).write_text(
            json.dumps({"data": Path(args.data).name, "images": len(images), "rows": rows}, indent=1)
        )
    print(f"{len(images)} images of {Path(args.data).name}; PSNR in dB (RGB, [0, 255], no border cropping)\n")
    print("| task | level | input | oracle | auto | auto − oracle |\n|---|---|---|---|---|---|")
    by = {(r["task"], r["setting"], r["method"]): r["psnr"] for r in rows}
    for task in args.tasks:
        for level in LEVELS[task]:
            for kind in ("", ", 8-bit file") if task == "denoise" else ("",):
                o, a = by[(task, level, "oracle" + kind)], by[(task, level, "auto" + kind)]
                name = "8-bit file" if kind else ("floats" if task == "denoise" else "decoded pixels")
                print(f"| {task} | {level} | {name} | {o:.2f} | {a:.2f} | {a - o:+.3f} |")


if __name__ == "__main__":
    main()
