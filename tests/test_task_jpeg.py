"""irae_hf.tasks.jpeg: the quality level, read from a file's tables or its pixels; "no sign of JPEG" left alone."""

import io

import numpy as np
import pytest
import torch
from PIL import Image

from irae_hf.tasks import TASKS
from irae_hf.tasks.degradations import jpeg_compress
from irae_hf.tasks.jpeg import file_quality

JPEG = TASKS["jpeg"]


def photo(seed=0):
    base = np.random.default_rng(seed).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    return Image.fromarray(base).resize((128, 128), Image.BICUBIC)


def test_a_files_tables_win_over_its_pixels():
    buf = io.BytesIO()
    photo().save(buf, format="JPEG", quality=35)
    opened = Image.open(buf)
    opened.info["jpeg_quality"] = 35  # what images.load_image keeps
    assert file_quality(opened) == 35
    assert JPEG.estimate(opened, []) == ([35], "tables")


def test_pixels_give_the_quality_or_no_compression():
    clean = torch.from_numpy(np.asarray(photo(1), dtype=np.float32) / 255).permute(2, 0, 1)
    saved = (jpeg_compress(clean, 30) * 255).round().byte().permute(1, 2, 0).numpy()
    values, source = JPEG.estimate(saved, [saved])
    assert source == "pixels" and abs(values[0] - 30) <= 2
    untouched = np.asarray(photo(2))
    values, _ = JPEG.estimate(untouched, [untouched])
    assert values == [None] and JPEG.unchanged(None) and not JPEG.unchanged(30)
    assert JPEG.estimate_note({"quality": None}, "pixels") == "no sign of JPEG compression: left unchanged"
    assert JPEG.estimate_note({"quality": 30}, "tables") == "JPEG quality 30 (read from its JPEG tables)"


def test_the_level_is_a_whole_quality_from_1_to_100():
    x = torch.zeros(2, 3, 8, 8)
    assert torch.allclose(JPEG.condition(x, 20), torch.full((2, 1, 8, 8), 0.2))
    with pytest.raises(ValueError, match="quality must be in"):
        JPEG.condition(x, 0)
    assert JPEG.parse_setting("30") == 30 and JPEG.words({"quality": 30}) == "JPEG quality 30"


def _saved(image: Image.Image, steps) -> Image.Image:
    for quality, subsampling in steps:
        buf = io.BytesIO()
        image.save(buf, format="JPEG", quality=quality, subsampling=subsampling)
        image = Image.open(io.BytesIO(buf.getvalue()))
        image.load()
    image.info["jpeg_quality"] = steps[-1][0]  # what images.load_image reads from the last save's tables
    return image


def test_4_4_4_and_twice_saved_jpegs_are_read_from_their_pixels():
    from skimage import data

    real = Image.fromarray(data.astronaut()[:256, :256])
    no_subsampling = _saved(real, [(25, 0)])
    pixels = np.asarray(no_subsampling.convert("RGB"))
    assert JPEG.estimate(pixels, [pixels]) == ([25], "pixels")  # 4:4:4: re-encoded at 4:4:4 to find the ghost
    twice = _saved(real, [(30, 2), (90, 2)])
    values, source = JPEG.estimate(twice, [np.asarray(twice.convert("RGB"))])
    assert source == "twice" and abs(values[0] - 30) <= 2  # the tables say 90; the stronger q30 shows underneath
    assert "under the file's last, lighter compression" in JPEG.estimate_note({"quality": values[0]}, source)
    once = _saved(real, [(90, 2)])
    assert JPEG.estimate(once, [np.asarray(once.convert("RGB"))]) == ([90], "tables")
