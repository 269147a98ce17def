"""How a model runs: its cached variants per weights (the fused fp32 / bf16 copies, the float64 exact maps, the
onnxruntime graph) and the time a restoration will take here. ``restore.py`` is the pipeline around them."""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from ..models.base import RestorationModel
from ..models.fused import weights_key
from ..tasks import TASKS
from .tiling import DEFAULT_OVERLAP, DIHEDRAL, resolve_tile, tiled_pixels

__all__ = [
    "OnnxRestorer",
    "BACKENDS",
    "channels_last",
    "estimate_seconds",
    "exact_maps",
    "fast_model",
    "onnx_restorer",
    "device_dtype",
]


def channels_last(fn: Callable[[Tensor, Tensor], Tensor]) -> Callable[[Tensor, Tensor], Tensor]:
    """``fn`` on channels-last inputs: oneDNN's fast convolutions (≈1.3× on CPUs; same map up to float rounding).
    float64 stays as it is (no oneDNN kernels: channels-last would only add copies)."""

    def run(x: Tensor, cond: Tensor) -> Tensor:
        if x.dtype == torch.float64:
            return fn(x, cond)
        # fresh copies, not views: a view of a decoded image (numpy's buffer) ran the same convolutions 2× slower
        fresh = [torch.empty_like(t, memory_format=torch.channels_last).copy_(t) for t in (x, cond)]
        return fn(*fresh).contiguous()

    return run


def device_dtype(model: RestorationModel) -> tuple[torch.device, torch.dtype]:
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


def onnx_restorer(model: RestorationModel) -> Callable[[Tensor, Tensor], Tensor]:
    """The model's onnxruntime restorer, exported again only when its weights changed."""
    return _derived(model, "onnxruntime", lambda: OnnxRestorer(model))


def fast_model(model: RestorationModel, precision: str) -> RestorationModel:
    """``model.for_inference(precision)``, made once per model, precision and weights."""
    return _derived(model, f"fast {precision}", lambda: model.for_inference(precision))


def exact_maps(
    model: RestorationModel,
) -> tuple[Callable[[Tensor, Tensor], Tensor], Callable[[Tensor, Tensor], Tensor]]:
    """``model.exact_maps()`` (its float64 copies), made once per model and weights, shared by restore and recover."""
    return _derived(model, "exact maps", model.exact_maps)


_SECONDS_PER_PIXEL: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # per model, measured once


def _seconds_per_pixel(model: RestorationModel, precision: str = "fp32") -> float:
    """The model's forward time per pixel here at ``precision``, timed once on a 256×256 input (after a warm-up)."""
    known = _SECONDS_PER_PIXEL.setdefault(model, {})
    if precision not in known:
        run = fast_model(model, precision)
        device, dtype = device_dtype(run)
        x = torch.rand(1, 3, 256, 256, device=device, dtype=dtype)
        cond = TASKS[run.task].condition(x, TASKS[run.task].example_level(x))
        forward = channels_last(run.forward)
        with torch.inference_mode():
            forward(x[..., :64, :64], cond[..., :64, :64])
            t0 = time.perf_counter()
            forward(x, cond)
            known[precision] = (time.perf_counter() - t0) / x[0, 0].numel()
    return known[precision]


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


class OnnxRestorer:
    """The model's restore graph run by onnxruntime, as a ``fn(x, cond)`` for ``tiling.tiled``: the fp32 map up to
    rounding, faster than PyTorch's eager CPU kernels on large images (docs/inference.md). Exported once."""

    def __init__(self, model: RestorationModel, threads: int | None = None):
        import tempfile

        try:
            import onnxruntime as ort
        except ImportError as e:
            raise ValueError("backend='onnxruntime' needs the onnxruntime package (pip install onnxruntime)") from e
        from .onnx import level_scale

        self.task, self.scale = model.task, level_scale(model.task)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or torch.get_num_threads()
        with tempfile.TemporaryDirectory() as tmp:
            from .onnx import export_onnx

            export_onnx(model, tmp, directions=("restore",))
            path = str(Path(tmp) / "restore.onnx")
            self.session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])

    def __call__(self, x: Tensor, cond: Tensor) -> Tensor:
        level = cond if self.scale is None else cond[:, 0, 0, 0] * self.scale
        feed = {"image": x.float().contiguous().numpy(), "level": level.float().contiguous().numpy()}
        return torch.from_numpy(self.session.run(None, feed)[0]).to(x.dtype)
