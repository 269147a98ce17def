"""The JPEG quality a file was saved at, read from its quantization tables (a fact of the file, like its EXIF)."""

from __future__ import annotations

import io
from functools import lru_cache

import numpy as np
from PIL import Image

__all__ = ["jpeg_quality_from_tables"]


@lru_cache(maxsize=1)
def _ijg_tables() -> np.ndarray:
    """Pillow's (IJG) luminance and chrominance tables at qualities 1–100, as Pillow reports them: 100×2×64."""
    tiny = Image.new("RGB", (16, 16))
    tables = []
    for q in range(1, 101):
        buf = io.BytesIO()
        tiny.save(buf, format="JPEG", quality=q)
        found = Image.open(buf).quantization
        tables.append([list(found[0]), list(found.get(1, found[0]))])
    return np.asarray(tables, dtype=np.float64)


def jpeg_quality_from_tables(image: Image.Image) -> int | None:
    """The JPEG quality of an opened JPEG file, read from its quantization tables: exact for IJG-scaled tables
    (Pillow, libjpeg, most software), the nearest IJG quality (in log-table distance) for other encoders'
    tables. None when ``image`` is not a JPEG file (no tables) or its tables are invalid."""
    found = getattr(image, "quantization", None)
    if not found:
        return None
    luma = np.asarray(list(found[0]), dtype=np.float64)
    chroma = np.asarray(list(found.get(1, found[0])), dtype=np.float64)
    if luma.size != 64 or chroma.size != 64 or (luma <= 0).any() or (chroma <= 0).any():
        return None  # not tables a decoder accepts (a damaged file): the pixels decide instead
    reference = np.log(_ijg_tables())
    distance = np.abs(reference[:, 0] - np.log(luma)).sum(1) + np.abs(reference[:, 1] - np.log(chroma)).sum(1)
    return int(np.argmin(distance)) + 1
