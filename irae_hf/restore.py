"""From user images to IRAE tensors and back: any type, mode and size in, the same type, mode and size out.

Accepted images: ``PIL.Image`` (any mode; EXIF orientation applied; animated images give their first
frame), numpy arrays H×W / H×W×{1,3,4} of uint8, uint16 or float in [0, 1], and float tensors
C×H×W / B×C×H×W in [0, 1]. Alpha is passed through untouched; grey images are restored as RGB and
averaged back; palette and CMYK-like images come back as RGB(A). Sizes are reflect-padded to a multiple
of ``2**levels`` and cropped back; large images run in overlapping tiles with blended seams.
"""

from __future__ import annotations

import copy
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps
from torch import Tensor

from .degrade import apply_mask
from .hub import RestorationModel

__all__ = [
    "restore",
    "recover_input",
    "FloatResult",
    "load_image",
    "AUTO_TILE_PIXELS",
    "DEFAULT_TILE",
    "IMAGE_SUFFIXES",
]

#: file suffixes Pillow can open
IMAGE_SUFFIXES = {e.lower() for e in Image.registered_extensions()}

#: images with more padded pixels than this are tiled when ``tile="auto"`` (bounds memory to ~1 GB)
AUTO_TILE_PIXELS = 1024 * 1024
DEFAULT_TILE = 512
DEFAULT_OVERLAP = 64
Progress = Callable[[int, int], None]


@dataclass
class FloatResult:
    """The exact, unclamped model output kept for :func:`recover_input` ("nothing is lost").

    ``output`` is B×3×Hp×Wp on the padded canvas; ``image`` crops it to the input's H×W.
    """

    output: Tensor
    cond: Tensor
    height: int
    width: int
    tile: int | None
    overlap: int
    known: tuple[Tensor, Tensor] | None = None  # inpainting: (input, mask), to keep the known pixels

    @property
    def image(self) -> Tensor:
        """The exact output cropped to the input's size (unclamped; what :func:`recover_input` inverts)."""
        return self.output[..., : self.height, : self.width]

    @property
    def restored(self) -> Tensor:
        """The restored image as users get it: clamped to [0, 1]; for inpainting, known pixels unchanged."""
        out = self.image
        if self.known is not None:
            out = torch.where(self.known[1] > 0.5, out, self.known[0])
        return out.clamp(0, 1)


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


# --------------------------------------------------------------------------------------- loading
def load_image(path: Any) -> Image.Image:
    """Open an image file fully (so truncated files fail here, clearly), EXIF orientation applied."""
    try:
        with Image.open(path) as img:
            if getattr(img, "n_frames", 1) > 1:
                warnings.warn(
                    f"{path}: animated image with {img.n_frames} frames; restoring the first frame only", stacklevel=2
                )
            img.seek(0)
            img.load()
            return ImageOps.exif_transpose(img) or img.copy()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
        raise ValueError(f"cannot read image {path}: {e}") from e


_PIL_GREY = {"L", "LA", "I;16", "I;16B", "I;16L", "I;16N", "I", "F", "1"}


def _pil_to_array(img: Image.Image) -> tuple[np.ndarray, _Meta]:
    """H×W×3 float32 array in [0, 1] plus what is needed to rebuild the caller's mode."""
    img = ImageOps.exif_transpose(img) or img
    info = {k: img.info[k] for k in ("icc_profile", "dpi") if k in img.info}
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
        if mode == "1":
            arr, mode = arr.astype(np.float32), "L"
        elif arr.dtype == np.uint8:
            arr = arr.astype(np.float32) / 255.0
        elif mode == "F":
            arr = arr.astype(np.float32) / 255.0  # Pillow's L -> F convention: 0–255 floats
        else:  # 16-bit (I;16*) and 32-bit "I" images holding 16-bit data
            arr = np.clip(arr.astype(np.float32), 0, 65535) / 65535.0
        return np.repeat(arr[..., None], 3, axis=2), _Meta("pil", True, alpha, mode, info=info)
    if mode != "RGB" and mode != "RGBA":
        img, mode = img.convert("RGB"), "RGB"  # CMYK, YCbCr, LAB, HSV
    arr = np.asarray(img, dtype=np.float32)
    arr /= 255.0  # in place: large images stay at one float copy
    return arr, _Meta("pil", False, alpha, mode, info=info)


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
        _check_finite(f)
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


def _to_batch(image: Any) -> tuple[Tensor, _Meta]:
    """B×3×H×W float32 in [0, 1] from any accepted image, plus its _Meta."""
    if isinstance(image, Image.Image):
        arr, meta = _pil_to_array(image)
    elif isinstance(image, np.ndarray):
        arr, meta = _array_from_numpy(image)
    elif isinstance(image, Tensor):
        if image.ndim not in (3, 4) or image.shape[-3] not in (1, 3) or not image.is_floating_point():
            raise ValueError(f"expected a float C×H×W or B×C×H×W tensor with C in (1, 3), got {tuple(image.shape)}")
        _check_finite(image)
        meta = _Meta("tensor", image.shape[-3] == 1, dtype=image.dtype, ndim=image.ndim, device=image.device)
        x = image if image.ndim == 4 else image[None]
        return x.float().expand(-1, 3, -1, -1), meta
    else:
        raise TypeError(f"cannot restore a {type(image).__name__}; pass a PIL image, numpy array or tensor")
    if arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(f"empty image of size {arr.shape[1]}×{arr.shape[0]}")
    return torch.from_numpy(np.ascontiguousarray(arr)).permute(2, 0, 1)[None], meta


def _from_batch(x: Tensor, meta: _Meta) -> Any:
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
    if mode.startswith("I;16"):  # every 16-bit variant comes back as native "I;16"
        out = Image.fromarray(np.round(arr[..., 0] * 65535).astype(np.uint16))
    elif mode == "I":
        out = Image.fromarray(np.round(arr[..., 0] * 65535).astype(np.int32), mode="I")
    elif mode == "F":
        out = Image.fromarray((arr[..., 0] * 255).astype(np.float32), mode="F")
    else:
        u8 = _quantize(arr, 255).astype(np.uint8)
        out = Image.fromarray(u8[..., 0], mode="L") if meta.grey else Image.fromarray(u8, mode="RGB")
        if meta.alpha is not None:
            out.putalpha(meta.alpha)
    out.info.update(meta.info or {})
    return out


def _mask_to_tensor(mask: Any, height: int, width: int) -> Tensor:
    """1×1×H×W float mask (1 = missing) from a PIL image (white = missing), array or tensor."""
    if isinstance(mask, Image.Image):
        mask = ImageOps.exif_transpose(mask) or mask
        m = torch.from_numpy(np.asarray(mask.convert("L"), dtype=np.float32) / 255.0)
    elif isinstance(mask, np.ndarray):
        m = torch.from_numpy(mask.astype(np.float32) / (255.0 if mask.dtype == np.uint8 else 1.0))
    elif isinstance(mask, Tensor):
        m = mask.detach().float().cpu()
    else:
        raise TypeError(f"mask must be a PIL image, numpy array or tensor, not {type(mask).__name__}")
    m = m.squeeze()
    if m.ndim != 2 or tuple(m.shape) != (height, width):
        raise ValueError(f"mask of shape {tuple(m.shape)} does not match the image size {height}×{width} (H×W)")
    _check_finite(m)
    return (m > 0.5).float()[None, None]


# --------------------------------------------------------------------------------------- padding / tiling
def _pad(x: Tensor, multiple: int) -> Tensor:
    """Reflect-pad bottom/right to a multiple (replicate where the image is too small to reflect)."""
    h, w = x.shape[-2:]
    ph, pw = -h % multiple, -w % multiple
    if not (ph or pw):
        return x
    mode = "reflect" if ph < h and pw < w else "replicate"
    return F.pad(x, (0, pw, 0, ph), mode=mode)


def _starts(length: int, tile: int, overlap: int, multiple: int) -> list[int]:
    if length <= tile:
        return [0]
    n = math.ceil((length - overlap) / (tile - overlap))
    return sorted({int(round(s / multiple)) * multiple for s in np.linspace(0, length - tile, n)})


def _ramp(size: int, start: int, total: int, overlap: int) -> Tensor:
    """Blend weights along one axis: a partition of unity over overlaps, ignoring the outer quarter."""
    d = torch.arange(size, dtype=torch.float32) + 0.5
    w = torch.ones(size)
    q, half = overlap / 4, max(overlap / 2, 1.0)
    if start > 0:
        w = torch.minimum(w, ((d - q) / half).clamp(0, 1))
    if start + size < total:
        w = torch.minimum(w, ((size - d - q) / half).clamp(0, 1))
    return w.clamp(min=1e-6)


def _resolve_tile(tile: int | str | None, h: int, w: int, multiple: int) -> int | None:
    if tile is None or tile == 0:
        return None
    if tile == "auto":
        return DEFAULT_TILE if h * w > AUTO_TILE_PIXELS else None
    if isinstance(tile, bool) or not isinstance(tile, int) or tile < multiple:
        raise ValueError(f"tile must be 'auto', None/0 or an integer >= {multiple}, got {tile!r}")
    return tile - tile % multiple


def _tiled(
    fn: Callable[[Tensor, Tensor], Tensor],
    x: Tensor,
    cond: Tensor,
    tile: int | None,
    overlap: int,
    multiple: int,
    progress: Progress | None = None,
) -> Tensor:
    """Apply ``fn(x, cond)`` to overlapping tiles of the padded canvas and blend the seams."""
    h, w = x.shape[-2:]
    if tile is None or (h <= tile and w <= tile):
        out = fn(x, cond)
        if progress:
            progress(1, 1)
        return out
    overlap = min(overlap, tile // 2)
    ys, xs = _starts(h, tile, overlap, multiple), _starts(w, tile, overlap, multiple)
    out = torch.zeros_like(x)
    weight = torch.zeros(1, 1, h, w, device=x.device, dtype=x.dtype)
    done, total = 0, len(ys) * len(xs)
    for y0 in ys:
        th = min(tile, h - y0)
        wy = _ramp(th, y0, h, overlap)
        for x0 in xs:
            tw = min(tile, w - x0)
            wgt = (wy[:, None] * _ramp(tw, x0, w, overlap)[None, :]).to(x.device, x.dtype)
            sl = (..., slice(y0, y0 + th), slice(x0, x0 + tw))
            out[sl] += fn(x[sl], cond[sl]) * wgt
            weight[sl] += wgt
            done += 1
            if progress:
                progress(done, total)
    return out.div_(weight)


# --------------------------------------------------------------------------------------- self-ensemble
#: the 8 symmetries of the square used by the self-ensemble: (quarter turns, mirrored)
DIHEDRAL = [(k, mirror) for mirror in (False, True) for k in range(4)]


def _turn(x: Tensor, k: int, mirror: bool) -> Tensor:
    return torch.rot90(x.flip(-1) if mirror else x, k, (-2, -1))


def _unturn(x: Tensor, k: int, mirror: bool) -> Tensor:
    x = torch.rot90(x, -k, (-2, -1))
    return x.flip(-1) if mirror else x


def self_ensemble(fn: Callable[[Tensor, Tensor], Tensor]) -> Callable[[Tensor, Tensor], Tensor]:
    """``fn(x, cond)`` averaged over the 8 flips and quarter turns of its input and condition, each turned back
    (the standard test-time ensemble of restoration papers: 8× the work for a smoother estimate)."""

    def averaged(x: Tensor, cond: Tensor) -> Tensor:
        out = torch.zeros_like(x)
        for k, mirror in DIHEDRAL:
            out += _unturn(fn(_turn(x, k, mirror), _turn(cond, k, mirror)), k, mirror)
        return out.div_(len(DIHEDRAL))

    return averaged


# --------------------------------------------------------------------------------------- public API
def _levels(sigma: Any, quality: Any) -> dict[str, Any]:
    return {k: v for k, v in (("sigma", sigma), ("quality", quality)) if v is not None}


def _model_device_dtype(model: RestorationModel) -> tuple[torch.device, torch.dtype]:
    p = next(model.parameters())
    return p.device, p.dtype


def _float64(model: RestorationModel) -> RestorationModel:
    """A float64 copy of the model (the model itself is left as it is)."""
    return model if next(model.parameters()).dtype == torch.float64 else copy.deepcopy(model).double()


def restore(
    model: RestorationModel,
    image: Any,
    *,
    sigma: float | None = None,
    quality: int | None = None,
    mask: Any = None,
    tile: int | str | None = "auto",
    overlap: int = DEFAULT_OVERLAP,
    return_float: bool = False,
    ensemble: bool = False,
    progress: Progress | None = None,
) -> Any:
    """Restore ``image`` with ``model``; returns the same type, mode and size (a list for a list).

    Pass the task's level: ``sigma`` (noise σ, 0–255), ``quality`` (JPEG quality, 1–100) or ``mask``
    (same size, white/True = missing; known pixels are returned unchanged). ``tile``: "auto" (tile images over ~1 MP), None/0 (never) or a
    tile size in pixels, with ``overlap`` pixels of shared context. ``return_float=True`` returns a
    :class:`FloatResult` (the exact unclamped output, computed in float64 so that the inverse is exact:
    in float32 a trained denoiser's inverse amplifies rounding so much that pixels come back wrong)
    for :func:`recover_input`. ``ensemble=True`` averages the model over the 8 flips and quarter turns of each
    tile (self-ensemble: slightly better, 8× slower); the average is no longer the invertible map, so it
    cannot be combined with ``return_float`` (the exact inverse belongs to the plain map, the default).
    """
    if ensemble and return_float:
        raise ValueError("ensemble=True is not invertible: the exact inverse needs the plain map (ensemble=False)")
    if isinstance(image, (list, tuple)):
        kw = dict(
            sigma=sigma, quality=quality, tile=tile, overlap=overlap, return_float=return_float, ensemble=ensemble
        )
        masks = mask if isinstance(mask, (list, tuple)) else [mask] * len(image)
        return [restore(model, im, mask=m, progress=progress, **kw) for im, m in zip(image, masks, strict=True)]
    x, meta = _to_batch(image)
    h, w = x.shape[-2:]
    if return_float:  # exactness: a trained denoiser's inverse amplifies float32 rounding up to ~1e6 times
        model = _float64(model)
    device, dtype = _model_device_dtype(model)
    x = x.to(device, dtype)
    levels = _levels(sigma, quality)
    known = None
    if mask is not None:
        m = _mask_to_tensor(mask, h, w).to(device, dtype)
        known = (x, m)
        x = apply_mask(x, m)
        levels["mask"] = _pad(m, model.multiple).expand(x.shape[0], -1, -1, -1)
    canvas = _pad(x, model.multiple)
    cond = model.condition(canvas, **levels)
    t = _resolve_tile(tile, *canvas.shape[-2:], model.multiple)
    with torch.inference_mode():
        fn = self_ensemble(model.forward) if ensemble else model.forward
        out = _tiled(fn, canvas, cond, t, overlap, model.multiple, progress)
    result = FloatResult(out, cond, h, w, t, overlap, known)
    return result if return_float else _from_batch(result.restored, meta)


def recover_input(
    model: RestorationModel, result: FloatResult, *, progress: Progress | None = None, **levels: Any
) -> Tensor:
    """The corrupted input as the model saw it (B×3×H×W float), by the exact inverse of the result.

    Uses the condition stored in ``result`` unless the task's level is passed again. Exact to float
    precision for untiled results; tiled results invert tile by tile (seams blended, still close).
    """
    if not isinstance(result, FloatResult):
        raise TypeError("recover_input needs the FloatResult of restore(..., return_float=True)")
    y = result.output
    cond = result.cond
    if y.dtype == torch.float64:
        model = _float64(model)
    if levels:
        if "mask" in levels:
            m = _mask_to_tensor(levels["mask"], result.height, result.width).to(y.device, y.dtype)
            levels["mask"] = _pad(m, model.multiple).expand(y.shape[0], -1, -1, -1)
        cond = model.condition(y, **levels)
    with torch.inference_mode():
        x = _tiled(model.inverse, y, cond, result.tile, result.overlap, model.multiple, progress)
    return x[..., : result.height, : result.width]
