"""What a client sends, checked: uploads only from Gradio's cache, readable images under the pixel limit, levels in
range."""

from __future__ import annotations

import inspect
import math
import warnings
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np

from ..io.jpeg_tables import jpeg_quality_from_tables
from .options import pixel_limit

NO_IMAGE = "Upload an image first."


def check_image(image: np.ndarray | None) -> np.ndarray:
    """An uploaded picture as H×W×3 (alpha dropped, grey repeated), or the reason it cannot be used."""
    if image is None:
        raise gr.Error(NO_IMAGE)
    if image.shape[0] * image.shape[1] > pixel_limit():
        raise gr.Error(f"Image too large ({image.shape[1]}×{image.shape[0]}); the limit is {pixel_limit() / 1e6:g} MP.")
    return image[..., :3] if image.ndim == 3 else np.repeat(image[..., None], 3, axis=2)


class Upload(np.ndarray):
    """An uploaded picture's pixels that remember the file's name (for the download's name), for a JPEG file the
    quality its quantization tables say (decoded pixels alone only allow an estimate), and for a 16-bit colour file
    its 16-bit pixels (the browser shows 8 bits; restoration and the download keep 16)."""

    name: str | None = None
    jpeg_quality: int | None = None
    deep: np.ndarray | None = None

    def __array_finalize__(self, obj: np.ndarray | None) -> None:  # views and slices keep what the file said
        self.name = getattr(obj, "name", None)
        self.jpeg_quality = getattr(obj, "jpeg_quality", None)
        self.deep = getattr(obj, "deep", None)


def upload_problem(path: str | None, name: str | None) -> str | None:
    """What is wrong with an uploaded file, in words (None: an image under the pixel limit), before anything is
    decoded: Gradio's own decoding would fail with a bare "Error" badge, or decode a decompression bomb."""
    from PIL import Image, UnidentifiedImageError

    name = name or "the file"
    if path is None or not Path(path).is_file():
        return None
    if Path(path).stat().st_size == 0:
        return f"{name} is empty (0 bytes)."
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as im:
                width, height = im.size
    except UnidentifiedImageError:
        return f"{name} is not an image this app can read (PNG, JPEG, WebP, TIFF, BMP, GIF, ...)."
    except Exception as e:  # noqa: BLE001 - Image.DecompressionBombError and broken headers
        return f"{name} cannot be read as an image ({type(e).__name__})."
    if width * height > pixel_limit():
        return f"{name} is {width}×{height}, over the limit of {pixel_limit() / 1e6:g} megapixels."
    return None


NOT_UPLOADED = "Only images uploaded to this app can be restored: send the file itself, not a path."


def payload_paths(payload: Any) -> list[str]:
    """Every file path a client's payload names: an Image's file, or an editor's background, layers and composite."""
    files = [payload]
    if hasattr(payload, "background"):
        files = [payload.background, payload.composite, *(payload.layers or [])]
    return [str(f.path) for f in files if getattr(f, "path", None) is not None]


def from_upload_cache(path: str) -> bool:
    """Whether ``path`` (resolved, links followed) lies inside Gradio's upload cache, where this server stores what
    clients upload: a client can name any path in a payload, and Gradio checks it only where the payload says it is a
    file (``meta``), so every path is checked again here before a byte of it is read."""
    from gradio.utils import get_upload_folder

    cache = Path(get_upload_folder()).resolve()
    try:
        return Path(path).resolve().is_relative_to(cache)
    except (OSError, RuntimeError, ValueError):  # a loop of links, a NUL byte
        return False


def _worded(model: type) -> type:
    """``model`` (Gradio's pydantic data model of a component) whose validation failure is a ``gr.Error`` in words."""
    from pydantic import ValidationError

    class Worded(model):
        @classmethod
        def model_validate(cls, obj, *args, **kwargs):  # noqa: ANN001, ANN206 - pydantic's signature
            try:
                return super().model_validate(obj, *args, **kwargs)
            except ValidationError:
                what = (
                    "an uploaded image file"
                    if model.__name__ == "ImageData"
                    else ("an editor value (background, layers)")
                )
                raise gr.Error(
                    f"Expected {what}, got {type(obj).__name__}: send the image file itself (gradio_client.handle_file)"
                ) from None

    Worded.__name__ = Worded.__qualname__ = model.__name__
    return Worded


#: the ``elem_classes`` entry of an image box whose uploads are checked. A class, not a patch of the instance: Gradio
#: rebuilds a component from its constructor's arguments when an event updates it (an example's click, a new brush),
#: and the rebuilt one must check its uploads too.
CHECKED = "irae-checked-upload"


class _ForChecked:
    """A class attribute that is ``checked`` on components marked :data:`CHECKED` and ``plain`` on the others."""

    def __init__(self, plain: Any, checked: Any) -> None:
        self.plain, self.checked = plain, checked

    def __get__(self, component: Any, owner: type | None = None) -> Any:
        marked = component is not None and CHECKED in (getattr(component, "elem_classes", None) or [])
        value = self.checked if marked else self.plain
        return value.__get__(component, owner) if inspect.isfunction(value) else value  # a method binds


def checked_uploads(component: gr.components.Component) -> gr.components.Component:
    """``component`` (an Image or ImageEditor made with ``elem_classes=[CHECKED]``) checking each upload when it
    arrives and saying what is wrong in words; a payload of the wrong shape (``image=123``) is told what to send
    instead of Gradio's generic "upstream app raised an exception"."""
    if CHECKED not in (component.elem_classes or []):
        raise ValueError(f"make the {type(component).__name__} with elem_classes=[{CHECKED!r}]: Gradio rebuilds it")
    cls = type(component)
    if not isinstance(cls.__dict__.get("preprocess"), _ForChecked):
        decode = cls.preprocess

        def checked_preprocess(self, payload):  # noqa: ANN001, ANN202 - Gradio's signature
            return _checked(payload, partial(decode, self))

        cls.data_model = _ForChecked(cls.data_model, _worded(cls.data_model))
        cls.preprocess = _ForChecked(decode, checked_preprocess)
    return component


def _checked(payload: Any, decode: Callable) -> Any:
    """An upload decoded by ``decode`` once it is known to be an uploaded, readable image under the pixel limit, the
    pixels keeping the file's name (and JPEG tables); otherwise a ``gr.Error`` in words."""
    if not all(from_upload_cache(path) for path in payload_paths(payload)):
        raise gr.Error(NOT_UPLOADED)  # the same words whether or not the path exists on the server
    upload = getattr(payload, "background", payload)  # the editor's uploaded picture is its background
    problem = upload_problem(getattr(upload, "path", None), getattr(upload, "orig_name", None))
    if problem:
        raise gr.Error(problem)
    try:
        pixels = decode(payload)
    except gr.Error:
        raise
    except Exception as e:  # noqa: BLE001 - whatever the decoder raises, one sentence for the user
        raise gr.Error(f"The upload cannot be read as an image ({type(e).__name__}).") from None
    if isinstance(pixels, np.ndarray):  # keep the file's name (and JPEG tables) with the pixels
        pixels = _remembering(pixels, upload)
    elif isinstance(pixels, dict) and isinstance(pixels.get("background"), np.ndarray):
        pixels["background"] = _remembering(pixels["background"], upload)
    return pixels


def _remembering(pixels: np.ndarray, upload: Any) -> Upload:
    """The decoded pixels as an :class:`Upload` holding the file's name and, for a JPEG, its tables' quality."""
    from PIL import Image

    from ..io.images import holds_deep_colour
    from ..io.sixteen_bit import to_8bit

    path = getattr(upload, "path", None)
    quality = deep = wide = None
    if path and Path(path).is_file():
        with Image.open(path) as opened:  # the uploaded bytes, as sent: Gradio caches the file unchanged
            try:  # a TIFF by its own tags: Gradio's 8-bit decode of a planar 16-bit one is garbage
                deep = holds_deep_colour(opened, path)
            except ValueError as e:
                raise gr.Error(f"{getattr(upload, 'orig_name', None) or 'The upload'}: {e}.") from None
            quality, wide = jpeg_quality_from_tables(opened), opened.mode in WIDE_GREY
    if wide:
        pixels = wide_grey_upload(path, pixels)
    full = deep_upload(path, pixels.shape[:2]) if deep else None
    if full is not None and pixels.ndim == 3 and pixels.shape[2] == 3:
        pixels = to_8bit(full)  # the 8-bit picture shown and restored is the file's, as the package reads it
    pixels = pixels.view(Upload)
    pixels.name = getattr(upload, "orig_name", None) or (Path(path).name if path else None)  # an example: its file
    pixels.jpeg_quality = quality
    pixels.deep = full
    return pixels


#: grey modes wider than 8 bits, which Gradio's decoding clips at 255 (a 16-bit or float file turns white or black)
WIDE_GREY = ("I", "I;16", "I;16B", "I;16L", "I;16N", "F")


def wide_grey_upload(path: str, decoded: np.ndarray) -> np.ndarray:
    """A 16-bit, 32-bit or float grey upload scaled by its range to 8 bits as the package reads it, in the layout
    Gradio decoded (grey, RGB or RGBA); ``decoded`` itself when it cannot be read again at its size."""
    from ..io.images import load_image, to_tensor, to_uint8

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rgb = to_uint8(to_tensor(load_image(path, pixel_limit())))
    except ValueError:
        return decoded
    if rgb.shape[:2] != decoded.shape[:2]:
        return decoded
    if decoded.ndim == 2:
        return rgb[..., 0]
    if decoded.shape[2] == 4:
        return np.concatenate([rgb, np.full_like(rgb[..., :1], 255)], axis=2)
    return rgb[..., : decoded.shape[2]]


def deep_upload(path: str, size: tuple[int, int]) -> np.ndarray | None:
    """The 16-bit RGB pixels of an uploaded 16-bit colour file (H×W×3 uint16, upright), None when they cannot be
    read or are not the decoded picture's size."""
    from ..io.images import load_image
    from ..io.sixteen_bit import deep_pixels

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        deep = deep_pixels(load_image(path, pixel_limit()))
    return deep[..., :3] if deep is not None and deep.shape[:2] == tuple(size) else None


def checked_number(slider: gr.Slider, words: str, whole: bool = False) -> gr.Slider:
    """``slider`` refusing, in words, a value that is not a (whole) number in its range: an API client can send
    anything, and Gradio would answer a generic error or silently round."""
    decode = slider.preprocess
    low, high = slider.minimum, slider.maximum
    wanted = f"{words} must be a {'whole ' if whole else ''}number from {low:g} to {high:g}"

    def preprocess(payload):  # noqa: ANN001, ANN202 - Gradio's signature
        try:
            value = float(payload) if not isinstance(payload, bool) else float("nan")
        except (TypeError, ValueError):
            raise gr.Error(f"{wanted}, not {str(payload)[:40]!r}.") from None
        if not (math.isfinite(value) and low <= value <= high) or (whole and value != int(value)):
            raise gr.Error(f"{wanted}, not {str(payload)[:40]}.")
        return decode(value)

    slider.preprocess = preprocess
    return slider


def digest(pixels: np.ndarray) -> str:
    """A fingerprint of a picture's RGB pixels: is the editor's picture still the upload whose name we keep?"""
    import hashlib

    rgb = np.ascontiguousarray(pixels[..., :3])
    return hashlib.blake2b(rgb.tobytes() + str(rgb.shape).encode(), digest_size=16).hexdigest()


def said_on_upload(value: Any) -> None:
    """Nothing to do: the upload's checks (``checked_uploads``) ran when Gradio decoded it, and a problem was said."""
    return None


def emptied() -> None:
    """The image box after a file it cannot use: empty and ready for the next one, not a broken picture."""
    return None


def left_unmarked(event: Any, outputs: list) -> None:
    """A failure of ``event`` leaves its outputs as they were, without the "Error" mark Gradio puts on each: the words
    are in the error's own message, and the outputs stay clean and usable (an API client still gets the error)."""
    skips = (lambda: tuple(gr.skip() for _ in outputs)) if len(outputs) > 1 else gr.skip
    event.failure(skips, None, outputs, api_name=False, show_progress="hidden", queue=False)
