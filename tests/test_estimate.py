"""irae_hf.tasks.estimate: σ and JPEG quality estimated blind, on images the tests make (scikit-image's bundled
photos)."""

import io
import warnings

import numpy as np
import pytest
from PIL import Image
from skimage import data

from irae_hf.io.images import to_tensor, to_uint8
from irae_hf.io.jpeg_tables import jpeg_quality_from_tables
from irae_hf.tasks.degradations import add_gaussian_noise
from irae_hf.tasks.estimate import NO_COMPRESSION, estimate_sigma, jpeg_quality_from_pixels


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return data.chelsea()  # 451×300 RGB, never JPEG-compressed by us


def jpeg_file(rgb: np.ndarray, quality: int, **kw) -> Image.Image:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=quality, **kw)
    return Image.open(io.BytesIO(buf.getvalue()))


@pytest.mark.parametrize("sigma", [5, 15, 25, 50])
def test_a_known_sigma_is_estimated_within_tolerance(photo, sigma):
    noisy = to_uint8(add_gaussian_noise(to_tensor(photo), sigma, seed=1))  # clipped to 8 bits, as saved files are
    assert abs(estimate_sigma(noisy) - sigma) < max(2.5, 0.12 * sigma)


def test_a_clean_photo_has_sigma_near_zero_and_no_compression(photo):
    assert estimate_sigma(photo) < 2.5
    assert jpeg_quality_from_pixels(photo) is NO_COMPRESSION
    assert jpeg_quality_from_tables(Image.fromarray(photo)) is None  # a PNG-like image has no tables


@pytest.mark.parametrize("value", [0, 77, 255])
def test_flat_and_tiny_images_read_sigma_0_and_no_compression(value):
    """A black frame read σ nan (then an error) and quality 6; a 1×1 image σ nan: nothing to read is 0 / none."""
    flat = np.full((64, 64, 3), value, np.uint8)
    assert estimate_sigma(flat) == 0.0 and jpeg_quality_from_pixels(flat) is NO_COMPRESSION
    assert estimate_sigma(flat[:1, :1]) == 0.0 and estimate_sigma(flat[:3, :]) == 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and no numpy warnings on the way
        assert estimate_sigma(np.zeros((4, 700, 3), np.uint8)) == 0.0


def test_two_tones_read_sigma_0_sharper_patterns_at_most_255_and_a_smooth_jpeg_still_its_quality():
    bits = np.asarray(Image.fromarray(np.random.default_rng(0).integers(0, 256, (40, 50), np.uint8)).convert("1"))
    assert estimate_sigma(np.repeat(bits[..., None] * np.uint8(255), 3, axis=2)) == 0.0  # a 1-bit image read 550
    checkers = (np.indices((40, 50)).sum(0) % 2 * 255).astype(np.uint8)
    checkers[::7, ::5] = 128  # three tones
    assert estimate_sigma(np.repeat(checkers[..., None], 3, axis=2)) == 255.0  # 500+ unclamped
    y, x = np.mgrid[0:256, 0:256]
    gradient = np.stack([x * 0.3 + 40, y * 0.2 + 90, (x + y) * 0.15 + 120], -1).astype(np.uint8)
    for quality in (10, 90):  # little detail (a mean step of 0.2 between neighbours), yet compressed
        assert jpeg_quality_from_pixels(np.asarray(jpeg_file(gradient, quality).convert("RGB"))) == quality


@pytest.mark.parametrize("quality", [5, 10, 20, 37, 50, 75, 90, 100])
def test_a_jpeg_reads_back_its_quality_from_its_tables(photo, quality):
    assert jpeg_quality_from_tables(jpeg_file(photo, quality)) == quality


def test_other_encoders_tables_map_to_the_nearest_ijg_quality(photo):
    strong = jpeg_file(photo, 30)
    tables = {k: [min(255, round(v * 1.1)) for v in t] for k, t in strong.quantization.items()}  # a foreign scaling
    buf = io.BytesIO()
    Image.fromarray(photo).save(buf, format="JPEG", qtables=[tables[0], tables[1]])
    estimated = jpeg_quality_from_tables(Image.open(buf))
    assert 20 <= estimated <= 30


def test_invalid_tables_read_as_unknown_without_warnings(photo):
    """A damaged file's zero entries (no decoder divides by them) give None: the pixels decide, nothing is printed."""
    damaged = jpeg_file(photo, 30)
    damaged.quantization = {0: [0] * 64, 1: list(damaged.quantization[1])}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert jpeg_quality_from_tables(damaged) is None


@pytest.mark.parametrize("quality", [10, 25, 40, 50])
def test_the_quality_of_decoded_pixels_is_found_within_5(photo, quality):
    pixels = np.asarray(jpeg_file(photo, quality).convert("RGB"))
    found = jpeg_quality_from_pixels(pixels)
    assert found is not None and abs(found - quality) <= 5


def test_restore_defaults_to_auto_levels(photo, tmp_path):
    from irae_hf.io.images import load_image
    from irae_hf.pipeline.restore import estimate_level, restore

    from .conftest import make_model

    denoiser, jpeg = make_model("denoise"), make_model("jpeg")
    noisy = to_uint8(add_gaussian_noise(to_tensor(photo), 20, seed=2))
    sigma = estimate_level(denoiser, noisy)["sigma"]
    assert abs(sigma - 20) < 3
    assert np.array_equal(restore(denoiser, noisy), restore(denoiser, noisy, sigma=sigma))
    assert np.array_equal(restore(denoiser, noisy, sigma="auto"), restore(denoiser, noisy, sigma=sigma))

    jpeg_file(photo, 30).save(tmp_path / "x.jpg", quality=30)
    opened = load_image(tmp_path / "x.jpg")
    assert opened.info["jpeg_quality"] == 30 and estimate_level(jpeg, opened) == {"quality": 30}
    assert np.array_equal(np.asarray(restore(jpeg, opened)), np.asarray(restore(jpeg, opened, quality=30)))
    assert np.array_equal(restore(jpeg, photo), photo)  # no sign of compression: left unchanged
    with pytest.raises(ValueError, match="needs mask"):
        estimate_level(make_model("inpaint"), photo)
    with pytest.raises(ValueError, match="number or 'auto'"):
        restore(denoiser, noisy, sigma="lots")
