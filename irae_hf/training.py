"""Training helpers shared by ``train_accelerate.py`` and its tests: the weights' moving average and plain copies."""

from __future__ import annotations

from pathlib import Path

import torch

from .base import RestorationModel

__all__ = ["EMA", "EMA_FILE", "plain_copy"]

#: the moving average's weights inside a checkpoint folder (beside accelerate's model.safetensors)
EMA_FILE = "ema.safetensors"


def plain_copy(model: RestorationModel) -> RestorationModel:
    """A fresh fp32, contiguous, eval-mode copy of ``model``'s weights on its device, with none of accelerate's
    wrappers (autocast, DDP): validation and export see exactly what ``from_pretrained`` will."""
    copy = type(model)(**model.config)
    copy.load_state_dict({k: v.float().contiguous() for k, v in model.state_dict().items()})
    return copy.to(next(model.parameters()).device).eval()


class EMA:
    """Exponential moving average of a model's weights, ``ema ← decay·ema + (1 − decay)·weights`` after each step.

    The average lives in its own fp32 model (``self.model``), starts from the weights it is given, and is saved
    and restored as a safetensors file, so a resumed run continues it bit for bit.
    """

    def __init__(self, model: RestorationModel, decay: float = 0.999):
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"the EMA decay must be in [0, 1), got {decay}")
        self.decay = decay
        self.model = plain_copy(model).requires_grad_(False)

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        """One averaging step towards ``model``'s current weights (buffers are copied as they are)."""
        own = self.model.state_dict()
        for name, value in model.state_dict().items():
            target = own[name]
            if target.dtype.is_floating_point:
                target.lerp_(value.to(target.dtype), 1.0 - self.decay)
            else:
                target.copy_(value)

    def save(self, path: str | Path) -> None:
        from safetensors.torch import save_file

        save_file({k: v.contiguous() for k, v in self.model.state_dict().items()}, str(path))

    def load(self, path: str | Path) -> None:
        self.model.load_weights(path, map_location=next(self.model.parameters()).device)
