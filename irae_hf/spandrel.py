"""IRAE in spandrel, and through it in chaiNNer and ComfyUI: ``install()`` adds an architecture to spandrel's
``MAIN_REGISTRY`` that recognises a file written by ``irae export --format spandrel`` from its keys alone.

spandrel reads a state dict and nothing else (no config.json, no metadata), and calls a model with an image alone.
So an exported file holds the model under ``irae.`` and its level under ``level.<keyword>`` (``level.sigma``,
``level.quality``: the level fixed at export, or NaN for each image's own blind estimate; ``level.mask`` for
inpainting, whose mask comes with each call); the task follows from that key's name and every hyperparameter from
the key names and tensor shapes. The loaded model runs ``restore`` itself, so its output is ``restore``'s.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from .models.irae import IRAE
from .tasks import TASKS

__all__ = ["ARCH_ID", "SpandrelIRAE", "install", "detect", "from_state_dict", "export_spandrel"]

ARCH_ID = "IRAE"
#: keys no other architecture has: both flows' first invertible 1×1 convolution (its LU mask)
FLOW_KEYS = ("irae.flow1.root.steps.layers.0.layers.1.l_mask", "irae.flow2.root.steps.layers.0.layers.1.l_mask")
LEVEL = "level."


class _Level(nn.Module):
    """The level, as a state-dict entry ``level.<keyword>`` (NaN: read from each image)."""

    def __init__(self, keyword: str, value: float) -> None:
        super().__init__()
        self.register_buffer(keyword, torch.tensor(value, dtype=torch.float64))


class SpandrelIRAE(nn.Module):
    """An IRAE and its level in one state dict, called as spandrel calls models: ``(image)`` (B×3×H×W in [0, 1])
    for denoising and JPEG, ``(image, mask)`` for inpainting (mask 1 = fill)."""

    def __init__(self, irae: IRAE, level: float | None = None) -> None:
        super().__init__()
        self.irae = irae
        self.keyword = TASKS[irae.task].keyword
        self.level = _Level(self.keyword, math.nan if level is None else float(level))

    @property
    def fixed_level(self) -> float | None:
        """The level fixed at export, or None: each image's blind estimate (or, inpainting, the mask given)."""
        value = float(getattr(self.level, self.keyword))
        return None if math.isnan(value) else value

    def forward(self, image: Tensor, mask: Tensor | None = None) -> Tensor:
        from .pipeline.restore import AUTO, restore

        if not TASKS[self.irae.task].blind:
            if mask is None:
                raise ValueError(f"a {self.irae.task} model needs a mask with the image")
            return restore(self.irae, image, **{self.keyword: mask})  # nonzero = fill, as restore reads masks
        level = self.fixed_level
        task = TASKS[self.irae.task]
        return restore(self.irae, image, **{self.keyword: AUTO if level is None else task.level_type(level)})


def detect(state_dict: dict) -> bool:
    """Whether ``state_dict`` is an exported IRAE: both flows' keys and exactly one level key of a known task."""
    return all(k in state_dict for k in FLOW_KEYS) and len(_level_keys(state_dict)) == 1


def _level_keys(state_dict: dict) -> list[str]:
    keywords = {task.keyword for task in TASKS.values()}
    return [k for k in state_dict if k.startswith(LEVEL) and k[len(LEVEL) :] in keywords]


def hyperparameters(state_dict: dict) -> dict[str, Any]:
    """IRAE's arguments from key names and tensor shapes: the task from the level's key, the scales from the nesting
    of ``inner``, the depth from the steps, each scale's width from its first coupling, the channels from the first
    actnorm (after a 2×2 squeeze)."""
    [level_key] = _level_keys(state_dict)
    task = next(t.name for t in TASKS.values() if t.keyword == level_key[len(LEVEL) :])
    flow1 = [k for k in state_dict if k.startswith("irae.flow1.root.")]
    scales = 1 + max(k.split(".").count("inner") for k in flow1)
    steps = {int(m.group(1)) for k in flow1 if (m := re.match(r"irae\.flow1\.root\.steps\.layers\.(\d+)\.", k))}
    widths = [
        int(state_dict[f"irae.flow1.root{'.inner' * s}.steps.layers.0.layers.2.net.0.weight"].shape[0])
        for s in range(scales)
    ]
    channels = state_dict["irae.flow1.root.steps.layers.0.layers.0.bias"].numel() // 4
    width = widths[0] if len(set(widths)) == 1 else widths
    return {"task": task, "channels": channels, "width": width, "depth": max(steps) + 1, "scales": scales}


def from_state_dict(state_dict: dict) -> SpandrelIRAE:
    """The exported model, rebuilt from its state dict alone and loaded strictly (every key, every shape)."""
    try:
        model = SpandrelIRAE(IRAE(**hyperparameters(state_dict)))
        model.load_state_dict(state_dict, strict=True)
    except (KeyError, ValueError, RuntimeError, TypeError) as e:  # a truncated or altered file
        lines = [line.strip() for line in str(e).splitlines() if line.strip()]
        said = next((line for line in lines if not line.startswith("Error(s) in loading")), lines[0] if lines else "")
        raise ValueError(f"not a complete IRAE export: {said[:300]}") from None
    return model.eval()


def _architecture() -> Any:
    """spandrel's Architecture for exported IRAE files (spandrel imported here: it is optional)."""
    from spandrel import (
        Architecture,
        ImageModelDescriptor,
        MaskedImageModelDescriptor,
        ModelTiling,
        SizeRequirements,
    )

    class IRAEArch(Architecture[SpandrelIRAE]):
        def __init__(self) -> None:
            super().__init__(id=ARCH_ID, name="IRAE (invertible restoring autoencoder)", detect=detect)

        def load(self, state_dict: dict) -> Any:
            model = from_state_dict(state_dict)
            irae, fixed = model.irae, model.fixed_level
            blind = TASKS[irae.task].blind
            level = f"{model.keyword} {fixed:g}" if fixed is not None else "auto" if blind else "mask per call"
            # a fixed level pads as restore does (spandrel's reflect padding is restore's) and tiles like any
            # model; an estimate must see the whole image, so that file takes any size and tiles inside (restore
            # does, over ~1 MP), as does inpainting, whose holes must not be cut at a tile's edge
            size = SizeRequirements(multiple_of=irae.multiple if fixed is not None else 1)
            tiling = ModelTiling.SUPPORTED if fixed is not None else ModelTiling.INTERNAL
            common = dict(architecture=self, purpose="Restoration", tags=[irae.task, level], supports_half=False,
                          supports_bfloat16=False, input_channels=3, output_channels=3, size_requirements=size,
                          tiling=tiling)  # fmt: skip
            if not blind:
                return MaskedImageModelDescriptor(model, state_dict, **{**common, "purpose": "Inpainting"},
                                                  call_fn=lambda m, image, mask: m(image, mask))  # fmt: skip
            return ImageModelDescriptor(model, state_dict, scale=1, call_fn=lambda m, image: m(image), **common)

    return IRAEArch()


def install(*, ignore_duplicates: bool = True) -> list[Any]:
    """Add IRAE to spandrel's ``MAIN_REGISTRY``, detected before every entry there (none of them may take an IRAE
    file; ours takes only files with IRAE's keys), as ``spandrel_extra_arches.install()`` adds its own."""
    from spandrel import MAIN_REGISTRY, ArchSupport

    others = tuple(a.architecture.id for a in MAIN_REGISTRY.architectures() if a.architecture.id != ARCH_ID)
    support = ArchSupport.from_architecture(_architecture(), before=others)
    return MAIN_REGISTRY.add(support, ignore_duplicates=ignore_duplicates)


def export_spandrel(model: IRAE, target: str | Path, level: float | None = None, overwrite: bool = False) -> Path:
    """``model`` and its ``level`` (None: each image's blind estimate; inpainting: none, the mask comes per call) as
    one safetensors file spandrel loads after ``install()``; written whole, and an existing file is replaced only
    with ``overwrite``."""
    from safetensors.torch import save

    from .io.atomic import write_file

    if not isinstance(model, IRAE):
        raise ValueError(f"spandrel export is for IRAE models, not {type(model).__name__}")
    task = TASKS[model.task]
    if level is not None and task.blind:
        task.condition(torch.zeros(1, 3, 1, 1), task.level_type(level))  # in the task's range, or one line
    wrapped = SpandrelIRAE(model, None if not task.blind else level)  # the caller's model is not moved or cast
    state = {
        k: (v.detach().cpu().float() if k.startswith("irae.") else v.detach().cpu()).contiguous()
        for k, v in wrapped.state_dict().items()
    }
    data = save(state, metadata={"format": "pt"})  # bytes: the file gets the usual mode (save_file makes it 0600)
    return write_file(Path(target), lambda path: path.write_bytes(data), overwrite)
