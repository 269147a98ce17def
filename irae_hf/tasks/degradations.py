"""The degradations IRAE undoes, one seeded implementation each; the tasks (``irae_hf.tasks``) choose among them.

Training, validation, evaluation, the app and the tests all corrupt images through
``irae_hf.tasks.degrade(clean, task, level)``.

Images are float tensors in [0, 1], C×H×W or B×C×H×W. Every random function takes ``seed`` (an int,
a ``numpy.random.Generator``, or None for fresh entropy): the same seed gives the same result.
"""

from __future__ import annotations

import io

import numpy as np
import torch
from PIL import Image, ImageDraw
from torch import Tensor

from ..io.images import to_uint8

__all__ = [
    "add_gaussian_noise",
    "as_8bit_file",
    "camera_noise",
    "camera_photo",
    "CAMERA_NOISE",
    "jpeg_compress",
    "box_mask",
    "bar_mask",
    "scratch_mask",
    "text_mask",
    "free_form_mask",
    "apply_mask",
    "MASK_FILL",
    "rng_from",
]

#: value written into missing pixels before inpainting (mid-grey: neutral for the network)
MASK_FILL = 0.5
Seed = int | np.random.Generator | None


def rng_from(seed: Seed) -> np.random.Generator:
    """A numpy Generator from an int seed, an existing Generator (used as is) or None."""
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def add_gaussian_noise(x: Tensor, sigma: float, seed: Seed = None, clip: bool = False) -> Tensor:
    """Additive white Gaussian noise of standard deviation ``sigma`` in 0–255 units, i.i.d. per channel.

    Not clipped by default, as in the standard benchmarks (DnCNN, FFDNet, DRUNet test code).
    """
    if not 0 <= sigma <= 255:
        raise ValueError(f"sigma must be in [0, 255], got {sigma}")
    noise = rng_from(seed).standard_normal(tuple(x.shape), dtype=np.float32)
    y = x + torch.from_numpy(noise).to(x.device, x.dtype) * (sigma / 255.0)
    return y.clamp(0, 1) if clip else y


def as_8bit_file(x: Tensor) -> Tensor:
    """``x`` as an 8-bit image file holds it: clipped to [0, 1] and rounded to 1/255 (what users' photos are)."""
    return (x.clamp(0, 1) * 255).round() / 255


#: camera-like noise strengths (a, b) of ``camera_noise``: variance a·x + b in linear light
CAMERA_NOISE = {"low light": (0.01, 1e-4), "moderate": (0.002, 1e-5)}


def srgb_to_linear(x: Tensor) -> Tensor:
    """The sRGB transfer curve undone: [0, 1] sRGB values to linear light."""
    return torch.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(x: Tensor) -> Tensor:
    """Linear light in [0, 1] to sRGB values (the transfer curve of 8-bit photo files)."""
    return torch.where(x <= 0.0031308, x * 12.92, 1.055 * x.clamp(min=0.0031308) ** (1 / 2.4) - 0.055)


def camera_noise(x: Tensor, a: float, b: float, seed: Seed = None) -> Tensor:
    """Camera-like noise as a photo file holds it: signal-dependent (Poisson-Gaussian) noise in linear light,
    y = x + √(a·x + b)·N(0, 1), clipped, put through the sRGB curve and rounded to 8 bits."""
    linear = srgb_to_linear(x.clamp(0, 1))
    noise = torch.from_numpy(rng_from(seed).standard_normal(tuple(x.shape), dtype=np.float32)).to(x.device, x.dtype)
    noisy = (linear + torch.sqrt(a * linear + b) * noise).clamp(0, 1)
    return as_8bit_file(linear_to_srgb(noisy))


def camera_photo(clean: Tensor, kind: str, quality: int | None = None, seed: Seed = None) -> tuple[Tensor, float]:
    """A clean image as a camera or phone saves it: ``CAMERA_NOISE[kind]`` noise in an 8-bit file, then a JPEG at
    ``quality`` when given; with its RMS-equivalent σ in 0–255 units (what a method told the truth is given)."""
    noisy = camera_noise(clean, *CAMERA_NOISE[kind], seed=seed)
    noisy = jpeg_compress(noisy, quality) if quality else noisy
    return noisy, float((noisy - clean).pow(2).mean().sqrt()) * 255


def jpeg_compress(x: Tensor, quality: int) -> Tensor:
    """Encode and decode through Pillow's JPEG at ``quality`` (1–100), Pillow's default 4:2:0 chroma.

    The image is rounded to 8 bits first, as a real JPEG file would be. Deterministic, so no seed.
    """
    if not (isinstance(quality, (int, np.integer)) and 1 <= quality <= 100):
        raise ValueError(f"quality must be an integer in [1, 100], got {quality!r}")
    batched = x.ndim == 4
    out = []
    for img in x if batched else x[None]:
        arr = to_uint8(img)
        pil = Image.fromarray(arr[..., 0] if arr.shape[-1] == 1 else arr)
        buf = io.BytesIO()
        pil.save(buf, format="JPEG", quality=int(quality))
        dec = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert(pil.mode), dtype=np.float32) / 255.0
        dec = dec[..., None] if dec.ndim == 2 else dec
        out.append(torch.from_numpy(dec).permute(2, 0, 1))
    y = torch.stack(out).to(x.device, x.dtype)
    return y if batched else y[0]


def box_mask(height: int, width: int, size: int = 64, seed: Seed = None) -> Tensor:
    """A 1×H×W mask (1 = missing) with one ``size``×``size`` square at a random position."""
    rng = rng_from(seed)
    bh, bw = min(size, height), min(size, width)
    top = int(rng.integers(0, height - bh + 1))
    left = int(rng.integers(0, width - bw + 1))
    m = torch.zeros(1, height, width)
    m[:, top : top + bh, left : left + bw] = 1
    return m


def free_form_mask(
    height: int,
    width: int,
    coverage: tuple[float, float] = (0.1, 0.3),
    seed: Seed = None,
    scale: int | None = None,
) -> Tensor:
    """A 1×H×W mask of random brush strokes (DeepFill-v2 style) covering a fraction in ``coverage``.

    Strokes are added until the target fraction (drawn uniformly from ``coverage``) is reached. Brush
    widths (2–6 %) and stroke lengths (5–20 %) are fractions of ``scale`` pixels, by default the larger
    side; training crops pass the size of a whole image so that they see whole-image strokes.
    """
    lo, hi = coverage
    if not 0 < lo <= hi < 1:
        raise ValueError(f"coverage must satisfy 0 < lo <= hi < 1, got {coverage}")
    rng = rng_from(seed)
    target = rng.uniform(lo, hi)
    canvas = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(canvas)
    if scale is not None and scale < 1:
        raise ValueError(f"scale must be a positive number of pixels, got {scale}")
    scale = scale or max(height, width)
    m = np.zeros((height, width), dtype=bool)
    for _ in range(200):  # strokes; each ends as soon as the target is met
        x, y = rng.uniform(0, width), rng.uniform(0, height)
        brush = max(1, int(rng.uniform(0.02, 0.06) * scale))
        for _ in range(int(rng.integers(2, 8))):
            angle = rng.uniform(0, 2 * np.pi)
            length = rng.uniform(0.05, 0.2) * scale
            nx = float(np.clip(x + length * np.cos(angle), 0, width - 1))
            ny = float(np.clip(y + length * np.sin(angle), 0, height - 1))
            draw.line([(x, y), (nx, ny)], fill=255, width=brush)
            draw.ellipse([nx - brush / 2, ny - brush / 2, nx + brush / 2, ny + brush / 2], fill=255)
            x, y = nx, ny
            m = np.asarray(canvas) > 0
            if m.mean() >= target:
                return torch.from_numpy(m.astype(np.float32))[None]
    return torch.from_numpy(m.astype(np.float32))[None]


def bar_mask(height: int, width: int, size: tuple[int, int] = (128, 32), seed: Seed = None) -> Tensor:
    """A 1×H×W mask with one ``size`` (width × height) bar at a random position (a caption strip, a wire's shadow)."""
    rng = rng_from(seed)
    bw, bh = min(size[0], width), min(size[1], height)
    top, left = int(rng.integers(0, height - bh + 1)), int(rng.integers(0, width - bw + 1))
    m = torch.zeros(1, height, width)
    m[:, top : top + bh, left : left + bw] = 1
    return m


def scratch_mask(height: int, width: int, thickness: int = 3, count: int = 6, seed: Seed = None) -> Tensor:
    """A 1×H×W mask of ``count`` thin scratches: polylines ``thickness`` pixels wide across the image."""
    rng = rng_from(seed)
    canvas = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(canvas)
    for _ in range(count):
        points = [(float(rng.uniform(0, width)), float(rng.uniform(0, height)))]
        for _ in range(int(rng.integers(1, 4))):
            angle, length = rng.uniform(0, 2 * np.pi), rng.uniform(0.1, 0.4) * max(height, width)
            x, y = points[-1]
            points.append((x + length * np.cos(angle), y + length * np.sin(angle)))
        draw.line(points, fill=255, width=thickness)
    return torch.from_numpy((np.asarray(canvas) > 0).astype(np.float32))[None]


def text_mask(height: int, width: int, size: int = 24, seed: Seed = None) -> Tensor:
    """A 1×H×W mask of a line of rendered text (a caption or a date stamp burnt into a photo), ``size`` px high."""
    from PIL import ImageFont

    rng = rng_from(seed)
    words = ["IMG_2024", "SUMMER", "holiday", "12.07.2019", "draft", "sample", "PROOF", "2021"]
    text = " ".join(words[int(i)] for i in rng.integers(0, len(words), 3))
    font = ImageFont.load_default(size=size)
    canvas = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(canvas)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    x = int(rng.integers(0, max(1, width - (right - left))))
    y = int(rng.integers(0, max(1, height - (bottom - top))))
    draw.text((x - left, y - top), text, fill=255, font=font)
    return torch.from_numpy((np.asarray(canvas) > 0).astype(np.float32))[None]


def apply_mask(x: Tensor, mask: Tensor, fill: float = MASK_FILL) -> Tensor:
    """Replace missing pixels (mask > 0.5) with ``fill``; mask is 1×H×W or B×1×H×W."""
    m = (mask > 0.5).to(x.dtype).to(x.device)
    return x * (1 - m) + fill * m
