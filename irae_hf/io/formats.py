"""Which image files the package reads, and how large: plain constants (no torch), so the command line's help and
argument errors come back at once."""

from __future__ import annotations

from PIL import Image

__all__ = ["IMAGE_SUFFIXES", "MAX_PIXELS"]

#: file suffixes Pillow reads (lower case, with the dot): folders are searched for these
IMAGE_SUFFIXES = {e.lower() for e in Image.registered_extensions()}

#: the largest image ``load_image`` decodes by default, in pixels (tiling keeps memory bounded up to here)
MAX_PIXELS = 40_000_000
