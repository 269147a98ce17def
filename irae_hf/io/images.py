"""Images in and out: any PIL image, numpy array or tensor to a B×3×H×W float batch in [0, 1], and back.

Accepted images: ``PIL.Image`` (any mode; EXIF orientation applied; animated images give their first
frame), numpy arrays H×W / H×W×{1,3,4} of uint8, uint16 or float in [0, 1], and float tensors
C×H×W / B×C×H×W in [0, 1]. Alpha is passed through untouched; grey images become RGB and are averaged
back; palette and CMYK-like images come back as RGB(A). Masks: white / nonzero = missing. No model here.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageOps
from torch import Tensor

from .formats import IMAGE_SUFFIXES, MAX_PIXELS
from .sixteen_bit import attach, deep_pixels, is_deep, read_deep, save_deep, upright_pixels
from .tiff import ASSOCIATED, TiffLayout, TiffRefused, read_tiff16, tiff_layout, unpremultiply

__all__ = [
    "IMAGE_SUFFIXES",
    "MAX_PIXELS",
    "load_image",
    "holds_deep_colour",
    "save_image",
    "to_batch",
    "from_batch",
    "mask_to_tensor",
    "to_tensor",
    "to_uint8",
]


@dataclass
class _Meta:
    """How to turn a restored RGB tensor back into the caller's type and mode."""

    kind: str  # "pil" | "numpy" | "tensor"
    grey: bool
    alpha: Any = None
    mode: str = "RGB"
    dtype: Any = None
    ndim: int = 3
    device: Any = None
    info: dict | None = None
    top: float = 1.0  # the value that maps to 1.0 for float ("F") and 32-bit ("I") images: their range is kept
    deep: bool = False  # a 16-bit colour image (``deep.py``): restored from, and back to, its 16-bit pixels


def upright(img: Image.Image, name: Any = "image", copy: bool = False) -> Image.Image:
    """``img`` turned by its EXIF orientation (a new image, or ``img`` itself when upright and not ``copy``); a
    malformed EXIF block is ignored with a warning, as viewers do."""
    try:
        turned = ImageOps.exif_transpose(img)
    except Exception as e:  # noqa: BLE001 - Pillow's EXIF parser raises SyntaxError, struct.error, KeyError, ...
        warnings.warn(f"{name}: unreadable EXIF orientation ({type(e).__name__}); used as stored", stacklevel=2)
        turned = None
        img.info.pop("exif", None)
    return turned or (img.copy() if copy else img)


def load_image(path: Any, max_pixels: int | None = MAX_PIXELS) -> Image.Image:
    """Open an image file fully (so truncated files fail here, clearly), EXIF orientation applied.

    The declared size is checked before anything is decoded: images over ``max_pixels`` (default
    ``MAX_PIXELS``, 40 megapixels; None: no limit) are refused, so a small file declaring a huge image (a
    decompression bomb) costs nothing. Any failure of the decoders (they raise far more than OSError on
    broken files) is one ``ValueError`` naming the file.
    """
    strict = max_pixels is not None and max_pixels <= (Image.MAX_IMAGE_PIXELS or 0)
    try:
        with warnings.catch_warnings():  # under our limit Pillow's bomb warning is an error; above it, ours decides
            warnings.simplefilter("error" if strict else "ignore", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                _check_size(img, max_pixels)
                frames = getattr(img, "n_frames", 1)
                layout = _tiff_layout(img, path)  # a TIFF by its own tags, not by Pillow's mode
                deep = _deep_colour(img, layout)
                img.seek(0)
                if layout is not None and layout.deep_colour:
                    out = _deep_tiff(path, img, layout)
                else:
                    img.load()
                    out = _with_file_facts(upright(img, path, copy=True), img, path if deep else None)
    except TiffRefused as e:
        raise ValueError(f"cannot read image {path}: {e}") from None
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as e:
        limit = max_pixels if strict else Image.MAX_IMAGE_PIXELS * 2
        raise ValueError(
            f"cannot read image {path}: it declares more pixels than the limit of {limit / 1e6:g} megapixels "
            f"({e}); raise the limit (--max-pixels) only for a trusted file"
        ) from None
    except Exception as e:  # noqa: BLE001 - decoders raise IndexError, KeyError, struct.error, SyntaxError, ...
        if isinstance(e, MemoryError):
            raise ValueError(f"cannot read image {path}: out of memory decoding it") from None
        raise ValueError(f"cannot read image {path}: {type(e).__name__}: {e}") from None
    if frames > 1 and layout is not None:
        warnings.warn(f"{path}: multi-page TIFF with {frames} pages; restoring the first page only", stacklevel=2)
    elif frames > 1:
        warnings.warn(f"{path}: animated image with {frames} frames; restoring the first frame only", stacklevel=2)
    if deep and deep_pixels(out) is None:  # OpenCV could not read it: say so rather than hand back 8 bits silently
        warnings.warn(f"{path}: 16-bit colour image, read (and restored) as 8 bits per channel", stacklevel=2)
    return out


def _check_size(img: Image.Image, max_pixels: int | None) -> None:
    """Refuse an image declaring more than ``max_pixels`` before anything is decoded."""
    width, height = img.size
    if max_pixels is not None and width * height > max_pixels:
        raise ValueError(
            f"{width}×{height} is {width * height / 1e6:.1f} megapixels, over the limit of "
            f"{max_pixels / 1e6:g} megapixels (raise it with --max-pixels only for a trusted file)"
        )


def _tiff_layout(img: Image.Image, path: Any) -> TiffLayout | None:
    """A TIFF's layout from its tags (None for other formats); TiffRefused for one this package cannot read right."""
    if img.format != "TIFF":
        return None
    layout = tiff_layout(path)
    if layout.problem():
        raise TiffRefused(layout.problem())
    return layout


def holds_deep_colour(img: Image.Image, path: Any) -> bool:
    """Whether the opened file ``img`` (from ``path``) holds 16-bit colour: a TIFF by its own tags, other formats by
    Pillow's decoder; ValueError (in words) for a TIFF layout this package cannot read correctly."""
    return _deep_colour(img, _tiff_layout(img, path))


def _deep_colour(img: Image.Image, layout: TiffLayout | None) -> bool:
    return layout.deep_colour if layout is not None else is_deep(img)


def _deep_tiff(path: Any, img: Image.Image, layout: TiffLayout) -> Image.Image:
    """A 16-bit RGB(A) TIFF from its own samples (``tiff.py``; Pillow's 8-bit decode is not used), upright by its
    orientation, premultiplied alpha divided out and marked to be written back premultiplied."""
    pixels = upright_pixels(read_tiff16(path), img.getexif().get(0x0112, 1))
    if pixels.shape[:2] != (img.height, img.width):  # Pillow gives the upright size
        raise TiffRefused(
            f"its first page holds {pixels.shape[1]}×{pixels.shape[0]} pixels, its tags say {img.width}×{img.height}"
        )
    info = {k: v for k, v in img.info.items() if k in ("icc_profile", "dpi")}
    if layout.associated_alpha:
        pixels, info[ASSOCIATED] = unpremultiply(pixels), True
    return attach(pixels, info)


def _with_file_facts(out: Image.Image, img: Image.Image, deep_source: Any) -> Image.Image:
    """The upright image with what its file says beyond 8-bit pixels: a JPEG's quality (pixels lose the tables,
    ``quality="auto"`` reads it), and a 16-bit colour file's full-depth pixels (``deep.py``)."""
    if img.format == "JPEG":
        from .jpeg_tables import jpeg_quality_from_tables

        out.info["jpeg_quality"] = jpeg_quality_from_tables(img)
    if deep_source is not None:
        pixels = read_deep(deep_source, img)
        if pixels is not None and pixels.shape[:2] == (out.height, out.width):
            out = attach(pixels, dict(out.info))
    return out


def save_image(image: Image.Image, target: Any, format: str | None = None) -> None:  # noqa: A002 - Pillow's word
    """``image.save(target, format)``, but a 16-bit colour image (``load_image`` of a 16-bit file, restored) is
    written at 16 bits where the format holds them (PNG, TIFF), with its ICC profile."""
    format = format or Image.registered_extensions().get(Path(str(target)).suffix.lower())
    if not (format and save_deep(image, target, format)):
        image.save(target, format=format)


_PIL_GREY = {"L", "LA", "I;16", "I;16B", "I;16L", "I;16N", "I", "F", "1"}


def value_top(mode: str, arr: np.ndarray) -> float:
    """The value that means white for a float ("F"), 32-bit ("I") or 16-bit ("I;16*") grey image, so its range is
    kept: floats in [0, 1] stay there, up to 255 follow Pillow's L → F convention, wider ones their maximum;
    32-bit integers hold 16-bit data (0–65535) or the whole non-negative int32 range."""
    peak = float(np.nanmax(arr)) if arr.size else 0.0
    if mode == "F":
        return 1.0 if peak <= 1.0 else 255.0 if peak <= 255.0 else peak
    if mode == "I":
        return 65535.0 if peak <= 65535 else float(2**31 - 1)
    return 65535.0


def _pil_to_array(img: Image.Image) -> tuple[np.ndarray, _Meta]:
    """H×W×3 float32 array in [0, 1] plus what is needed to rebuild the caller's mode."""
    img = upright(img)
    info = {k: img.info[k] for k in ("icc_profile", "dpi", ASSOCIATED) if k in img.info}
    deep = deep_pixels(img)
    if deep is not None:
        return _deep_to_array(deep, img.mode, info)
    mode = img.mode
    alpha = None
    if mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
        mode = img.mode
    elif mode == "PA":
        img, mode = img.convert("RGBA"), "RGBA"
    if mode in ("RGBA", "LA", "La", "RGBa"):
        alpha = img.getchannel("A")
        img = img.convert("L" if mode in ("LA", "La") else "RGB")
        mode = "LA" if mode in ("LA", "La") else "RGBA"
    if mode in _PIL_GREY:
        arr = np.asarray(img)
        top = 1.0
        if mode == "1":
            arr, mode = arr.astype(np.float32), "L"
        elif arr.dtype == np.uint8:
            arr = arr.astype(np.float32) / 255.0
        else:  # F, I and I;16*: scaled by their range, NaN refused
            top = value_top(mode, arr)
            arr = arr.astype(np.float32) / top
            _check_finite(arr)
            arr = np.clip(arr, 0, 1)
        return np.repeat(arr[..., None], 3, axis=2), _Meta("pil", True, alpha, mode, info=info, top=top)
    if mode != "RGB" and mode != "RGBA":
        img, mode = img.convert("RGB"), "RGB"  # CMYK, YCbCr, LAB, HSV: their ICC profile no longer applies
        info.pop("icc_profile", None)
    arr = np.asarray(img, dtype=np.float32)
    arr /= 255.0  # in place: large images stay at one float copy
    return arr, _Meta("pil", False, alpha, mode, info=info)


def _deep_to_array(deep: np.ndarray, mode: str, info: dict) -> tuple[np.ndarray, _Meta]:
    """A 16-bit colour image's full-depth RGB in [0, 1], its alpha kept at 16 bits."""
    alpha = deep[..., 3:] if deep.shape[2] == 4 else None
    return deep[..., :3].astype(np.float32) / 65535.0, _Meta("pil", False, alpha, mode, info=info, deep=True)


def _array_from_numpy(arr: np.ndarray) -> tuple[np.ndarray, _Meta]:
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (1, 3, 4)):
        raise ValueError(f"expected an H×W or H×W×{{1,3,4}} array, got shape {arr.shape}")
    meta = _Meta("numpy", arr.ndim == 2 or arr.shape[2] == 1, dtype=arr.dtype, ndim=arr.ndim)
    if arr.dtype == np.uint8:
        f = arr.astype(np.float32) / 255.0
    elif arr.dtype == np.uint16:
        f = arr.astype(np.float32) / 65535.0
    elif np.issubdtype(arr.dtype, np.floating):
        f = arr.astype(np.float32)
        _check_float_range(f)
    else:
        raise ValueError(f"unsupported array dtype {arr.dtype}; use uint8, uint16 or float in [0, 1]")
    if f.ndim == 3 and f.shape[2] == 4:
        meta.alpha, f = arr[..., 3:].copy(), f[..., :3]
    if meta.grey:
        f = np.repeat(f.reshape(f.shape[0], f.shape[1], 1), 3, axis=2)
    return f, meta


def _check_finite(x: np.ndarray | Tensor) -> None:
    ok = torch.isfinite(x).all() if isinstance(x, Tensor) else np.isfinite(x).all()
    if not ok:
        raise ValueError("image contains NaN or Inf values")


#: float images are [0, 1]; noisy ones (the float protocol) stray a little outside, 0–255 data far outside
FLOAT_LIMIT = 10.0


def _check_float_range(x: np.ndarray | Tensor) -> None:
    """Finite, and not 0–255 data passed as floats (restored as if it were [0, 1], it would come back garbage). One
    pass for the extremes: NaN and ±Inf show in them."""
    if x.numel() if isinstance(x, Tensor) else x.size:
        low, high = (float(v) for v in (torch.aminmax(x) if isinstance(x, Tensor) else (x.min(), x.max())))
        if not (math.isfinite(low) and math.isfinite(high)):
            raise ValueError("image contains NaN or Inf values")
        if low < -FLOAT_LIMIT or high > FLOAT_LIMIT:
            raise ValueError(f"float image values span {low:g} to {high:g}; expected [0, 1] (divide 8-bit data by 255)")


def to_batch(image: Any) -> tuple[Tensor, _Meta]:
    """B×3×H×W float32 in [0, 1] from any accepted image, plus its _Meta."""
    if isinstance(image, Image.Image):
        arr, meta = _pil_to_array(image)
    elif isinstance(image, np.ndarray):
        arr, meta = _array_from_numpy(image)
    elif isinstance(image, Tensor):
        if image.device.type == "meta":
            raise ValueError("a tensor on the meta device holds no values to restore (move real data to cpu or cuda)")
        if image.ndim not in (3, 4) or image.shape[-3] not in (1, 3) or not image.is_floating_point():
            raise ValueError(f"expected a float C×H×W or B×C×H×W tensor with C in (1, 3), got {tuple(image.shape)}")
        if image.shape[-1] < 1 or image.shape[-2] < 1 or image.shape[0] < 1:
            raise ValueError(f"empty image tensor of shape {tuple(image.shape)}")
        _check_float_range(image)
        meta = _Meta("tensor", image.shape[-3] == 1, dtype=image.dtype, ndim=image.ndim, device=image.device)
        x = image if image.ndim == 4 else image[None]
        return x.float().expand(-1, 3, -1, -1), meta
    else:
        raise TypeError(f"cannot restore a {type(image).__name__}; pass a PIL image, numpy array or tensor")
    if arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(f"empty image of size {arr.shape[1]}×{arr.shape[0]}")
    return torch.from_numpy(np.ascontiguousarray(arr)).permute(2, 0, 1)[None], meta


def from_batch(x: Tensor, meta: _Meta) -> Any:
    """Back to the caller's type and mode; ``x`` is clamped to [0, 1] and may be overwritten."""
    if meta.grey:
        x = x.mean(dim=1, keepdim=True)
    if meta.kind == "tensor":
        x = x.to(meta.device, meta.dtype)
        return x if meta.ndim == 4 else x[0]
    arr = x[0].permute(1, 2, 0).float().cpu().numpy()
    if meta.kind == "numpy":
        if meta.dtype in (np.uint8, np.uint16):
            arr = _quantize(arr, np.iinfo(meta.dtype).max).astype(meta.dtype)
        else:
            arr = arr.astype(meta.dtype)
        if meta.alpha is not None:
            arr = np.concatenate([arr, meta.alpha], axis=2)
        return arr[..., 0] if meta.ndim == 2 else arr
    return _array_to_pil(arr, meta)


def _quantize(arr: np.ndarray, top: int) -> np.ndarray:
    """round(arr * top), in place (``arr`` is a scratch float copy; large images need no second one)."""
    np.multiply(arr, top, out=arr)
    return np.round(arr, out=arr)


def _array_to_pil(arr: np.ndarray, meta: _Meta) -> Image.Image:
    mode = meta.mode
    if meta.deep:
        u16 = _quantize(arr, 65535).astype(np.uint16)
        return attach(u16 if meta.alpha is None else np.concatenate([u16, meta.alpha], axis=2), meta.info)
    if mode.startswith("I;16"):  # every 16-bit variant comes back as native "I;16"
        out = Image.fromarray(np.round(arr[..., 0] * 65535).astype(np.uint16))
    elif mode == "I":
        out = Image.fromarray(np.round(arr[..., 0].astype(np.float64) * meta.top).astype(np.int32), mode="I")
    elif mode == "F":
        out = Image.fromarray((arr[..., 0] * meta.top).astype(np.float32), mode="F")
    else:
        u8 = _quantize(arr, 255).astype(np.uint8)
        out = Image.fromarray(u8[..., 0], mode="L") if meta.grey else Image.fromarray(u8, mode="RGB")
        if meta.alpha is not None:
            out.putalpha(meta.alpha)
    out.info.update(meta.info or {})
    return out


def mask_to_tensor(mask: Any, height: int, width: int) -> Tensor:
    """1×1×H×W float mask (1 = missing) from a PIL image, array or tensor: **nonzero = missing** (white or any
    non-black pixel, 1 or True, 255), so 0/1 and 0/255 masks mean the same. Save masks losslessly (PNG): a JPEG's
    noise makes black pixels nonzero."""
    if isinstance(mask, Image.Image):
        mask = upright(mask, "mask")
        m = torch.from_numpy(np.asarray(mask.convert("L"), dtype=np.float32))
    elif isinstance(mask, np.ndarray):
        m = torch.from_numpy(mask.astype(np.float32))
    elif isinstance(mask, Tensor):
        m = mask.detach().float().cpu()
    else:
        raise TypeError(f"mask must be a PIL image, numpy array or tensor, not {type(mask).__name__}")
    if m.ndim > 2 and [d for d in m.shape if d != 1] == [d for d in (height, width) if d != 1]:
        m = m.reshape(height, width)  # 1×1×H×W, 1×H×W, H×W×1: only axes of size 1 dropped, so 1×W stays 1×W
    if m.ndim != 2 or tuple(m.shape) != (height, width):
        raise ValueError(f"mask of shape {tuple(m.shape)} does not match the image size {height}×{width} (H×W)")
    _check_finite(m)
    return (m != 0).float()[None, None]


def to_tensor(image: Image.Image | np.ndarray) -> Tensor:
    """3×H×W float in [0, 1] from any PIL image (any mode and bit depth, EXIF orientation applied, alpha dropped,
    grey repeated) or an H×W×3 uint8 array."""
    arr = _pil_to_array(image)[0] if isinstance(image, Image.Image) else np.asarray(image, np.float32) / 255.0
    return torch.from_numpy(np.ascontiguousarray(arr)).permute(2, 0, 1)


def to_uint8(image: np.ndarray | Tensor) -> np.ndarray:
    """H×W×C uint8 from a [0, 1] float tensor (C×H×W or 1×C×H×W) or an H×W×C / H×W array in [0, 255]."""
    if isinstance(image, Tensor):
        t = image.detach().float().cpu()
        t = t[0] if t.ndim == 4 else t
        return (t.clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
    arr = np.asarray(image)
    if arr.dtype != np.uint8:
        arr = np.clip(np.round(arr.astype(np.float64)), 0, 255).astype(np.uint8)
    return arr[..., None] if arr.ndim == 2 else arr
