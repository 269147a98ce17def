"""A DnCNN-style non-invertible CNN with IRAE's interface: the baseline for the paper's claim.

Zhang et al. (2017) with FFDNet-style conditioning: the level map is concatenated to the input, the
network predicts the residual (``restored = x - net(x, cond)``). At width 96 and depth 18 it has
1,336,323 parameters, within 2 % of IRAE's default 1,353,216, so the two compare at equal size.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .base import RestorationModel
from .cards import DNCNN_CARD

__all__ = ["DnCNN", "conv_body", "kair_init"]


def conv_body(inputs: int, width: int, depth: int, outputs: int) -> nn.Sequential:
    """DnCNN's body: ``depth`` 3×3 convolutions of ``width`` channels, BatchNorm + ReLU between (FFDNet's too)."""
    layers: list[nn.Module] = [nn.Conv2d(inputs, width, 3, padding=1), nn.ReLU(inplace=True)]
    for _ in range(depth - 2):
        layers += [nn.Conv2d(width, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True)]
    layers.append(nn.Conv2d(width, outputs, 3, padding=1))
    return nn.Sequential(*layers)


def kair_init(net: nn.Module, gain: float = 0.2) -> None:
    """KAIR's initialisation for DnCNN/FFDNet training: orthogonal convolutions scaled by ``gain``, zero biases,
    BatchNorm scales uniform in [0.1, 1]. PyTorch's default leaves such a net on the restore-nothing plateau for
    hundreds of steps at batch 16 (docs/results.md, point 6); this one leaves it within about 100."""
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.orthogonal_(m.weight, gain=gain)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.uniform_(m.weight, 0.1, 1.0)
            nn.init.zeros_(m.bias)


class DnCNN(
    RestorationModel,
    tags=["dncnn", "baseline"],
    paper_url="https://arxiv.org/abs/1608.03981",
    model_card_template=DNCNN_CARD,
):
    """``depth`` 3×3 convolutions of ``width`` channels (BatchNorm + ReLU inside), residual output.

    ``arch`` is stored in config.json so loaders can tell a DnCNN folder from an IRAE one.
    """

    arch = "dncnn"

    def __init__(
        self, task: str = "denoise", channels: int = 3, width: int = 96, depth: int = 18, noise: str | None = None
    ):
        super().__init__()
        self.check_names(task, noise)
        self.check_positive(channels=channels, width=width, depth=depth)
        if depth < 3:
            raise ValueError(f"DnCNN needs depth >= 3, got depth={depth}")
        self.task, self.multiple = task, 1
        self.net = conv_body(channels + 1, width, depth, channels)

    def forward(self, x: Tensor, cond: Tensor) -> Tensor:
        c = cond.to(x.dtype)
        return x - self.net(torch.cat([x, c], dim=1))
