"""What every restoration task implements: its level, its condition, its degradation, its blind estimate.

A task owns everything that depends on what is being undone; the model, the pipeline, the trainer, the CLI and
the app ask the task (``irae_hf.tasks.TASKS[name]``) instead of testing its name. A new task is a subclass of
:class:`Task` in one file and one line in the registry (``irae_hf.tasks.register``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the task table stays light: the command line's help reads it without numpy or torch
    import numpy as np
    from torch import Tensor

__all__ = ["Task", "AppTab", "Restorer", "identity"]

#: a restoration method for benchmarks: (degraded 3×H×W, {keyword: level}) -> restored 3×H×W
Restorer = Callable[["Tensor", dict], "Tensor"]


def identity(x: Tensor, level: dict) -> Tensor:
    """The degraded input itself, clamped: the "input" row of every table."""
    return x.clamp(0, 1)


@dataclass(frozen=True)
class AppTab:
    """How the app shows a task: its tab's words, and for a numeric level its sliders (plain data: the demo lays out
    the tab, a task with a numeric level as a level tab, one whose level is a map as a painter)."""

    title: str  # the tab's title
    button: str  # the restore button; its API name is the task's name
    level_name: str = ""  # how errors name the level ("σ", "The JPEG quality")
    slider: tuple[float, float, float] = (0, 100, 50)  # the level sliders' low, high and default
    degrade_button: str = ""  # the button that degrades a clean photo to try it (its API name: ``degrade_api``)
    degrade_api: str = ""
    degrade_label: str = ""
    auto_label: str = ""  # the Auto checkbox: the level read from the image
    level_label: str = ""  # the level slider, used when Auto is off
    #: which model runs, (label, value) pairs, and the radio's label (none: the task's own model)
    choices: tuple = ()
    choice_label: str = ""
    #: the kinds of degradation Auto assumes: for a picture degraded in the app, and for one brought to it
    made_here: str | None = None
    brought: str | None = None


class Task:
    """One task. Subclasses set the class attributes and implement ``degrade``, ``sample`` and (when the level can
    be read from the image) ``estimate``; the defaults fit a task whose level is one number per image."""

    name: str  # the task's name (``--task``, ``config.json``)
    keyword: str  # the model's keyword for the degradation level (``sigma=``, ``quality=``, ``mask=``)
    label: str  # the level's name in tables
    done: str = "restored"  # what was done, in output names: ``photo_denoised.png`` (the CLI and the app's download)
    #: the kinds of degradation a model of the task may say it was trained on (config.json's ``noise``), in words
    noise_kinds: dict = {}  # noqa: RUF012 - a read-only table per task
    #: when to use a model trained on each kind, and when its companion (model cards)
    noise_use: dict = {}  # noqa: RUF012 - a read-only table per task
    #: the shipped model of each kind (``pretrained/<name>``, the Hub's ``irae-<name>``); none: the task's own name
    specialists: dict = {}  # noqa: RUF012 - a read-only table per task
    settings: tuple  # the benchmark settings (CBSD68 tables, model cards)
    validation: float | int | str  # the fixed level of training validation
    validation_words: str  # the same, for model cards
    #: a numeric level's valid range and the divisor that makes it the conditioning map's value (None: a map)
    level_range: tuple[float, float, float] | None = None
    level_type: type = float  # how the command line parses the level
    level_help: str = ""  # the command line's help for the level flag
    onnx_shape: str = "B"  # the ONNX level input's shape
    level_words: str = ""  # what the level means, for the ONNX README
    #: whether the level can be read from the image ("auto"); a task without one needs it given
    blind: bool = True
    #: what the command line says when a level the task cannot estimate is missing
    required_message: str | None = None
    #: the ranges training draws its levels from, by flag (``--sigma_range``): (default low, default high, the lowest
    #: and highest the task accepts)
    training_ranges: dict = {}  # noqa: RUF012 - a read-only table per task
    #: how the app shows the task (None: no tab)
    app: AppTab | None = None

    # ----------------------------------------------------------------------------------- the level
    @property
    def settings_flag(self) -> str:
        """The ``irae evaluate`` flag that lists benchmark settings (``--sigma 15 25 50``)."""
        return self.keyword

    def condition(self, x: Tensor, value: Any) -> Tensor:
        """The B×1×H×W conditioning map for ``x`` from the level ``value`` (one number, or one per image)."""
        import torch

        b, _, h, w = x.shape
        lo, hi, scale = self.level_range
        level = torch.as_tensor(value, dtype=torch.float64)
        if not torch.isfinite(level).all() or (level < lo).any() or (level > hi).any():
            raise ValueError(f"{self.keyword} must be in [{lo:g}, {hi:g}], got {value!r}")
        level = (level / scale).to(device=x.device, dtype=x.dtype).reshape(-1, 1, 1, 1)
        if level.shape[0] not in (1, b):
            raise ValueError(f"{self.keyword} has {level.shape[0]} values for a batch of {b}")
        return level.expand(b, 1, h, w)

    def parse_setting(self, setting: Any) -> Any:
        """A benchmark setting as the degradation takes it (from a command line string or a table)."""
        return self.level_type(setting)

    def example_level(self, x: Tensor) -> Any:
        """A level to run (time, export) a model at for an input like ``x``: the validation level."""
        import torch

        return torch.tensor([float(self.validation)], dtype=x.dtype)

    def words(self, level: dict) -> str:
        """The level in a sentence ("σ 25")."""
        return f"{self.label} {level[self.keyword]:g}"

    # ----------------------------------------------------------------------------------- degradation
    def degrade(self, clean: Tensor, level: Any, seed: Any = None) -> tuple[Tensor, Any]:
        """(degraded image, the level a model is called with) for a clean [0, 1] image (C×H×W or B×C×H×W)."""
        raise NotImplementedError

    def sample(self, clean: Tensor, rng: np.random.Generator, spec: Any) -> tuple[Tensor, Any]:
        """A training pair's (degraded image, level), the level drawn from ``spec`` (a ``data.DegradationSpec``)."""
        raise NotImplementedError

    def read_map(self, value: Any, height: int, width: int) -> Tensor:
        """A level given as a picture (inpainting's mask) as the 1×1×H×W map the model is conditioned on; a task whose
        level is a number has none."""
        raise ValueError(f"a {self.name} model's level ({self.keyword}=) is a number, not a picture")

    def model_input(self, x: Tensor, level: dict) -> Tensor:
        """What the model sees of ``x`` (inpainting: the holes filled grey)."""
        return x

    # ----------------------------------------------------------------------------------- blind level
    def estimate(self, image: Any, pixels: list[np.ndarray]) -> tuple[list, str]:
        """The level of each image read blind (H×W×3 uint8 ``pixels``; ``image`` as the user gave it, for what a
        file says) and where it came from ("pixels", "tables"). Tasks without a blind level raise ValueError."""
        raise ValueError(f"a {self.name} model has no 'auto' level: pass {self.keyword}=")

    def unchanged(self, value: Any) -> bool:
        """Whether an estimated level says there is nothing to undo (the image is returned as it is)."""
        return False

    def placeholder(self) -> Any:
        """A level the model can be run with for an image left unchanged."""
        return self.validation

    def estimate_note(self, level: dict, source: str) -> str:
        """What the command line says about an estimated level."""
        return f"{self.words(level)} (estimated from the pixels)"

    # ----------------------------------------------------------------------------------- evaluation
    def baselines(self) -> dict[str, Restorer]:
        """The methods a model of this task is compared with (the first is the input itself)."""
        return {"input": identity}

    def extra_scores(self, restored: Tensor, clean: Tensor, level: dict) -> dict[str, float]:
        """Scores beyond PSNR and SSIM over the whole image (inpainting: PSNR in the mask)."""
        return {}

    def training_words(self, config: Any) -> str:
        """How a run drew its levels, for the model card."""
        return f"{self.label} drawn from the task's default range"
