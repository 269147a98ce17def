"""irae_hf.pipeline.tiling through restore: overlapping tiles equal the whole image, auto tiling, the 8-fold
self-ensemble."""

import numpy as np
import pytest
import torch
from PIL import Image

import irae_hf.pipeline.tiling as tiling
from irae_hf.pipeline.restore import restore
from irae_hf.tasks import condition

from .conftest import random_image


def test_tiled_equals_untiled(denoiser):
    x = torch.rand(1, 3, 300, 400, generator=torch.Generator().manual_seed(0))
    full = restore(denoiser, x, sigma=25, tile=None)
    calls = []
    tiled = restore(denoiser, x, sigma=25, tile=128, overlap=64, progress=lambda d, t: calls.append((d, t)))
    assert len(calls) > 4 and calls[-1][0] == calls[-1][1]
    assert (tiled - full).abs().max() < 1e-3


def test_auto_tiling_kicks_in_for_large_images(denoiser, monkeypatch):
    monkeypatch.setattr(tiling, "AUTO_TILE_PIXELS", 64 * 64)
    monkeypatch.setattr(tiling, "DEFAULT_TILE", 64)
    calls = []
    restore(denoiser, torch.rand(1, 3, 100, 150), sigma=25, progress=lambda d, t: calls.append(t))
    assert calls[-1] > 1


def test_self_ensemble_averages_the_eight_flips_and_rotations_and_is_not_invertible(denoiser):
    x = torch.rand(1, 3, 24, 32)
    cond = condition(denoiser.task, x, sigma=25)
    expected = torch.zeros_like(x)
    with torch.no_grad():
        for k in range(4):
            for mirror in (False, True):
                t = torch.rot90(x.flip(-1) if mirror else x, k, (-2, -1))
                y = torch.rot90(denoiser(t, torch.rot90(cond.flip(-1) if mirror else cond, k, (-2, -1))), -k, (-2, -1))
                expected += (y.flip(-1) if mirror else y) / 8
    out = restore(denoiser, x, sigma=25, ensemble=True)
    torch.testing.assert_close(out, expected.clamp(0, 1), atol=1e-5, rtol=0)
    assert (out - restore(denoiser, x, sigma=25)).abs().max() > 1e-4  # the perturbed model is not symmetric
    tiled = restore(denoiser, x, sigma=25, ensemble=True, tile=16, overlap=8)
    assert (tiled - out).abs().max() < 0.05
    with pytest.raises(ValueError, match="not invertible"):
        restore(denoiser, x, sigma=25, ensemble=True, return_float=True)


def test_self_ensemble_inpainting_keeps_known_pixels(model_factory):
    model = model_factory("inpaint")
    img = random_image(32, 40)
    mask = np.zeros((32, 40), np.uint8)
    mask[8:20, 10:30] = 255
    out = np.asarray(restore(model, Image.fromarray(img), mask=Image.fromarray(mask), ensemble=True))
    assert np.array_equal(out[mask == 0], img[mask == 0])


def test_the_self_ensemble_reports_each_pass_through_restore():
    from irae_hf import IRAE
    from irae_hf.pipeline.restore import restore

    model, seen = IRAE(width=8, depth=2), []
    restore(model, torch.rand(1, 3, 64, 96), sigma=5, ensemble=True, progress=lambda d, t: seen.append((d, t)))
    assert seen == [(k, 8) for k in range(1, 9)]
    seen.clear()
    restore(model, torch.rand(1, 3, 64, 96), sigma=5, ensemble=True, tile=32, progress=lambda d, t: seen.append((d, t)))
    assert seen == [(k, 8 * 15) for k in range(1, 8 * 15 + 1)]  # 15 tiles of 32 with overlap, 8 passes each
