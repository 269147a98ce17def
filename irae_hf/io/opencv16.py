"""16-bit colour pixels decoded by OpenCV: Pillow reads 16-bit RGB(A) PNGs and TIFFs at 8 bits, tifffile lacks some
TIFF codecs; ``sixteen_bit`` and ``tiff`` both fall back to this one decoder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["opencv_rgb16"]


def opencv_rgb16(source: Any) -> np.ndarray | None:
    """The 16-bit RGB(A) pixels OpenCV decodes from the file ``source`` (a path or a binary file), as stored; None
    when OpenCV is not installed or decodes something else."""
    try:
        import cv2
    except ImportError:
        return None
    if isinstance(source, (str, Path)):
        data = Path(source).read_bytes()
    else:
        source.seek(0)
        data = source.read()
    pixels = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if pixels is None or pixels.dtype != np.uint16 or pixels.ndim != 3 or pixels.shape[2] not in (3, 4):
        return None
    return pixels[..., [2, 1, 0, 3][: pixels.shape[2]]]  # OpenCV's BGR(A) to RGB(A)
