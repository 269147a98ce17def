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
import json
import os
import time
from pathlib import Path

import torch
from accelerate import Accelerator
from accelerate.utils import ProjectConfiguration, broadcast, set_seed
from tqdm.auto import tqdm

from irae_hf.data import (
    DegradationSpec,
    PatchBatches,
    PatchStream,
    ValidationSet,
    image_column,
    load_image_dataset,
)
from irae_hf.base import RestorationModel
from irae_hf.cards import training_section, validation_sentence
from irae_hf.tasks import LEVEL_RANGES, MASK_KINDS, TASK_NAMES, level_kwargs
from irae_hf.training import (
    EMA,
    EMA_FILE,
    STATE_FILE,
    LRSchedule,
    find_checkpoint,
    new_model,
    pick_weights,
    plain_copy,
    save_checkpoint,
    run_mismatch,
    saved_args,
    upgrade_checkpoint,
    validate,
)
from irae_hf.zoo import ARCHS, load_model, split_revision

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


def model_args(args: argparse.Namespace) -> tuple:
    """``new_model``'s arguments from the command line."""
    return args.arch, args.task, args.width, args.depth, args.levels


def run_args(args: argparse.Namespace) -> dict:
    """The arguments saved with each checkpoint (no token, nothing measured)."""
    return {k: v for k, v in vars(args).items() if k not in {"hub_token", "hardware"}}


def make_data(args: argparse.Namespace, accelerator: Accelerator, spec: DegradationSpec) -> tuple:
    """This process's training patch stream and the (prepared) validation loader, or None without validation."""
    train = load_image_dataset(args.dataset, args.split, args.dataset_config, args.streaming, args.dataset_revision)
    column = image_column(train, args.image_column)
    where = args.dataset + (f"@{args.dataset_revision}" if args.dataset_revision else "")
    count = f"{len(train)} training images" if hasattr(train, "__len__") else "streaming training images"
    accelerator.print(f"{count} from {where} (column {column!r})")  # imagefolder drops train/test/val names: check
    stream = PatchStream(
        train,
        column,
        args.crop_size,
        spec,
        args.seed,
        accelerator.process_index,
        accelerator.num_processes,
        cache=args.cache_images,
        max_bad=args.max_bad_images,
    )
    val_loader = None
    if args.validation_dir or args.validation_split:
        val = (
            load_image_dataset(args.validation_dir)
            if args.validation_dir
            else load_image_dataset(
                args.dataset, args.validation_split, args.dataset_config, revision=args.dataset_revision
            )
        )
        multiple = ARCHS[args.arch].multiple_for(levels=args.levels)
        val_set = ValidationSet(val, image_column(val, args.image_column), spec, args.validation_crop, multiple)
        for i in range(len(val_set)):  # now, not at the first validation hours later
            try:
                val_set[i]
            except Exception as e:  # noqa: BLE001 - any decoder failure
                raise ValueError(f"validation image #{i} cannot be used ({type(e).__name__}: {e})") from None
        val_loader = accelerator.prepare(torch.utils.data.DataLoader(val_set, batch_size=1))
    return stream, val_loader


def main(argv: list[str] | None = None) -> Path:
    args = parse_args(argv)
    if args.export_from:
        return export(parse_args(argv, defaults=saved_args(Path(args.export_from))))
    out = Path(args.output_dir)
    precision = args.mixed_precision
    if precision is None and "ACCELERATE_MIXED_PRECISION" not in os.environ and torch.cuda.is_available():
        precision = "bf16" if torch.cuda.is_bf16_supported() else "no"  # bf16 by default on GPUs
    accelerator = Accelerator(
        gradient_accumulation_steps=args.gradient_accumulation_steps,
        mixed_precision=precision,
        log_with=None if args.report_to == "none" else args.report_to,
        project_config=ProjectConfiguration(project_dir=str(out), logging_dir=str(out / "logs")),
    )
    set_seed(args.seed)
    spec = DegradationSpec(
        args.task,
        sigma_range=tuple(args.sigma_range),
        quality_range=tuple(args.quality_range),
        mask_types=tuple(args.mask_types),
        mask_scale=args.mask_scale,
        box_sizes=tuple(args.box_sizes) if args.box_sizes else None,
        file_fraction=args.file_fraction,
    )

    resume_from = find_checkpoint(out, args.resume) if args.resume else None
    mismatch = run_mismatch(resume_from, vars(args)) if resume_from else None
    if mismatch:
        raise ValueError(mismatch)
    stream, val_loader = make_data(args, accelerator, spec)

    model = load_model(args.init_from) if args.init_from else new_model(*model_args(args))
    if args.init_from and model.task != args.task:
        raise ValueError(f"--init_from {args.init_from} is a {model.task!r} model, not {args.task!r}")
    saved = json.loads((resume_from / STATE_FILE).read_text()) if resume_from else {}
    step, history = saved.get("step", 0), saved.get("history", [])
    cpu_s = saved.get("cpu_s", 0.0)  # CPU seconds of the main process (all its threads) in earlier runs
    wall_s = saved.get("wall_s", 0.0)
    args.hardware = f"{accelerator.num_processes} × " + (
        torch.cuda.get_device_name(accelerator.device) if accelerator.device.type == "cuda" else "CPU"
    )
    start_batch = step * args.gradient_accumulation_steps
    if resume_from is None and not args.init_from:  # Glow's data-dependent init on the first batch, then synced
        first = stream.first_batch(args.batch_size)
        model.initialize(first["degraded"], **level_kwargs(args.task, first["level"]))
        model.to(accelerator.device)
        for tensor in model.state_dict().values():
            tensor.copy_(broadcast(tensor.contiguous(), from_process=0))
    model.set_memory_saving(args.memory_saving)
    model.train()
    memory_format = torch.channels_last if args.channels_last else torch.contiguous_format
    model.to(memory_format=memory_format)

    optimizer = torch.optim.Adam(model.parameters(), lr=args.learning_rate)
    model, optimizer = accelerator.prepare(model, optimizer)
    if resume_from is not None:
        try:
            if accelerator.is_local_main_process:
                upgrade_checkpoint(resume_from)
            accelerator.wait_for_everyone()
            accelerator.load_state(str(resume_from))
        except Exception as e:  # noqa: BLE001 - safetensors, pickle and shape errors of a damaged checkpoint
            raise RuntimeError(
                f"checkpoint {resume_from} cannot be loaded ({type(e).__name__}: {str(e).splitlines()[0][:200]}); "
                "if it is damaged, pass --resume with the folder of an earlier checkpoint"
            ) from None
        accelerator.print(f"resumed from {resume_from} at step {step}")
    ema = EMA(accelerator.unwrap_model(model), args.ema_decay) if args.ema_decay > 0 else None  # from these weights
    if ema is not None and resume_from is not None:
        if (resume_from / EMA_FILE).is_file():
            ema.load(resume_from / EMA_FILE)  # a damaged file is WeightsError naming it
        else:
            accelerator.print(f"{resume_from} holds no moving average: it starts from the resumed weights")
    schedule = LRSchedule(args.learning_rate, args.max_steps, args.lr_milestones, args.lr_gamma, args.lr_warmup_steps)
    for group in optimizer.param_groups:  # the lr is a function of the step (and time): nothing to checkpoint
        group["lr"] = schedule(step)

    loader = torch.utils.data.DataLoader(
        PatchBatches(stream, args.batch_size, start_batch),
        batch_size=None,
        num_workers=0 if stream.streaming else args.num_workers,
    )
    if accelerator.is_main_process and args.report_to != "none":
        accelerator.init_trackers(
            "irae", config={k: str(v) if isinstance(v, list) else v for k, v in vars(args).items()}
        )

    bar = tqdm(total=args.max_steps, initial=step, desc="training", disable=not accelerator.is_local_main_process)
    last = saved.get("metrics", {})  # resuming a finished run re-saves it with the same card
    t0, cpu0, patches, out_of_time = time.perf_counter(), time.process_time(), 0, False
    batches = iter(loader)
    while step < args.max_steps and not out_of_time:
        batch = {k: v.to(accelerator.device) for k, v in next(batches).items()}
        batch["degraded"] = batch["degraded"].contiguous(memory_format=memory_format)
        with accelerator.accumulate(model):
            restored = model(batch["degraded"], **level_kwargs(args.task, batch["level"]))
            loss = torch.nn.functional.l1_loss(restored.float(), batch["clean"])
            if not torch.isfinite(loss):
                raise RuntimeError(
                    f"loss is {loss.item()} at step {step}: stopping without saving "
                    "(lower --learning_rate or --max_grad_norm, or use --mixed_precision no)"
                )
            accelerator.backward(loss)
            if accelerator.sync_gradients and args.max_grad_norm > 0:
                accelerator.clip_grad_norm_(model.parameters(), args.max_grad_norm)
            optimizer.step()
            optimizer.zero_grad()
        patches += args.batch_size * accelerator.num_processes
        if not accelerator.sync_gradients:
            continue
        if ema is not None:
            ema.update(accelerator.unwrap_model(model))
        step += 1
        bar.update(1)
        cpu_total = cpu_s + time.process_time() - cpu0  # CPU seconds of the main process, resumed runs included
        elapsed = time.perf_counter() - t0  # this run's wall time
        wall_total = wall_s + elapsed
        spent = 0.0
        if args.max_minutes is not None:  # the main process's clock decides for all processes
            spent = torch.tensor(elapsed / (60 * args.max_minutes + 1e-9), device=accelerator.device)
            spent = broadcast(spent, from_process=0).item()
            out_of_time = spent >= 1
        for group in optimizer.param_groups:
            group["lr"] = schedule(step, spent)
        end = step == args.max_steps or out_of_time
        last = {
            "train/loss": loss.item(),
            "train/lr": optimizer.param_groups[0]["lr"],
            "train/patches_per_s": patches / elapsed,
            # quality per CPU-hour: every process costs what the main one does (data workers not counted)
            "train/cpu_hours": cpu_total * accelerator.num_processes / 3600,
            "train/bad_images": len(stream.bad),
        }
        bar.set_postfix(loss=f"{last['train/loss']:.4f}")
        if val_loader is not None and (step % args.validation_steps == 0 or end):
            last.update(validate(accelerator, plain_copy(accelerator.unwrap_model(model)), val_loader, args.task))
            if ema is not None:
                last.update(validate(accelerator, ema.model, val_loader, args.task, "_ema"))
            history.append(
                {
                    "step": step,
                    "cpu_hours": round(last["train/cpu_hours"], 6),
                    "hours": round(wall_total / 3600, 6),
                    **{k: round(v, 4) for k, v in last.items() if k.startswith("val/")},
                }
            )
            accelerator.print(f"step {step}: " + ", ".join(f"{k} {v:.4f}" for k, v in last.items()))
        accelerator.log(last, step=step)
        if step % args.checkpointing_steps == 0 or end:
            save_checkpoint(
                accelerator,
                out,
                step,
                args.checkpoints_total_limit,
                {
                    "metrics": last,
                    "history": history,
                    "patches_per_s": last["train/patches_per_s"],
                    "cpu_s": cpu_total,
                    "wall_s": wall_total,
                    "hardware": args.hardware,
                },
                ema,
                run_args(args),
            )
    bar.close()
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        weights = pick_weights(args.export_weights, last, ema is not None)
        if weights == "ema" and ema is None:
            raise ValueError("--export_weights ema needs a moving average (--ema_decay > 0)")
        final = ema.model if weights == "ema" else plain_copy(accelerator.unwrap_model(model))
        finish(args, final, out, step, last.get("train/patches_per_s"), last, history, weights)
    accelerator.end_training()
    return out


def export(args: argparse.Namespace) -> Path:
    """``--export_from CHECKPOINT``: the checkpoint's weights as a save_pretrained folder with its model card."""
    ckpt = Path(args.export_from)
    state = json.loads((ckpt / STATE_FILE).read_text())
    args.hardware = state.get("hardware")
    metrics = state.get("metrics", {})
    weights = pick_weights(args.export_weights, metrics, (ckpt / EMA_FILE).is_file())
    if weights == "ema" and not (ckpt / EMA_FILE).is_file():
        raise FileNotFoundError(f"{ckpt} holds no moving average ({EMA_FILE}): use --export_weights raw")
    model = new_model(*model_args(args))
    model.load_weights(ckpt / (EMA_FILE if weights == "ema" else "model.safetensors"))
    finish(
        args,
        model,
        Path(args.output_dir),
        state["step"],
        state.get("patches_per_s"),
        metrics,
        state.get("history", []),
        weights,
    )
    return Path(args.output_dir)


def finish(
    args: argparse.Namespace,
    model: RestorationModel,
    out: Path,
    step: int,
    throughput: float | None,
    last: dict,
    history: list[dict] | None = None,
    weights: str = "raw",
) -> None:
    """save_pretrained with the filled model card, then push exactly that folder if asked."""
    from irae_hf.evaluate import evaluate_model_card_table

    model = model.float().cpu().eval().to(memory_format=torch.contiguous_format)
    model.set_memory_saving(False)
    evaluation = "[More Information Needed]"
    if args.eval_dir:
        out.mkdir(parents=True, exist_ok=True)
        evaluation = evaluate_model_card_table(model, args.eval_dir, args.eval_levels, out / "evaluation.json")
    elif "val/psnr" in last:
        evaluation = validation_sentence(args, last, weights)
    training = training_section(args, step, throughput, last, history or [], weights)
    (out / "README.md").unlink(missing_ok=True)  # always regenerate the card
    card = {"training": training, "evaluation": evaluation, "model_id": args.hub_model_id}
    if args.init_from and not os.path.isdir(args.init_from):  # a fine-tune of a Hub model
        card["base_model"] = split_revision(args.init_from)[0]
    if args.dataset and not os.path.isdir(args.dataset):
        card["datasets"] = [args.dataset]
    if args.eval_dir:
        card["eval_results"] = json.loads((out / "evaluation.json").read_text())
    model.save_pretrained(out, model_card_kwargs=card)
    print(f"saved {out} ({step} steps)")
    if args.push_to_hub:
        from huggingface_hub import HfApi

        api = HfApi(token=args.hub_token)
        repo = api.create_repo(args.hub_model_id, private=args.hub_private, exist_ok=True).repo_id
        api.upload_folder(
            repo_id=repo,
            folder_path=str(out),
            commit_message=f"{type(model).__name__} {args.task}, {step} steps",
            allow_patterns=["config.json", "model.safetensors", "README.md"],
        )
        print(f"pushed {out} to https://huggingface.co/{repo}")


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
