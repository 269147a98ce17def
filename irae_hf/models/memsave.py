"""Memory-saving backpropagation for invertible sequences (as in i-RevNet / MemCNN).

The forward pass keeps only the sequence's output. The backward pass walks the layers in reverse:
it rebuilds each layer's input from its output with the exact inverse, recomputes that one layer with
autograd on, and backpropagates through it. Activation memory no longer grows with depth, for about
one extra forward pass of compute.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

__all__ = ["invertible_checkpoint"]


def _apply(layer: nn.Module, x: Tensor, cond: Tensor | None, reverse: bool) -> Tensor:
    return layer.inverse(x, cond) if reverse else layer(x, cond)


class _InvertibleCheckpoint(torch.autograd.Function):
    @staticmethod
    def forward(ctx, layers, cond, reverse, x, *params):  # type: ignore[override]
        ctx.layers, ctx.cond, ctx.reverse = layers, cond, reverse
        order = list(reversed(layers)) if reverse else list(layers)
        with torch.no_grad():
            for layer in order:
                x = _apply(layer, x, cond, reverse)
        ctx.save_for_backward(x)
        ctx.params = params
        return x

    @staticmethod
    def backward(ctx, grad_y):  # type: ignore[override]
        (y,) = ctx.saved_tensors
        order = list(reversed(ctx.layers)) if ctx.reverse else list(ctx.layers)
        grads = {id(p): None for p in ctx.params}
        y = y.detach()
        for layer in reversed(order):
            with torch.no_grad():
                x = _apply(layer, y, ctx.cond, not ctx.reverse)  # rebuild the input from the output
            x = x.detach().requires_grad_(True)
            params = [p for p in layer.parameters() if p.requires_grad]
            with torch.enable_grad():
                out = _apply(layer, x, ctx.cond, ctx.reverse)
            gx, *gp = torch.autograd.grad(out, [x, *params], grad_y, allow_unused=True)
            for p, g in zip(params, gp):
                if g is not None:
                    grads[id(p)] = g if grads[id(p)] is None else grads[id(p)] + g
            grad_y, y = gx, x.detach()
        return (None, None, None, grad_y, *(grads[id(p)] for p in ctx.params))


def invertible_checkpoint(layers: Sequence[nn.Module], x: Tensor, cond: Tensor | None, reverse: bool) -> Tensor:
    """Run ``layers`` (each with ``forward``/``inverse``) on ``x`` storing no intermediate activations.

    ``reverse=True`` runs the inverses in reverse order. ``cond`` is treated as a constant (no gradient).
    """
    params = [p for layer in layers for p in layer.parameters() if p.requires_grad]
    cond = None if cond is None else cond.detach()
    return _InvertibleCheckpoint.apply(layers, cond, reverse, x, *params)
