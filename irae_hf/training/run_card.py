"""The sections a training run writes into its model card: data and credits, recipe, budget, which weights, the
validation curve."""

from __future__ import annotations

from pathlib import Path

from ..tasks import TASKS
from .config import TrainConfig
from .steps import EXACT_INVERSE_LEVELS

__all__ = ["training_section", "validation_sentence", "LOSS_NAMES"]


def _validated_on(task: str) -> str:
    return f"center crops, {TASKS[task].validation_words}"


def validation_sentence(args: TrainConfig, last: dict, weights: str) -> str:
    """The last validation of the shipped weights in one sentence (for cards without an evaluation table)."""
    key = "_ema" if weights == "ema" and "val/psnr_ema" in last else ""
    return (
        f"Validation ({args.validation_dir or args.validation_split}, {_validated_on(args.task)}): "
        f"PSNR {last['val/psnr' + key]:.2f} dB / SSIM {last['val/ssim' + key]:.4f} "
        f"(input: {last['val/psnr_input']:.2f} dB / {last['val/ssim_input']:.4f})."
    )


#: how the model card names each training loss (``--loss``)
LOSS_NAMES = {"l1": "L1", "l2": "L2 (mean squared error)", "charbonnier": "Charbonnier"}


def training_section(
    args: TrainConfig, step: int, throughput: float | None, last: dict, history: list[dict], weights: str
) -> str:
    """The card's Training section from a run's settings, its step and its curve."""
    training = _recipe(args, step) + _run_facts(args, throughput, last, weights) + _inverse(last, weights)
    training += _curve(args.task, history)
    if args.credits:
        training += "\n\n" + Path(args.credits).read_text(encoding="utf-8").strip()
    return training


def _recipe(args: TrainConfig, step: int) -> str:
    """Data, steps, crops, degradations, loss and schedule."""
    return (
        f"{args.training_data_note or 'Data: ' + args.dataset + ' (split ' + args.split + ')'}.\n\n"
        f"Trained with `train_accelerate.py` for {step} steps of batch {args.batch_size} × "
        f"{args.gradient_accumulation_steps} accumulation, {args.crop_size}×{args.crop_size} random crops with flips "
        f"and rotations; {TASKS[args.task].training_words(args)}. {LOSS_NAMES[args.loss]} loss, Adam lr "
        f"{args.learning_rate} with ×{args.lr_gamma} steps at {args.lr_milestones} of training"
        + (f" after {args.lr_warmup_steps} warm-up steps" if args.lr_warmup_steps else "")
        + (f", {args.max_minutes} minutes at most" if args.max_minutes is not None else "")
        + f"; seed {args.seed}."
    )


def _run_facts(args: TrainConfig, throughput: float | None, last: dict, weights: str) -> str:
    """Initial weights, hardware, throughput, precision, and which weights the folder holds."""
    facts = (
        (f" Initialised from `{args.init_from}`." if args.init_from else "")
        + (f" Hardware: {args.hardware}." if args.hardware else "")
        + (f" Throughput {throughput:.1f} patches/s." if throughput else "")
        + (f" Precision: {args.mixed_precision} autocast." if args.mixed_precision in ("bf16", "fp16") else "")
        + (" Channels-last memory format." if args.channels_last else "")
    )
    if weights == "ema":
        return facts + (
            f" These weights are the exponential moving average (decay {args.ema_decay}) of the training weights."
        )
    if args.ema_decay > 0 and "val/psnr_ema" in last:
        return facts + (
            f" These are the raw training weights (their moving average, decay {args.ema_decay}, validated worse)."
        )
    return facts


def _inverse(last: dict, weights: str) -> str:
    """How exactly the shipped weights give back their input, as the last validation measured it (nothing for a model
    without an inverse or a run from before the check)."""
    error = last.get("val/inverse_error" + ("_ema" if weights == "ema" else ""))
    if error is None:
        return ""
    said = (
        f" Exact inverse: the input came back within {error:.2g} of an 8-bit level (largest error on a validation "
        "image, flow 2 in float64 as `recover_input` runs it)."
    )
    if error < EXACT_INVERSE_LEVELS:
        return said
    return said + (
        " **Not invertible in practice**: the inverse magnifies rounding past half an 8-bit level, so the input "
        "cannot be recovered from the output."
    )


def _curve(task: str, history: list[dict]) -> str:
    """The validation curve as a table (nothing without one)."""
    if not history:
        return ""
    nan = float("nan")
    head = (
        f"\n\nValidation curve (held-out images, {_validated_on(task)}; wall-clock hours and CPU-hours "
        "of this training so far; EMA: the moving average of the weights):\n\n"
        "| step | hours | CPU-hours | PSNR (dB) | SSIM | EMA PSNR (dB) |\n|---|---|---|---|---|---|\n"
    )
    return head + "\n".join(
        f"| {h['step']} | {h.get('hours', nan):.3f} | {h.get('cpu_hours', nan):.2f} | {h['val/psnr']:.2f} | "
        f"{h['val/ssim']:.4f} | " + (f"{h['val/psnr_ema']:.2f} |" if "val/psnr_ema" in h else "– |")
        for h in history
    )
