"""irae_hf.tasks.denoise: the σ level, training noise as users have it (files, cameras, JPEG), the blind estimate."""

from types import SimpleNamespace

import numpy as np
import torch

from irae_hf.io.images import to_uint8
from irae_hf.tasks import TASKS
from irae_hf.tasks.degradations import add_gaussian_noise, jpeg_compress
from irae_hf.tasks.denoise import camera_like
from irae_hf.tasks.estimate import estimate_sigma
from irae_hf.training.data import DegradationSpec

DENOISE = TASKS["denoise"]


def smooth(h=64, w=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.nn.functional.interpolate(torch.rand(1, 3, h // 8, w // 8, generator=g), (h, w), mode="bicubic")[0]


def test_plain_training_noise_is_gaussian_at_the_drawn_sigma():
    clean = smooth()
    spec = DegradationSpec("denoise", sigma_range=(30.0, 30.0))
    noisy, level = DENOISE.sample(clean, np.random.default_rng(3), spec)
    assert float(level) == 30.0 and torch.equal(noisy, add_gaussian_noise(clean, 30.0, seed=_after_uniform(3)))


def _after_uniform(seed):
    rng = np.random.default_rng(seed)
    rng.uniform(30.0, 30.0)
    return rng


def test_camera_like_noise_has_the_asked_sigma_at_mid_grey_and_depends_on_the_signal():
    grey = torch.full((3, 128, 128), 0.5)
    noisy = camera_like(grey, 25.0, np.random.default_rng(0))
    assert abs((noisy - grey).std().item() * 255 - 25) < 5  # to first order: the sRGB curve bends the spread
    assert torch.equal(noisy, (noisy * 255).round() / 255)  # an 8-bit file
    dark = camera_like(torch.full((3, 128, 128), 0.1), 25.0, np.random.default_rng(0))
    bright = camera_like(torch.full((3, 128, 128), 0.9), 25.0, np.random.default_rng(0))
    assert (dark - 0.1).std() > (bright - 0.9).std()  # the sRGB curve amplifies noise in the shadows


def test_camera_and_jpeg_inputs_are_labelled_with_what_the_blind_estimate_reads():
    clean = smooth(96, 96)
    for spec in (
        DegradationSpec("denoise", sigma_range=(20.0, 40.0), camera_fraction=1.0),
        DegradationSpec("denoise", sigma_range=(20.0, 40.0), file_fraction=1.0, noisy_jpeg_fraction=1.0),
    ):
        noisy, level = spec.sample(clean, np.random.default_rng(1))
        assert torch.equal(noisy, (noisy * 255).round() / 255)
        assert float(level) == np.float32(estimate_sigma(to_uint8(noisy)))
    jpeg_spec = DegradationSpec("denoise", sigma_range=(25.0, 25.0), noisy_jpeg_fraction=1.0, noisy_jpeg_range=(80, 80))
    noisy, _ = jpeg_spec.sample(clean, np.random.default_rng(2))
    rng = np.random.default_rng(2)
    rng.uniform(25.0, 25.0)
    assert torch.equal(noisy, jpeg_compress(add_gaussian_noise(clean, 25.0, seed=rng), 80))


def test_blind_level_baselines_and_card_words():
    noisy = to_uint8(add_gaussian_noise(smooth(128, 128), 20.0, seed=0))
    values, source = DENOISE.estimate(None, [noisy])
    assert source == "pixels" and abs(values[0] - 20) < 3
    assert list(DENOISE.baselines()) == ["input", "BM3D", "OpenCV NLM"]
    config = SimpleNamespace(
        sigma_range=[0, 75], file_fraction=0.5, camera_fraction=0.35, noisy_jpeg_fraction=0.3, noisy_jpeg_range=[70, 95]
    )
    words = DENOISE.training_words(config)
    assert "50% of the noisy inputs clipped" in words and "35% given camera-like" in words and "quality 70–95" in words
