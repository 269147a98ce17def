"""The trainer's parts: new models, the lr schedule, the weights' moving average, checkpoints, validation, weights.

Checkpoints are written atomically and resume exactly (with the run's arguments); validation runs on plain fp32
copies; the moving average ships unless it validated worse. The loop is ``trainer.py``'s (``Trainer.fit``); the
settings are ``config.py``'s; ``train_accelerate.py`` only parses the command line into them.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from ..models.base import RENAMED_KEYS, RestorationModel
from ..models.registry import ARCHS, build
from ..tasks import TASKS
from ..tasks.metrics import psnr, ssim

if TYPE_CHECKING:
    from accelerate import Accelerator

__all__ = [
    "EMA",
    "EMA_FILE",
    "STATE_FILE",
    "ARGS_FILE",
    "LRSchedule",
    "new_model",
    "plain_copy",
    "find_checkpoint",
    "save_checkpoint",
    "check_finite",
    "inverse_error",
    "EXACT_INVERSE_LEVELS",
    "saved_args",
    "run_mismatch",
    "upgrade_checkpoint",
    "validate",
    "pick_weights",
]

#: inside a checkpoint folder, beside accelerate's files: the run's state (step, curves, clocks), the moving
#: average's weights, and the arguments of the run that wrote it
STATE_FILE = "trainer_state.json"
EMA_FILE = "ema.safetensors"
ARGS_FILE = "run_args.json"


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


def new_model(
    arch: str,
    task: str,
    width: int | list[int] | None = None,
    depth: int | None = None,
    scales: int | None = None,
    noise: str | None = None,
) -> RestorationModel:
    """A fresh model of ``arch`` with the sizes given (the architecture's defaults where None), saying in its config
    the ``noise`` a denoiser is trained on."""
    sizes = {"width": width, "depth": depth, "scales": scales}
    takes = ARCHS[arch].config_keys() if arch in ARCHS else sizes
    return build(arch, task=task, noise=noise, **{k: v for k, v in sizes.items() if k in takes})


def find_checkpoint(output_dir: Path, resume: str) -> Path:
    """The folder to resume from: explicit, or the newest complete ``checkpoint-N`` under output_dir."""
    if resume != "latest":
        path = Path(resume)
        if not (path / STATE_FILE).is_file():
            raise FileNotFoundError(f"{path} is not a complete checkpoint (no {STATE_FILE})")
        return path
    done = [d for d in (output_dir / "checkpoints").glob("checkpoint-*") if (d / STATE_FILE).is_file()]
    if not done:
        raise FileNotFoundError(f"no complete checkpoint under {output_dir / 'checkpoints'}")
    return max(done, key=lambda d: int(d.name.split("-")[1]))


def check_finite(model: torch.nn.Module, step: int, what: str = "weights") -> None:
    """A RuntimeError (nothing is saved) when any of ``model``'s tensors holds NaN or inf: a diverged run must never
    leave weights that load and restore garbage."""
    bad = [name for name, t in model.state_dict().items() if t.is_floating_point() and not torch.isfinite(t).all()]
    if bad:
        raise RuntimeError(
            f"non-finite {what} after step {step} ({len(bad)} tensors, e.g. {bad[0]}): nothing saved; lower "
            "--learning_rate or --max_grad_norm"
        )


def save_checkpoint(
    accelerator: Accelerator,
    output_dir: Path,
    step: int,
    limit: int,
    state: dict,
    ema: EMA | None = None,
    run_args: dict | None = None,
) -> None:
    """``save_state`` (with the moving average and the run's arguments) into a temporary folder, then an atomic
    rename: never a half-written checkpoint; only the newest ``limit`` are kept."""
    root = output_dir / "checkpoints"
    final, tmp = root / f"checkpoint-{step}", root / f".tmp-checkpoint-{step}"
    try:
        if accelerator.is_main_process:
            shutil.rmtree(tmp, ignore_errors=True)
        accelerator.wait_for_everyone()
        accelerator.save_state(str(tmp))
        accelerator.wait_for_everyone()
        if accelerator.is_main_process:
            if ema is not None:
                ema.save(tmp / EMA_FILE)
            if run_args is not None:
                (tmp / ARGS_FILE).write_text(json.dumps(run_args, indent=1))
            (tmp / STATE_FILE).write_text(json.dumps({"step": step, **state}, indent=1))
            shutil.rmtree(final, ignore_errors=True)
            os.replace(tmp, final)
            done = sorted((d for d in root.glob("checkpoint-*")), key=lambda d: int(d.name.split("-")[1]))
            for old in done[: max(0, len(done) - limit)]:
                shutil.rmtree(old, ignore_errors=True)
    except (OSError, RuntimeError) as e:  # a full disk: OSError, or torch's "unexpected pos" RuntimeError
        if accelerator.is_main_process:
            shutil.rmtree(tmp, ignore_errors=True)
        raise RuntimeError(
            f"cannot write checkpoint {final} ({e}): free disk space (or lower --checkpoints_total_limit), then "
            "--resume latest continues from the last complete checkpoint"
        ) from None
    accelerator.wait_for_everyone()


@dataclass(frozen=True)
class LRSchedule:
    """Step decay after a linear warm-up; the lr is a function of the step (and time), so nothing to checkpoint."""

    lr: float
    max_steps: int
    milestones: Sequence[float] = (0.5, 0.75, 0.9)
    gamma: float = 0.5
    warmup_steps: int = 0

    def __call__(self, step: int, spent: float = 0.0) -> float:
        """The lr for the step after ``step``: ×gamma at each milestone passed (as a fraction of ``max_steps``, or
        of a time budget ``spent``, whichever is further on), after the warm-up."""
        done = max(step / self.max_steps, spent)
        lr = self.lr * self.gamma ** sum(done >= m for m in self.milestones)
        return lr * min(1.0, (step + 1) / max(1, self.warmup_steps))


#: what a checkpoint's weights are: a run continued with other values would mislabel or fail to load them
RUN_IDENTITY = ("arch", "task", "width", "scale_widths", "depth", "scales")
#: training flags renamed since runs were first saved, old -> new (checkpoints of before still resume)
RENAMED_ARGS = {**RENAMED_KEYS, "level_widths": "scale_widths"}


def run_mismatch(checkpoint: Path, args: dict) -> str | None:
    """One line when ``args`` name another model than the run that wrote ``checkpoint`` (task, arch, sizes)."""
    saved = saved_args(checkpoint)
    differ = [k for k in RUN_IDENTITY if k in saved and k in args and saved[k] != args[k]]
    if not differ:
        return None
    flags = lambda values: " ".join(f"--{k} {values[k]}" for k in differ)  # noqa: E731
    return f"{Path(checkpoint).name} was trained with {flags(saved)}; you passed {flags(args)} (another output_dir?)"


def saved_args(checkpoint: Path) -> dict:
    """The arguments of the run that wrote ``checkpoint`` ({} for checkpoints from before they were saved)."""
    path = Path(checkpoint) / ARGS_FILE
    saved = json.loads(path.read_text()) if path.is_file() else {}
    return {RENAMED_ARGS.get(key, key): value for key, value in saved.items()}


def upgrade_checkpoint(checkpoint: Path) -> None:
    """Make a checkpoint of an older irae-hf loadable by ``load_state``: set aside the MultiStepLR state it may hold
    as accelerate's custom_checkpoint_0.pkl (the lr is now a function of the step), and drop actnorm's unused
    "initialized" flags from its weights (rewritten atomically)."""
    from safetensors.torch import load_file, save_file

    legacy = checkpoint / "custom_checkpoint_0.pkl"
    if legacy.exists():
        legacy.rename(checkpoint / "lr_scheduler_legacy.pkl")
    weights = checkpoint / "model.safetensors"
    if weights.is_file():
        state = load_file(str(weights))
        if any(k.endswith(".initialized") for k in state):
            tmp = weights.with_suffix(".tmp")
            save_file({k: v for k, v in state.items() if not k.endswith(".initialized")}, str(tmp))
            os.replace(tmp, weights)


@torch.no_grad()
def validate(accelerator: Accelerator, net: RestorationModel, loader, task: str, suffix: str = "") -> dict[str, float]:
    """Mean PSNR/SSIM (8-bit RGB, see irae_hf.tasks.metrics) of a plain fp32 model (``plain_copy``, the way it ships)
    and of the input over the validation set, and how exactly its inverse gives back the input (``inverse_error``, on
    each process's first image); ``suffix`` names the weights (``_ema``)."""
    rows, worst = [], torch.zeros(1, dtype=torch.float64, device=accelerator.device)
    invertible = hasattr(net, "exact_maps")  # the maps "nothing lost" runs
    for i, batch in enumerate(loader):
        x = batch["degraded"].float()
        cond = TASKS[task].condition(x, batch["level"])
        out = net(x, cond).float()
        if i == 0 and invertible:
            worst[0] = inverse_error(net, x[:1], cond[:1])
        for o, d, c in zip(out, batch["degraded"], batch["clean"]):
            rows.append([psnr(o, c), ssim(o, c), psnr(d, c), ssim(d, c)])
    local = torch.tensor(rows, dtype=torch.float64, device=accelerator.device).reshape(-1, 4)
    allrows = accelerator.gather_for_metrics(local)
    m = allrows.mean(dim=0).tolist()
    out = {f"val/psnr{suffix}": m[0], f"val/ssim{suffix}": m[1]}
    if invertible:
        out[f"val/inverse_error{suffix}"] = accelerator.gather(worst).max().item()
    return out if suffix else out | {"val/psnr_input": m[2], "val/ssim_input": m[3]}


#: the largest inverse error, in 8-bit levels, at which the input's 8-bit values still come back exactly
EXACT_INVERSE_LEVELS = 0.5


def inverse_error(net: RestorationModel, x: Tensor, cond: Tensor) -> float:
    """The largest |input − inverse(restore(input))| in 8-bit levels (0–255 units), through the maps the exact inverse
    uses (``exact_maps``: flow 2 in float64); inf when the inverse overflows. Under ``EXACT_INVERSE_LEVELS`` the
    input comes back exactly once rounded to 8 bits; a trained flow can magnify rounding far past that."""
    forward, inverse = net.exact_maps()
    with torch.no_grad():
        error = (inverse(forward(x, cond), cond) - x.double()).abs().max().item() * 255
    return error if error == error else float("inf")  # NaN (an overflow on the way back) counts as unbounded


def pick_weights(choice: str, metrics: dict, has_ema: bool) -> str:
    """ "ema" or "raw": ``choice`` unless auto, which keeps the moving average unless validation measured it worse."""
    if choice != "auto":
        return choice
    if not has_ema:
        return "raw"
    worse = "val/psnr_ema" in metrics and "val/psnr" in metrics and metrics["val/psnr_ema"] < metrics["val/psnr"]
    return "raw" if worse else "ema"
