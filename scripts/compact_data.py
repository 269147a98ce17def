"""Copy the training pool small enough to travel to a lent GPU machine (64 MiB with the working tree).

    python scripts/compact_data.py ../shared/data/photos ../shared/data/train-extra --out runs-gpudata

Each root keeps its layout, so scripts/photos.sh names the same images the same way (DATA="runs-gpudata/photos
runs-gpudata/train-extra"). JPEGs under ``--keep`` (CBSD432's originals) are copied byte for byte; every other
image is shrunk to at most ``--side`` pixels on its longer side (area filter) and saved as a 4:4:4 JPEG of
``--quality`` (held-out images stay PNG under their own names). LICENSES folders are left out, as in training.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from PIL import Image

SUFFIXES = {".png", ".jpg", ".jpeg"}


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("roots", nargs="+", type=Path, help="image roots, as DATA in scripts/photos.sh")
    p.add_argument("--out", type=Path, required=True, help="folder that receives one copy of each root")
    p.add_argument("--keep", default="cbsd432", help="JPEGs under a folder of this name are copied unchanged")
    p.add_argument("--side", type=int, default=512, help="longest side of the shrunk photos")
    p.add_argument("--quality", type=int, default=92, help="JPEG quality of the shrunk photos")
    p.add_argument("--val", default="", help="held-out names (as scripts/photos.sh VAL): shrunk, kept as PNG")
    return p.parse_args()


def shrink(image: Image.Image, side: int) -> Image.Image:
    """``image`` in RGB with its longer side at most ``side`` (area filter, so no aliasing)."""
    image = image.convert("RGB")
    scale = side / max(image.size)
    if scale < 1:
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(size, Image.Resampling.BOX)
    return image


def main() -> None:
    args = parse_args()
    val = set(args.val.split())
    count = size = 0
    for root in args.roots:
        for f in sorted(root.rglob("*")):
            rel = f.relative_to(root)
            if f.suffix.lower() not in SUFFIXES or "LICENSES" in rel.parts or not f.is_file():
                continue
            dest = args.out / root.name / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            if args.keep in rel.parts and f.suffix.lower() in {".jpg", ".jpeg"}:
                shutil.copyfile(f, dest)
            else:
                held_out = "__".join(rel.parts) in val
                dest = dest.with_suffix(".png" if held_out else ".jpg")
                with Image.open(f) as image:
                    small = shrink(image, args.side)
                if held_out:
                    small.save(dest)
                else:
                    small.save(dest, quality=args.quality, subsampling=0)
            count += 1
            size += dest.stat().st_size
    print(f"{count} images, {size / 2**20:.1f} MiB in {args.out}")


if __name__ == "__main__":
    main()
