"""16-bit colour restored at 16 bits against the same photo rounded to 8 bits first: PSNR measured at 16 bits.

Each photo of ``--data`` is area-downscaled 4× in float (smooth, with more than 8 bits of precision, as a 16-bit
developed RAW is), stored at 16 bits, and given Gaussian noise of σ (8-bit units) at 16 bits. The 16-bit route
restores those 16-bit pixels (``restore`` on a uint16 array returns uint16); the 8-bit route first rounds them to
8 bits, as Pillow would hand them over. PSNR against the clean 16-bit photo, on [0, 1], RGB, no border cropped;
distinct levels per channel of the outputs. The model is given the true σ.

    python benchmarks/probes/deep_psnr.py --data runs/photos_val --model pretrained/denoise [--json out.json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from irae_hf.io.sixteen_bit import to_8bit
from irae_hf.models.registry import load_model
from irae_hf.pipeline.evaluate import load_folder
from irae_hf.pipeline.restore import restore


def psnr01(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1 / np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True)
    p.add_argument("--model", default="pretrained/denoise")
    p.add_argument("--sigmas", type=float, nargs="+", default=[5, 15, 25])
    p.add_argument("--limit", type=int, default=10)
    p.add_argument("--json")
    a = p.parse_args()
    model = load_model(a.model)
    rows = []
    for sigma in a.sigmas:
        s16, s8, levels16, levels8 = [], [], [], []
        for i, (_, photo) in enumerate(load_folder(a.data, a.limit)):
            clean = torch.nn.functional.avg_pool2d(photo[None], 4)[0].permute(1, 2, 0).numpy().astype(np.float64)
            clean16 = np.round(clean * 65535).astype(np.uint16)
            noise = np.random.default_rng(i).normal(0, sigma * 257, clean16.shape)
            noisy16 = np.clip(np.round(clean16 + noise), 0, 65535).astype(np.uint16)
            out16 = restore(model, noisy16, sigma=sigma)
            out8 = restore(model, to_8bit(noisy16), sigma=sigma)
            s16.append(psnr01(out16 / 65535, clean16 / 65535))
            s8.append(psnr01(out8 / 255, clean16 / 65535))
            levels16.append(min(len(np.unique(out16[..., c])) for c in range(3)))
            levels8.append(min(len(np.unique(out8[..., c])) for c in range(3)))
        rows.append(dict(sigma=sigma, images=len(s16), psnr_16bit=float(np.mean(s16)), psnr_8bit=float(np.mean(s8)),
                         min_levels_16bit=int(np.min(levels16)), min_levels_8bit=int(np.min(levels8))))  # fmt: skip
    print(
        f"{a.model} on {rows[0]['images']} photos of {Path(a.data).name} (4× downscaled, 16 bits; PSNR at 16 bits):\n"
    )
    print("| σ | 16-bit route PSNR (dB) | 8-bit route PSNR (dB) | gain | fewest levels per channel, 16 / 8-bit |")
    print("|---|---|---|---|---|")
    for r in rows:
        gain = r["psnr_16bit"] - r["psnr_8bit"]
        print(f"| {r['sigma']:g} | {r['psnr_16bit']:.2f} | {r['psnr_8bit']:.2f} | {gain:+.2f} | "
              f"{r['min_levels_16bit']} / {r['min_levels_8bit']} |")  # fmt: skip
    if a.json:
        Path(a.json).write_text(json.dumps({"data": Path(a.data).name, "model": a.model, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
