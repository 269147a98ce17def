"""Hashes of what the shipped models give on an example photo, to hold two checkouts to bit-identical outputs.

    python benchmarks/probes/output_hashes.py                 # this checkout
    python benchmarks/probes/output_hashes.py --repo OTHER    # another checkout (a git worktree of an older commit)

For each shipped model and level (auto, and one given): the 8-bit restore, the exact float output, the input got
back by ``recover_input``, and the bf16 restore; one line each. Identical lines: identical behaviour on these paths.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
#: (model folder, level) pairs; "mask": a 40×40 hole
CASES = [("denoise", {}), ("denoise", {"sigma": 25}), ("denoise-real", {}), ("jpeg", {}), ("jpeg", {"quality": 10})]
CASES += [("inpaint", "mask")]


def digest(a) -> str:
    a = a.numpy() if hasattr(a, "numpy") else np.asarray(a)
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()[:16]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repo", default=str(ROOT), help="the checkout whose package and weights to run")
    repo = p.parse_args().repo
    sys.path.insert(0, repo)
    import torch
    from PIL import Image

    import irae_hf

    try:
        from irae_hf import recover_input, restore
    except ImportError:  # checkouts from before the package's public names
        from irae_hf.restore import recover_input, restore
    torch.set_num_threads(1)
    print(f"package: {irae_hf.__file__}")
    photo = Image.open(f"{repo}/examples/coffee.png").convert("RGB").crop((0, 0, 200, 152))
    for name, level in CASES:
        model = irae_hf.IRAE.from_pretrained(f"{repo}/pretrained/{name}")
        if level == "mask":
            mask = Image.new("L", photo.size, 0)
            mask.paste(255, (50, 40, 90, 80))
            level = {"mask": mask}
        exact = restore(model, photo, return_float=True, **level)
        back = recover_input(model, exact, **({"mask": level["mask"]} if "mask" in level else {}))
        hashes = [digest(restore(model, photo, **level)), digest(exact.output), digest(back)]
        hashes.append(digest(restore(model, photo, precision="bf16", **level)))
        said = {k: v for k, v in level.items() if k != "mask"} or ("mask" if "mask" in level else "auto")
        print(name, said, *hashes)


if __name__ == "__main__":
    main()
