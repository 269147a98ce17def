"""Peak memory and time to restore one very large image (tiled), through the public restore API.

    python benchmarks/probes/large_image.py [--megapixels 40] [--tile 512]

The image is synthetic (smooth random colours upsampled) so no data is needed; the figure that
matters is the peak RSS of the process, which tiling keeps bounded (compare with a smaller size).
"""

from __future__ import annotations

import argparse
import math
import resource
import time

import numpy as np
from PIL import Image

from irae_hf import IRAE
from irae_hf.pipeline.restore import restore


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--megapixels", type=float, default=40)
    p.add_argument("--tile", type=int, default=512)
    p.add_argument("--model", default=None, help="weights folder (default: a default-configuration model)")
    a = p.parse_args()
    model = IRAE.from_pretrained(a.model) if a.model else IRAE()
    w = int(math.sqrt(a.megapixels * 1e6 * 3 / 2))
    h = int(a.megapixels * 1e6 / w)
    small = np.random.default_rng(0).integers(0, 256, (h // 64, w // 64, 3), dtype=np.uint8)
    image = Image.fromarray(small).resize((w, h), Image.BILINEAR)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    level = {"denoise": {"sigma": 25}, "jpeg": {"quality": 20}}.get(model.task, {"mask": np.zeros((h, w), bool)})
    t0 = time.perf_counter()
    out = restore(model, image, tile=a.tile, **level)
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    assert out.size == image.size
    print(
        f"{w}x{h} ({w * h / 1e6:.1f} MP), tile {a.tile}: {seconds:.0f} s, peak RSS {peak:.0f} MB "
        f"(before restoring: {base:.0f} MB; the image itself is {w * h * 3 / 2**20:.0f} MB as 8-bit RGB)"
    )


if __name__ == "__main__":
    main()
