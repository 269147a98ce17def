"""irae_hf.io.tiff: every 16-bit RGB TIFF layout is read at full depth by its own tags (planar, tiled, LZW with a
predictor, big-endian, multi-page), premultiplied alpha is written back premultiplied, and layouts that cannot be
read right are refused in words, in the command line and the app alike."""

import warnings

import cv2
import numpy as np
import pytest
import tifffile

from irae_hf import IRAE
from irae_hf.cli import main as cli
from irae_hf.io.images import load_image, save_image
from irae_hf.io.sixteen_bit import deep_pixels, to_8bit


def photo16(h: int = 40, w: int = 56, seed: int = 0) -> np.ndarray:
    """16-bit RGB with every level possible (what an 8-bit decode cannot hold)."""
    return np.random.default_rng(seed).integers(0, 65536, (h, w, 3), dtype=np.uint16)


def write(path, pixels: np.ndarray, layout: str) -> None:
    if layout == "planar":  # the one Pillow decoded in an 8-bit mode, 20 % off
        tifffile.imwrite(path, np.moveaxis(pixels, 2, 0), planarconfig="separate", photometric="rgb")
    elif layout == "tiled":
        tifffile.imwrite(path, pixels, photometric="rgb", tile=(16, 16))
    elif layout == "lzw-predictor":  # libtiff through OpenCV: tifffile needs imagecodecs for LZW
        cv2.imwrite(str(path), pixels[..., ::-1], [cv2.IMWRITE_TIFF_COMPRESSION, 5, cv2.IMWRITE_TIFF_PREDICTOR, 2])
    elif layout == "big-endian":
        tifffile.imwrite(path, pixels, photometric="rgb", byteorder=">")
    elif layout == "deflate-predictor":
        tifffile.imwrite(path, pixels, photometric="rgb", compression="zlib", predictor=True)


@pytest.fixture(scope="module")
def identity(tmp_path_factory):
    """A fresh IRAE is the identity map: only the conversions act."""
    folder = tmp_path_factory.mktemp("identity")
    IRAE(width=8, depth=2).eval().save_pretrained(folder)
    return folder


@pytest.mark.parametrize("layout", ["planar", "tiled", "lzw-predictor", "big-endian", "deflate-predictor"])
def test_every_16_bit_layout_is_read_and_written_at_full_depth(tmp_path, identity, layout):
    stored = photo16()
    write(tmp_path / "shot.tif", stored, layout)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "read as 8 bits" note
        image = load_image(tmp_path / "shot.tif")
    assert np.array_equal(deep_pixels(image), stored) and np.array_equal(np.asarray(image), to_8bit(stored))
    assert cli(["restore", str(tmp_path / "shot.tif"), "--model", str(identity), "--sigma", "5", "-o",
                str(tmp_path / "out")]) == 0  # fmt: skip
    out = cv2.imread(str(tmp_path / "out" / "shot_denoised.png"), cv2.IMREAD_UNCHANGED)[..., ::-1]
    assert out.dtype == np.uint16 and np.array_equal(out, stored)


def test_a_multi_page_tiff_restores_its_first_page_and_says_so(tmp_path, identity, capsys):
    first, second = photo16(seed=1), photo16(seed=2)
    tifffile.imwrite(tmp_path / "pages.tif", np.stack([first, second]), photometric="rgb")
    assert cli(["restore", str(tmp_path / "pages.tif"), "--model", str(identity), "--sigma", "5", "-o",
                str(tmp_path / "out")]) == 0  # fmt: skip
    assert "multi-page TIFF with 2 pages; restoring the first page only" in capsys.readouterr().err
    out = cv2.imread(str(tmp_path / "out" / "pages_denoised.png"), cv2.IMREAD_UNCHANGED)[..., ::-1]
    assert np.array_equal(out, first)


def test_premultiplied_alpha_is_written_back_premultiplied(tmp_path, identity):
    straight, alpha = photo16(seed=3), np.random.default_rng(4).integers(1, 65536, (40, 56, 1), dtype=np.uint16)
    stored = np.concatenate([np.round(straight * (alpha / 65535.0)), alpha], axis=2).astype(np.uint16)
    tifffile.imwrite(tmp_path / "assoc.tif", stored, photometric="rgb", extrasamples=["assocalpha"])
    image = load_image(tmp_path / "assoc.tif")
    assert image.mode == "RGBA"
    save_image(image, tmp_path / "again.tif")  # what a restoration writes, without the model
    with tifffile.TiffFile(tmp_path / "again.tif") as tif:
        assert [int(e) for e in tif.pages.first.extrasamples] == [1]  # associated, not relabelled as straight
        back = tif.pages.first.asarray()
    assert np.abs(back.astype(int) - stored).max() <= 1
    assert cli(["restore", str(tmp_path / "assoc.tif"), "--model", str(identity), "--sigma", "5", "--format",
                "tiff", "-o", str(tmp_path / "out")]) == 0  # fmt: skip
    with tifffile.TiffFile(tmp_path / "out" / "assoc_denoised.tiff") as tif:
        assert [int(e) for e in tif.pages.first.extrasamples] == [1]
        assert np.abs(tif.pages.first.asarray().astype(int) - stored).max() <= 1


def test_a_16_bit_layout_that_cannot_be_read_right_is_refused_in_words(tmp_path, identity, capsys):
    cmyk = np.random.default_rng(5).integers(0, 65536, (16, 16, 4), dtype=np.uint16)
    tifffile.imwrite(tmp_path / "cmyk.tif", cmyk, photometric="separated")
    with pytest.raises(ValueError, match="16-bit uint TIFF with 4 samples per pixel \\(separated\\) is not supported"):
        load_image(tmp_path / "cmyk.tif")
    assert cli(["restore", str(tmp_path / "cmyk.tif"), "--model", str(identity), "--sigma", "5", "-o",
                str(tmp_path / "out")]) == 1  # fmt: skip
    err = capsys.readouterr().err
    assert (
        "is not supported" in err and "Traceback" not in err and not (tmp_path / "out" / "cmyk_denoised.png").exists()
    )


def test_the_app_reads_a_planar_16_bit_tiff_by_its_tags(tmp_path):
    """Gradio's own decode of the planar file is 8-bit garbage: the app shows and restores the file's pixels."""
    from irae_hf.demo.uploads import _remembering

    stored = photo16()
    write(tmp_path / "planar.tif", stored, "planar")
    decoded_by_gradio = np.zeros((40, 56, 3), np.uint8)

    class Sent:
        path, orig_name = str(tmp_path / "planar.tif"), "planar.tif"

    upload = _remembering(decoded_by_gradio, Sent())
    assert np.array_equal(upload.deep, stored) and np.array_equal(np.asarray(upload), to_8bit(stored))
    tifffile.imwrite(tmp_path / "cmyk.tif", np.zeros((8, 8, 4), np.uint16), photometric="separated")
    Sent.path, Sent.orig_name = str(tmp_path / "cmyk.tif"), "cmyk.tif"
    with pytest.raises(Exception, match="cmyk.tif: a 16-bit uint TIFF .* is not supported"):
        _remembering(np.zeros((8, 8, 3), np.uint8), Sent())
