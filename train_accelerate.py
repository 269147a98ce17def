"""Train IRAE (or the equal-size DnCNN baseline) with Hugging Face accelerate on any image dataset.

    accelerate launch train_accelerate.py --task denoise --dataset ../shared/data/photos \\
        --output_dir runs/denoise --max_steps 20000 --batch_size 16 --crop_size 96

One CPU, many GPUs or many nodes: whatever ``accelerate launch`` is given. The paper's recipe is the
default (L1 loss, Adam 1e-3 with step decay, width 64 / depth 16 / 2 levels); the degradation level is
drawn per sample from a range so one model learns the whole range. Checkpoints every N steps resume
exactly (``--resume latest``); the output folder loads with ``IRAE.from_pretrained(output_dir)``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from irae_hf.tasks import LEVEL_RANGES, MASK_KINDS, TASK_NAMES
from irae_hf.trainer import LOSSES, Trainer, export_checkpoint
from irae_hf.training import saved_args
from irae_hf.zoo import ARCHS

#: arguments that describe one invocation, not the run: never taken from a checkpoint's saved arguments
INVOCATION = {"output_dir", "export_from", "export_weights", "resume", "eval_dir", "eval_levels", "report_to"}
INVOCATION |= {"push_to_hub", "hub_model_id", "hub_token", "hub_private"}


def parse_args(argv: list[str] | None = None, defaults: dict | None = None) -> argparse.Namespace:
    """The command line; ``defaults`` (a run's saved arguments) replace the parser's defaults, not given flags."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--task", choices=TASK_NAMES, default="denoise")
    p.add_argument("--dataset", help="a Hub dataset id or a local folder of images (required to train)")
    p.add_argument("--dataset_config", default=None, help="the Hub dataset's configuration name")
    p.add_argument("--dataset_revision", default=None, help="the Hub dataset's branch, tag or commit (reproducible)")
    p.add_argument("--split", default="train")
    p.add_argument("--image_column", default=None, help="default: the first column of Image type")
    p.add_argument("--streaming", action="store_true", help="stream a large Hub dataset, sharded across processes")
    p.add_argument("--validation_dir", default=None, help="a held-out folder of images")
    p.add_argument("--validation_split", default=None, help="a validation split of --dataset")
    p.add_argument("--validation_crop", type=int, default=256, help="center crop of validation images")
    p.add_argument("--validation_steps", type=int, default=500, help="validate every N steps (and at the end)")
    p.add_argument("--output_dir", required=True)
    p.add_argument("--max_steps", type=int, default=10000)
    p.add_argument(
        "--max_minutes",
        type=float,
        default=None,
        help="a time budget for this run: stop (validate, checkpoint, save) when it is spent; the lr milestones "
        "then count whichever is further on, the fraction of --max_steps or of this time",
    )
    p.add_argument("--batch_size", type=int, default=16, help="per process")
    p.add_argument("--gradient_accumulation_steps", type=int, default=1)
    p.add_argument("--crop_size", type=int, default=96)
    p.add_argument("--arch", choices=sorted(ARCHS), default="irae", help="irae, or the equal-size DnCNN baseline")
    p.add_argument("--width", type=int, default=None, help="default: 64 (irae), 96 (dncnn)")
    p.add_argument("--depth", type=int, default=None, help="default: 16 steps per level (irae), 18 layers (dncnn)")
    p.add_argument("--levels", type=int, default=2, help="irae only")
    p.add_argument("--loss", choices=sorted(LOSSES), default="l1", help="training loss (the paper's: l1)")
    p.add_argument("--learning_rate", type=float, default=1e-3)
    p.add_argument(
        "--lr_milestones",
        type=float,
        nargs="*",
        default=[0.5, 0.75, 0.9],
        help="step decay at these fractions of --max_steps",
    )
    p.add_argument("--lr_gamma", type=float, default=0.5)
    p.add_argument(
        "--lr_warmup_steps",
        type=int,
        default=0,
        help="linear warm-up from 0 (fine-tuning with a fresh Adam: its first steps move every weight by ~lr)",
    )
    p.add_argument("--max_grad_norm", type=float, default=1.0)
    p.add_argument("--sigma_range", type=float, nargs=2, default=[0.0, 75.0])
    p.add_argument("--quality_range", type=int, nargs=2, default=[5, 95])
    p.add_argument("--mask_types", nargs="+", default=list(MASK_KINDS), choices=MASK_KINDS)
    p.add_argument(
        "--mask_scale",
        type=int,
        default=None,
        help="size free-form strokes for an image of this many pixels (e.g. 512), not for the crop",
    )
    p.add_argument(
        "--box_sizes",
        type=int,
        nargs=2,
        default=None,
        metavar=("MIN", "MAX"),
        help="draw training boxes with sides of MIN–MAX pixels, capped at 3/4 of the crop (default: 1/8–1/2 of it)",
    )
    p.add_argument(
        "--file_fraction",
        type=float,
        default=0.0,
        help="denoising: the fraction of noisy inputs clipped and rounded to 8 bits, as saved photos are (0–1)",
    )
    p.add_argument("--memory_saving", action="store_true", help="rebuild activations by inversion in backward")
    p.add_argument(
        "--mixed_precision",
        choices=["no", "fp16", "bf16"],
        default=None,
        help="default: accelerate's configuration, else bf16 on GPUs and no on CPUs",
    )
    p.add_argument(
        "--ema_decay",
        type=float,
        default=0.999,
        help="keep an exponential moving average of the weights with this decay (0: none)",
    )
    p.add_argument(
        "--export_weights",
        choices=["auto", "ema", "raw"],
        default="auto",
        help="which weights the final folder holds: the moving average, the raw ones, or (auto) the moving "
        "average unless the last validation measured it worse",
    )
    p.add_argument(
        "--channels_last",
        action="store_true",
        help="channels-last memory format (faster convolutions on CPUs, with bf16 above all)",
    )
    p.add_argument("--checkpointing_steps", type=int, default=500)
    p.add_argument("--checkpoints_total_limit", type=int, default=2)
    p.add_argument("--resume", default=None, help="'latest' or a checkpoint folder")
    p.add_argument(
        "--init_from",
        default=None,
        help="start from these weights (folder, Hub id or ORG/NAME@REVISION), not from scratch",
    )
    p.add_argument(
        "--export_from",
        default=None,
        help="no training: write OUTPUT_DIR as a save_pretrained folder from this checkpoint (the run's own "
        "arguments, saved with it, describe it; flags given here override them)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--num_workers", type=int, default=2, help="data loader workers per process")
    p.add_argument("--cache_images", action="store_true", help="keep decoded images in memory (small datasets)")
    p.add_argument(
        "--max_bad_images",
        type=int,
        default=10,
        help="training images that cannot be decoded are skipped (and counted); past this many, training stops",
    )
    p.add_argument("--report_to", default="tensorboard", help="accelerate tracker(s), or 'none'")
    p.add_argument("--eval_dir", default=None, help="evaluate the final model on these images for the model card")
    p.add_argument("--eval_levels", type=float, nargs="*", default=None, help="levels for the final evaluation")
    p.add_argument("--training_data_note", default=None, help="text for the model card's training section")
    p.add_argument("--credits", default=None, help="a markdown file of image credits, appended to the model card")
    p.add_argument("--push_to_hub", action="store_true")
    p.add_argument("--hub_model_id", default=None)
    p.add_argument("--hub_token", default=None)
    p.add_argument("--hub_private", action="store_true")
    if defaults:
        p.set_defaults(**{k: v for k, v in defaults.items() if k not in INVOCATION})
    args = p.parse_args(argv)
    if not args.dataset and not args.export_from:
        p.error("--dataset is required (a Hub dataset id or a local folder of images)")
    if args.push_to_hub and not args.hub_model_id:
        p.error("--push_to_hub needs --hub_model_id ORG/NAME")
    multiple = ARCHS[args.arch].multiple_for(levels=args.levels)
    if args.max_steps < 1 or args.batch_size < 1 or args.crop_size < multiple:
        p.error("--max_steps and --batch_size must be >= 1 and --crop_size >= 2**levels")
    if args.mask_scale is not None and args.mask_scale < 1:
        p.error("--mask_scale must be a positive number of pixels")
    if args.box_sizes is not None and not 1 <= args.box_sizes[0] <= args.box_sizes[1]:
        p.error("--box_sizes must be two numbers of pixels, 1 <= MIN <= MAX")
    for name, (low, high) in (("sigma", LEVEL_RANGES["sigma"][:2]), ("quality", LEVEL_RANGES["quality"][:2])):
        lo, hi = getattr(args, f"{name}_range")
        if not low <= lo <= hi <= high:  # NaN fails too
            p.error(f"--{name}_range LOW HIGH must satisfy {low:g} <= LOW <= HIGH <= {high:g}, got {lo:g} {hi:g}")
    if not 0 <= args.file_fraction <= 1:
        p.error("--file_fraction must be in [0, 1]")
    if not 0 <= args.ema_decay < 1:
        p.error("--ema_decay must be in [0, 1)")
    args.crop_size -= args.crop_size % multiple
    return args


def main(argv: list[str] | None = None) -> Path:
    """Train (or, with --export_from, export a checkpoint); returns the output folder."""
    args = parse_args(argv)
    if args.export_from:
        return export_checkpoint(parse_args(argv, defaults=saved_args(Path(args.export_from))))
    return Trainer(args).fit()


def cli() -> None:
    """Entry point: user errors (bad paths, empty or imageless datasets, NaN loss) end with a clear message."""
    import sys

    from datasets.exceptions import DatasetNotFoundError
    from datasets.data_files import EmptyDatasetError

    try:
        main()
    except (ValueError, FileNotFoundError, EmptyDatasetError, DatasetNotFoundError, RuntimeError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    cli()
