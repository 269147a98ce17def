"""16-bit colour files: read at full depth, restored in float, written back at 16 bits where the format allows.

Pillow decodes 16-bit RGB(A) PNG and TIFF files to 8 bits. ``load_image`` reads their full-depth pixels with OpenCV
(upright by the file's orientation, as Pillow would turn the 8-bit image) and keeps them with the 8-bit image it
returns, in ``image.info[DEEP]``; ``images.to_batch`` restores from them, ``images.from_batch`` hands the restored
16-bit pixels back the same way, and :func:`save_deep` writes them as a 16-bit PNG (with the ICC profile) or TIFF.
The 16-bit pixels are used only while they still match the 8-bit image (same size, same pixels to the nearest
8-bit level): an image edited after loading falls back to its 8-bit pixels.
"""

from __future__ import annotations

import io
import struct
import warnings
import zlib
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from .opencv16 import opencv_rgb16
from .tiff import ASSOCIATED, premultiply

__all__ = ["DEEP", "read_deep", "attach", "deep_pixels", "save_deep", "DEEP_FORMATS", "to_8bit", "upright_pixels"]

#: the key of ``PIL.Image.info`` that holds an image's full-depth pixels (H×W×3 or ×4 uint16, upright)
DEEP = "irae_uint16"
#: the formats written at 16 bits (others get the 8-bit image)
DEEP_FORMATS = {"PNG", "TIFF"}
#: Pillow's transposes for EXIF / TIFF orientations 2–8 (what ``ImageOps.exif_transpose`` applies)
_TURNS = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def is_deep(img: Image.Image) -> bool:
    """Whether Pillow is about to decode a 16-bit-per-channel colour file to 8 bits."""
    return img.mode in ("RGB", "RGBA") and any(";16" in str(t.args) for t in (img.tile or []))


def read_deep(source: Any, img: Image.Image) -> np.ndarray | None:
    """The full-depth RGB(A) pixels of the 16-bit file ``source`` (a path or a binary file), upright by ``img``'s
    orientation; None when OpenCV is not installed or reads something else."""
    pixels = opencv_rgb16(source)
    return None if pixels is None else upright_pixels(pixels, img.getexif().get(0x0112, 1))


def upright_pixels(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """``pixels`` turned as Pillow turns an image with this EXIF / TIFF orientation (1: as stored)."""
    turn = _TURNS.get(orientation)
    if turn is None:
        return np.ascontiguousarray(pixels)
    channels = [np.asarray(Image.fromarray(np.ascontiguousarray(c)).transpose(turn)) for c in np.moveaxis(pixels, 2, 0)]
    return np.stack(channels, axis=2)


def to_8bit(pixels: np.ndarray) -> np.ndarray:
    """16-bit levels to the nearest 8-bit ones (v / 257, rounded)."""
    return ((pixels.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)


def attach(pixels: np.ndarray, info: dict | None = None) -> Image.Image:
    """The 8-bit PIL image of 16-bit ``pixels`` (RGB or RGBA) holding them in ``info[DEEP]``, with ``info``."""
    image = Image.fromarray(to_8bit(pixels), mode="RGBA" if pixels.shape[2] == 4 else "RGB")
    image.info.update(info or {})
    image.info[DEEP] = pixels
    return image


def deep_pixels(image: Image.Image) -> np.ndarray | None:
    """The 16-bit pixels ``image`` holds, if they still are its pixels (an edited or resized image's are not)."""
    pixels = image.info.get(DEEP)
    if not isinstance(pixels, np.ndarray) or pixels.dtype != np.uint16 or pixels.ndim != 3:
        return None
    wanted = {"RGB": 3, "RGBA": 4}.get(image.mode)
    if pixels.shape != (image.height, image.width, wanted):
        return None
    return pixels if np.array_equal(to_8bit(pixels), np.asarray(image)) else None


def save_deep(image: Image.Image, target: Any, format: str) -> bool:  # noqa: A002 - Pillow's word
    """Write ``image``'s 16-bit pixels as ``format`` (PNG or TIFF) to ``target`` (a path or binary file), with its
    ICC profile; False (nothing written) when it holds none or the format stores only 8 bits."""
    pixels = deep_pixels(image)
    if pixels is None or format.upper() not in DEEP_FORMATS:
        return False
    icc = image.info.get("icc_profile")
    associated = bool(image.info.get(ASSOCIATED)) and pixels.shape[2] == 4  # a premultiplied TIFF's alpha, kept so
    data = _png(pixels, icc) if format.upper() == "PNG" else _tiff(pixels, icc, associated)
    if isinstance(target, (str, Path)):
        Path(target).write_bytes(data)
    else:
        target.write(data)
    return True


def _png(pixels: np.ndarray, icc: bytes | None) -> bytes:
    """A 16-bit PNG (OpenCV's encoder) with an iCCP chunk after IHDR when there is a profile."""
    import cv2

    ok, encoded = cv2.imencode(".png", pixels[..., [2, 1, 0, 3][: pixels.shape[2]]])
    if not ok:
        raise ValueError("OpenCV could not encode the 16-bit PNG")
    data = encoded.tobytes()
    if not icc:
        return data
    body = b"ICC profile\0\0" + zlib.compress(icc)
    chunk = struct.pack(">I", len(body)) + b"iCCP" + body + struct.pack(">I", zlib.crc32(b"iCCP" + body) & 0xFFFFFFFF)
    end_of_header = 8 + 8 + 13 + 4  # signature, IHDR's length and type, its 13 bytes, its CRC
    return data[:end_of_header] + chunk + data[end_of_header:]


def _tiff(pixels: np.ndarray, icc: bytes | None, associated: bool = False) -> bytes:
    """A 16-bit RGB(A) TIFF (tifffile, deflate) with the ICC profile; alpha premultiplied if ``associated``."""
    import tifffile

    buffer = io.BytesIO()
    extra = {"extrasamples": ["assocalpha" if associated else "unassalpha"]} if pixels.shape[2] == 4 else {}
    pixels = premultiply(pixels) if associated else pixels
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tifffile.imwrite(buffer, pixels, photometric="rgb", compression="zlib", iccprofile=icc or None, **extra)
    return buffer.getvalue()
