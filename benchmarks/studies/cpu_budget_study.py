"""Quality per CPU-hour: train several recipes for the same CPU budget and compare held-out PSNR.

1. Each recipe's seconds per training step are measured side by side (benchmarks/probes/train_throughput.py,
   one thread), and its step count is set so that it spends the same CPU budget (``--cpu_hours``), with
   its learning-rate decays at the same fractions of its own run.
2. Every recipe trains with ``train_accelerate.py`` (one thread per run, ``--parallel`` runs at a time)
   on the training photos and validates on the held-out ones (never CBSD68).
3. A table of recipe, s/step, steps, logged CPU-hours and validation PSNR (last and best) is printed,
   and the curves can be drawn with benchmarks/figures/curves.py.

    python benchmarks/studies/cpu_budget_study.py --task denoise --cpu_hours 0.2 --work runs-study \\
        --dataset runs/photos_train --validation_dir runs/photos_val
    python benchmarks/studies/cpu_budget_study.py --by_time --parallel 1 --cpu_hours 0.1 --recipes fp32 "bf16
autocast" \\
        channels_last "bf16 + channels_last" --extra "--init_from pretrained/denoise --learning_rate 3e-4"
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _throughput_probe():
    """benchmarks/probes/train_throughput.py (a script, not a package module)."""
    spec = importlib.util.spec_from_file_location("train_throughput", ROOT / "benchmarks/probes/train_throughput.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# name -> (throughput config arch:width:depth:scales:crop:batch, extra train_accelerate.py flags)
RECIPES = {
    "paper (w64 d16, crop 64, b16, lr 1e-3)": ("irae:64:16:2:64:16", []),
    "lr 5e-4": ("irae:64:16:2:64:16", ["--learning_rate", "5e-4"]),
    "crop 96, b8": ("irae:64:16:2:96:8", []),
    "width 32": ("irae:32:16:2:64:16", []),
    # the CPU speed settings (paper recipe otherwise): numerics and memory layout
    "fp32": ("irae:64:16:2:64:16", ["--mixed_precision", "no"]),
    "bf16 autocast": ("irae:64:16:2:64:16", ["--mixed_precision", "bf16"]),
    "channels_last": ("irae:64:16:2:64:16", ["--mixed_precision", "no", "--channels_last"]),
    "bf16 + channels_last": ("irae:64:16:2:64:16", ["--mixed_precision", "bf16", "--channels_last"]),
    # where the gap to FFDNet comes from (issue 28): its architecture at IRAE's multiply-adds per pixel, 3 scales at
    # IRAE's parameters (1,386,240 vs 1,353,216), bigger crops at about the same pixels per batch, loss, schedule
    "FFDNet arch (w96 d10)": ("ffdnet:96:10:2:64:16", []),
    "FFDNet arch (w96 d10), lr 1e-4": ("ffdnet:96:10:2:64:16", ["--learning_rate", "1e-4"]),  # KAIR's FFDNet lr
    "3 scales (w48 d10)": ("irae:48:10:3:64:16", []),
    # coupling width per scale at about IRAE's parameters (1,327,872 and 1,315,840): wider where pixels are fewer, or
    # wider at the full-resolution level
    "widths 48/72 per scale": ("irae:48/72:16:2:64:16", []),
    "widths 72/56 per scale": ("irae:72/56:16:2:64:16", []),
    "crop 128, b4": ("irae:64:16:2:128:4", []),
    "crop 192, b2": ("irae:64:16:2:192:2", []),
    "Charbonnier loss": ("irae:64:16:2:64:16", ["--loss", "charbonnier"]),
    "constant lr": ("irae:64:16:2:64:16", ["--lr_milestones"]),
}


def flags(config: str) -> list[str]:
    """train_accelerate.py's size flags for a throughput configuration (one width, or one per scale)."""
    c = _throughput_probe().parse_config(config)
    widths = [str(w) for w in c["widths"]]
    widths = ["--width", *widths] if len(widths) == 1 else ["--scale_widths", *widths]
    out = ["--arch", c["arch"], *widths, "--depth", str(c["depth"])]
    out += ["--crop_size", str(c["crop"]), "--batch_size", str(c["batch"])]
    return out + (["--scales", str(c["scales"])] if c["arch"] == "irae" else [])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", default="denoise", choices=["denoise", "jpeg", "inpaint"])
    parser.add_argument("--cpu_hours", type=float, default=0.2, help="budget per recipe")
    parser.add_argument("--work", type=Path, default=ROOT / "runs-study")
    parser.add_argument("--dataset", default=str(ROOT / "runs" / "photos_train"))
    parser.add_argument("--validation_dir", default=str(ROOT / "runs" / "photos_val"))
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--recipes", nargs="*", default=list(RECIPES), help="names from RECIPES (default all)")
    parser.add_argument(
        "--by_time",
        action="store_true",
        help="give each recipe the budget as a time limit (--max_minutes; one thread each, so minutes = CPU time) "
        "instead of a step count from its measured speed: for settings that change the speed, not the step",
    )
    parser.add_argument("--extra", default="", help="more train_accelerate.py flags for every recipe")
    parser.add_argument(
        "--report_only",
        action="store_true",
        help="no training: the table of the runs already in --work (same --recipes)",
    )
    args = parser.parse_args()
    recipes = {name: RECIPES[name] for name in args.recipes}
    if args.report_only:
        plan = [
            (name, config, None, args.work / args.task / f"recipe-{i}")
            for i, (name, (config, _)) in enumerate(recipes.items())
        ]
        return report(plan, args)
    configs = list(dict.fromkeys(config for config, _ in recipes.values()))
    seconds = {}
    if not args.by_time:
        seconds = {r["config"]: r["step_s"] for r in _throughput_probe().measure(configs, steps=5, threads=1)}
    env = os.environ | {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    plan, running = [], []
    for i, (name, (config, extra)) in enumerate(recipes.items()):
        if args.by_time:
            steps, budget = 10**6, ["--max_minutes", str(args.cpu_hours * 60), "--validation_steps", "100"]
        else:
            steps = max(10, int(args.cpu_hours * 3600 / seconds[config]))
            budget = ["--validation_steps", str(max(1, steps // 8))]
        out = args.work / args.task / f"recipe-{i}"
        cmd = [
            sys.executable, str(ROOT / "train_accelerate.py"), "--task", args.task, "--dataset", args.dataset,
            "--validation_dir", args.validation_dir, "--output_dir", str(out), "--max_steps", str(steps),
            "--checkpointing_steps", str(steps), "--cache_images", "--num_workers", "0", "--report_to", "none",
            *budget, *flags(config), *extra, *args.extra.split(),
        ]  # fmt: skip
        plan.append((name, config, steps, out))
        out.mkdir(parents=True, exist_ok=True)
        with open(out / "train.log", "w") as log:  # the child keeps its own handle
            running.append(subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT))
        if len(running) >= args.parallel:
            running.pop(0).wait()
    for proc in running:
        proc.wait()
    report(plan, args)


def report(plan: list[tuple], args: argparse.Namespace) -> None:
    """One line per recipe from its newest checkpoint's trainer state: speed, steps, CPU time, validation PSNR
    (last, best, and the moving average's last where the run kept one)."""
    print(f"task {args.task}, budget {args.cpu_hours} CPU-hours per recipe, validation: {args.validation_dir}")
    print("| recipe | patches/s | steps | CPU-hours (logged) | val PSNR last (dB) | best (dB) | EMA last (dB) |")
    print("|---|---|---|---|---|---|---|")
    for name, config, steps, out in plan:
        state_files = sorted(
            (out / "checkpoints").glob("checkpoint-*/trainer_state.json"),
            key=lambda p: int(p.parent.name.split("-")[1]),
        )
        if not state_files:
            print(
                f"| {name} | | {steps or ''} | no checkpoint (still running, or failed: see {out / 'train.log'}) | "
                "| | |"
            )
            continue
        state = json.loads(state_files[-1].read_text())
        history = [h for h in state["history"] if "val/psnr" in h]
        ema = f"{history[-1]['val/psnr_ema']:.2f}" if "val/psnr_ema" in history[-1] else "–"
        print(
            f"| {name} | {state['patches_per_s']:.1f} | {state['step']} | {state['history'][-1]['cpu_hours']:.3f} | "
            f"{history[-1]['val/psnr']:.2f} | {max(h['val/psnr'] for h in history):.2f} | {ema} |"
        )


if __name__ == "__main__":
    main()
