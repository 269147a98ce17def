"""``irae restore --dataset`` on 1 and 2 processes side by side: rows/s, MP/s and peak memory per process; then the
peak memory of one process against the dataset's size.

    python benchmarks/probes/dataset_scaling.py [--rows 48] [--side 256] [--processes 1 2] [--memory_rows 32 256]

Each run restores the same synthetic folder of noisy photos (``--rows`` images of ``--side``² pixels, σ 25) with the
shipped denoiser into a fresh folder, under ``accelerate launch --num_processes N`` on the CPU, one thread per
process (and the default 2 loader workers each); the outputs of every run are checked byte for byte against the
first. Peak memory is the largest resident set of any process of the run, loader workers included
(``RUSAGE_CHILDREN`` of a wrapper around each run). The second table restores datasets of ``--memory_rows`` rows of
``--memory_side``² pixels on one process: a bounded run's peak does not grow with the rows.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]


def photos(folder: Path, rows: int, side: int) -> None:
    """``rows`` noisy photos (smooth ramps plus σ 25 noise, 8-bit PNG)."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:side, 0:side] / side
    for i in range(rows):
        clean = np.stack([x, y, (x + y + i / rows) % 1], axis=2) * 255
        Image.fromarray(np.clip(clean + rng.normal(0, 25, clean.shape), 0, 255).astype(np.uint8)).save(
            folder / f"p{i:04d}.png"
        )


def run(folder: Path, out: Path, processes: int, shard_rows: int) -> tuple[float, float]:
    """(seconds, peak resident MB of any process) of one ``irae restore --dataset`` run."""
    env = {**os.environ, "ACCELERATE_USE_CPU": "1", "OMP_NUM_THREADS": "1", "IRAE_SHARD_ROWS": str(shard_rows)}
    launch = [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", str(processes)]
    launch += ["--multi_gpu"] if processes > 1 else []
    launch += ["--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", "-m", "irae_hf"]
    restore = ["restore", "--model", str(ROOT / "pretrained" / "denoise"), "--dataset", str(folder), "--sigma", "25"]
    t0 = time.perf_counter()
    # a fresh wrapper per run: RUSAGE_CHILDREN is a running maximum, so each run reads its own processes' peak
    done = subprocess.run([sys.executable, "-c", PEAK, *launch, *restore, "--output_dir", str(out)], env=env,
                          capture_output=True, text=True)  # fmt: skip
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(done.stdout[-2000:] + done.stderr[-2000:])
    return seconds, int(done.stdout.split("PEAK_KB ")[-1]) / 1024


#: runs its arguments and prints the largest resident set of any of their processes
PEAK = (
    "import resource, subprocess, sys; done = subprocess.run(sys.argv[1:]); "
    "print('PEAK_KB', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(done.returncode)"
)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=48)
    p.add_argument("--side", type=int, default=256)
    p.add_argument("--shard_rows", type=int, default=8)
    p.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    p.add_argument("--memory_rows", type=int, nargs="*", default=[32, 256])
    p.add_argument("--memory_side", type=int, default=128)
    a = p.parse_args()
    scaling(a)
    if a.memory_rows:
        memory(a)


def memory(a: argparse.Namespace) -> None:
    """One process's peak memory for datasets of each size in ``--memory_rows``."""
    print(f"\none process, {a.memory_side}×{a.memory_side} rows, shards of {a.shard_rows} rows: peak memory by size")
    print("| rows | MP | s | peak MB (a process) |")
    print("|---|---|---|---|")
    for rows in a.memory_rows:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "photos"
            folder.mkdir()
            photos(folder, rows, a.memory_side)
            seconds, peak = run(folder, Path(tmp) / "out", 1, a.shard_rows)
            print(f"| {rows} | {rows * a.memory_side**2 / 1e6:.2f} | {seconds:.1f} | {peak:.0f} |", flush=True)


def scaling(a: argparse.Namespace) -> None:
    """Each number of processes in ``--processes`` on the same dataset, the bytes compared with the first's."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "photos"
        folder.mkdir()
        photos(folder, a.rows, a.side)
        megapixels = a.rows * a.side**2 / 1e6
        print(f"{a.rows} rows of {a.side}×{a.side} ({megapixels:.2f} MP), shards of {a.shard_rows} rows, 1 thread each")
        print("| processes | s | rows/s | MP/s | speed-up | peak MB (a process) | same bytes as the first |")
        print("|---|---|---|---|---|---|---|")
        first, base = None, None
        for n in a.processes:
            out = Path(tmp) / f"out-{n}"
            seconds, peak = run(folder, out, n, a.shard_rows)
            shards = {f.name: f.read_bytes() for f in sorted((out / "data").glob("*.parquet"))}
            first, base = first or shards, base or seconds
            same = "yes" if shards == first else "NO"
            print(f"| {n} | {seconds:.1f} | {a.rows / seconds:.2f} | {megapixels / seconds:.3f} | "
                  f"{base / seconds:.2f}× | {peak:.0f} | {same} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
