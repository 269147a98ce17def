import numpy as np
import pytest
import torch

from irae_hf.io.images import to_uint8
from irae_hf.tasks.metrics import psnr, ssim


def test_psnr_known_values():
    a = np.full((8, 8, 3), 100, np.uint8)
    assert psnr(a, a + 1) == pytest.approx(10 * np.log10(255**2), abs=1e-9)  # MSE 1 -> 48.13 dB
    assert psnr(a, a) == float("inf")
    b = a.copy()
    b[:4] = 110  # error only in the top half
    top = np.zeros((8, 8), bool)
    top[:4] = True
    assert psnr(a, b, mask=top) == pytest.approx(10 * np.log10(255**2 / 100))
    assert psnr(a, b, mask=~top) == float("inf")
    with pytest.raises(ValueError, match="shape"):
        psnr(a, a[:4])


def test_tensor_and_uint8_inputs_agree():
    t = torch.rand(3, 16, 16, generator=torch.Generator().manual_seed(0))
    u = to_uint8(t)
    assert u.dtype == np.uint8 and u.shape == (16, 16, 3)
    noisy = (t + 0.05 * torch.randn(3, 16, 16)).clamp(0, 1)
    assert psnr(t, noisy) == pytest.approx(psnr(u, to_uint8(noisy)))
    assert ssim(t, noisy) == pytest.approx(ssim(u, to_uint8(noisy)))


def test_ssim_range():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (32, 32, 3)).astype(np.uint8)
    assert ssim(a, a) == pytest.approx(1.0)
    light, heavy = (np.clip(a + rng.normal(0, s, a.shape), 0, 255) for s in (10, 60))
    assert 0 < ssim(a, heavy) < ssim(a, light) < 1
