"""The Inpaint tab's parts: the painted mask and its size, the brush sized to the photo, OpenCV's Telea beside large
fills."""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import numpy as np

from .session import Session
from .uploads import NOT_UPLOADED, digest, from_upload_cache, upload_problem

LARGE_FILL_WIDTH = 24  # px across at the widest: larger holes come out smooth, and Telea is shown beside them
#: px across at the widest: thin fills (3- and 6-px strokes, text glyphs) where OpenCV's Navier-Stokes measured better
#: than the model on the held-out photos (docs/results.md, inpainting by mask kind), so the app shows it beside them
THIN_FILL_WIDTH = 8


def painted_mask(editor: dict, shape: tuple[int, int]) -> np.ndarray:
    """The pixels painted on the editor's layers (any colour, any opacity), as an H×W bool mask."""
    mask = np.zeros(shape, bool)
    for layer in editor.get("layers") or []:
        if layer is None:
            continue
        if layer.shape[:2] != mask.shape:
            raise gr.Error(
                f"The painted layer is {layer.shape[1]}×{layer.shape[0]} but the image is {mask.shape[1]}×"
                f"{mask.shape[0]}: paint on the image itself, at its size."
            )
        mask |= (layer[..., 3] if layer.ndim == 3 and layer.shape[2] == 4 else np.atleast_3d(layer).max(2)) > 0
    return mask


NOTHING_PAINTED = "Nothing painted yet."


def painted_size(editor: dict | None) -> str:
    """What the brush has painted so far, in words (shown before Fill): pixels, share and width at the widest."""
    background = (editor or {}).get("background")
    if background is None:
        return ""
    mask = painted_mask(editor, background.shape[:2])
    if not mask.any():
        return NOTHING_PAINTED
    pixels, share, width = fill_size(mask)
    large = f" (over {LARGE_FILL_WIDTH} px: it will come out smooth)" if width > LARGE_FILL_WIDTH else ""
    return f"Painted: **{pixels:,} pixels** ({share:.1%} of the image), **{width} px across** at the widest{large}."


def fill_size(mask: np.ndarray) -> tuple[int, float, int]:
    """(pixels to fill, their share of the image, the region's width in pixels at its widest)."""
    from scipy.ndimage import distance_transform_edt

    width = int(round(2 * distance_transform_edt(mask).max())) if mask.any() else 0
    return int(mask.sum()), float(mask.mean()), width


def opencv_fill(image: np.ndarray, mask: np.ndarray, method: str = "Telea") -> np.ndarray | None:
    """OpenCV's inpainting of ``mask`` ("Telea" or "Navier-Stokes", radius 3; the classical fills people compare
    with); None without OpenCV."""
    try:
        import cv2
    except ImportError:
        return None
    flag = cv2.INPAINT_TELEA if method == "Telea" else cv2.INPAINT_NS
    return cv2.inpaint(np.ascontiguousarray(image), mask.astype(np.uint8) * 255, 3, flag)


BRUSH_DEFAULT_RADIUS = 6  # px: a 12-px stroke, inside the 10–24 px where the model measured best


def brush_radius(height: int, width: int) -> int:
    """The brush's radius for a photo: a stroke about 1/85 of its shorter side across, kept within the 12–24 px where
    the model measured 0.8–1.8 dB above OpenCV (12 px on a 768×512 photo, 24 on a 12-megapixel one); thinner strokes,
    where OpenCV is better, are a slider move away."""
    return min(12, max(6, round(min(height, width) / 170)))


def _brush(radius: int) -> gr.Brush:
    return gr.Brush(colors=["#ff00ff"], color_mode="fixed", default_size=radius)


def photo_for_painting(path: str | None, session: Session) -> tuple:
    """The Inpaint tab's upload button: the photo into the editor with the brush sized to it (and its width on the
    slider), the painted note reset; the file's name is kept for the download (the editor calls every picture
    "background")."""
    from ..io.images import load_image
    from ..io.sixteen_bit import deep_pixels

    if path is None:
        return gr.ImageEditor(), gr.Slider(), gr.Markdown(), session
    if not from_upload_cache(path):
        raise gr.Error(NOT_UPLOADED)
    name = Path(path).name
    problem = upload_problem(path, name)
    if problem:
        raise gr.Error(problem)
    try:
        loaded = load_image(path)
    except ValueError as e:
        raise gr.Error(f"{name} cannot be read as an image ({str(e).rsplit(': ', 1)[-1][:80]}).") from None
    photo, deep = np.asarray(loaded.convert("RGB")), deep_pixels(loaded)
    session.upload_name, session.upload_digest = name, digest(photo)
    session.upload_deep = None if deep is None else deep[..., :3]  # a 16-bit colour file: restored from 16 bits
    radius = brush_radius(*photo.shape[:2])
    value = {"background": photo, "layers": [], "composite": photo}
    return gr.ImageEditor(value=value, brush=_brush(radius)), gr.Slider(value=2 * radius), NOTHING_PAINTED, session


def brush_of_width(width: float) -> gr.ImageEditor:
    """The brush at ``width`` px across (the slider beside the editor)."""
    return gr.ImageEditor(brush=_brush(max(1, round(float(width) / 2))))
