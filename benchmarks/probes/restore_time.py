"""Whole-process CPU time to restore one 768×512 image with the default (paper-size) configuration.

Runs ``python -m irae_hf restore`` as a fresh process N times (import, weight loading, image I/O and the
model all included) and prints the median wall time, plus the in-process model time for comparison.
Speed does not depend on the weight values, so a default-configuration model is saved to a temp folder.

    python benchmarks/probes/restore_time.py [--runs 5] [--model FOLDER]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from irae_hf import IRAE
from irae_hf.pipeline.restore import restore

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--model", help="a save_pretrained folder (default: a fresh default-config model)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        model_dir = args.model or str(tmp / "model")
        if not args.model:
            IRAE().save_pretrained(model_dir)
        model = IRAE.from_pretrained(model_dir)
        rng = np.random.default_rng(0)
        Image.fromarray(rng.integers(0, 256, (512, 768, 3), dtype=np.uint8)).save(tmp / "in.png")
        level = {"denoise": ["--sigma", "25"], "jpeg": ["--quality", "10"]}.get(model.task)
        if level is None:
            Image.fromarray(np.zeros((512, 768), np.uint8)).save(tmp / "mask.png")
            level = ["--mask", str(tmp / "mask.png")]
        cmd = [
            sys.executable,
            "-m",
            "irae_hf",
            "restore",
            "--model",
            model_dir,
            *level,
            str(tmp / "in.png"),
            "-o",
            str(tmp / "out"),
        ]
        walls = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)
            walls.append(time.perf_counter() - t0)
        x = torch.rand(1, 3, 512, 768)
        kw = {"denoise": {"sigma": 25}, "jpeg": {"quality": 10}, "inpaint": {"mask": torch.zeros(512, 768)}}[model.task]
        inproc = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            restore(model, x, **kw)
            inproc.append(time.perf_counter() - t0)
    print(
        f"config {model.config}, {model.num_parameters:,} parameters, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads"
    )
    print(
        f"768x512 whole process (python -m irae_hf restore): median {statistics.median(walls):.2f} s "
        f"of {args.runs} runs {[round(w, 2) for w in walls]}"
    )
    print(
        f"768x512 in-process model.restore:                  median {statistics.median(inproc):.2f} s "
        f"of {args.runs} runs {[round(w, 2) for w in inproc]}"
    )


if __name__ == "__main__":
    main()
