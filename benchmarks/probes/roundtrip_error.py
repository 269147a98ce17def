"""Round-trip error of the exact maps, ``inverse(forward(x)) - x``, for the default configuration.

Couplings get random weights (std STD = 0.01) so the map is far from the identity; reports the maximum
absolute error in float32 for every task's conditioning: on the photo used for actnorm initialisation,
on another photo, and on uniform noise (far from the data: the map expands it, and the error with it).

    python benchmarks/probes/roundtrip_error.py              # random couplings
    python benchmarks/probes/roundtrip_error.py --trained    # the shipped pretrained/<task> weights
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from skimage import data

from irae_hf import IRAE
from irae_hf.models.flows import AffineCoupling
from irae_hf.tasks import condition
from irae_hf.tasks.degradations import free_form_mask

STD = 0.01  # larger random weights make a 32-step flow blow up (2x per inverted step at worst)


ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trained", action="store_true", help="use pretrained/<task> instead of random couplings")
    args = parser.parse_args()
    torch.manual_seed(0)
    photo = torch.from_numpy(data.astronaut()).permute(2, 0, 1).float()[None] / 255  # 512×512
    coffee = torch.from_numpy(data.coffee()).permute(2, 0, 1).float()[None] / 255  # 400×600, unseen by init
    inputs = {"astronaut 512x512": photo, "coffee 400x600": coffee, "uniform noise 256x256": torch.rand(1, 3, 256, 256)}
    conds = {
        "denoise": [{"sigma": s} for s in (0, 15, 50, 75)],
        "jpeg": [{"quality": q} for q in (5, 40, 95)],
        "inpaint": [{"mask": "free-form"}],
    }
    for task, levels in conds.items():
        if args.trained:
            model = IRAE.from_pretrained(ROOT / "pretrained" / task)
        else:
            model = IRAE(task=task)
            model.initialize(
                photo, condition(task, photo, **({"mask": torch.zeros(512, 512)} if task == "inpaint" else levels[0]))
            )
        with torch.no_grad():
            for m in model.modules():
                if isinstance(m, AffineCoupling) and not args.trained:
                    m.net[-1].weight.normal_(0, STD)
            for name, x in inputs.items():
                worst, change = 0.0, 0.0
                for lv in levels:
                    if lv.get("mask") == "free-form":
                        lv = {"mask": free_form_mask(*x.shape[-2:], seed=0)[None]}
                    cond = condition(task, x, **lv)
                    y = model(x, cond)
                    worst = max(worst, (model.inverse(y, cond) - x).abs().max().item())
                    change = max(change, (y - x).abs().max().item())
                print(f"{task:8s} {name:22s} max |inverse(forward(x)) - x| = {worst:.2e}  (max |y - x| = {change:.2f})")


if __name__ == "__main__":
    main()
