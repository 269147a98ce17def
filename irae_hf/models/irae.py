"""IRAE: flow 1 forward, then flow 2 backwards — one invertible map from corrupted to restored image.

The degradation level is a conditioning map fed to every coupling network (FFDNet-style), so one model
serves a whole range: σ/255 for denoising, quality/100 for JPEG, the mask (1 = missing) for inpainting.
For every fixed condition the map is exactly invertible: ``model.inverse(model(x, c), c) == x``.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from .base import RestorationModel
from .cards import IRAE_CARD
from .flows import (
    ActNorm,
    Affine1x1,
    AffineCoupling,
    FlowScale,
    FlowStep,
    Inverse,
    InvertibleModule,
    InvertibleSequence,
    MultiScaleFlow,
)
from .fused import bf16_pays, fuse_coupling_nets

__all__ = ["IRAE"]


class IRAE(
    RestorationModel,
    InvertibleModule,
    tags=["normalizing-flow", "invertible", "irae"],
    paper_url="https://arxiv.org/abs/2009.03173",
    model_card_template=IRAE_CARD,
):
    """Invertible Restoring Autoencoder (Liu et al., ICONIP 2020) with a conditioning input.

    Args:
        task: ``"denoise"`` (keyword ``sigma``, 0–255 units), ``"jpeg"`` (``quality``, 1–100) or
            ``"inpaint"`` (``mask``, 1/True = missing).
        channels: image channels (3 for RGB).
        width: hidden channels of every coupling network (paper: 64), or a list of one per scale, finest first.
        depth: flow steps per scale (paper: 16).
        scales: scales of each flow (paper: 2); inputs must be multiples of ``2**scales``.
    """

    arch = "irae"

    @classmethod
    def multiple_for(cls, scales: int = 2, **config: Any) -> int:
        """Inputs must divide by ``2**scales`` (each scale squeezes 2×2 pixels into channels)."""
        return 2**scales

    def __init__(
        self,
        task: str = "denoise",
        channels: int = 3,
        width: int | list[int] = 64,
        depth: int = 16,
        scales: int = 2,
        noise: str | None = None,
    ):
        super().__init__()
        self.check_names(task, noise)
        self.check_positive(channels=channels, depth=depth, scales=scales)
        if isinstance(width, list) and len(width) != scales:  # one per scale (config.json from anywhere: checked)
            raise ValueError(f"width must be one integer or one per scale ({scales}), got {width!r}")
        for w in width if isinstance(width, list) else [width]:
            self.check_positive(width=w)
        self.task = task
        self.multiple = self.multiple_for(scales=scales)
        self.flow1 = MultiScaleFlow(channels, depth, width, scales, cond_channels=1)
        self.flow2 = MultiScaleFlow(channels, depth, width, scales, cond_channels=1)
        self.flow2.load_state_dict(self.flow1.state_dict())  # a fresh model is the identity map

    @property
    def flow(self) -> InvertibleSequence:
        """The whole map as one invertible composition: flow 1, then flow 2 run backwards."""
        return InvertibleSequence(self.flow1, Inverse(self.flow2))

    # ----------------------------------------------------------------------------- exact maps
    def forward(self, x: Tensor, cond: Tensor) -> Tensor:
        """Restore: B×C×H×W in [0, 1] (H, W multiples of ``2**scales``) with its B×1×H×W condition -> same shape,
        unclamped."""
        return self.flow(x, cond.to(x.dtype))

    def inverse(self, y: Tensor, cond: Tensor) -> Tensor:
        """The exact inverse of :meth:`forward` for the same condition: gives the corrupted input back."""
        return self.flow.inverse(y, cond.to(y.dtype))

    @torch.no_grad()
    def initialize(self, x: Tensor, cond: Tensor) -> None:
        """Glow's data-dependent actnorm initialisation on a first batch, then flow 2 := flow 1.

        Afterwards every flow-1 activation has zero mean and unit variance per channel on ``x``, and
        the whole model is still the identity map (couplings start at zero), a good start for restoration.
        """
        c = cond.to(x.dtype)
        hooks = [
            m.register_forward_pre_hook(lambda mod, args: mod.initialize(args[0]))
            for m in self.flow1.modules()
            if isinstance(m, ActNorm)
        ]
        try:
            self.flow1(x, c)
        finally:
            for h in hooks:
                h.remove()
        self.flow2.load_state_dict(self.flow1.state_dict())

    def in_precision(self, precision: str) -> IRAE:
        """ "fp32": the model itself. "bf16": a copy whose coupling networks (nearly all the FLOPs) run in
        bfloat16 while actnorm, the 1×1 convolutions and the coupling arithmetic stay fp32: faster on CPUs with
        AVX512-BF16, a few thousandths of a dB lower (measured in docs/inference.md). Not exactly invertible. A CPU
        model on a CPU without bf16 hardware, where bf16 runs 2–12× slower, stays fp32 (with a warning)."""
        if precision != "bf16":
            return super().in_precision(precision)
        if not bf16_pays(next(self.parameters()).device):
            warnings.warn(
                "precision='bf16' runs fp32 here: this CPU has no bf16 hardware (AVX512-BF16 or AMX), "
                "where bf16 is 2-12x slower than fp32",
                stacklevel=2,
            )
            return self
        fast = copy.deepcopy(self)
        for module in fast.modules():
            if isinstance(module, AffineCoupling):
                module.net.to(torch.bfloat16)
        return fast

    def exact_maps(self) -> tuple[Callable[[Tensor, Tensor], Tensor], Callable[[Tensor, Tensor], Tensor]]:
        """(forward, inverse) for "nothing lost", float64 tensors out: flow 2 in float64, flow 1 in its own precision.

        A trained flow 2 run forwards (restored image → latents) magnifies float32 rounding up to ~10⁷ times: it
        rebuilds the noise from the restored image's last digits. Flow 1's inverse (latents → input) magnifies it
        less than ~10² (``benchmarks/probes/inverse_cost.py``). So flow 2 runs in float64 both ways and flow 1 in
        float32: the input comes back to within ~10⁻⁴ (0–1 units) at about half the cost of an all-float64 map.
        """
        dtype = next(self.flow1.parameters()).dtype
        flow1 = fuse_coupling_nets(copy.deepcopy(self.flow1))  # copies run the fast paths of irae_hf/models/fused.py
        flow2 = fuse_coupling_nets(copy.deepcopy(self.flow2).double())
        cl = torch.channels_last

        def forward(x: Tensor, cond: Tensor) -> Tensor:
            z = flow1(x.to(dtype).contiguous(memory_format=cl), cond.to(dtype).contiguous(memory_format=cl))
            return flow2.inverse(z.double().contiguous(memory_format=cl), cond.double().contiguous(memory_format=cl))

        def inverse(y: Tensor, cond: Tensor) -> Tensor:
            z = flow2(y.double().contiguous(memory_format=cl), cond.double().contiguous(memory_format=cl))
            z = z.to(dtype).contiguous(memory_format=cl)
            return flow1.inverse(z, cond.to(dtype).contiguous(memory_format=cl)).double().contiguous()

        return forward, inverse

    def folded(self) -> IRAE:
        """A copy for inference and export with each actnorm folded into the 1×1 convolution after it
        (:class:`~irae_hf.models.flows.Affine1x1`: fixed weights, no LU algebra in the graph; the same map up to
        rounding)."""
        out = copy.deepcopy(self)
        for module in out.modules():
            if isinstance(module, FlowStep) and isinstance(module.layers[0], ActNorm):
                actnorm, conv, coupling = module.layers
                module.layers = torch.nn.ModuleList([Affine1x1.fold(actnorm, conv), coupling])
        return out

    def for_inference(self, precision: str = "fp32") -> IRAE:
        """A copy for fast inference: actnorm folded into the 1×1 convolutions (:meth:`folded`) and the coupling
        networks run as fused oneDNN convolution+ReLU ops on CPUs (:mod:`irae_hf.models.fused`). The same map as
        :meth:`in_precision` up to float rounding, 1.2–1.5× faster on CPUs; ``restore`` uses it (not for training)."""
        return fuse_coupling_nets(self.in_precision(precision).folded()).eval()

    def set_memory_saving(self, enabled: bool = True) -> None:
        """Rebuild activations from outputs in the backward pass instead of storing them (training only).

        Applied to each scale's chain of flow steps, the bulk of the activations (see ``memsave.py``).
        """
        for m in self.modules():
            if isinstance(m, FlowScale):
                m.steps.memory_saving = enabled
