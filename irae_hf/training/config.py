"""Every setting of a training run as one typed dataclass, and the command line generated from it.

``train_accelerate.py``'s flags are :class:`TrainConfig`'s fields (``--name``, the field's type, default and help);
the trainer and the model cards read the config, and each checkpoint saves it, so a resumed or exported run knows
how it was trained.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import types
import typing
from dataclasses import dataclass, field
from typing import Any

from ..tasks import MASK_KINDS, TASKS, TRAINING_MASK_KINDS, TRAINING_RANGES
from .losses import LOSSES


def _archs() -> dict:
    """The registered architectures (imported when asked: the config stays below the models it names)."""
    from ..models.registry import ARCHS

    return ARCHS


__all__ = ["TrainConfig", "build_parser", "parse_config", "INVOCATION", "MAX_BATCH_PIXELS"]

#: the most crop pixels one process may train on per step (a batch of 1024 crops of 256²)
MAX_BATCH_PIXELS = 1 << 26

#: settings that describe one invocation, not the run: never taken from a checkpoint's saved settings
INVOCATION = {"output_dir", "export_from", "export_weights", "resume", "eval_dir", "eval_levels", "report_to"}
INVOCATION |= {"push_to_hub", "hub_model_id", "hub_token", "hub_private"}


def option(default: Any, help: str | None = None, **argparse_kwargs: Any) -> Any:  # noqa: A002 - argparse's name
    """A field with its command line help (and argparse extras: choices as a zero-argument callable, metavar ...)."""
    factory = {"default_factory": lambda: list(default)} if isinstance(default, list) else {"default": default}
    return field(**factory, metadata={"help": help, **argparse_kwargs})


@dataclass
class TrainConfig:
    """A training run: data, model, optimisation, degradations, precision, checkpoints, outputs."""

    task: str = option("denoise", choices=lambda: list(TASKS))
    dataset: str | None = option(None, "a Hub dataset id or a local folder of images (required to train)")
    dataset_config: str | None = option(None, "the Hub dataset's configuration name")
    dataset_revision: str | None = option(None, "the Hub dataset's branch, tag or commit (reproducible)")
    split: str = option("train")
    image_column: str | None = option(None, "default: the first column of Image type")
    streaming: bool = option(False, "stream a large Hub dataset, sharded across processes")
    validation_dir: str | None = option(None, "a held-out folder of images")
    validation_split: str | None = option(None, "a validation split of --dataset")
    validation_crop: int = option(256, "center crop of validation images")
    validation_steps: int = option(500, "validate every N steps (and at the end)")
    output_dir: str = option(None, required=True)
    max_steps: int = option(10000)
    max_minutes: float | None = option(
        None,
        "a time budget for this run: stop (validate, checkpoint, save) when it is spent; the lr milestones then count "
        "whichever is further on, the fraction of --max_steps or of this time",
    )
    batch_size: int = option(16, "per process")
    gradient_accumulation_steps: int = option(1)
    crop_size: int = option(96)
    arch: str = option(
        "irae", "irae, the equal-size DnCNN baseline, or FFDNet's architecture", choices=lambda: sorted(_archs())
    )
    width: int | None = option(None, "default: 64 (irae), 96 (dncnn, ffdnet)")
    scale_widths: list[int] | None = option(
        None, "irae: one coupling width per scale, finest first (instead of --width)", nargs="+"
    )
    depth: int | None = option(
        None, "default: 16 steps per scale (irae), 18 layers (dncnn), 12 (ffdnet; 10: IRAE's computation)"
    )
    scales: int = option(2, "irae only")
    loss: str = option("l1", "training loss (the paper's: l1)", choices=lambda: sorted(LOSSES))
    learning_rate: float = option(1e-3)
    lr_milestones: list[float] = option([0.5, 0.75, 0.9], "step decay at these fractions of --max_steps", nargs="*")
    lr_gamma: float = option(0.5)
    lr_warmup_steps: int = option(
        0, "linear warm-up from 0 (fine-tuning with a fresh Adam: its first steps move every weight by ~lr)"
    )
    max_grad_norm: float = option(1.0)
    sigma_range: list[float] = option(list(TRAINING_RANGES["sigma_range"][:2]), nargs=2)  # each task's defaults
    quality_range: list[int] = option(list(TRAINING_RANGES["quality_range"][:2]), nargs=2)
    mask_types: list[str] = option(
        list(MASK_KINDS),
        "inpainting: the mask kinds drawn (bars, 1–5 px scratches and text sized for the crop)",
        choices=lambda: TRAINING_MASK_KINDS,
    )
    mask_scale: int | None = option(
        None, "size free-form strokes for an image of this many pixels (e.g. 512), not for the crop"
    )
    box_sizes: list[int] | None = option(
        None,
        "draw training boxes with sides of MIN–MAX pixels, capped at 3/4 of the crop (default: 1/8–1/2 of it)",
        nargs=2,
        metavar=("MIN", "MAX"),
    )
    file_fraction: float = option(
        0.0, "denoising: the fraction of noisy inputs clipped and rounded to 8 bits, as saved photos are (0–1)"
    )
    camera_fraction: float = option(
        0.0, "denoising: the fraction of noisy inputs given camera-like (signal-dependent) noise instead (0–1)"
    )
    noisy_jpeg_fraction: float = option(
        0.0, "denoising: the fraction of noisy inputs then saved as JPEG at a quality in --noisy_jpeg_range (0–1)"
    )
    noisy_jpeg_range: list[int] = option(
        list(TRAINING_RANGES["noisy_jpeg_range"][:2]), nargs=2, metavar=("LOW", "HIGH")
    )
    memory_saving: bool = option(False, "rebuild activations by inversion in backward")
    mixed_precision: str | None = option(
        None,
        "default: accelerate's configuration, else bf16 on GPUs and no on CPUs",
        choices=lambda: ["no", "fp16", "bf16"],
    )
    ema_decay: float = option(0.999, "keep an exponential moving average of the weights with this decay (0: none)")
    export_weights: str = option(
        "auto",
        "which weights the final folder holds: the moving average, the raw ones, or (auto) the moving average unless "
        "the last validation measured it worse",
        choices=lambda: ["auto", "ema", "raw"],
    )
    channels_last: bool = option(
        False, "channels-last memory format (faster convolutions on CPUs, with bf16 above all)"
    )
    checkpointing_steps: int = option(500)
    checkpoints_total_limit: int = option(2)
    resume: str | None = option(None, "'latest' or a checkpoint folder")
    init_from: str | None = option(
        None, "start from these weights (folder, Hub id or ORG/NAME@REVISION), not from scratch"
    )
    export_from: str | None = option(
        None,
        "no training: write OUTPUT_DIR as a save_pretrained folder from this checkpoint (the run's own arguments, "
        "saved "
        "with it, describe it; flags given here override them)",
    )
    seed: int = option(0)
    num_workers: int | None = option(
        None,
        "data loader workers per process; default: 2 on GPUs, 0 on CPUs (decoding costs about 1 %% of a CPU step and a "
        "worker would take a core from training)",
    )
    cache_images: bool = option(False, "keep decoded images in memory (small datasets)")
    max_bad_images: int = option(
        10, "training images that cannot be decoded are skipped (and counted); past this many, training stops"
    )
    report_to: str = option("tensorboard", "accelerate tracker(s), or 'none'")
    eval_dir: str | None = option(None, "evaluate the final model on these images for the model card")
    eval_levels: list[float] | None = option(None, "levels for the final evaluation", nargs="*")
    training_data_note: str | None = option(None, "text for the model card's training section")
    credits: str | None = option(None, "a markdown file of image credits, appended to the model card")
    push_to_hub: bool = option(False)
    hub_model_id: str | None = option(None)
    hub_token: str | None = option(None)
    hub_private: bool = option(False)
    #: set by the trainer (the processes and devices it runs on), for the model card; not a flag
    hardware: str | None = option(None, cli=False)

    def problems(self) -> list[str]:
        """What is wrong with these settings, one sentence each (none: they can run)."""
        found = []
        if not self.dataset and not self.export_from:
            found.append("--dataset is required (a Hub dataset id or a local folder of images)")
        if self.push_to_hub and not self.hub_model_id:
            found.append("--push_to_hub needs --hub_model_id ORG/NAME")
        if self.max_steps < 1 or self.batch_size < 1 or self.crop_size < self.multiple:
            found.append("--max_steps and --batch_size must be >= 1 and --crop_size >= 2**scales")
        if self.mask_scale is not None and self.mask_scale < 1:
            found.append("--mask_scale must be a positive number of pixels")
        if self.box_sizes is not None and not 1 <= self.box_sizes[0] <= self.box_sizes[1]:
            found.append("--box_sizes must be two numbers of pixels, 1 <= MIN <= MAX")
        if self.scale_widths is not None and (self.arch != "irae" or len(self.scale_widths) != self.scales):
            found.append("--scale_widths takes one width per scale (--scales of them), for --arch irae")
        if not 0 <= self.ema_decay < 1:
            found.append("--ema_decay must be in [0, 1)")
        return found + self._range_problems() + self._number_problems()

    def _number_problems(self) -> list[str]:
        """Every numeric option in its range, before the first step (NaN and inf fail every comparison below)."""
        found = []
        if not 0 <= self.learning_rate < math.inf:
            found.append(f"--learning_rate must be a finite number >= 0, got {self.learning_rate}")
        if not 0 <= self.max_grad_norm < math.inf:
            found.append(f"--max_grad_norm must be a finite number >= 0 (0: no clipping), got {self.max_grad_norm}")
        if not 0 < self.lr_gamma <= 1:
            found.append(
                f"--lr_gamma must be in (0, 1] (the lr is multiplied by it at each milestone), got {self.lr_gamma}"
            )
        if not all(0 < m < 1 for m in self.lr_milestones):
            found.append(f"--lr_milestones are fractions of the run, each in (0, 1), got {self.lr_milestones}")
        if self.max_minutes is not None and not 0 <= self.max_minutes < math.inf:
            found.append(f"--max_minutes must be a finite number of minutes >= 0 (0: one step), got {self.max_minutes}")
        for name in (
            "validation_steps",
            "checkpointing_steps",
            "gradient_accumulation_steps",
            "checkpoints_total_limit",
        ):
            if getattr(self, name) < 1:
                found.append(f"--{name} must be >= 1, got {getattr(self, name)}")
        for name in ("lr_warmup_steps", "num_workers", "max_bad_images", "seed"):
            if (getattr(self, name) or 0) < 0:  # num_workers None: chosen by the device
                found.append(f"--{name} must be >= 0, got {getattr(self, name)}")
        if self.validation_crop < self.multiple:
            found.append(f"--validation_crop must be >= {self.multiple} (2**scales), got {self.validation_crop}")
        pixels = self.batch_size * self.crop_size**2
        if pixels > MAX_BATCH_PIXELS:
            found.append(
                f"--batch_size × --crop_size² is {pixels:,} pixels a step, over the limit of {MAX_BATCH_PIXELS:,} "
                "(the GPU stages used 256 × 96² = 2.4 M)"
            )
        return found

    def _range_problems(self) -> list[str]:
        """Degradation ranges outside what the tasks accept, and fractions outside [0, 1]."""
        found = []
        for flag, (_, _, low, high) in TRAINING_RANGES.items():  # each task's ranges and the bounds it accepts
            lo, hi = getattr(self, flag)
            if not low <= lo <= hi <= high:  # NaN fails too
                found.append(f"--{flag} LOW HIGH must satisfy {low:g} <= LOW <= HIGH <= {high:g}, got {lo:g} {hi:g}")
        for name in ("file_fraction", "camera_fraction", "noisy_jpeg_fraction"):
            if not 0 <= getattr(self, name) <= 1:
                found.append(f"--{name} must be in [0, 1]")
        return found

    def loader_workers(self, device_type: str) -> int:
        """Data loader workers per process: --num_workers, else 2 on a GPU and 0 on a CPU (where decoding is about 1 %
        of a step and a worker would only take a core from training)."""
        if self.num_workers is not None:
            return self.num_workers
        return 2 if device_type == "cuda" else 0

    @property
    def noise(self) -> str | None:
        """What a denoiser is trained on (config.json's ``noise``): "real" when camera-like noise or noisy JPEGs are
        in the mix, else "gaussian"; None for the other tasks."""
        if not TASKS[self.task].noise_kinds:
            return None
        return "real" if self.camera_fraction > 0 or self.noisy_jpeg_fraction > 0 else "gaussian"

    @property
    def multiple(self) -> int:
        """The architecture's size multiple (crops are cut to it)."""
        return _archs()[self.arch].multiple_for(scales=self.scales)


def _argparse_type(hint: Any) -> tuple[Any, Any]:
    """(element type, default nargs) of a field's type hint: ``int | None`` → (int, None), ``list[float]`` →
    (float, "+"), ``bool`` → (bool, None)."""
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return _argparse_type(args[0])
    if typing.get_origin(hint) is list:
        return args[0], "+"
    return hint, None


def build_parser(description: str | None = None) -> argparse.ArgumentParser:
    """``--field`` for every field of :class:`TrainConfig`, typed and documented from it."""
    parser = argparse.ArgumentParser(description=description)
    hints = typing.get_type_hints(TrainConfig)
    for f in dataclasses.fields(TrainConfig):
        if f.metadata.get("cli") is False:
            continue
        kind, nargs = _argparse_type(hints[f.name])
        extra = {k: v() if k == "choices" else v for k, v in f.metadata.items() if v is not None and k != "cli"}
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        if kind is bool:
            parser.add_argument(f"--{f.name}", action="store_true", **extra)
        else:
            extra.setdefault("nargs", nargs)
            parser.add_argument(f"--{f.name}", type=kind, default=default, **extra)
    return parser


def parse_config(
    argv: list[str] | None = None, defaults: dict | None = None, description: str | None = None
) -> TrainConfig:
    """The command line as a checked :class:`TrainConfig`; ``defaults`` (a run's saved settings) replace the
    fields' defaults, not flags given. A problem ends the program with argparse's usage and one line."""
    parser = build_parser(description)
    known = {f.name for f in dataclasses.fields(TrainConfig) if f.metadata.get("cli") is not False}
    if defaults:
        parser.set_defaults(**{k: v for k, v in defaults.items() if k in known and k not in INVOCATION})
    config = TrainConfig(**vars(parser.parse_args(argv)))
    for problem in config.problems()[:1]:
        parser.error(problem)
    config.crop_size -= config.crop_size % config.multiple
    return config
