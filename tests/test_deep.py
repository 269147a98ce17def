"""irae_hf.io.sixteen_bit and 16-bit colour through load_image, restore, save_image and the command line: the precision
photographers come with is kept, in PNG and TIFF, with orientation and ICC profile."""

import io
import warnings

import cv2
import numpy as np
import pytest
import tifffile
from PIL import Image

from irae_hf import IRAE
from irae_hf.cli import main as cli
from irae_hf.io.images import load_image, save_image
from irae_hf.io.sixteen_bit import DEEP, deep_pixels, to_8bit
from irae_hf.models.registry import load_model
from irae_hf.pipeline.restore import restore

ICC = b"\0\0\0\x18fake ICC profile bytes!!"  # any bytes: kept, not interpreted


def gradient(h: int = 96, w: int = 384, seed: int = 0) -> np.ndarray:
    """A smooth 16-bit colour photo: ramps over the whole range (thousands of levels per channel)."""
    y, x = np.mgrid[0:h, 0:w] / np.array([h, w])[:, None, None]
    rgb = np.stack([0.1 + 0.8 * x, 0.2 + 0.6 * (x + y) / 2, 0.9 - 0.7 * y], axis=2)
    return np.round(rgb * 65535).astype(np.uint16)


def noisy(clean: np.ndarray, sigma8: float, seed: int = 0) -> np.ndarray:
    """Gaussian noise of σ ``sigma8`` in 8-bit units, kept at 16 bits."""
    noise = np.random.default_rng(seed).normal(0, sigma8 * 257, clean.shape)
    return np.clip(np.round(clean + noise), 0, 65535).astype(np.uint16)


def psnr16(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) / 65535 - b.astype(np.float64) / 65535) ** 2)
    return 10 * np.log10(1 / mse)


def test_a_noisy_16_bit_photo_is_restored_at_16_bits_and_beats_the_8_bit_route(tmp_path):
    clean = gradient()
    cv2.imwrite(str(tmp_path / "noisy.png"), noisy(clean, 8)[..., ::-1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # read at full depth: no "read as 8 bits" note
        photo = load_image(tmp_path / "noisy.png")
    assert photo.mode == "RGB" and deep_pixels(photo) is not None
    model = load_model("pretrained/denoise")
    deep = restore(model, photo, sigma=8)
    out16 = deep_pixels(deep)
    assert out16.dtype == np.uint16 and all(len(np.unique(out16[..., c])) > 256 for c in range(3))
    route8 = restore(model, Image.fromarray(to_8bit(deep_pixels(photo))), sigma=8)
    psnr8 = psnr16(np.asarray(route8).astype(np.uint16) * 257, clean)
    assert psnr16(out16, clean) >= psnr8
    save_image(deep, tmp_path / "out.png")
    back = cv2.imread(str(tmp_path / "out.png"), cv2.IMREAD_UNCHANGED)[..., ::-1]
    assert back.dtype == np.uint16 and np.array_equal(back, out16)


def test_a_raw_developers_16_bit_tiff_round_trips_size_depth_and_orientation(tmp_path):
    """A portrait shot stored sideways (orientation 6), as RAW developers write 16-bit TIFFs; the identity map (a
    fresh IRAE) shows that only the conversions act."""
    stored = gradient(64, 96)
    tifffile.imwrite(tmp_path / "shot.tif", stored, photometric="rgb", extratags=[(274, "H", 1, 6, True)])
    identity = IRAE(width=8, depth=2).eval()
    identity.save_pretrained(tmp_path / "identity")
    assert cli(["restore", str(tmp_path / "shot.tif"), "--model", str(tmp_path / "identity"), "--sigma", "5",
                "--format", "tiff", "-o", str(tmp_path / "out")]) == 0  # fmt: skip
    out = tifffile.imread(tmp_path / "out" / "shot_denoised.tiff")
    upright = np.rot90(stored, k=-1)  # orientation 6: turn 90° clockwise to view
    assert out.dtype == np.uint16 and out.shape == (96, 64, 3) and np.array_equal(out, upright)
    made_by_opencv = gradient(40, 56)
    cv2.imwrite(str(tmp_path / "cv.tif"), made_by_opencv[..., ::-1])
    assert cli(["restore", str(tmp_path / "cv.tif"), "--model", str(tmp_path / "identity"), "--sigma", "5",
                "-o", str(tmp_path / "png")]) == 0  # fmt: skip
    png = cv2.imread(str(tmp_path / "png" / "cv_denoised.png"), cv2.IMREAD_UNCHANGED)[..., ::-1]
    assert png.dtype == np.uint16 and np.array_equal(png, made_by_opencv)


def test_alpha_and_the_icc_profile_are_kept_at_16_bits(tmp_path):
    rgba = np.concatenate([gradient(32, 48), np.full((32, 48, 1), 40000, np.uint16)], axis=2)
    photo = load_image(io.BytesIO(_png_with_icc(rgba)))
    assert photo.mode == "RGBA" and photo.info["icc_profile"] == ICC
    out = restore(IRAE(width=8, depth=2).eval(), photo, sigma=5)
    save_image(out, tmp_path / "out.png")
    again = load_image(tmp_path / "out.png")
    assert again.info["icc_profile"] == ICC and np.array_equal(deep_pixels(again), rgba)


def _png_with_icc(pixels: np.ndarray) -> bytes:
    buf = io.BytesIO()
    save_image(_deep_image(pixels, {"icc_profile": ICC}), buf, "PNG")
    return buf.getvalue()


def _deep_image(pixels, info):
    from irae_hf.io.sixteen_bit import attach

    return attach(pixels, info)


def test_formats_that_hold_8_bits_say_so_and_edited_images_use_their_own_pixels(tmp_path, capsys):
    cv2.imwrite(str(tmp_path / "p.png"), gradient(32, 48)[..., ::-1])
    IRAE(width=8, depth=2).eval().save_pretrained(tmp_path / "m")
    assert cli(["restore", str(tmp_path / "p.png"), "--model", str(tmp_path / "m"), "--sigma", "5",
                "--format", "jpg", "-o", str(tmp_path / "jpg")]) == 0  # fmt: skip
    assert "16-bit colour saved as 8 bits in .jpg" in capsys.readouterr().err
    photo = load_image(tmp_path / "p.png")
    cropped = photo.crop((0, 0, 20, 20))  # Pillow copies info: the 16-bit pixels no longer match
    assert DEEP in cropped.info and deep_pixels(cropped) is None
    edited = photo.copy()
    edited.putpixel((0, 0), (255, 0, 0))
    assert deep_pixels(edited) is None
    out = restore(IRAE(width=8, depth=2).eval(), cropped, sigma=5)
    assert deep_pixels(out) is None and out.size == (20, 20)


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_orientations_turn_the_16_bit_pixels_as_pillow_turns_the_8_bit_image(tmp_path, orientation):
    stored = gradient(24, 40)
    tifffile.imwrite(tmp_path / "o.tif", stored, photometric="rgb", extratags=[(274, "H", 1, orientation, True)])
    photo = load_image(tmp_path / "o.tif")
    assert np.array_equal(to_8bit(deep_pixels(photo)), np.asarray(photo))
