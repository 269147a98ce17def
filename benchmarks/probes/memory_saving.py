"""Peak training memory and step time with and without memory-saving backprop, side by side.

Each (depth, memory_saving) pair trains in a fresh process (Adam, L1, the paper's width 64 and 2
levels) so peaks do not mix. On CPU the figure is the growth of the process's peak RSS from just before the
first training step (so gradients, Adam state and activations); on CUDA, ``max_memory_allocated``.

    python benchmarks/probes/memory_saving.py [--depths 4 8 16 32] [--batch 8] [--crop 96] [--device cpu]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def worker(depth: int, saving: bool, batch: int, crop: int, steps: int, device: str) -> dict:
    import torch

    from irae_hf import IRAE
    from irae_hf.tasks import condition

    torch.manual_seed(0)
    model = IRAE(width=64, depth=depth, scales=2).to(device)
    x = torch.rand(batch, 3, crop, crop, device=device)
    model.initialize(x, condition("denoise", x, sigma=25))
    model.set_memory_saving(saving)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)

    def step():
        loss = (model(x, condition("denoise", x, sigma=25)) - x).abs().mean()
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=False)

    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # before gradients and Adam state exist
    step()  # warm-up (not timed, but its memory counts: gradients, Adam state, activations)
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    if device == "cuda":
        torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated()
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {
        "depth": depth,
        "memory_saving": saving,
        "step_s": (time.perf_counter() - t0) / steps,
        "peak_mb": peak / 2**20 if device == "cuda" else (peak - base) / 2**20,
        "params": model.num_parameters,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--depths", type=int, nargs="+", default=[4, 8, 16, 32])
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--crop", type=int, default=96)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--device", default="cpu")
    p.add_argument("--worker", nargs=2, metavar=("DEPTH", "SAVING"), help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.worker:
        print(json.dumps(worker(int(a.worker[0]), a.worker[1] == "1", a.batch, a.crop, a.steps, a.device)))
        return
    rows = []
    for depth in a.depths:
        for saving in (False, True):
            cmd = [
                sys.executable,
                __file__,
                "--worker",
                str(depth),
                str(int(saving)),
                "--batch",
                str(a.batch),
                "--crop",
                str(a.crop),
                "--steps",
                str(a.steps),
                "--device",
                a.device,
            ]
            rows.append(json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout))
    what = "peak allocated (MB)" if a.device == "cuda" else "peak RSS growth (MB)"
    print(f"batch {a.batch} x 3 x {a.crop} x {a.crop}, width 64, 2 levels, Adam, device {a.device}\n")
    print(f"| depth | params | {what}: plain | memory-saving | ratio | step (s): plain | memory-saving | ratio |")
    print("|---|---|---|---|---|---|---|---|")
    for plain, saving in zip(rows[::2], rows[1::2]):
        print(
            f"| {plain['depth']} | {plain['params']:,} | {plain['peak_mb']:.0f} | {saving['peak_mb']:.0f} | "
            f"{saving['peak_mb'] / max(plain['peak_mb'], 1e-9):.2f} | {plain['step_s']:.2f} | {saving['step_s']:.2f} | "
            f"{saving['step_s'] / plain['step_s']:.2f} |"
        )


if __name__ == "__main__":
    main()
