"""Denoising: the level is the noise σ in 0–255 units (Gaussian, or what the blind estimate reads)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .base import AppTab, Restorer, Task, identity

if TYPE_CHECKING:
    import numpy as np
    from torch import Tensor

#: what a denoiser was trained on (config.json's ``noise``), in words for cards, the app and the command line
NOISE_KINDS = {
    "gaussian": "synthetic Gaussian noise, as floats and as 8-bit files (the benchmarks', and the app's Add noise)",
    "real": "camera and phone noise: signal-dependent, clipped to 8 bits, often saved as JPEG",
}
#: when to use a denoiser trained on each kind of noise, and when its companion (model cards, README)
NOISE_USE = {
    "gaussian": "Use it on synthetic Gaussian noise: the benchmarks' protocol (CBSD68 and the like at a known σ, as "
    "floats or 8-bit files) and noise added by software, such as the app's Add noise. For photos from cameras and "
    "phones use the camera and phone denoiser (`pretrained/denoise-real`).",
    "real": "Use it on photos as cameras and phones save them: signal-dependent noise, low light, noisy JPEGs. For "
    "synthetic Gaussian noise (the benchmarks, the app's Add noise) use the Gaussian denoiser (`pretrained/denoise`).",
}

#: camera-like noise as users have it, by name (``irae evaluate --noise camera``, the README's (c) and (d)): the
#: strength of ``degradations.CAMERA_NOISE``, then the JPEG quality phones save at (None: an 8-bit PNG)
CAMERA_SETTINGS = {
    "low light": ("low light", None),
    "moderate": ("moderate", None),
    "low light, JPEG q90": ("low light", 90),
    "moderate, JPEG q90": ("moderate", 90),
}


def bm3d_baseline(x: Tensor, level: dict) -> Tensor:
    """CBM3D (the ``bm3d`` package) at the given σ."""
    import bm3d
    import numpy as np
    import torch

    out = np.clip(bm3d.bm3d_rgb(x.permute(1, 2, 0).double().numpy(), sigma_psd=level["sigma"] / 255.0), 0, 1)
    return torch.from_numpy(np.ascontiguousarray(out, dtype=np.float32)).permute(2, 0, 1)


bm3d_baseline.requires = "bm3d"  # a dev requirement: irae evaluate says so when it is missing


def nlm_baseline(x: Tensor, level: dict) -> Tensor:
    """OpenCV fastNlMeansDenoisingColored on the 8-bit noisy image, filter strength h = σ."""
    import cv2
    import numpy as np
    import torch

    from ..io.images import to_uint8

    h = float(level["sigma"])
    out = cv2.fastNlMeansDenoisingColored(to_uint8(x), None, h, h, 7, 21).astype(np.float32) / 255.0
    return torch.from_numpy(out).permute(2, 0, 1)


class Denoise(Task):
    name, keyword, label = "denoise", "sigma", "σ"
    done = "denoised"
    noise_kinds = NOISE_KINDS  # a Gaussian specialist and a camera and phone one
    noise_use = NOISE_USE  # when to use which, in the cards
    specialists = {"gaussian": "denoise", "real": "denoise-real"}  # noqa: RUF012 - read-only
    settings, validation, validation_words = (15, 25, 50), 25.0, "σ 25"
    level_range = (0.0, 255.0, 255.0)
    level_help = "noise σ to remove, 0–255, or auto (estimated; the default)"
    level_words = "the noise σ in 0–255 units"
    #: σ, and the quality noisy photos are saved at as phones do (``--noisy_jpeg_fraction``)
    training_ranges = {"sigma_range": (0.0, 75.0, 0.0, 255.0), "noisy_jpeg_range": (70, 95, 1, 100)}  # noqa: RUF012
    app = AppTab(
        title="Denoise",
        button="Denoise",
        level_name="σ",
        slider=(0, 75, 25),
        degrade_button="Add noise",
        degrade_api="add_noise",
        degrade_label="σ of the noise to add (to try a clean photo)",
        auto_label="Auto: estimate σ from the image (or use the σ you added)",
        level_label="σ to remove, when Auto is off",
        choices=(
            ("Auto: synthetic Gaussian if the noise was added here, else camera or phone photo", "auto"),
            ("camera or phone photo", "real"),
            ("synthetic Gaussian noise", "gaussian"),
        ),
        choice_label="What noise is it? (which denoiser runs)",
        made_here="gaussian",
        brought="real",
    )

    def degrade(self, clean: Tensor, level: Any, seed: Any = None) -> tuple[Tensor, float]:
        """Gaussian noise of σ ``level``; or, for a name of ``CAMERA_SETTINGS``, camera-like noise in an 8-bit file
        (then a JPEG), labelled with its RMS-equivalent σ (the level a method is given when it is told the truth)."""
        from .degradations import add_gaussian_noise, camera_photo

        if not isinstance(level, str):
            return add_gaussian_noise(clean, float(level), seed=seed), float(level)
        if level not in CAMERA_SETTINGS:
            raise ValueError(f"unknown camera noise {level!r}; expected one of {list(CAMERA_SETTINGS)}")
        return camera_photo(clean, *CAMERA_SETTINGS[level], seed=seed)

    def sample(self, clean: Tensor, rng: np.random.Generator, spec: Any) -> tuple[Tensor, Tensor]:
        """σ uniform in ``spec.sigma_range``; the noise as a float, as an 8-bit file, or camera-like of about that
        strength, then perhaps a JPEG. Noise that has no single σ is labelled with what the blind estimate reads
        from the image, so that the model learns what that reading means and "auto" asks for it."""
        import torch

        from ..io.images import to_uint8
        from .degradations import add_gaussian_noise, as_8bit_file, jpeg_compress
        from .estimate import estimate_sigma

        sigma = float(rng.uniform(*spec.sigma_range))
        degraded, measured = add_gaussian_noise(clean, sigma, seed=rng), False
        if spec.camera_fraction > 0 and rng.random() < spec.camera_fraction:
            degraded, measured = camera_like(clean, sigma, rng), True
        elif spec.file_fraction > 0 and rng.random() < spec.file_fraction:
            degraded = as_8bit_file(degraded)
        if spec.noisy_jpeg_fraction > 0 and rng.random() < spec.noisy_jpeg_fraction:
            quality = int(rng.integers(spec.noisy_jpeg_range[0], spec.noisy_jpeg_range[1] + 1))
            degraded, measured = jpeg_compress(degraded, quality), True
        if measured:
            sigma = estimate_sigma(to_uint8(degraded))
        return degraded, torch.tensor(sigma)

    def estimate(self, image: Any, pixels: list[np.ndarray]) -> tuple[list, str]:
        from .estimate import estimate_sigma

        return [round(estimate_sigma(p), 1) for p in pixels], "pixels"

    def estimate_note(self, level: dict, source: str) -> str:
        return f"σ {level['sigma']:.1f} (estimated from the pixels)"

    def baselines(self) -> dict[str, Restorer]:
        return {"input": identity, "BM3D": bm3d_baseline, "OpenCV NLM": nlm_baseline}

    def training_words(self, config: Any) -> str:
        words = f"σ drawn uniformly from {config.sigma_range}"
        if config.file_fraction:
            words += f", {config.file_fraction:.0%} of the noisy inputs clipped and rounded to 8 bits as in image files"
        if getattr(config, "camera_fraction", 0):
            words += (
                f", {config.camera_fraction:.0%} given camera-like noise (signal-dependent, in linear light) instead"
            )
        if getattr(config, "noisy_jpeg_fraction", 0):
            low, high = config.noisy_jpeg_range
            words += (
                f", {config.noisy_jpeg_fraction:.0%} then saved as JPEG at quality {low}–{high}; camera-like and "
                "JPEG-saved inputs labelled with the blind σ estimate"
            )
        return words


def camera_like(clean: Tensor, sigma: float, rng: np.random.Generator) -> Tensor:
    """Camera-like noise (variance a·x + b in linear light, b/a drawn log-uniformly from 0.001–0.03, around the
    benchmark's two cameras' 0.005 and 0.01) whose σ at mid-grey in the 8-bit file is about ``sigma`` (to first
    order, through the sRGB curve's slope there)."""
    import numpy as np
    import torch

    from .degradations import camera_noise, srgb_to_linear

    ratio = float(np.exp(rng.uniform(np.log(1e-3), np.log(3e-2))))
    grey = float(srgb_to_linear(torch.tensor(0.5)))
    slope = 1.055 / 2.4 * grey ** (1 / 2.4 - 1)  # d sRGB / d linear at mid-grey
    a = (sigma / 255 / slope) ** 2 / (grey + ratio)
    return camera_noise(clean, a, a * ratio, seed=rng)
