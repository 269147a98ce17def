"""Inference-only execution of the coupling networks: oneDNN convolutions with the ReLU fused in and the weights
prepacked once, the same function as the plain layers up to float rounding (1.2–1.5× faster on these CPUs:
benchmarks/probes/inference_speed.py). In float64 (the exact inverse's flow 2, where oneDNN has no kernels) a 3×3
convolution to fewer channels than it reads runs as one matrix product and nine shifted sums (≈3.7× PyTorch's
float64 convolution for 64→12). Anything else (GPUs, gradients) runs the plain layers.
"""

from __future__ import annotations

import functools
import platform

import torch
from torch import Tensor, nn

FUSED_DTYPES = (torch.float32, torch.bfloat16)
PACK_HINT = 256  # the input size oneDNN picks its kernels for when prepacking (any size runs)


def conv3x3_f64(x: Tensor, conv: nn.Conv2d) -> Tensor:
    """``conv(x)`` for a 3×3, stride-1, zero-padded convolution to fewer channels than it reads: every tap's
    contribution in one matrix product (pixels × C_in) @ (C_in × 9·C_out), then the nine taps' shifted sums; the same
    function in float64 arithmetic (summation order aside). Channels-last out."""
    n, c, h, w = x.shape
    cout = conv.out_channels
    taps = conv.weight.permute(1, 2, 3, 0).reshape(c, 9 * cout)
    y = (x.permute(0, 2, 3, 1).reshape(-1, c) @ taps).view(n, h, w, 3, 3, cout)
    out = (torch.zeros(cout, dtype=x.dtype) if conv.bias is None else conv.bias).expand(n, h, w, cout).clone()
    for di in range(3):
        for dj in range(3):  # out[i, j] += y[i + di - 1, j + dj - 1, tap (di, dj)], zero outside the image
            i0, i1, j0, j1 = max(0, 1 - di), h - max(0, di - 1), max(0, 1 - dj), w - max(0, dj - 1)
            out[:, i0:i1, j0:j1] += y[:, i0 + di - 1 : i1 + di - 1, j0 + dj - 1 : j1 + dj - 1, di, dj]
    return out.permute(0, 3, 1, 2)


def _gemm_wins(conv: nn.Conv2d) -> bool:
    """The matrix-product form pays where the output has fewer channels than the input (its 9·C_out-wide product)."""
    return (
        conv.kernel_size == (3, 3)
        and conv.stride == (1, 1)
        and conv.dilation == (1, 1)
        and conv.groups == 1
        and conv.padding == (1, 1)
        and conv.padding_mode == "zeros"
        and conv.out_channels < conv.in_channels
    )


def _onednn_bf16() -> bool:
    """oneDNN's own check: it runs bf16 on this CPU (natively, or emulated on AVX-512 without AVX512-BF16)."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


@functools.cache
def cpu_has_fast_bf16() -> bool:
    """Whether this CPU computes bf16 in hardware, so that bf16 inference pays (docs/inference.md)."""
    try:
        x86 = torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()
    except (AttributeError, RuntimeError):
        x86 = False
    return bf16_in_hardware(platform.machine(), _onednn_bf16(), x86)


def bf16_pays(device: torch.device | str) -> bool:
    """Whether a bf16 model is faster than fp32 on ``device``: on GPUs, and on CPUs with bf16 hardware."""
    return torch.device(device).type != "cpu" or cpu_has_fast_bf16()


def bf16_in_hardware(machine: str, onednn_bf16: bool, x86_bf16: bool) -> bool:
    """oneDNN runs bf16 (``onednn_bf16``) and, on x86, natively (AVX512-BF16 or AMX: ``x86_bf16``); oneDNN's own
    check also passes on AVX-512 CPUs without them, where it emulates bf16 and the model runs 2.2× slower than in
    fp32 (9.5× on AVX2-only CPUs, where the check fails; docs/inference.md)."""
    return onednn_bf16 and (x86_bf16 or machine.lower() not in ("x86_64", "amd64", "i386", "i686"))


@functools.cache
def _fused_dtypes() -> tuple[torch.dtype, ...]:
    """The dtypes oneDNN fuses here: bf16 only where the CPU has it (without AVX512-BF16 or AVX-NE-CONVERT oneDNN
    refuses bf16 weights, so bf16 models run unfused: slower, same result)."""
    return FUSED_DTYPES if _onednn_bf16() else (torch.float32,)


@functools.cache
def _fused_op():
    """oneDNN's convolution with a fused pointwise op (what torch.compile's CPU backend uses), or None without it."""
    try:
        return torch.ops.mkldnn._convolution_pointwise if torch.backends.mkldnn.is_available() else None
    except (AttributeError, RuntimeError):  # a build without oneDNN
        return None


def weights_key(module: nn.Module) -> tuple:
    """Identity of ``module``'s current weights (storage, in-place version, dtype): changes when they change.
    Inference-mode tensors keep no version counter, and cannot be changed outside inference mode: -1 for them."""

    def version(t: Tensor) -> int:
        try:
            return t._version
        except RuntimeError:
            return -1

    return tuple((p.data_ptr(), version(p), p.dtype) for p in module.parameters())


class FusedConvNet(nn.Sequential):
    """A coupling network (``Conv2d`` and ``ReLU`` layers) that runs each convolution with the ReLU after it as one
    oneDNN op on prepacked weights; the same layers, parameters and state dict as the ``nn.Sequential`` it wraps."""

    def __init__(self, net: nn.Sequential):
        super().__init__(*net)
        if not all(isinstance(m, (nn.Conv2d, nn.ReLU)) for m in self):
            raise TypeError("FusedConvNet takes Conv2d and ReLU layers only")
        convs = [m for m in self if isinstance(m, nn.Conv2d)]  # the layers are fixed: checked once
        self._zero_padded = all(m.padding_mode == "zeros" and isinstance(m.padding, tuple) for m in convs)
        self._packed: tuple[tuple, list] | None = None  # (the weights' identity, the fused plan) for one dtype

    def _plan(self) -> list[tuple[Tensor, Tensor | None, list[int], list[int], list[int], int, str]]:
        """Per convolution: prepacked weight, bias, padding, stride, dilation, groups and "relu"/"none";
        rebuilt whenever the weights change (a load, a cast, a training step)."""
        key = weights_key(self)
        if self._packed is None or self._packed[0] != key:
            layers, plan = list(self), []
            for i, conv in enumerate(layers):
                if not isinstance(conv, nn.Conv2d):
                    continue
                relu = i + 1 < len(layers) and isinstance(layers[i + 1], nn.ReLU)
                geometry = [list(conv.padding), list(conv.stride), list(conv.dilation), conv.groups]
                hint = [1, conv.in_channels, PACK_HINT, PACK_HINT]
                weight = torch.ops.mkldnn._reorder_convolution_weight(conv.weight.detach(), *geometry, hint)
                bias = None if conv.bias is None else conv.bias.detach()
                plan.append((weight, bias, *geometry, "relu" if relu else "none"))
            self._packed = (key, plan)
        return self._packed[1]

    def _fusable(self, x: Tensor) -> bool:
        conv = self[0]
        return (
            _fused_op() is not None
            and x.device.type == "cpu"
            and x.dtype in _fused_dtypes()
            and x.dtype == conv.weight.dtype
            and not (torch.is_grad_enabled() and (x.requires_grad or conv.weight.requires_grad))
            and self._zero_padded
        )

    def _forward_f64(self, x: Tensor) -> Tensor:
        """float64 on a CPU: the narrowing 3×3 convolutions as matrix products (:func:`conv3x3_f64`), ReLU in place."""
        for layer in self:
            if isinstance(layer, nn.ReLU):
                x = x.clamp_min_(0)  # a fresh output of the convolution before it
            else:
                x = conv3x3_f64(x, layer) if _gemm_wins(layer) else layer(x)
        return x

    def forward(self, x: Tensor) -> Tensor:
        if x.dtype == torch.float64 and x.device.type == "cpu" and not torch.is_grad_enabled():
            return self._forward_f64(x)
        if not self._fusable(x):
            return super().forward(x)
        op = _fused_op()
        for weight, bias, padding, stride, dilation, groups, attr in self._plan():
            x = op(x, weight, bias, padding, stride, dilation, groups, attr, [], "")
        return x


def fuse_coupling_nets(model: nn.Module) -> nn.Module:
    """``model`` with every ``net`` of Conv2d/ReLU layers (the affine couplings') made a :class:`FusedConvNet`,
    in place; returns the model."""
    for module in list(model.modules()):
        net = getattr(module, "net", None)
        if isinstance(net, nn.Sequential) and not isinstance(net, FusedConvNet):
            module.net = FusedConvNet(net)
    return model
