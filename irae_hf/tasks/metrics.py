"""PSNR and SSIM the way published restoration tables compute them, so our numbers compare.

Convention (as in the DnCNN/FFDNet/DRUNet/SwinIR evaluation code): both images are RGB, rounded to
8 bits, in the [0, 255] range, with no border cropping. SSIM is Wang et al. (2004) with an 11×11
Gaussian window (σ = 1.5), K1 = 0.01, K2 = 0.03, computed per channel and averaged (scikit-image's
``structural_similarity`` with ``gaussian_weights=True, use_sample_covariance=False``, which matches
the reference MATLAB ``ssim``).
"""

from __future__ import annotations

import numpy as np
import torch
from skimage.metrics import structural_similarity

from ..io.images import to_uint8

__all__ = ["psnr", "ssim"]


def psnr(a: np.ndarray | torch.Tensor, b: np.ndarray | torch.Tensor, mask: np.ndarray | None = None) -> float:
    """PSNR in dB between two images on the 8-bit [0, 255] scale; ``mask`` (H×W, True = counted)
    restricts it to a region (the filled pixels, for inpainting). Identical images give ``inf``."""
    x = to_uint8(a).astype(np.float64)
    y = to_uint8(b).astype(np.float64)
    if x.shape != y.shape:
        raise ValueError(f"images differ in shape: {x.shape} vs {y.shape}")
    err = (x - y) ** 2
    if mask is not None:
        m = np.asarray(mask).astype(bool).reshape(x.shape[:2])
        if not m.any():
            raise ValueError("mask selects no pixels")
        err = err[m]
    mse = float(err.mean())
    return float("inf") if mse == 0 else 10.0 * np.log10(255.0**2 / mse)


def ssim(a: np.ndarray | torch.Tensor, b: np.ndarray | torch.Tensor) -> float:
    """Mean SSIM over RGB channels on the 8-bit [0, 255] scale (see the module docstring)."""
    x, y = to_uint8(a), to_uint8(b)
    if x.shape != y.shape:
        raise ValueError(f"images differ in shape: {x.shape} vs {y.shape}")
    return float(
        structural_similarity(
            x,
            y,
            data_range=255,
            channel_axis=-1,
            gaussian_weights=True,
            sigma=1.5,
            use_sample_covariance=False,
        )
    )
