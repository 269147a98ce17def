"""Make the app's already-degraded examples from licensed photos (../shared/data/photos), with their credits.

Each tab gets photos as its users bring them: phone-like noisy JPEGs (camera noise in linear light, then the phone's
JPEG), blocky JPEGs, and photos with a scratch or a power line to paint over and remove.
Seeded: running it again writes the same files.

    python scripts/make_examples.py [--data ../shared/data/photos] [--out examples]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from irae_hf.io.images import to_tensor, to_uint8
from irae_hf.tasks.degradations import CAMERA_NOISE, camera_noise

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "examples"
SOURCE = "Debian package lomiri-wallpapers (16.04), https://gitlab.com/ubports/development/core/lomiri-wallpapers"

#: (file written, source photo, author, licence, how it is degraded: a phone's JPEG quality after low-light camera
#: noise, a JPEG quality, or the defect drawn on it)
EXAMPLES = [
    ("denoise/dogs-phone-noise.jpg", "friends_by_Aitzol_Berasategi", "Aitzol Berasategi", "CC BY 4.0", ("phone", 92)),
    ("denoise/sunset-phone-noise.jpg", "sunset_by_Aitzol_Berasategi", "Aitzol Berasategi", "CC BY 4.0", ("phone", 95)),
    ("jpeg/fig-quality-10.jpg", "Picture_0B_by_freespace", 'Trevor "Freespace"', "CC BY 4.0", ("compressed", 10)),
    ("jpeg/brushes-quality-20.jpg", "Picture_1A_by_freespace", 'Trevor "Freespace"', "CC BY 4.0", ("compressed", 20)),
    ("inpaint/mountain-power-line.png", "aitzgorri_by_Aitzol_Berasategi", "Aitzol Berasategi", "CC BY 4.0",
     ("defect", "power line")),
    ("inpaint/dandelions-scratch.png", "seeding_by_Clements_Engelhardt", "Clemens Engelhardt", "CC0 1.0",
     ("defect", "scratch")),
]  # fmt: skip
#: what each kind of degradation did, for the credits' "changes" column
CHANGES = {
    "phone": "low-light camera noise, saved as a phone's JPEG (quality {})",
    "compressed": "saved as JPEG quality {}",
    "defect": "a {} drawn across the photo",
}
LONG_SIDE = 768
LINE_WIDTH = 8  # px: the drawn defect; a stroke of the default brush (12 px) covers it


def resized(path: Path) -> Image.Image:
    photo = Image.open(path).convert("RGB")
    scale = LONG_SIDE / max(photo.size)
    return photo.resize((round(photo.width * scale) // 8 * 8, round(photo.height * scale) // 8 * 8), Image.LANCZOS)


def phone_noise(photo: Image.Image, kind: str, quality: int, seed: int) -> tuple[Image.Image, dict]:
    a, b = CAMERA_NOISE[kind]
    return Image.fromarray(to_uint8(camera_noise(to_tensor(photo), a, b, seed=seed))), {"quality": quality}


def defect(photo: Image.Image, kind: str, seed: int) -> Image.Image:
    """The photo with a dark power line (a sagging curve) or a light scratch (a wandering stroke) drawn on it, thin
    enough that the default brush (12 px) covers it in one stroke."""
    rng = np.random.default_rng(seed)
    w, h = photo.size
    x = np.linspace(-10, w + 10, 60)
    if kind == "power line":
        y = h * 0.12 + 0.16 * h * (1 - 4 * (x / w - 0.5) ** 2) + 0.03 * h * (x / w)  # sagging between two poles
        colour = (40, 40, 45)
    else:
        y = h * 0.35 + 0.35 * h * (x / w) + np.cumsum(rng.normal(0, 2.0, x.size))
        colour = (235, 235, 228)
    points = list(zip(x.tolist(), y.tolist()))
    damaged = photo.copy()
    ImageDraw.Draw(damaged).line(points, fill=colour, width=LINE_WIDTH, joint="curve")
    return damaged


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "photos")
    parser.add_argument("--out", type=Path, default=OUT, help="where to write (the repository's examples/)")
    args = parser.parse_args(argv)
    credits = []
    for seed, (name, source, author, licence, (kind, setting)) in enumerate(EXAMPLES):
        target = args.out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        photo = resized(args.data / f"{source}.png")
        if kind == "phone":
            noisy, save = phone_noise(photo, "low light", setting, seed)
            noisy.save(target, **save)
        elif kind == "compressed":
            photo.save(target, quality=setting)
        else:
            defect(photo, setting, seed).save(target)
        done = CHANGES[kind].format(setting)
        credits.append(f"| {name} | 16.04/{source}.jpg ({SOURCE}) | {author} | {licence} | downscaled to {photo.width}×"
                       f"{photo.height}, {done} |")  # fmt: skip
        print(f"wrote {target} ({target.stat().st_size / 1e3:.0f} kB)")
    (args.out / "LICENSES.md").write_text(HEADER + "\n".join(credits) + "\n")


HEADER = """# Example images

Downscaled copies of images that ship with scikit-image (`skimage.data`), chosen because they are free
to redistribute:

| file | source | licence |
|---|---|---|
| astronaut.png | `skimage.data.astronaut()`: Eileen Collins, NASA | public domain |
| coffee.png | `skimage.data.coffee()`: Rachel Michetti | CC0 |
| chelsea.png | `skimage.data.chelsea()`: Stéfan van der Walt | CC0 |

The app's already-degraded examples (`denoise/`, `jpeg/`, `inpaint/`) are made by `scripts/make_examples.py` from
photos of the Debian wallpaper package lomiri-wallpapers, under the licences below (CC BY 4.0:
https://creativecommons.org/licenses/by/4.0/; CC0 1.0: https://creativecommons.org/publicdomain/zero/1.0/). They
are changed as the last column says; the photographers do not endorse this project.

| file | source | author | licence | changes |
|---|---|---|---|---|
"""


if __name__ == "__main__":
    main()
