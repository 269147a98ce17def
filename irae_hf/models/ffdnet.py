"""An FFDNet-architecture CNN with IRAE's interface: the non-invertible peer users can pip-install, trained like IRAE.

Zhang, Zuo and Zhang (2018): the image is folded into 2×2 sub-images (pixel unshuffle) and concatenated with its level
map folded the same way, ``depth`` 3×3 convolutions of ``width`` channels (BatchNorm + ReLU inside) run at half
resolution, and the residual is unfolded back (``restored = x - net(x, cond)``). The published colour network is
width 96, depth 12 (0.86 M parameters here, 213 k multiply-adds per pixel; the level map is folded like the image,
4 channels, where FFDNet's σ map is 1); depth 10 costs IRAE's 171 k multiply-adds per pixel (0.69 M parameters),
the configuration for comparing the two at equal computation. A fresh network is initialised as KAIR trains FFDNet
(orthogonal, gain 0.2): with PyTorch's default it does not start learning at batch 16.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torch.nn.functional import pixel_shuffle, pixel_unshuffle

from .base import RestorationModel
from .cards import FFDNET_CARD
from .dncnn import conv_body, kair_init

__all__ = ["FFDNet"]


class FFDNet(
    RestorationModel,
    tags=["ffdnet", "baseline"],
    paper_url="https://arxiv.org/abs/1710.04026",
    model_card_template=FFDNET_CARD,
):
    """Half-resolution 3×3 convolutions on the folded image and level map; inputs are padded to even sizes."""

    arch = "ffdnet"

    def __init__(
        self, task: str = "denoise", channels: int = 3, width: int = 96, depth: int = 12, noise: str | None = None
    ):
        super().__init__()
        self.check_names(task, noise)
        self.check_positive(channels=channels, width=width, depth=depth)
        if depth < 3:
            raise ValueError(f"FFDNet needs depth >= 3, got depth={depth}")
        self.task, self.multiple = task, 2
        self.net = conv_body(4 * channels + 4, width, depth, 4 * channels)  # the image and its level map, folded
        kair_init(self.net)  # FFDNet's training recipe (KAIR); loaded weights replace it

    @classmethod
    def multiple_for(cls, **config: Any) -> int:
        return 2

    def forward(self, x: Tensor, cond: Tensor) -> Tensor:
        c = cond.to(x.dtype)
        folded = torch.cat([pixel_unshuffle(x, 2), pixel_unshuffle(c, 2)], dim=1)
        return x - pixel_shuffle(self.net(folded), 2)
