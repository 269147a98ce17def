"""Training throughput (patches/s) of model sizes and crop/batch choices, side by side in one run.

Each configuration trains a few Adam/L1 steps (denoising, random patches) in a fresh process pinned to
the same thread count, after one warm-up step. The ratio column is relative to the first configuration,
so it compares configurations measured on the same machine at the same time (absolute figures on these
shared machines are noisy). Used to give DnCNN and IRAE the same CPU budget (benchmarks/studies/irae_vs_dncnn.sh)
and to pick crop and batch for a CPU budget.

    python benchmarks/probes/train_throughput.py --configs irae:64:16:2:64:16 dncnn:96:18:0:64:16 [--threads 1]
    python benchmarks/probes/train_throughput.py --device cuda --steps 30 --configs irae:64:16:2:96:48
dncnn:96:18:0:96:48

A configuration is ``arch:width:depth:scales:crop:batch[:precision[:layout]]`` (scales is ignored for dncnn;
precision ``fp32`` (default) or ``bf16`` autocast, layout ``nchw`` (default) or ``cl`` for channels-last;
``torch.compile`` with a ``+compile`` suffix on the layout, e.g. ``irae:64:16:2:64:16:bf16:cl+compile``):

    python benchmarks/probes/train_throughput.py --configs irae:64:16:2:64:16 irae:64:16:2:64:16:bf16 \\
        irae:64:16:2:64:16:fp32:cl irae:64:16:2:64:16:bf16:cl irae:64:16:2:64:16:bf16:cl+compile
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def parse_config(config: str) -> dict:
    """``arch:width:depth:scales:crop:batch[:precision[:layout]]`` as named fields; the width is one number or one
    per level ("48/72", finest first), always returned as a list."""
    parts = config.split(":")
    arch, width, depth, scales, crop, batch, precision, layout = parts + ["fp32", "nchw"][len(parts) - 6 :]
    if precision not in ("fp32", "bf16") or layout.split("+")[0] not in ("nchw", "cl"):
        raise ValueError(f"unknown precision or layout in {config!r}")
    sizes = {"depth": int(depth), "scales": int(scales), "crop": int(crop), "batch": int(batch)}
    return {
        "arch": arch,
        "widths": [int(w) for w in width.split("/")],
        **sizes,
        "precision": precision,
        "layout": layout,
    }


def worker(config: str, steps: int, device: str = "cpu") -> dict:
    import torch

    from irae_hf.models.registry import build
    from irae_hf.tasks import condition

    c = parse_config(config)
    arch, crop, batch, precision, layout = c["arch"], c["crop"], c["batch"], c["precision"], c["layout"]
    sizes = {"width": c["widths"][0] if len(c["widths"]) == 1 else c["widths"], "depth": c["depth"]}
    sizes |= {"scales": c["scales"]} if arch == "irae" else {}
    torch.manual_seed(0)
    model = build(arch, task="denoise", **sizes)
    clean = torch.rand(batch, 3, crop, crop)
    sigma = torch.full((batch,), 25.0)
    noisy = clean + torch.randn_like(clean) * 25 / 255
    cond = condition("denoise", noisy, sigma=sigma)
    model.initialize(noisy, cond)
    model, clean, noisy, cond = (t.to(device) for t in (model, clean, noisy, cond))
    model.train()
    if layout.startswith("cl"):
        model = model.to(memory_format=torch.channels_last)
        noisy = noisy.contiguous(memory_format=torch.channels_last)
        cond = cond.contiguous(memory_format=torch.channels_last)
    forward = torch.compile(model) if layout.endswith("+compile") else model
    autocast = torch.autocast(device.split(":")[0], dtype=torch.bfloat16, enabled=precision == "bf16")
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)

    def step() -> None:
        with autocast:
            restored = forward(noisy, cond)
        loss = (restored.float() - clean).abs().mean()
        loss.backward()
        opt.step()
        opt.zero_grad()

    step()  # warm-up (and compilation)
    step()
    sync()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    sync()  # GPU work is asynchronous: time it finished, not queued
    elapsed = time.perf_counter() - t0
    return {
        "config": config,
        "device": torch.cuda.get_device_name() if device.startswith("cuda") else "cpu",
        "parameters": sum(p.numel() for p in model.parameters()),
        "step_s": elapsed / steps,
        "patches_per_s": batch * steps / elapsed,
    }


def data_rate(task: str, crop: int = 64, batch: int = 16, batches: int = 20) -> dict:
    """Patches/s of the training data pipeline alone (crop, flip, degradation; images already decoded), one
    thread: how much of a training step the data costs when it runs in the training process (num_workers 0)."""
    import numpy as np
    import torch
    from PIL import Image

    from irae_hf.training.data import DegradationSpec, PatchStream

    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    images = [{"image": Image.fromarray(rng.integers(0, 256, (321, 481, 3), dtype=np.uint8))} for _ in range(8)]
    stream = PatchStream(images, "image", crop, DegradationSpec(task, mask_scale=512), seed=0, cache=True)
    stream.batch_at(0, batch)  # decode into the cache
    t0 = time.perf_counter()
    for b in range(1, batches + 1):
        stream.batch_at(b, batch)
    elapsed = time.perf_counter() - t0
    return {"task": task, "crop": crop, "batch": batch, "patches_per_s": batch * batches / elapsed}


def measure(configs: list[str], steps: int, threads: int, device: str = "cpu") -> list[dict]:
    """:func:`worker` for each configuration in turn, each in a fresh process limited to ``threads``."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)  # uninstalled checkouts too
    env = os.environ | {"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads), "PYTHONPATH": path}
    rows = []
    for config in configs:
        cmd = [sys.executable, __file__, "--worker", config, "--steps", str(steps), "--device", device]
        run = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if run.returncode:  # the worker's own last line says why (a missing package, out of memory)
            raise SystemExit(f"{config}: {(run.stderr.strip().splitlines() or ['no output'])[-1]}")
        rows.append(json.loads(run.stdout.strip().splitlines()[-1]))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configs", nargs="+", default=["irae:64:16:2:64:16", "dncnn:96:18:0:64:16"])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu", help="cpu or cuda (times include a synchronize)")
    parser.add_argument("--json", help="also write the rows here")
    parser.add_argument("--data", action="store_true", help="also time the data pipeline of each task (one thread)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.steps, args.device)))
        return
    rows = measure(args.configs, args.steps, args.threads, args.device)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    print(f"device: {rows[0]['device']}, CPU threads: {args.threads}, steps timed per configuration: {args.steps}")
    print("(arch:width:depth:scales:crop:batch[:precision[:layout]]; the last column: pixels/s over the first row's)")
    print("| configuration | parameters | s/step | patches/s | pixels/s vs first |")
    print("|---|---|---|---|---|")
    first = rows[0]["patches_per_s"] * int(rows[0]["config"].split(":")[4]) ** 2
    for r in rows:
        pixels = r["patches_per_s"] * int(r["config"].split(":")[4]) ** 2
        print(
            f"| {r['config']} | {r['parameters']:,} | {r['step_s']:.3f} | {r['patches_per_s']:.1f} | "
            f"{pixels / first:.2f} |"
        )
    if args.data:
        print("\n| data pipeline (64×64, batch 16, 1 thread) | patches/s |\n|---|---|")
        for task in ("denoise", "jpeg", "inpaint"):
            print(f"| {task} | {data_rate(task)['patches_per_s']:.0f} |")


if __name__ == "__main__":
    main()
