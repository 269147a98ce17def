"""Invertible building blocks of the Glow flows used by IRAE.

Every module maps ``x -> y`` with ``forward(x, cond)`` and ``y -> x`` with ``inverse(y, cond)``; ``cond``
is an optional conditioning map at the module's own resolution (FrEIA-style: conditions are passed
explicitly, never stored). Shapes never change from input to output, so modules compose freely
(``InvertibleSequence``, ``Inverse``) and round-trip tests apply at every scale. No I/O here.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "InvertibleModule",
    "InvertibleSequence",
    "Inverse",
    "ActNorm",
    "InvConv1x1",
    "Affine1x1",
    "AffineCoupling",
    "FlowStep",
    "FlowScale",
    "MultiScaleFlow",
    "squeeze",
    "unsqueeze",
    "downsample_cond",
]


def squeeze(x: Tensor) -> Tensor:
    """Space-to-depth by 2: B×C×H×W -> B×4C×H/2×W/2 (a pure permutation, hence invertible)."""
    return F.pixel_unshuffle(x, 2)


def unsqueeze(x: Tensor) -> Tensor:
    """Depth-to-space by 2, the exact inverse of :func:`squeeze`."""
    return F.pixel_shuffle(x, 2)


def downsample_cond(cond: Tensor | None) -> Tensor | None:
    """Area-average a conditioning map to the next scale's resolution (a mask becomes coverage)."""
    return None if cond is None else F.avg_pool2d(cond, 2)


class InvertibleModule(nn.Module):
    """A bijection with ``forward(x, cond)`` and ``inverse(y, cond)``; subclasses implement both."""

    def forward(self, x: Tensor, cond: Tensor | None = None) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def inverse(self, y: Tensor, cond: Tensor | None = None) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError


class Inverse(InvertibleModule):
    """Runs ``module`` backwards: ``Inverse(f).forward == f.inverse`` (FrEIA's ``Inverse`` wrapper)."""

    def __init__(self, module: InvertibleModule):
        super().__init__()
        self.module = module

    def forward(self, x: Tensor, cond: Tensor | None = None) -> Tensor:
        return self.module.inverse(x, cond)

    def inverse(self, y: Tensor, cond: Tensor | None = None) -> Tensor:
        return self.module.forward(y, cond)


class InvertibleSequence(InvertibleModule):
    """Modules applied in order; the inverse applies their inverses in reverse order.

    With ``memory_saving=True`` (and gradients enabled) intermediate activations are not kept: the
    backward pass rebuilds each module's input from its output with ``inverse`` (see ``memsave.py``).
    """

    def __init__(self, *modules: InvertibleModule, memory_saving: bool = False):
        super().__init__()
        self.layers = nn.ModuleList(modules)
        self.memory_saving = memory_saving

    def _run(self, x: Tensor, cond: Tensor | None, reverse: bool) -> Tensor:
        if self.memory_saving and torch.is_grad_enabled() and self.training:
            from .memsave import invertible_checkpoint

            return invertible_checkpoint(self.layers, x, cond, reverse)
        layers = reversed(self.layers) if reverse else self.layers
        for layer in layers:
            x = layer.inverse(x, cond) if reverse else layer(x, cond)
        return x

    def forward(self, x: Tensor, cond: Tensor | None = None) -> Tensor:
        return self._run(x, cond, reverse=False)

    def inverse(self, y: Tensor, cond: Tensor | None = None) -> Tensor:
        return self._run(y, cond, reverse=True)


class ActNorm(InvertibleModule):
    """Per-channel affine ``y = (x + bias) * exp(logs)`` with Glow's data-dependent initialisation.

    ``initialize(x)`` sets the statistics so that ``forward(x)`` has zero mean and unit variance per
    channel; it is called explicitly (never as a side effect of ``forward``), once, on a first batch.
    """

    def __init__(self, channels: int):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.logs = nn.Parameter(torch.zeros(1, channels, 1, 1))

    @torch.no_grad()
    def initialize(self, x: Tensor, eps: float = 1e-6) -> None:
        mean = x.mean(dim=(0, 2, 3), keepdim=True)
        std = x.std(dim=(0, 2, 3), keepdim=True, unbiased=False)
        self.bias.copy_(-mean)
        self.logs.copy_(-torch.log(std + eps).clamp(min=-5.0, max=5.0))

    def forward(self, x: Tensor, cond: Tensor | None = None) -> Tensor:
        return (x + self.bias) * torch.exp(self.logs)

    def inverse(self, y: Tensor, cond: Tensor | None = None) -> Tensor:
        return y * torch.exp(-self.logs) - self.bias


class InvConv1x1(InvertibleModule):
    """Invertible 1×1 convolution, LU-parametrised: ``W = P · L · (U + diag(sign · exp(log_s)))``.

    P is a fixed permutation, L unit lower-triangular, U strictly upper-triangular: the inverse needs
    only two triangular solves, and ``W`` stays invertible for any parameter values.
    """

    def __init__(self, channels: int, generator: torch.Generator | None = None):
        super().__init__()
        q, _ = torch.linalg.qr(torch.randn(channels, channels, generator=generator))
        p, lower, upper = torch.linalg.lu(q)
        s = torch.diagonal(upper)
        self.register_buffer("p", p)
        self.register_buffer("sign_s", torch.sign(s))
        self.register_buffer("l_mask", torch.tril(torch.ones(channels, channels), -1))
        self.lower = nn.Parameter(lower)
        self.upper = nn.Parameter(torch.triu(upper, 1))
        self.log_s = nn.Parameter(torch.log(torch.abs(s)))

    def _factors(self) -> tuple[Tensor, Tensor, Tensor]:
        """L, U and P in at least float32 (the C×C algebra is tiny; bf16/fp16 models cast after)."""
        dtype = torch.promote_types(self.lower.dtype, torch.float32)
        eye = torch.eye(self.p.shape[0], device=self.p.device, dtype=dtype)
        mask = self.l_mask.to(dtype)
        lower = self.lower.to(dtype) * mask + eye
        upper = self.upper.to(dtype) * mask.T + torch.diag(self.sign_s.to(dtype) * torch.exp(self.log_s.to(dtype)))
        return lower, upper, self.p.to(dtype)

    def weight(self) -> Tensor:
        lower, upper, p = self._factors()
        return p @ lower @ upper

    def inverse_weight(self) -> Tensor:
        lower, upper, p = self._factors()
        eye = torch.eye(p.shape[0], device=p.device, dtype=p.dtype)
        lower_inv = torch.linalg.solve_triangular(lower, eye, upper=False, unitriangular=True)
        upper_inv = torch.linalg.solve_triangular(upper, eye, upper=True)
        return upper_inv @ lower_inv @ p.T

    def forward(self, x: Tensor, cond: Tensor | None = None) -> Tensor:
        w = self.weight().to(x.dtype)
        return F.conv2d(x, w[:, :, None, None])

    def inverse(self, y: Tensor, cond: Tensor | None = None) -> Tensor:
        w = self.inverse_weight().to(y.dtype)
        return F.conv2d(y, w[:, :, None, None])


class Affine1x1(InvertibleModule):
    """A fixed invertible 1×1 convolution with bias, ``y = W x + b``, its inverse precomputed: ``x = W⁻¹ y − W⁻¹ b``.

    :meth:`fold` makes one from an actnorm and the 1×1 convolution after it (one op instead of two, the same map up
    to rounding; the inverse is computed in float64). No parameters to train: for inference and ONNX export.
    """

    def __init__(self, weight: Tensor, bias: Tensor):
        super().__init__()
        w, b = weight.double(), bias.double()
        inverse = torch.linalg.inv(w)
        self.register_buffer("weight", w.float())
        self.register_buffer("bias", b.float())
        self.register_buffer("inverse_weight", inverse.float())
        self.register_buffer("inverse_bias", (-inverse @ b).float())

    @classmethod
    @torch.no_grad()
    def fold(cls, actnorm: ActNorm, conv: InvConv1x1) -> Affine1x1:
        """``conv(actnorm(x)) = W (x + a) e^s = (W diag(e^s)) x + W (a e^s)``."""
        scale = actnorm.logs.detach().double().flatten().exp()
        w = conv.weight().double()
        return cls(w * scale[None], w @ (actnorm.bias.detach().double().flatten() * scale))

    def forward(self, x: Tensor, cond: Tensor | None = None) -> Tensor:
        return F.conv2d(x, self.weight.to(x.dtype)[:, :, None, None], self.bias.to(x.dtype))

    def inverse(self, y: Tensor, cond: Tensor | None = None) -> Tensor:
        return F.conv2d(y, self.inverse_weight.to(y.dtype)[:, :, None, None], self.inverse_bias.to(y.dtype))


class AffineCoupling(InvertibleModule):
    """Glow affine coupling with a bounded sigmoid scale.

    The first half ``a`` (with the condition) predicts a shift ``t`` and scale ``s`` for the second half:
    ``y_b = (x_b + t) * s`` with ``s = 0.5 + sigmoid(h)`` in (0.5, 1.5). Bounded both ways, so both
    directions stay numerically stable (flow 2 runs backwards) and bf16 training is safe. The last
    convolution starts at zero: a fresh coupling is the identity.
    """

    def __init__(self, channels: int, width: int, cond_channels: int = 0):
        super().__init__()
        self.half = channels // 2
        self.net = nn.Sequential(
            nn.Conv2d(self.half + cond_channels, width, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(width, width, 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(width, 2 * (channels - self.half), 3, padding=1),
        )
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)

    def _shift_scale(self, a: Tensor, cond: Tensor | None) -> tuple[Tensor, Tensor]:
        """The net runs in its own dtype (a bf16 net in an fp32 flow: fast convolutions, exact bookkeeping)."""
        net_dtype = self.net[0].weight.dtype
        h = self.net((a if cond is None else torch.cat([a, cond.to(a.dtype)], dim=1)).to(net_dtype)).to(a.dtype)
        gate = torch.sigmoid(h)  # all channels: one contiguous pass, ~3× faster on CPUs than the odd ones strided
        return h[:, 0::2], 0.5 + gate[:, 1::2]

    def forward(self, x: Tensor, cond: Tensor | None = None) -> Tensor:
        a, b = x[:, : self.half], x[:, self.half :]
        shift, scale = self._shift_scale(a, cond)
        return torch.cat([a, (b + shift) * scale], dim=1)

    def inverse(self, y: Tensor, cond: Tensor | None = None) -> Tensor:
        a, b = y[:, : self.half], y[:, self.half :]
        shift, scale = self._shift_scale(a, cond)
        return torch.cat([a, b / scale - shift], dim=1)


class FlowStep(InvertibleSequence):
    """One Glow step: actnorm → invertible 1×1 convolution → affine coupling."""

    def __init__(self, channels: int, width: int, cond_channels: int = 0, generator: torch.Generator | None = None):
        super().__init__(
            ActNorm(channels),
            InvConv1x1(channels, generator=generator),
            AffineCoupling(channels, width, cond_channels),
        )


class FlowScale(InvertibleModule):
    """One scale of the multi-scale flow: squeeze → ``depth`` steps → split → inner scale → unsqueeze.

    After the steps, half of the channels leave as this scale's latent; the other half go to ``inner``
    (the next, coarser scale) and come back concatenated. Output shape = input shape.
    """

    def __init__(
        self,
        channels: int,
        depth: int,
        width: int,
        cond_channels: int = 0,
        inner: FlowScale | None = None,
        generator: torch.Generator | None = None,
    ):
        super().__init__()
        c = 4 * channels
        self.steps = InvertibleSequence(*(FlowStep(c, width, cond_channels, generator) for _ in range(depth)))
        self.inner = inner
        self.keep = c // 2  # channels leaving at this scale when there is an inner scale

    def forward(self, x: Tensor, cond: Tensor | None = None) -> Tensor:
        h, c = squeeze(x), downsample_cond(cond)
        h = self.steps(h, c)
        if self.inner is not None:
            h = torch.cat([h[:, : self.keep], self.inner(h[:, self.keep :], c)], dim=1)
        return unsqueeze(h)

    def inverse(self, y: Tensor, cond: Tensor | None = None) -> Tensor:
        h, c = squeeze(y), downsample_cond(cond)
        if self.inner is not None:
            h = torch.cat([h[:, : self.keep], self.inner.inverse(h[:, self.keep :], c)], dim=1)
        return unsqueeze(self.steps.inverse(h, c))


class MultiScaleFlow(InvertibleModule):
    """A Glow flow of ``scales`` scales with ``depth`` steps each: B×C×H×W -> B×C×H×W.

    The latent is returned in image layout (each scale's split-off half un-squeezed back into place),
    so that it can be fed straight into another flow's ``inverse``. H and W must be multiples of
    ``2**scales``; ``cond`` (B×Cc×H×W) is area-averaged to each scale's resolution and fed to every
    coupling network there. ``width`` is every coupling network's, or one per scale, finest first.
    """

    def __init__(
        self,
        channels: int = 3,
        depth: int = 16,
        width: int | Sequence[int] = 64,
        scales: int = 2,
        cond_channels: int = 0,
        generator: torch.Generator | None = None,
    ):
        super().__init__()
        widths = [width] * scales if isinstance(width, int) else list(width)
        if scales < 1 or depth < 1 or len(widths) != scales or min(widths) < 1:
            raise ValueError("scales, depth and width(s) must all be >= 1, with one width or one per scale")
        self.scales = scales
        scale: FlowScale | None = None
        for i in reversed(range(scales)):  # build from the coarsest scale outwards
            scale = FlowScale(channels * 2**i, depth, widths[i], cond_channels, scale, generator)
        self.root = scale

    def check_shape(self, x: Tensor) -> None:
        m = 2**self.scales
        if x.ndim != 4 or x.shape[-2] % m or x.shape[-1] % m:
            raise ValueError(f"expected B×C×H×W with H and W multiples of {m}, got {tuple(x.shape)}")

    def forward(self, x: Tensor, cond: Tensor | None = None) -> Tensor:
        self.check_shape(x)
        return self.root(x, cond)

    def inverse(self, y: Tensor, cond: Tensor | None = None) -> Tensor:
        self.check_shape(y)
        return self.root.inverse(y, cond)
