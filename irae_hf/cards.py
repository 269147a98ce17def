"""Model cards: the IRAE and DnCNN card templates, and the sections a training run writes into them
(data and credits, recipe, budget, which weights, the validation curve)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .tasks import TASKS

__all__ = ["IRAE_CARD", "DNCNN_CARD", "training_section", "validation_sentence"]

_HERE = Path(__file__).parent
IRAE_CARD = (_HERE / "model_card.md").read_text(encoding="utf-8")
DNCNN_CARD = (_HERE / "dncnn_card.md").read_text(encoding="utf-8")


def _validated_on(task: str) -> str:
    return f"center crops, {TASKS[task].validation_words}"


def validation_sentence(args: Any, last: dict, weights: str) -> str:
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
    args: Any, step: int, throughput: float | None, last: dict, history: list[dict], weights: str
) -> str:
    """The card's Training section from a run's arguments (``train_accelerate.py``'s), its step and its curve."""
    ranges = {
        "denoise": f"σ drawn uniformly from {args.sigma_range}"
        + (
            f", {args.file_fraction:.0%} of the noisy inputs clipped and rounded to 8 bits as in image files"
            if args.file_fraction
            else ""
        ),
        "jpeg": f"quality drawn from {args.quality_range}",
        "inpaint": f"masks: {', '.join(args.mask_types)}"
        + (f", free-form strokes sized for {args.mask_scale}-pixel images" if args.mask_scale else "")
        + (
            f", boxes of {args.box_sizes[0]}–{args.box_sizes[1]} pixels a side"
            if "box" in args.mask_types and args.box_sizes
            else ""
        ),
    }[args.task]
    training = (
        f"{args.training_data_note or 'Data: ' + args.dataset + ' (split ' + args.split + ')'}.\n\n"
        f"Trained with `train_accelerate.py` for {step} steps of batch {args.batch_size} × "
        f"{args.gradient_accumulation_steps} accumulation, {args.crop_size}×{args.crop_size} random crops with flips "
        f"and rotations; {ranges}. {LOSS_NAMES[getattr(args, 'loss', 'l1')]} loss, Adam lr {args.learning_rate} with ×{args.lr_gamma} steps at "
        f"{args.lr_milestones} of training"
        + (f" after {args.lr_warmup_steps} warm-up steps" if args.lr_warmup_steps else "")
        + (f", {args.max_minutes} minutes at most" if args.max_minutes is not None else "")
        + f"; seed {args.seed}."
        + (f" Initialised from `{args.init_from}`." if args.init_from else "")
        + (f" Hardware: {args.hardware}." if args.hardware else "")
        + (f" Throughput {throughput:.1f} patches/s." if throughput else "")
        + (f" Precision: {args.mixed_precision} autocast." if args.mixed_precision in ("bf16", "fp16") else "")
        + (" Channels-last memory format." if args.channels_last else "")
        + (
            f" These weights are the exponential moving average (decay {args.ema_decay}) of the training weights."
            if weights == "ema"
            else (
                f" These are the raw training weights (their moving average, decay {args.ema_decay}, validated worse)."
                if args.ema_decay > 0 and "val/psnr_ema" in last
                else ""
            )
        )
    )
    if history:
        training += (
            f"\n\nValidation curve (held-out images, {_validated_on(args.task)}; wall-clock hours and CPU-hours "
            "of this training so far; EMA: the moving average of the weights):\n\n"
            "| step | hours | CPU-hours | PSNR (dB) | SSIM | EMA PSNR (dB) |\n|---|---|---|---|---|---|\n"
        )
        nan = float("nan")
        training += "\n".join(
            f"| {h['step']} | {h.get('hours', nan):.3f} | {h.get('cpu_hours', nan):.2f} | {h['val/psnr']:.2f} | "
            f"{h['val/ssim']:.4f} | " + (f"{h['val/psnr_ema']:.2f} |" if "val/psnr_ema" in h else "– |")
            for h in history
        )
    if getattr(args, "credits", None):
        training += "\n\n" + Path(args.credits).read_text(encoding="utf-8").strip()
    return training
