"""JPEG cleanup on the JPEGs users have: 4:2:0 and 4:4:4 chroma, the file itself or only its decoded pixels, and a
photo compressed twice (quality 90 after quality 30).

For every photo of ``--data`` and every case, the JPEG is made with Pillow and restored three ways by the model:
auto from the *file* (``load_image`` reads the quality from its quantization tables), auto from the decoded *pixels*
(``jpeg_quality_from_pixels``: JPEG ghosts at both subsamplings), and at the true quality (for the double
compression, the first and stronger one, 30). PSNR/SSIM as ``irae evaluate`` (8-bit RGB, [0, 255], no cropping),
beside the JPEG itself; the qualities the pixel estimate read are listed.

    python benchmarks/studies/jpeg_cases.py --data runs/photos_val --model pretrained/jpeg --json out.json
"""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import numpy as np
from PIL import Image

from irae_hf.io.images import load_image, to_uint8
from irae_hf.models.registry import load_model
from irae_hf.pipeline.evaluate import load_folder
from irae_hf.pipeline.restore import restore
from irae_hf.tasks.estimate import jpeg_quality_from_pixels
from irae_hf.tasks.metrics import psnr, ssim

SUBSAMPLING = {"4:2:0": 2, "4:4:4": 0}


def jpeg_file(rgb: np.ndarray, steps: list[tuple[int, int]]) -> bytes:
    """The bytes of ``rgb`` saved as JPEG at each (quality, subsampling) in turn (decoded between saves)."""
    data = b""
    for quality, subsampling in steps:
        buf = io.BytesIO()
        source = rgb if not data else np.asarray(load_image(io.BytesIO(data)).convert("RGB"))
        Image.fromarray(source).save(buf, format="JPEG", quality=quality, subsampling=subsampling)
        data = buf.getvalue()
    return data


def cases(qualities: list[int]) -> list[tuple[str, list[tuple[int, int]], int]]:
    """(name, the saves, the true quality to undo)."""
    out = [(f"q{q} {name}", [(q, sub)], q) for name, sub in SUBSAMPLING.items() for q in qualities]
    return out + [("q30 then q90, 4:2:0", [(30, 2), (90, 2)], 30)]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True)
    p.add_argument("--model", default="pretrained/jpeg")
    p.add_argument("--qualities", type=int, nargs="+", default=[10, 20, 30, 40])
    p.add_argument("--limit", type=int)
    p.add_argument("--json")
    a = p.parse_args()
    model = load_model(a.model)
    photos = [to_uint8(x) for _, x in load_folder(a.data, a.limit)]
    rows = []
    for name, steps, true_q in cases(a.qualities):
        scores: dict[str, list] = {"JPEG": [], "auto, file": [], "auto, pixels": [], "true quality": []}
        read = []
        for clean in photos:
            data = jpeg_file(clean, steps)
            as_file = load_image(io.BytesIO(data))
            pixels = np.asarray(as_file.convert("RGB"))
            read.append(jpeg_quality_from_pixels(pixels))
            outputs = {
                "JPEG": pixels,
                "auto, file": np.asarray(restore(model, as_file)),
                "auto, pixels": restore(model, pixels),
                "true quality": restore(model, pixels, quality=true_q),
            }
            for key, out in outputs.items():
                scores[key].append((psnr(out, clean), ssim(out, clean)))
        for key, values in scores.items():
            rows.append({"case": name, "method": key, "psnr": float(np.mean([v[0] for v in values])),
                         "ssim": float(np.mean([v[1] for v in values])), "pixel_estimates": read})  # fmt: skip
    print(f"{a.model} on {len(photos)} photos of {Path(a.data).name}:\n")
    print("| case | JPEG | auto, file | auto, pixels | true quality | pixel estimates |\n|---|---|---|---|---|---|")
    for i in range(0, len(rows), 4):
        group = rows[i : i + 4]
        cells = " | ".join(f"{r['psnr']:.2f}" for r in group)
        print(f"| {group[0]['case']} | {cells} | {group[0]['pixel_estimates']} |")
    if a.json:
        Path(a.json).write_text(json.dumps({"data": Path(a.data).name, "model": a.model, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
