"""The training losses by name (``--loss``), in one table: L1 is the paper's."""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["LOSSES", "charbonnier"]


def charbonnier(restored: Tensor, clean: Tensor, eps: float = 1e-3) -> Tensor:
    """sqrt((x − y)² + ε²), a smooth L1 (ε = 1e-3 on [0, 1] images)."""
    return torch.sqrt((restored - clean) ** 2 + eps**2).mean()


LOSSES = {"l1": torch.nn.functional.l1_loss, "l2": torch.nn.functional.mse_loss, "charbonnier": charbonnier}
