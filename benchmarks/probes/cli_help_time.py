"""Whole-process time of the command line's help and argument errors (what a user waits for before any work).

Runs each command ``--repeat`` times in a fresh interpreter and prints the median and the slowest wall time, and
whether torch, gradio or datasets were imported (they must not be: help and argument errors are answered first).

    python benchmarks/probes/cli_help_time.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

COMMANDS = {
    "irae --help": ["--help"],
    "irae restore --help": ["restore", "--help"],
    "irae restore --sigma -5 (argument error)": ["restore", "--model", "m", "--sigma", "-5", "a.png", "-o", "out"],
}
PROBE = (
    "import sys\nfrom irae_hf.cli import main\ntry:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
    "print('HEAVY=' + ','.join(m for m in ('torch', 'gradio', 'datasets') if m in sys.modules), file=sys.stderr)\n"
)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=5)
    a = p.parse_args()
    rows = []
    for name, args in COMMANDS.items():
        times, heavy = [], ""
        for _ in range(a.repeat):
            t0 = time.perf_counter()
            done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True)
            times.append(time.perf_counter() - t0)
            heavy = done.stderr.rsplit("HEAVY=", 1)[-1].strip()
        rows.append({"command": name, "median_s": round(statistics.median(times), 3), "max_s": round(max(times), 3),
                     "heavy_imports": heavy or "none"})  # fmt: skip
        print(f"| {name} | {rows[-1]['median_s']:.2f} | {rows[-1]['max_s']:.2f} | {rows[-1]['heavy_imports']} |")
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
