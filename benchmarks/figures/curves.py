"""Validation curves of training runs side by side: PSNR on the held-out photos against steps and CPU-hours.

Reads the tensorboard logs that ``train_accelerate.py`` writes (``WORK/TASK/logs``). CPU-hours come from
the logged ``train/cpu_hours``; runs logged before it existed use ``--step_seconds LABEL=S`` (the seconds
per step measured by ``benchmarks/probes/train_throughput.py``, one thread) instead.

    python benchmarks/figures/curves.py IRAE=runs DnCNN=runs-dncnn --step_seconds IRAE=0.79 DnCNN=3.02 \\
        [--tasks denoise jpeg inpaint] [--plot docs/curves.png]

With ``--stages`` the runs are successive stages of one training (each continued from the one before, as the
shipped weights were), given as LABEL=WORKDIR:CROP:BATCH; the x axis is then the training pixels seen so far
(steps × batch × crop²), which puts a CPU stage's small steps and a GPU stage's large ones on one scale:

    python benchmarks/figures/curves.py --stages "1 CPU=runs:64:16" "2 GPU=runs-gpu:96:48" "3 CPU=runs-cpu3:64:16"
--every 1000
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator


def read_curve(run: Path, seconds_per_step: float | None) -> list[tuple[int, float, float]]:
    """(step, CPU-hours, validation PSNR) for every validation of the run, resumed parts included."""
    points: dict[int, float] = {}
    cpu: dict[int, float] = {}
    for events in sorted(run.glob("logs/**/events.out.tfevents.*")):
        acc = EventAccumulator(str(events), size_guidance={"scalars": 0})
        acc.Reload()
        tags = acc.Tags()["scalars"]
        if "val/psnr" in tags:
            points.update({e.step: e.value for e in acc.Scalars("val/psnr")})
        if "train/cpu_hours" in tags:
            cpu.update({e.step: e.value for e in acc.Scalars("train/cpu_hours")})
    rows = []
    for step in sorted(points):
        hours = cpu.get(step, step * seconds_per_step / 3600 if seconds_per_step else math.nan)
        rows.append((step, hours, points[step]))
    return rows


def markdown(task: str, curves: dict[str, list[tuple[int, float, float]]]) -> str:
    steps = sorted({s for rows in curves.values() for s, _, _ in rows})
    head = "| step | " + " | ".join(f"{label} CPU-h | {label} PSNR (dB)" for label in curves) + " |"
    lines = [f"#### {task}: validation PSNR", "", head, "|" + "---|" * (1 + 2 * len(curves))]
    for step in steps:
        cells = []
        for rows in curves.values():
            hit = [r for r in rows if r[0] == step]
            cells += [f"{hit[0][1]:.2f}", f"{hit[0][2]:.2f}"] if hit else ["", ""]
        lines.append(f"| {step} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def staged_markdown(task: str, stages: list[tuple[str, list[tuple[int, float, float]], int]], every: int) -> str:
    """One table through successive stages (label, curve, pixels per step): every ``every``-th step and each
    stage's last validation, against the gigapixels of training crops seen since the first stage began."""
    lines = [f"#### {task}: validation PSNR through the stages", "", "| stage | step | pixels seen (G) | PSNR (dB) |"]
    lines.append("|---|---|---|---|")
    seen = 0
    for label, rows, pixels in stages:
        for step, _, value in rows:
            if step % every == 0 or step == rows[-1][0]:
                lines.append(f"| {label} | {step} | {(seen + step * pixels) / 1e9:.2f} | {value:.2f} |")
        seen += rows[-1][0] * pixels
    return "\n".join(lines)


def plot(all_curves: dict[str, dict[str, list]], path: Path) -> None:
    """One small panel per task: PSNR against CPU-hours, one line per run (Pillow only)."""
    from PIL import Image, ImageDraw

    colours = [(31, 119, 180), (214, 39, 40), (44, 160, 44), (148, 103, 189)]
    w, h, pad = 300, 220, 40
    image = Image.new("RGB", (w * len(all_curves), h), "white")
    draw = ImageDraw.Draw(image)
    for i, (task, curves) in enumerate(all_curves.items()):
        pts = [(c, p) for rows in curves.values() for _, c, p in rows if not math.isnan(c)]
        if not pts:
            continue
        x0, x1 = 0.0, max(c for c, _ in pts) * 1.05
        y0, y1 = min(p for _, p in pts) - 0.5, max(p for _, p in pts) + 0.5
        left, top, right, bottom = i * w + pad, 20, (i + 1) * w - 10, h - pad

        def xy(c: float, p: float) -> tuple[float, float]:
            return left + (c - x0) / (x1 - x0) * (right - left), bottom - (p - y0) / (y1 - y0) * (bottom - top)

        draw.rectangle([left, top, right, bottom], outline="black")
        draw.text((left, 4), f"{task}: val PSNR (dB) vs CPU-hours", fill="black")
        draw.text((left - 32, top), f"{y1:.1f}", fill="black")
        draw.text((left - 32, bottom - 10), f"{y0:.1f}", fill="black")
        draw.text((right - 30, bottom + 4), f"{x1:.2f}", fill="black")
        draw.text((left, bottom + 4), "0", fill="black")
        for j, (label, rows) in enumerate(curves.items()):
            line = [xy(c, p) for _, c, p in rows if not math.isnan(c)]
            colour = colours[j % len(colours)]
            if len(line) > 1:
                draw.line(line, fill=colour, width=2)
            draw.text((left + 6, top + 4 + 12 * j), label, fill=colour)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "runs",
        nargs="+",
        metavar="LABEL=WORKDIR",
        help="WORKDIR holds one folder per task (--stages: WORKDIR:CROP:BATCH)",
    )
    parser.add_argument("--tasks", nargs="+", default=["denoise", "jpeg", "inpaint"])
    parser.add_argument("--step_seconds", nargs="*", default=[], metavar="LABEL=S")
    parser.add_argument("--plot", type=Path, help="also draw the curves into this PNG")
    parser.add_argument("--stages", action="store_true", help="the runs are successive stages of one training")
    parser.add_argument("--every", type=int, default=1, help="--stages: show every N-th step (and each stage's last)")
    args = parser.parse_args()
    runs = dict(r.split("=", 1) for r in args.runs)
    if args.stages:
        for task in args.tasks:
            stages = []
            for label, spec in runs.items():
                work, crop, batch = spec.rsplit(":", 2)
                rows = read_curve(Path(work) / task, None)
                if rows:  # a stage may have trained only some of the tasks
                    stages.append((label, rows, int(batch) * int(crop) ** 2))
            if stages:
                print(staged_markdown(task, stages, args.every) + "\n")
        return
    step_s = {k: float(v) for k, v in (s.split("=", 1) for s in args.step_seconds)}
    all_curves = {}
    for task in args.tasks:
        curves = {label: read_curve(Path(work) / task, step_s.get(label)) for label, work in runs.items()}
        curves = {label: rows for label, rows in curves.items() if rows}
        if curves:
            all_curves[task] = curves
            print(markdown(task, curves) + "\n")
    if args.plot:
        plot(all_curves, args.plot)
        print(f"plot: {args.plot}")


if __name__ == "__main__":
    main()
