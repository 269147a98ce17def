"""TIFF files read by their own tags (tifffile), not by the mode Pillow decodes them to.

Pillow decodes some 16-bit RGB TIFFs to 8 bits and others (separate colour planes) to garbage in an 8-bit mode, so
whether a TIFF is 16-bit colour, and how its samples are laid out, is decided from the first page's tags: 16-bit
RGB(A), chunky or planar, striped or tiled, any byte order and compression tifffile or OpenCV decode, is read at
full depth; premultiplied (associated) alpha is divided out for restoring and marked so that it is written back
premultiplied; a layout this package cannot restore correctly is refused in words, never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .opencv16 import opencv_rgb16

__all__ = ["TiffRefused", "TiffLayout", "tiff_layout", "read_tiff16", "ASSOCIATED", "unpremultiply", "premultiply"]

#: the key of ``PIL.Image.info`` that marks a TIFF's alpha as premultiplied (associated): written back that way
ASSOCIATED = "irae_associated_alpha"


class TiffRefused(ValueError):
    """A TIFF whose layout or pixels this package cannot read correctly: said in words, never guessed."""


@dataclass(frozen=True)
class TiffLayout:
    """What the first page's tags say about its samples."""

    bits: int
    samples: int
    photometric: str  # "rgb", "minisblack", "miniswhite", "palette", "separated", "ycbcr", ...
    sample_format: str  # "uint", "int", "ieeefp", ...
    associated_alpha: bool

    @property
    def deep_colour(self) -> bool:
        """16-bit unsigned RGB or RGBA: read at full depth by :func:`read_tiff16`."""
        return self.bits == 16 and self.sample_format == "uint" and self.photometric == "rgb" and self.samples in (3, 4)

    def problem(self) -> str | None:
        """Why this layout is refused (16-bit data that only a full-depth reader would get right), or None."""
        if self.bits != 16 or self.deep_colour:
            return None
        if self.photometric in ("minisblack", "miniswhite") and self.samples == 1 and self.sample_format == "uint":
            return None  # 16-bit grey: Pillow reads it at full depth
        return (
            f"a {self.bits}-bit {self.sample_format} TIFF with {self.samples} samples per pixel ({self.photometric}) "
            "is not supported; save it as 8- or 16-bit RGB, RGBA or grey"
        )


def _opened(source: Any):  # noqa: ANN202 - tifffile.TiffFile
    """tifffile on ``source`` (a path, or a binary file rewound to its start): it reads the tags and the first page's
    pixels it needs, not the whole file."""
    import tifffile

    if not isinstance(source, (str, Path)):
        source.seek(0)
    return tifffile.TiffFile(source)


def tiff_layout(source: Any) -> TiffLayout:
    """The first page's layout of the TIFF ``source`` (a path or a binary file); TiffRefused if tifffile cannot parse
    it."""
    import tifffile

    try:
        with _opened(source) as tif:
            page = tif.pages.first
            extra = tuple(int(e) for e in (page.extrasamples or ()))
            return TiffLayout(
                bits=int(page.bitspersample),
                samples=int(page.samplesperpixel),
                photometric=tifffile.PHOTOMETRIC(page.photometric).name.lower(),
                sample_format=tifffile.SAMPLEFORMAT(page.sampleformat).name.lower(),
                associated_alpha=page.samplesperpixel == 4 and extra[:1] == (1,),
            )
    except Exception as e:  # noqa: BLE001 - tifffile raises TiffFileError, ValueError, struct.error, ...
        raise TiffRefused(f"its TIFF tags cannot be read ({type(e).__name__})") from None


def read_tiff16(source: Any) -> np.ndarray:
    """The first page of a 16-bit RGB(A) TIFF as stored (H×W×3 or ×4 uint16, alpha as stored): tifffile, or OpenCV
    for compressions tifffile cannot decode without imagecodecs (LZW, JPEG ...); TiffRefused if neither can."""
    try:
        with _opened(source) as tif:
            page = tif.pages.first
            pixels, axes = page.asarray(), page.axes
        if axes.startswith("S"):  # separate planes: samples first
            pixels = np.moveaxis(pixels, 0, -1)
    except Exception:  # noqa: BLE001 - a codec tifffile lacks: OpenCV (libtiff) decodes it
        pixels = opencv_rgb16(source)
        if pixels is None:
            raise TiffRefused(
                "neither tifffile nor OpenCV (opencv-python-headless) can decode its 16-bit pixels"
            ) from None
    if pixels.dtype != np.uint16 or pixels.ndim != 3 or pixels.shape[2] not in (3, 4):
        raise TiffRefused(f"its 16-bit pixels were read with shape {pixels.shape} ({pixels.dtype}), not RGB(A)")
    return np.ascontiguousarray(pixels)


def unpremultiply(pixels: np.ndarray) -> np.ndarray:
    """16-bit RGBA with colour premultiplied by alpha → straight colour (transparent pixels: black)."""
    alpha = pixels[..., 3:].astype(np.float64)
    colour = np.where(alpha > 0, pixels[..., :3] * 65535.0 / np.maximum(alpha, 1), 0)
    return np.concatenate([np.clip(np.rint(colour), 0, 65535), alpha], axis=2).astype(np.uint16)


def premultiply(pixels: np.ndarray) -> np.ndarray:
    """16-bit RGBA with straight colour → colour premultiplied by alpha (as associated-alpha TIFFs store it)."""
    alpha = pixels[..., 3:].astype(np.float64)
    colour = np.rint(pixels[..., :3] * alpha / 65535.0)
    return np.concatenate([colour, alpha], axis=2).astype(np.uint16)
