"""The restore pipeline: any image in (see ``images.py``), the same type, mode and size out, and the exact inverse.

Sizes are reflect-padded to the model's multiple and cropped back; large images run in overlapping tiles
with blended seams (``tiling.py``); the model itself only ever sees tensors.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from PIL import Image
from torch import Tensor

from .base import RestorationModel
from .degradations import apply_mask
from .inference import weights_key
from .images import from_batch, mask_to_tensor, to_batch, to_uint8
from .tasks import TASKS, level_kwargs
from .tiling import DEFAULT_OVERLAP, DIHEDRAL, Progress, pad, resolve_tile, self_ensemble, tiled, tiled_pixels

__all__ = ["restore", "recover_input", "estimate_level", "estimate_seconds", "FloatResult", "AUTO"]


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


# --------------------------------------------------------------------------------------- public API
AUTO = "auto"


def estimate_level(model: RestorationModel, image: Any) -> dict[str, Any]:
    """The level ``restore`` uses when it is not given (or is "auto"): ``{"sigma": σ}`` estimated from the pixels
    (0–255 units), or ``{"quality": q}`` from a JPEG file's tables (``load_image`` keeps them in ``info``), else
    from the decoded pixels; ``{"quality": None}`` when the image shows no sign of JPEG compression. One value
    for a single image, a list for a batch tensor. Inpainting has no blind level: it needs the mask."""
    return _blind_level(model, image)


def _blind_level(model: RestorationModel, image: Any, x: Tensor | None = None) -> dict[str, Any]:
    """:func:`estimate_level`, from ``x`` when the caller has already converted ``image`` to a batch."""
    from .estimate import estimate_sigma, jpeg_quality_from_pixels

    if model.task == "inpaint":
        raise ValueError("inpainting needs mask= (which pixels are missing); it has no 'auto' level")
    if model.task == "jpeg" and isinstance(image, Image.Image) and "jpeg_quality" in image.info:
        return {"quality": image.info["jpeg_quality"]}
    pixels = [to_uint8(item) for item in (to_batch(image)[0] if x is None else x)]
    if model.task == "denoise":
        values = [round(estimate_sigma(p), 1) for p in pixels]
        return {"sigma": values[0] if len(values) == 1 else values}
    values = [jpeg_quality_from_pixels(p) for p in pixels]
    return {"quality": values[0] if len(values) == 1 else values}


def _level(model: RestorationModel, image: Any, x: Tensor, sigma: Any, quality: Any) -> dict[str, Any]:
    """The level keywords for the model: as given, with "auto" (or nothing, for denoise and JPEG) estimated, from
    ``x`` (``image`` already converted to a batch) unless a JPEG file's tables give it."""
    level = {k: v for k, v in (("sigma", sigma), ("quality", quality)) if v is not None}
    if any(isinstance(v, str) and v != AUTO for v in level.values()):
        raise ValueError(f"a level is a number or 'auto', got {level}")
    wanted = TASKS[model.task].keyword
    if (wanted != "mask" and wanted not in level) or level.get(wanted) == AUTO:
        level.update(_blind_level(model, image, x))
    return level


def _channels_last(fn: Callable[[Tensor, Tensor], Tensor]) -> Callable[[Tensor, Tensor], Tensor]:
    """``fn`` on channels-last inputs: oneDNN's fast convolutions (≈1.3× on CPUs; same map up to float rounding).
    float64 stays as it is (no oneDNN kernels: channels-last would only add copies)."""

    def run(x: Tensor, cond: Tensor) -> Tensor:
        if x.dtype == torch.float64:
            return fn(x, cond)
        # fresh copies, not views: a view of a decoded image (numpy's buffer) ran the same convolutions 2× slower
        fresh = [torch.empty_like(t, memory_format=torch.channels_last).copy_(t) for t in (x, cond)]
        return fn(*fresh).contiguous()

    return run


def _model_device_dtype(model: RestorationModel) -> tuple[torch.device, torch.dtype]:
    p = next(model.parameters())
    return p.device, p.dtype


BACKENDS = ("torch", "onnxruntime")
_DERIVED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # per model: {kind: (weights' key, derived)}


def _derived(model: RestorationModel, kind: str, make: Callable[[], Any]) -> Any:
    """``make()`` for ``model``, kept until its weights change (e.g. fine-tuned since): made once per model and kind."""
    key = weights_key(model)
    cached = _DERIVED.setdefault(model, {})
    if kind not in cached or cached[kind][0] != key:
        cached[kind] = (key, make())
    return cached[kind][1]


def _onnx_restorer(model: RestorationModel) -> Callable[[Tensor, Tensor], Tensor]:
    """The model's onnxruntime restorer, exported again only when its weights changed."""
    from .export import OnnxRestorer

    return _derived(model, "onnxruntime", lambda: OnnxRestorer(model))


def _fast_model(model: RestorationModel, precision: str) -> RestorationModel:
    """``model.for_inference(precision)``, made once per model, precision and weights."""
    return _derived(model, f"fast {precision}", lambda: model.for_inference(precision))


def _exact_maps(
    model: RestorationModel,
) -> tuple[Callable[[Tensor, Tensor], Tensor], Callable[[Tensor, Tensor], Tensor]]:
    """``model.exact_maps()`` (its float64 copies), made once per model and weights, shared by restore and recover."""
    return _derived(model, "exact maps", model.exact_maps)


_SECONDS_PER_PIXEL: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # per model, measured once


def _seconds_per_pixel(model: RestorationModel, precision: str = "fp32") -> float:
    """The model's forward time per pixel here at ``precision``, timed once on a 256×256 input (after a warm-up)."""
    known = _SECONDS_PER_PIXEL.setdefault(model, {})
    if precision not in known:
        run = _fast_model(model, precision)
        device, dtype = _model_device_dtype(run)
        x = torch.rand(1, 3, 256, 256, device=device, dtype=dtype)
        cond = run.condition(x, **_probe_level(run.task, x))
        forward = _channels_last(run.forward)
        with torch.inference_mode():
            forward(x[..., :64, :64], cond[..., :64, :64])
            t0 = time.perf_counter()
            forward(x, cond)
            known[precision] = (time.perf_counter() - t0) / x[0, 0].numel()
    return known[precision]


def _probe_level(task: str, x: Tensor) -> dict[str, Any]:
    """A level to time the model at: the task's validation level (an empty mask for inpainting)."""
    return level_kwargs(task, torch.zeros_like(x[:, :1]) if task == "inpaint" else TASKS[task].validation)


def estimate_seconds(
    model: RestorationModel,
    height: int,
    width: int,
    *,
    tile: int | str | None = "auto",
    overlap: int = DEFAULT_OVERLAP,
    ensemble: bool = False,
    precision: str = "fp32",
) -> float:
    """About how long ``restore`` takes on an image of this size here: the model's speed, timed once on a small
    input (≈0.1–0.5 s), times the pixels the tiles cover (×8 for the self-ensemble). Said up front for big images."""
    m = model.multiple
    h, w = height + -height % m, width + -width % m
    pixels = tiled_pixels(h, w, resolve_tile(tile, h, w, m), overlap, m)
    return _seconds_per_pixel(model, precision) * pixels * (len(DIHEDRAL) if ensemble else 1)


def restore(
    model: RestorationModel,
    image: Any,
    *,
    sigma: float | str | None = None,
    quality: int | str | None = None,
    mask: Any = None,
    tile: int | str | None = "auto",
    overlap: int = DEFAULT_OVERLAP,
    return_float: bool = False,
    ensemble: bool = False,
    precision: str = "fp32",
    backend: str = "torch",
    progress: Progress | None = None,
) -> Any:
    """Restore ``image`` with ``model``; returns the same type, mode and size (a list for a list).

    The task's level: ``sigma`` (noise σ, 0–255), ``quality`` (JPEG quality, 1–100) or ``mask`` (same size,
    nonzero = missing; known pixels are returned unchanged). σ and quality default to "auto": estimated blind by
    :func:`estimate_level` (an image with no sign of JPEG compression is returned unchanged). ``tile``: "auto" (tile images over ~1 MP), None/0 (never) or a
    tile size in pixels, with ``overlap`` pixels of shared context. ``return_float=True`` returns a
    :class:`FloatResult` (the exact unclamped output, computed with :meth:`RestorationModel.exact_maps` so that
    the inverse is exact: in float32 a trained denoiser's inverse magnifies rounding so much that pixels come back
    wrong; IRAE runs its flow 2 in float64 and flow 1 in float32)
    for :func:`recover_input`. ``ensemble=True`` averages the model over the 8 flips and quarter turns of each
    tile (self-ensemble: slightly better, 8× slower); the average is no longer the invertible map, so it
    cannot be combined with ``return_float`` (the exact inverse belongs to the plain map, the default).
    ``precision="bf16"``: the model's bf16 variant (:meth:`RestorationModel.in_precision`: ≈1.7× faster on CPUs
    with AVX512-BF16, a few thousandths of a dB lower); fp32, the default, is the model's own map up to float
    rounding (both run ``model.for_inference(precision)``, made once per model and weights). ``backend="onnxruntime"``
    runs IRAE's fp32 restore graph in onnxruntime (the same map up to rounding; exported once per model and weights,
    ≈8 s).
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if backend != "torch" and (return_float or precision != "fp32"):
        raise ValueError("backend='onnxruntime' runs the fp32 map: no return_float, no precision='bf16'")
    if isinstance(overlap, bool) or not isinstance(overlap, int) or overlap < 0:
        raise ValueError(f"overlap must be a non-negative number of pixels, got {overlap!r}")
    if ensemble and return_float:
        raise ValueError("ensemble=True is not invertible: the exact inverse needs the plain map (ensemble=False)")
    if precision != "fp32" and return_float:
        raise ValueError(f"precision={precision!r} is not exact: the exact inverse needs the fp32 map")
    if isinstance(image, (list, tuple)):
        kw = dict(
            sigma=sigma,
            quality=quality,
            tile=tile,
            overlap=overlap,
            return_float=return_float,
            ensemble=ensemble,
            precision=precision,
            backend=backend,
        )
        masks = mask if isinstance(mask, (list, tuple)) else [mask] * len(image)
        return [restore(model, im, mask=m, progress=progress, **kw) for im, m in zip(image, masks, strict=True)]
    x, meta = to_batch(image)
    h, w = x.shape[-2:]
    fast = None if return_float or backend != "torch" else _fast_model(model, precision)
    model = fast if fast is not None else model.in_precision(precision)  # no copy per call: fast is cached
    device, dtype = _model_device_dtype(model)
    if return_float:  # exactness: a trained denoiser's inverse magnifies float32 rounding up to ~1e7 times
        dtype = torch.float64
    x = x.to(device, dtype)
    level = _level(model, image, x, sigma, quality)
    passthrough = None  # images that show no sign of JPEG compression are left as they are
    if model.task == "jpeg" and "quality" in level:
        qualities = level["quality"] if isinstance(level["quality"], list) else [level["quality"]] * x.shape[0]
        passthrough = torch.tensor([q is None for q in qualities], device=device)
        if bool(passthrough.all()) and not return_float:  # nothing to undo: the model need not run
            return from_batch(x.clamp(0, 1), meta)
        level["quality"] = torch.tensor([95.0 if q is None else float(q) for q in qualities])
    known = None
    if mask is not None:
        m = mask_to_tensor(mask, h, w).to(device, dtype)
        known = (x, m)
        x = apply_mask(x, m)
        level["mask"] = pad(m, model.multiple).expand(x.shape[0], -1, -1, -1)
    canvas = pad(x, model.multiple)
    cond = model.condition(canvas, **level)
    t = resolve_tile(tile, *canvas.shape[-2:], model.multiple)
    with torch.inference_mode():
        if return_float:
            fn = _exact_maps(model)[0]
        else:
            forward = _channels_last(fast.forward) if fast is not None else _onnx_restorer(model)
            fn = self_ensemble(forward) if ensemble else forward
        out = tiled(fn, canvas, cond, t, overlap, model.multiple, progress).to(x.dtype)
    if not torch.isfinite(out).all():  # NaN or Inf weights would give a black or white image without a word
        raise ValueError("the model produced NaN or Inf values: its weights are broken")
    if passthrough is not None and bool(passthrough.any()) and not return_float:  # the exact map stays whole
        out = torch.where(passthrough[:, None, None, None], canvas, out)
    result = FloatResult(out, cond, h, w, t, overlap, known)
    return result if return_float else from_batch(result.restored, meta)


def recover_input(
    model: RestorationModel, result: FloatResult, *, progress: Progress | None = None, **level: Any
) -> Tensor:
    """The corrupted input as the model saw it (B×3×H×W float), by the exact inverse of the result.

    Uses the condition stored in ``result`` unless the task's level is passed again. Exact to float
    precision for untiled results; tiled results invert tile by tile (seams blended, still close).
    """
    if not isinstance(result, FloatResult):
        raise TypeError("recover_input needs the FloatResult of restore(..., return_float=True)")
    y = result.output
    cond = result.cond
    inverse = _exact_maps(model)[1] if y.dtype == torch.float64 else model.inverse
    if level:
        if "mask" in level:
            m = mask_to_tensor(level["mask"], result.height, result.width).to(y.device, y.dtype)
            level["mask"] = pad(m, model.multiple).expand(y.shape[0], -1, -1, -1)
        cond = model.condition(y, **level)
    with torch.inference_mode():
        x = tiled(inverse, y, cond, result.tile, result.overlap, model.multiple, progress)
    return x[..., : result.height, : result.width]
