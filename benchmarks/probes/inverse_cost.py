"""What the exact inverse ("nothing lost") costs against the restore, and why it runs in float64.

    python benchmarks/probes/inverse_cost.py [--models pretrained] [--tasks denoise ...] [--size 768x512] [--json FILE]

For each shipped task, on a 768×512 photo (examples/astronaut.png, degraded at the task's validation level):
the default restore (fp32), the exact restore that keeps the output for the inverse (``return_float=True``:
``IRAE.exact_maps``, flow 2 in float64 and flow 1 in float32) and ``recover_input`` (its inverse), in seconds;
max |recovered − input| of the exact maps, and how much the plain float32 map amplifies rounding: the float32
inverse of the float32 output, max |recovered − input| in 0–255 units, and that error over the float32 rounding of
the output (2⁻²⁴ · max |y|).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from PIL import Image

from irae_hf import IRAE
from irae_hf.io.images import to_tensor
from irae_hf.pipeline.restore import recover_input, restore
from irae_hf.tasks import TASKS, condition, degrade, level_kwargs

ROOT = Path(__file__).resolve().parents[2]


def seconds(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default=str(ROOT / "pretrained"))
    p.add_argument("--tasks", nargs="+", default=list(TASKS), help="the folders of --models to run (task names)")
    p.add_argument("--size", default="768x512")
    p.add_argument("--json", default=None)
    args = p.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    clean = to_tensor(Image.open(ROOT / "examples" / "astronaut.png").convert("RGB").resize((width, height)))
    rows = []
    for task in args.tasks:
        model = IRAE.from_pretrained(Path(args.models) / task).eval()
        x, level = degrade(clean, task, TASKS[task].validation, seed=0)
        kw = level_kwargs(task, level)
        x = x[None]
        restore(model, x[..., :64, :64], **({"mask": kw["mask"][..., :64, :64]} if task == "inpaint" else kw))
        _, t_restore = seconds(lambda: restore(model, x, **kw))
        exact, t_exact = seconds(lambda: restore(model, x, **kw, return_float=True))
        back, t_recover = seconds(lambda: recover_input(model, exact))
        seen = TASKS[task].model_input(x, kw)  # the input the model saw
        with torch.inference_mode():
            cond = condition(model.task, seen, **kw)
            y32 = model(seen, cond)
            back32 = model.inverse(y32, cond)
        error32 = (back32 - seen).abs().max().item()
        rounding = 2.0**-24 * y32.abs().max().item()
        row = {
            "task": task,
            "size": args.size,
            "restore_s": t_restore,
            "restore_exact_s": t_exact,
            "recover_s": t_recover,
            "recover_over_restore": t_recover / t_restore,
            "both_over_restore": (t_exact + t_recover) / t_restore,
            "exact_error_255": (back - seen.double()).abs().max().item() * 255,
            "float32_error_255": error32 * 255,
            "amplification": error32 / rounding,
        }
        rows.append(row)
        print(row, flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    print("\n| task | restore (s) | exact restore (s) | recover (s) | recover ÷ restore | exact-map error | "
          "float32 error | amplification |\n|---|---|---|---|---|---|---|---|")  # fmt: skip
    for r in rows:
        print(
            f"| {r['task']} | {r['restore_s']:.1f} | {r['restore_exact_s']:.1f} | {r['recover_s']:.1f} | "
            f"{r['recover_over_restore']:.1f}× | {r['exact_error_255']:.1e} | {r['float32_error_255']:.1f} | "
            f"{r['amplification']:.1e} |"
        )


if __name__ == "__main__":
    main()
