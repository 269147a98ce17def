"""The restore pipeline: any image in (see ``images.py``), the same type, mode and size out, and the exact inverse.

Sizes are reflect-padded to the model's multiple and cropped back; large images run in overlapping tiles
with blended seams (``tiling.py``); the model itself only ever sees tensors.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from ..io.images import from_batch, to_batch, to_uint8
from ..models.base import RestorationModel
from ..tasks import condition, file_quality, task_of
from .runtime import BACKENDS, channels_last, device_dtype, estimate_seconds, exact_maps, fast_model, onnx_restorer
from .tiling import DEFAULT_OVERLAP, DIHEDRAL, Progress, pad, resolve_tile, self_ensemble, tile_count, tiled

__all__ = [
    "restore",
    "recover_input",
    "estimate_level",
    "choose_level",
    "estimate_seconds",
    "file_quality",
    "FloatResult",
    "AUTO",
]


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
    return _blind_level(model, image)[0]


def _blind_level(model: RestorationModel, image: Any, x: Tensor | None = None) -> dict[str, Any]:
    """:func:`estimate_level` and where the level came from, from ``x`` when the caller has already converted
    ``image`` to a batch."""
    task = task_of(model)
    if not task.blind:
        raise ValueError(f"a {task.name} model needs {task.keyword}=; it has no 'auto' level")
    pixels = [to_uint8(item) for item in (to_batch(image)[0] if x is None else x)]
    values, source = task.estimate(image, pixels)
    return {task.keyword: values[0] if len(values) == 1 else values}, source


def choose_level(
    model: RestorationModel, image: Any, x: Tensor | None = None, **given: Any
) -> tuple[dict[str, Any], str]:
    """The one level decision, shared by ``restore``, the command line and the app: (level keywords, where they came
    from). A number given is used as it is ("given"); "auto", or nothing, for denoising and JPEG is a JPEG file's
    quality from its tables ("tables"; "twice" when its pixels show an earlier, stronger compression) or an
    estimate from the pixels ("pixels", from ``x`` when the caller has
    converted ``image`` already). ``{"quality": None}``: the image shows no sign of JPEG compression."""
    level = {k: v for k, v in given.items() if v is not None}
    if any(isinstance(v, str) and v != AUTO for v in level.values()):
        raise ValueError(f"a level is a number or 'auto', got {level}")
    task = task_of(model)
    _check_numbers(task, level)
    if not task.blind or (task.keyword in level and level[task.keyword] != AUTO):
        return level, "given"
    blind, source = _blind_level(model, image, x)
    return {**level, **blind}, source


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
    **level: Any,
) -> Any:
    """Restore ``image`` with ``model``; returns the same type, mode and size (a list for a list).

    The task's level: ``sigma`` (noise σ, 0–255), ``quality`` (JPEG quality, 1–100) or ``mask`` (same size, nonzero =
    missing; known pixels are returned unchanged), or a registered task's own keyword. σ and quality default to "auto":
    estimated blind by :func:`estimate_level` (an image with no sign of JPEG compression is returned unchanged).
    ``tile``: "auto" (tile images over ~1 MP), None/0 (never) or a tile size in pixels, with ``overlap`` pixels of
    shared context. ``return_float=True`` returns a :class:`FloatResult` (the exact unclamped output, computed with
    :meth:`RestorationModel.exact_maps` so that the inverse is exact: in float32 a trained denoiser's inverse magnifies
    rounding so much that pixels come back wrong; IRAE runs its flow 2 in float64 and flow 1 in float32) for
    :func:`recover_input`. ``ensemble=True`` averages the model over the 8 flips and quarter turns of each tile (self-
    ensemble: slightly better, 8× slower); the average is no longer the invertible map, so it cannot be combined with
    ``return_float`` (the exact inverse belongs to the plain map, the default). ``precision="bf16"``: the model's bf16
    variant (:meth:`RestorationModel.in_precision`: faster on CPUs with AVX512-BF16, a few thousandths of a dB lower;
    docs/inference.md); fp32, the default, is the model's own map up to float rounding (both run
    ``model.for_inference(precision)``, made once per model and weights). ``backend="onnxruntime"`` runs IRAE's fp32
    restore graph in onnxruntime (the same map up to rounding; exported once per model and weights).
    """
    _check_options(backend, return_float, precision, overlap, ensemble)
    _check_channels(model)
    if isinstance(image, (list, tuple)):  # one at a time, each with its mask (or the one mask for all)
        kw = dict(sigma=sigma, quality=quality, tile=tile, overlap=overlap, return_float=return_float, **level)
        kw.update(ensemble=ensemble, precision=precision, backend=backend, progress=progress)
        return [restore(model, im, mask=m, **kw) for im, m in zip(image, _masks(mask, len(image)), strict=True)]
    x, meta = to_batch(image)
    h, w = x.shape[-2:]
    model, fast = _variant(model, precision, return_float, backend)
    device, dtype = device_dtype(model)
    x = x.to(device, torch.float64 if return_float else dtype)  # exactness: the inverse magnifies float32 rounding
    level, _ = choose_level(model, image, x, sigma=sigma, quality=quality, **level)
    passthrough = _unchanged(model, level, x.shape[0], device)  # no sign of JPEG compression: left as it is
    if passthrough is not None and bool(passthrough.all()) and not return_float:  # the model need not run
        return from_batch(x.clamp(0, 1), meta)
    x, known = _holed(model, x, mask, level)
    canvas = pad(x, model.multiple)
    cond = condition(model.task, canvas, **level)
    t = resolve_tile(tile, *canvas.shape[-2:], model.multiple)
    on_pass, progress = _pass_progress(progress, ensemble, tile_count(*canvas.shape[-2:], t, overlap, model.multiple))
    out = _run_tiles(
        _restoring(model, fast, return_float, ensemble, on_pass), canvas, cond, t, overlap, model, progress
    )
    if passthrough is not None and not return_float:  # the exact map stays whole
        out = torch.where(passthrough[:, None, None, None], canvas, out)
    result = FloatResult(out, cond, h, w, t, overlap, known)
    return result if return_float else from_batch(result.restored, meta)


def _variant(
    model: RestorationModel, precision: str, exact: bool, backend: str
) -> tuple[RestorationModel, RestorationModel | None]:
    """(the model to run, its fast copy or None): the fused channels-last copy for the torch backend's plain runs
    (cached per weights), the model itself in ``precision`` for exact or onnxruntime runs."""
    fast = None if exact or backend != "torch" else fast_model(model, precision)
    return (model.in_precision(precision) if fast is None else fast), fast


def _run_tiles(
    fn: Callable, canvas: Tensor, cond: Tensor, tile: int | None, overlap: int, model: RestorationModel, progress: Any
) -> Tensor:
    """``fn`` over the canvas in tiles; NaN or Inf out (broken weights) is an error, not a black or white image."""
    with torch.inference_mode():
        out = tiled(fn, canvas, cond, tile, overlap, model.multiple, progress).to(canvas.dtype)
    if not torch.isfinite(out).all():
        raise ValueError("the model produced NaN or Inf values: its weights are broken")
    return out


def _masks(mask: Any, n: int) -> list:
    """One mask per image of a list: the list given, or the one mask (or None) for each."""
    return list(mask) if isinstance(mask, (list, tuple)) else [mask] * n


def _holed(model: RestorationModel, x: Tensor, picture: Any, level: dict) -> tuple[Tensor, tuple | None]:
    """A level given as a picture (inpainting's mask), by the task's hooks: read at the image's size and padded into
    ``level`` for the condition; the image as the model sees it (``model_input``: the holes grey); and (image, map)
    to put the known pixels back afterwards. ``x`` unchanged and None without one."""
    if picture is None:
        return x, None
    m = _map_level(model, picture, x, *x.shape[-2:], level)
    return task_of(model).model_input(x, {task_of(model).keyword: m}), (x, m)


def _map_level(model: RestorationModel, picture: Any, like: Tensor, height: int, width: int, level: dict) -> Tensor:
    """The task's map read from ``picture`` at ``height``×``width`` (on ``like``'s device and dtype), and put padded
    into ``level`` for the condition of the padded batch ``like``."""
    task = task_of(model)
    m = task.read_map(picture, height, width).to(like.device, like.dtype)
    level[task.keyword] = pad(m, model.multiple).expand(like.shape[0], -1, -1, -1)
    return m


def _check_numbers(task: Any, level: dict) -> None:
    """True/False is not a level, and a whole-number level (JPEG quality) is not 10.5: refused, never rounded."""
    for key, value in level.items():
        values = value if isinstance(value, (list, tuple)) else [value]
        if any(isinstance(v, bool) for v in values):
            raise ValueError(f"{key} must be a number or 'auto', got {value!r}")
        if key == task.keyword and task.level_type is int:
            if any(isinstance(v, float) and not v.is_integer() for v in values):
                raise ValueError(f"{key} is a whole number, got {value!r}")


def _check_channels(model: RestorationModel) -> None:
    """``restore`` hands models RGB images: a model of other channels is for calling directly on its tensors."""
    channels = model.config.get("channels", 3) if isinstance(getattr(model, "config", None), dict) else 3
    if channels != 3:
        raise ValueError(
            f"this model takes {channels} channels; restore() gives models RGB images (3): call the model itself on "
            f"B×{channels}×H×W tensors"
        )


def _check_options(backend: str, return_float: bool, precision: str, overlap: Any, ensemble: bool) -> None:
    """``restore``'s options that cannot go together, refused before any work."""
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


def _unchanged(model: RestorationModel, level: dict, batch: int, device: torch.device) -> Tensor | None:
    """Which images an estimate says have nothing to undo (a JPEG model's "no sign of compression": returned
    unchanged); their level becomes a placeholder the model can be run with. None when there are none."""
    task = task_of(model)
    values = level.get(task.keyword)
    values = values if isinstance(values, list) else [values] * batch
    if not any(task.unchanged(v) for v in values):
        return None
    level[task.keyword] = torch.tensor([float(task.placeholder() if task.unchanged(v) else v) for v in values])
    return torch.tensor([task.unchanged(v) for v in values], device=device)


def _restoring(
    model: RestorationModel, fast: RestorationModel | None, exact: bool, ensemble: bool, on_pass: Any = None
) -> Callable:
    """The function tiles run through: the float64 exact map, or the fast copy (channels-last; or onnxruntime's graph
    when there is none), averaged over the 8 flips and turns for the self-ensemble."""
    if exact:
        return exact_maps(model)[0]
    forward = channels_last(fast.forward) if fast is not None else onnx_restorer(model)
    return self_ensemble(forward, on_pass) if ensemble else forward


def _pass_progress(progress: Progress | None, ensemble: bool, tiles: int) -> tuple[Any, Progress | None]:
    """(called after each ensemble pass, the per-tile progress): the self-ensemble reports its 8 passes per tile as
    progress(done, 8 × tiles), so a photo small enough for one tile does not sit at 0 % for its whole run."""
    if not (ensemble and progress):
        return None, progress
    done = [0]

    def on_pass() -> None:
        done[0] += 1
        progress(done[0], len(DIHEDRAL) * tiles)

    return on_pass, None


def recover_input(
    model: RestorationModel, result: FloatResult, *, progress: Progress | None = None, mask: Any = None, **level: Any
) -> Tensor:
    """The corrupted input as the model saw it (B×3×H×W float), by the exact inverse of the result.

    Uses the condition stored in ``result`` unless the task's level is passed again. Exact to float
    precision for untiled results; tiled results invert tile by tile (seams blended, still close).
    """
    if not isinstance(result, FloatResult):
        raise TypeError("recover_input needs the FloatResult of restore(..., return_float=True)")
    y = result.output
    cond = result.cond
    inverse = exact_maps(model)[1] if y.dtype == torch.float64 else model.inverse
    if mask is not None:  # the task's map, read as restore read it
        _map_level(model, mask, y, result.height, result.width, level)
    if level:
        cond = condition(model.task, y, **level)
    with torch.inference_mode():
        x = tiled(inverse, y, cond, result.tile, result.overlap, model.multiple, progress)
    return x[..., : result.height, : result.width]
