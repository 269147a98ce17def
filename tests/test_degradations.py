import numpy as np
import pytest
import torch

from irae_hf.tasks.degradations import (
    MASK_FILL,
    add_gaussian_noise,
    apply_mask,
    as_8bit_file,
    box_mask,
    free_form_mask,
    jpeg_compress,
)


@pytest.fixture
def image():
    return torch.rand(3, 48, 64, generator=torch.Generator().manual_seed(0))


def test_noise_is_reproducible_and_has_the_right_level(image):
    a = add_gaussian_noise(image, 25, seed=7)
    assert torch.equal(a, add_gaussian_noise(image, 25, seed=7))
    assert not torch.equal(a, add_gaussian_noise(image, 25, seed=8))
    assert abs((a - image).std().item() * 255 - 25) < 1.0
    assert a.min() < 0 or a.max() > 1  # not clipped by default (benchmark convention)
    clipped = add_gaussian_noise(image, 25, seed=7, clip=True)
    assert clipped.min() >= 0 and clipped.max() <= 1
    assert torch.equal(add_gaussian_noise(image, 0, seed=1), image)
    rng = np.random.default_rng(3)
    assert torch.equal(
        add_gaussian_noise(image, 10, seed=rng), add_gaussian_noise(image, 10, seed=np.random.default_rng(3))
    )
    with pytest.raises(ValueError, match="sigma"):
        add_gaussian_noise(image, -1)


def test_jpeg_is_deterministic_and_quality_ordered(image):
    smooth = torch.nn.functional.avg_pool2d(image[None], 5, 1, 2)[0]
    q10, q90 = jpeg_compress(smooth, 10), jpeg_compress(smooth, 90)
    assert torch.equal(q10, jpeg_compress(smooth, 10))
    assert q10.shape == smooth.shape and jpeg_compress(smooth[None], 10).shape == (1, 3, 48, 64)
    assert (q90 - smooth).abs().mean() < (q10 - smooth).abs().mean()
    assert torch.equal((q10 * 255).round(), q10 * 255)  # a decoded 8-bit JPEG
    for bad in (0, 101, 50.5):
        with pytest.raises(ValueError, match="quality"):
            jpeg_compress(image, bad)


def test_box_mask():
    m = box_mask(100, 120, size=64, seed=3)
    assert m.shape == (1, 100, 120) and m.sum() == 64 * 64
    assert torch.equal(m, box_mask(100, 120, size=64, seed=3))
    assert box_mask(20, 30, size=64, seed=0).sum() == 20 * 30  # clipped to the image


def eroded_fraction(mask: torch.Tensor, k: int = 7) -> float:
    """The part of a mask left after a k×k erosion: strokes narrower than k vanish."""
    return float(-torch.nn.functional.max_pool2d(-mask[None], k, 1, k // 2).sum() / mask.sum())


def test_free_form_mask_scale_sizes_strokes_for_a_whole_image():
    """A crop with scale=480 gets the 10–29 px brushes of a 480 px image, not 1–3 px ones."""
    for s in range(5):
        crop_sized, image_sized = free_form_mask(64, 64, seed=s), free_form_mask(64, 64, seed=s, scale=480)
        assert torch.equal(crop_sized, free_form_mask(64, 64, seed=s, scale=64))  # the default: the larger side
        assert eroded_fraction(crop_sized) < 0.05 < 0.3 < eroded_fraction(image_sized)
    with pytest.raises(ValueError, match="scale"):
        free_form_mask(64, 64, scale=0)


def test_free_form_mask_coverage_and_seed():
    covers = [free_form_mask(96, 128, seed=s).mean().item() for s in range(20)]
    assert all(0.1 <= c <= 0.33 for c in covers), covers
    assert torch.equal(free_form_mask(96, 128, seed=5), free_form_mask(96, 128, seed=5))
    assert not torch.equal(free_form_mask(96, 128, seed=5), free_form_mask(96, 128, seed=6))
    with pytest.raises(ValueError, match="coverage"):
        free_form_mask(10, 10, coverage=(0.5, 0.2))


def test_apply_mask(image):
    m = box_mask(48, 64, size=16, seed=0)
    out = apply_mask(image, m)
    assert torch.all(out[:, m[0] > 0] == MASK_FILL)
    assert torch.equal(out[:, m[0] == 0], image[:, m[0] == 0])


def test_as_8bit_file_clips_and_rounds_like_a_saved_png():
    x = torch.tensor([-0.2, 0.0, 0.31, 0.50001, 1.0, 1.7])
    y = as_8bit_file(x)
    assert torch.allclose(y * 255, torch.tensor([0.0, 0.0, 79.0, 128.0, 255.0, 255.0]), atol=1e-4)


def test_camera_noise_is_signal_dependent_clipped_8_bit_and_seeded():
    from irae_hf.tasks.degradations import CAMERA_NOISE, camera_noise, linear_to_srgb, srgb_to_linear

    x = torch.linspace(0, 1, 256).repeat(3, 64, 1)  # dark to bright
    assert torch.allclose(linear_to_srgb(srgb_to_linear(x)), x, atol=1e-5)
    a, b = CAMERA_NOISE["low light"]
    y = camera_noise(x, a, b, seed=3)
    assert torch.equal(y, camera_noise(x, a, b, seed=3)) and not torch.equal(y, camera_noise(x, a, b, seed=4))
    assert y.min() >= 0 and y.max() <= 1 and torch.equal(y, (y * 255).round() / 255)
    err = (y - x).abs()
    assert err[..., 96:128].mean() > err[..., 250:].mean()  # mid-tones noisier than the clipped highlights
    assert (
        err[..., 128:160].mean() > camera_noise(x, *CAMERA_NOISE["moderate"], seed=3).sub(x).abs()[..., 128:160].mean()
    )


def test_bar_scratch_and_text_masks_are_seeded_and_sized():
    from scipy.ndimage import distance_transform_edt

    from irae_hf.tasks.degradations import bar_mask, scratch_mask, text_mask

    for make in (bar_mask, scratch_mask, text_mask):
        m = make(96, 160, seed=2)
        assert m.shape == (1, 96, 160) and torch.equal(m, make(96, 160, seed=2)) and 0 < m.mean() < 0.5
    assert bar_mask(96, 160, (128, 32), seed=0).sum() == 128 * 32
    for thickness in (3, 6):  # a scratch is its thickness across (wider only where two cross)
        widest = 2 * distance_transform_edt(scratch_mask(200, 300, thickness, seed=1)[0].numpy()).max()
        assert thickness - 1 <= widest <= 2 * thickness
