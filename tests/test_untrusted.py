"""Untrusted files through the CLI: a fuzz test over every format Pillow writes, decompression bombs, and no
silent data loss (same-name inputs, the input folder as output, existing outputs, masks matched exactly)."""

import io
import resource
import struct
import warnings
import zlib

import numpy as np
import pytest
from PIL import Image

from irae_hf import IRAE
from irae_hf.cli import main
from irae_hf.io.images import load_image
from irae_hf.io.sixteen_bit import deep_pixels
from irae_hf.pipeline.restore import restore

from .conftest import make_model, png_declaring

#: every format this Pillow writes and reads back (JPEG 2000, AVIF, ICNS where built in)
FORMATS = ["PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP", "ICO", "PPM", "TGA", "PCX", "SGI", "IM", "DDS", "QOI"]
FORMATS += ["DIB", "SPIDER", "XBM", "MSP", "JPEG2000", "ICNS", "AVIF"]


def encoded(fmt: str) -> bytes:
    """A small valid file of ``fmt``, in a mode the format can hold."""
    rng = np.random.default_rng(0)
    img = Image.fromarray(rng.integers(0, 256, (16, 24, 3), dtype=np.uint8))
    img = img.convert("1") if fmt in ("XBM", "MSP") else img.convert("L") if fmt == "SPIDER" else img
    buf = io.BytesIO()
    img.save(buf, format=fmt)
    return buf.getvalue()


def mutations(data: bytes, rng: np.random.Generator, n: int) -> list[bytes]:
    """Seeded damage: flipped bytes, truncation, inserted and duplicated runs, a zeroed header field."""
    out = []
    for i in range(n):
        b = bytearray(data)
        kind = i % 5
        if kind == 0:
            for _ in range(int(rng.integers(1, 8))):
                b[int(rng.integers(len(b)))] = int(rng.integers(256))
        elif kind == 1:
            b = b[: int(rng.integers(1, len(b)))]
        elif kind == 2:
            at = int(rng.integers(len(b)))
            b[at:at] = rng.integers(0, 256, int(rng.integers(1, 64)), dtype=np.uint8).tobytes()
        elif kind == 3:
            at, size = int(rng.integers(len(b))), int(rng.integers(1, 32))
            b[at:at] = b[at : at + size] * int(rng.integers(2, 20))
        else:
            at = int(rng.integers(min(len(b), 64)))
            b[at : at + 4] = bytes([255, 255, 255, 127])[: len(b[at : at + 4])]
        out.append(bytes(b))
    return out


def test_fuzzed_files_in_every_format_give_a_clear_error_or_a_correct_result(tmp_path):
    """~20 formats × 16 mutations: load_image either gives an image that restores to the same size, or one
    ValueError line; never another exception, never unbounded memory."""
    model = make_model("denoise", width=8, depth=2)
    rng = np.random.default_rng(2026)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    counts = {"restored": 0, "refused": 0}
    available = [f for f in FORMATS if f in Image.SAVE and f in Image.OPEN]
    assert len(available) >= 15
    for fmt in available:
        try:
            data = encoded(fmt)
        except (OSError, ValueError, KeyError):  # an optional codec missing from this Pillow build
            continue
        for k, case in enumerate(mutations(data, rng, 16)):
            path = tmp_path / f"{fmt}-{k}.img"
            path.write_bytes(case)
            try:
                image = load_image(path, max_pixels=1_000_000)
            except ValueError as e:
                assert "\n" not in str(e) and str(path) in str(e)
                counts["refused"] += 1
                continue
            try:
                out = restore(model, image, sigma=25, tile=64)
            except ValueError as e:  # e.g. an empty image: refused clearly
                assert "\n" not in str(e)
                counts["refused"] += 1
                continue
            assert out.size == image.size
            counts["restored"] += 1
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 1024
    assert counts["restored"] > 20 and counts["refused"] > 20, counts
    assert grown_mb < 500, f"peak memory grew by {grown_mb:.0f} MB"


@pytest.mark.parametrize("size", [(12000, 12000), (32, 5_439_492), (100_000, 1000)])
def test_decompression_bombs_are_refused_before_decoding(tmp_path, size):
    path = tmp_path / "bomb.png"
    path.write_bytes(png_declaring(*size))
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(ValueError, match="over the limit|more pixels than the limit"):
        load_image(path)
    assert (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 1024 < 50


def test_a_tiff_bomb_is_refused_and_the_limit_can_be_raised(tmp_path):
    tall = Image.new("1", (32, 1_300_000))  # 41.6 MP, a few kB compressed
    tall.save(tmp_path / "tall.tif", compression="tiff_deflate")
    assert (tmp_path / "tall.tif").stat().st_size < 200_000
    with pytest.raises(ValueError, match="41.6 megapixels"):
        load_image(tmp_path / "tall.tif")
    assert load_image(tmp_path / "tall.tif", max_pixels=50_000_000).size == (32, 1_300_000)


@pytest.fixture
def model_dir(tmp_path):
    make_model("denoise", width=8, depth=2).save_pretrained(tmp_path / "model")
    return tmp_path / "model"


def photo(path, seed=0, size=(20, 16)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, size[::-1] + (3,), dtype=np.uint8)).save(path)


def restore_cli(model_dir, *args):
    return main(["restore", "--model", str(model_dir), "--sigma", "25", *map(str, args)])


def test_same_name_inputs_are_written_to_distinct_outputs(model_dir, tmp_path, capsys):
    photo(tmp_path / "in" / "a.png", 1)
    photo(tmp_path / "in" / "a.jpg", 2)
    photo(tmp_path / "d1" / "x.png", 3)
    photo(tmp_path / "d2" / "x.png", 4)
    assert (
        restore_cli(
            model_dir, tmp_path / "in", tmp_path / "d1" / "x.png", tmp_path / "d2" / "x.png", "-o", tmp_path / "out"
        )
        == 0
    )
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "a_denoised-1.png",
        "a_denoised-2.png",
        "x_denoised-1.png",
        "x_denoised-2.png",
    ]
    err = capsys.readouterr()
    assert "share the output name a_denoised.png" in err.err and "restored 4 of 4" in err.out
    first = np.asarray(Image.open(tmp_path / "out" / "a_denoised-1.png"))
    assert not np.array_equal(first, np.asarray(Image.open(tmp_path / "out" / "a_denoised-2.png")))


def test_inputs_are_never_overwritten_and_outputs_only_with_overwrite(model_dir, tmp_path, capsys):
    photo(tmp_path / "in" / "p.png")
    before = (tmp_path / "in" / "p.png").read_bytes()
    assert restore_cli(model_dir, tmp_path / "in", "-o", tmp_path / "in", "--suffix", "", "--overwrite") == 2
    assert "is an input" in capsys.readouterr().err and (tmp_path / "in" / "p.png").read_bytes() == before
    assert restore_cli(model_dir, tmp_path / "in", "-o", tmp_path / "out") == 0
    assert restore_cli(model_dir, tmp_path / "in", "-o", tmp_path / "out") == 2
    assert "out/p_denoised.png already exists" in capsys.readouterr().err
    assert restore_cli(model_dir, tmp_path / "in", "-o", tmp_path / "out", "--overwrite") == 0


def test_masks_are_matched_by_exact_name(tmp_path, capsys):
    make_model("inpaint", width=8, depth=2).save_pretrained(tmp_path / "model")
    photo(tmp_path / "in" / "img[1].png")
    photo(tmp_path / "in" / "b.png")
    photo(tmp_path / "in" / "c.png")
    masks = tmp_path / "masks"
    masks.mkdir()
    full = np.zeros((16, 20), np.uint8)
    full[4:10, 5:12] = 255
    Image.fromarray(full).save(masks / "img[1].png")
    Image.fromarray(np.zeros((16, 20), np.uint8)).save(masks / "img1.png")  # a glob for img[1] would match this
    Image.fromarray(full).save(masks / "c.png")
    Image.fromarray(full).save(masks / "c.jpg")  # two masks for c: an error, not a guess
    args = ["restore", "--model", str(tmp_path / "model"), "--mask", str(masks), str(tmp_path / "in")]
    assert main(args + ["-o", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "b.png: needs exactly one mask named b.*" in err and "c.png: needs exactly one mask named c.*" in err
    out = np.asarray(Image.open(tmp_path / "out" / "img[1]_filled.png"))
    assert not np.array_equal(out, np.asarray(Image.open(tmp_path / "in" / "img[1].png")))  # the region was filled


def test_outputs_keep_bit_depth_and_range_where_the_format_can(model_dir, tmp_path, capsys):
    """16-bit grey to JPEG is 8 bits scaled (not clipped white), with a note; float TIFFs in 0–1 stay in 0–1;
    int32 TIFFs beyond 16 bits keep their range; CMYK's ICC profile is not copied onto the RGB result."""
    rng = np.random.default_rng(0)
    grey16 = rng.integers(20000, 40000, (16, 20), dtype=np.uint16)
    Image.fromarray(grey16).save(tmp_path / "g16.png")
    assert restore_cli(model_dir, tmp_path / "g16.png", "-o", tmp_path / "jpg", "--format", "jpg") == 0
    assert "saved as 8 bits in .jpg" in capsys.readouterr().err
    out = np.asarray(Image.open(tmp_path / "jpg" / "g16_denoised.jpg"), dtype=float)
    assert 60 < out.mean() < 170  # ≈ 30000 / 257, not 255
    assert restore_cli(model_dir, tmp_path / "g16.png", "-o", tmp_path / "png") == 0
    assert Image.open(tmp_path / "png" / "g16_denoised.png").mode.startswith("I;16")  # PNG holds 16 bits: kept

    floats = rng.uniform(0.2, 0.8, (16, 20)).astype(np.float32)
    Image.fromarray(floats, mode="F").save(tmp_path / "f.tif")
    identity = IRAE(width=8, depth=2).eval()  # a fresh IRAE is the identity map: only the conversions act
    out = np.asarray(restore(identity, Image.open(tmp_path / "f.tif"), sigma=5))
    assert np.abs(out - floats).max() < 1e-4

    wide = rng.integers(100_000, 2_000_000, (16, 20)).astype(np.int32)
    out = np.asarray(restore(identity, Image.fromarray(wide, mode="I"), sigma=1))
    assert np.abs(out.astype(np.int64) - wide).max() < 2000  # 32-bit range kept (float32 rounding of 2**31)

    cmyk = Image.new("CMYK", (20, 16), (10, 20, 30, 0))
    cmyk.info["icc_profile"] = b"not an RGB profile"
    out = restore(make_model("denoise", width=8, depth=2), cmyk, sigma=5)
    assert out.mode == "RGB" and "icc_profile" not in out.info


def test_masks_read_nonzero_as_missing():
    model = make_model("inpaint", width=8, depth=2)
    img = np.random.default_rng(1).integers(0, 256, (16, 20, 3), dtype=np.uint8)
    ones = np.zeros((16, 20), np.uint8)
    ones[4:9, 3:11] = 1  # a 0/1 mask, not 0/255
    a = np.asarray(restore(model, img, mask=ones))
    b = np.asarray(restore(model, img, mask=ones * 255))
    assert np.array_equal(a, b) and not np.array_equal(a, img)


def test_broken_weights_and_impossible_arguments_are_refused(model_dir, tmp_path, capsys):
    import torch

    model = make_model("denoise", width=8, depth=2)
    with torch.no_grad():
        next(model.parameters()).fill_(float("nan"))
    model.save_pretrained(tmp_path / "nan")
    photo(tmp_path / "in" / "p.png")
    assert restore_cli(tmp_path / "nan", tmp_path / "in", "-o", tmp_path / "out") == 1
    assert "NaN or Inf" in capsys.readouterr().err and not (tmp_path / "out" / "p_denoised.png").exists()
    image = np.zeros((40, 40, 3), np.uint8)
    for overlap in (-100, -1, 2.5, True):
        with pytest.raises(ValueError, match="overlap"):
            restore(make_model("denoise", width=8, depth=2), image, sigma=5, tile=16, overlap=overlap)


def test_16_bit_colour_is_read_and_written_at_16_bits(model_dir, tmp_path, capsys):
    rows = np.random.default_rng(3).integers(0, 65536, (6, 8, 3), dtype=np.uint16).astype(">u2")
    raw = b"".join(b"\0" + row.tobytes() for row in rows)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 6, 16, 2, 0, 0, 0))
    (tmp_path / "rgb16.png").write_bytes(png + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "read as 8 bits" note: OpenCV reads the full depth
        image = load_image(tmp_path / "rgb16.png")
    assert image.size == (8, 6) and np.array_equal(deep_pixels(image), rows.astype(np.uint16))
    assert restore_cli(model_dir, tmp_path / "rgb16.png", "-o", tmp_path / "out") == 0
    assert "16-bit" not in capsys.readouterr().err
    assert deep_pixels(load_image(tmp_path / "out" / "rgb16_denoised.png")) is not None  # written back at 16 bits
