"""One training run as a library: data, model, resume, the loop, checkpoints, validation and the saved folder.

``train_accelerate.py`` parses the command line and calls :class:`Trainer`; everything it does lives here, with the
losses in ``losses.py``.
"""

from __future__ import annotations

import json
import os
import time
from functools import partial
from pathlib import Path

import torch
from accelerate import Accelerator
from accelerate.utils import ProjectConfiguration, broadcast, set_seed
from torch import Tensor
from tqdm.auto import tqdm

from ..io.atomic import folder_problem
from ..io.image_datasets import load_image_dataset
from ..models.base import RestorationModel
from ..models.registry import ARCHS, load_model, split_revision
from ..pipeline.orphans import stop_with_launcher, stop_worker_with_parent
from ..tasks import TASKS, card_words
from .config import TrainConfig
from .data import DegradationSpec, PatchBatches, PatchStream, ValidationSet, image_column
from .losses import LOSSES
from .run_card import training_section, validation_sentence
from .steps import (
    EMA,
    EMA_FILE,
    STATE_FILE,
    LRSchedule,
    check_finite,
    find_checkpoint,
    new_model,
    pick_weights,
    plain_copy,
    run_mismatch,
    save_checkpoint,
    upgrade_checkpoint,
    validate,
)

__all__ = ["LOSSES", "Trainer", "export_checkpoint", "finish", "make_data"]


def model_args(args: TrainConfig) -> tuple:
    """``new_model``'s arguments from the command line."""
    return args.arch, args.task, args.scale_widths or args.width, args.depth, args.scales, args.noise


def run_args(args: TrainConfig) -> dict:
    """The arguments saved with each checkpoint (no token, nothing measured)."""
    return {k: v for k, v in vars(args).items() if k not in {"hub_token", "hardware"}}


def make_data(args: TrainConfig, accelerator: Accelerator, spec: DegradationSpec) -> tuple:
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
        multiple = ARCHS[args.arch].multiple_for(scales=args.scales)
        val_set = ValidationSet(val, image_column(val, args.image_column), spec, args.validation_crop, multiple)
        for i in range(len(val_set)):  # now, not at the first validation hours later
            try:
                val_set[i]
            except Exception as e:  # noqa: BLE001 - any decoder failure
                raise ValueError(f"validation image #{i} cannot be used ({type(e).__name__}: {e})") from None
        val_loader = accelerator.prepare(torch.utils.data.DataLoader(val_set, batch_size=1))
    return stream, val_loader


class Trainer:
    """One run of ``train_accelerate.py``'s arguments: ``Trainer(args).fit()`` trains, checkpoints, validates and
    saves the output folder (with its model card), resuming exactly from a checkpoint when asked."""

    def __init__(self, args: TrainConfig):
        self.args, self.out = args, Path(args.output_dir)
        problem = folder_problem(self.out, "--output_dir")  # before data, model or a first step
        if problem:
            raise ValueError(problem)
        precision = args.mixed_precision
        if precision is None and "ACCELERATE_MIXED_PRECISION" not in os.environ and torch.cuda.is_available():
            precision = "bf16" if torch.cuda.is_bf16_supported() else "no"  # bf16 by default on GPUs
        self.accelerator = Accelerator(
            gradient_accumulation_steps=args.gradient_accumulation_steps,
            mixed_precision=precision,
            log_with=None if args.report_to == "none" else args.report_to,
            project_config=ProjectConfiguration(project_dir=str(self.out), logging_dir=str(self.out / "logs")),
        )
        stop_with_launcher(self.accelerator.num_processes)  # a killed launcher leaves no process training on
        set_seed(args.seed)
        self.loss_fn = LOSSES[args.loss]
        self.resume_from = find_checkpoint(self.out, args.resume) if args.resume else None
        mismatch = run_mismatch(self.resume_from, vars(args)) if self.resume_from else None
        if mismatch:
            raise ValueError(mismatch)
        self.stream, self.val_loader = make_data(args, self.accelerator, degradation_spec(args))
        self.saved = json.loads((self.resume_from / STATE_FILE).read_text()) if self.resume_from else {}
        self.step, self.history = self.saved.get("step", 0), self.saved.get("history", [])
        device = self.accelerator.device
        args.hardware = f"{self.accelerator.num_processes} × " + (
            torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
        )
        self.memory_format = torch.channels_last if args.channels_last else torch.contiguous_format
        self.model, self.optimizer, self.ema = self._prepare_model()
        self.schedule = LRSchedule(
            args.learning_rate, args.max_steps, args.lr_milestones, args.lr_gamma, args.lr_warmup_steps
        )
        self._set_lr(self.step)

    def _prepare_model(self) -> tuple:
        """The model (new, initialised on the first batch, or from --init_from), its optimizer and moving average,
        with a checkpoint's state loaded when resuming."""
        args, accelerator = self.args, self.accelerator
        model = load_model(args.init_from, noise=args.noise) if args.init_from else new_model(*model_args(args))
        if args.init_from and model.task != args.task:
            raise ValueError(f"--init_from {args.init_from} is a {model.task!r} model, not {args.task!r}")
        if self.resume_from is None and not args.init_from:  # Glow's data-dependent init on the first batch, synced
            first = self.stream.first_batch(args.batch_size)
            model.initialize(first["degraded"], TASKS[args.task].condition(first["degraded"], first["level"]))
            model.to(accelerator.device)
            for tensor in model.state_dict().values():
                tensor.copy_(broadcast(tensor.contiguous(), from_process=0))
        model.set_memory_saving(args.memory_saving)
        model.train()
        model.to(memory_format=self.memory_format)
        optimizer = torch.optim.Adam(model.parameters(), lr=args.learning_rate)
        model, optimizer = accelerator.prepare(model, optimizer)
        if self.resume_from is not None:
            self._load_checkpoint()
        plain = accelerator.unwrap_model(model, keep_torch_compile=False)  # as _plain_model: self.model is not set yet
        ema = EMA(plain, args.ema_decay) if args.ema_decay > 0 else None  # these weights
        if ema is not None and self.resume_from is not None:
            if (self.resume_from / EMA_FILE).is_file():
                ema.load(self.resume_from / EMA_FILE)  # a damaged file is WeightsError naming it
            else:
                accelerator.print(f"{self.resume_from} holds no moving average: it starts from the resumed weights")
        return model, optimizer, ema

    def _plain_model(self) -> RestorationModel:
        """The model being trained without accelerate's wrappers, torch.compile's included (``accelerate config``
        may compile it: its weights are the same tensors)."""
        return self.accelerator.unwrap_model(self.model, keep_torch_compile=False)

    def _load_checkpoint(self) -> None:
        try:
            if self.accelerator.is_local_main_process:
                upgrade_checkpoint(self.resume_from)
            self.accelerator.wait_for_everyone()
            self.accelerator.load_state(str(self.resume_from))
        except Exception as e:  # noqa: BLE001 - safetensors, pickle and shape errors of a damaged checkpoint
            raise RuntimeError(
                f"checkpoint {self.resume_from} cannot be loaded ({type(e).__name__}: {str(e).splitlines()[0][:200]}); "
                "if it is damaged, pass --resume with the folder of an earlier checkpoint"
            ) from None
        self.accelerator.print(f"resumed from {self.resume_from} at step {self.step}")

    def _set_lr(self, step: int, spent: float = 0.0) -> None:
        for group in self.optimizer.param_groups:  # the lr is a function of the step (and time): nothing to save
            group["lr"] = self.schedule(step, spent)

    def train_step(self, batch: dict[str, Tensor]) -> Tensor:
        """One forward and backward pass (an optimizer step when gradients are synced); returns the loss."""
        args, accelerator, model = self.args, self.accelerator, self.model
        batch = {k: v.to(accelerator.device) for k, v in batch.items()}
        degraded = batch["degraded"].contiguous(memory_format=self.memory_format)
        with accelerator.accumulate(model):
            restored = model(degraded, TASKS[args.task].condition(degraded, batch["level"]))
            loss = self.loss_fn(restored.float(), batch["clean"])
            if not torch.isfinite(loss):
                raise RuntimeError(
                    f"loss is {loss.item()} at step {self.step}: stopping without saving "
                    "(lower --learning_rate or --max_grad_norm, or use --mixed_precision no)"
                )
            accelerator.backward(loss)
            if accelerator.sync_gradients and args.max_grad_norm > 0:
                accelerator.clip_grad_norm_(model.parameters(), args.max_grad_norm)
            self.optimizer.step()
            self.optimizer.zero_grad()
        return loss

    def fit(self) -> Path:
        """Train to --max_steps (or --max_minutes), validating and checkpointing on the way; save the folder."""
        args, accelerator = self.args, self.accelerator
        loader = torch.utils.data.DataLoader(
            PatchBatches(self.stream, args.batch_size, self.step * args.gradient_accumulation_steps),
            batch_size=None,
            num_workers=0 if self.stream.streaming else args.loader_workers(accelerator.device.type),
            worker_init_fn=partial(stop_worker_with_parent, os.getpid()),  # a killed process's workers exit too
        )
        if accelerator.is_main_process and args.report_to != "none":
            config = {k: str(v) if isinstance(v, list) else v for k, v in vars(args).items()}
            accelerator.init_trackers("irae", config=config)
        bar = tqdm(
            total=args.max_steps, initial=self.step, desc="training", disable=not accelerator.is_local_main_process
        )
        last = self.saved.get("metrics", {})  # resuming a finished run re-saves it with the same card
        clock = {"t0": time.perf_counter(), "cpu0": time.process_time(), "patches": 0}
        out_of_time, batches = False, iter(loader)
        while self.step < args.max_steps and not out_of_time:
            loss = self.train_step(next(batches))
            clock["patches"] += args.batch_size * accelerator.num_processes
            if not accelerator.sync_gradients:
                continue
            if self.ema is not None:
                self.ema.update(self._plain_model())
            self.step += 1
            bar.update(1)
            last, out_of_time = self._after_step(loss, clock)
            bar.set_postfix(loss=f"{last['train/loss']:.4f}")
        bar.close()
        accelerator.wait_for_everyone()
        if accelerator.is_main_process:
            self._save_folder(last)
        accelerator.end_training()
        return self.out

    def _after_step(self, loss: Tensor, clock: dict) -> tuple[dict, bool]:
        """The lr for the next step, the step's numbers, validation and a checkpoint when due; and whether the time
        budget is spent."""
        args, accelerator = self.args, self.accelerator
        cpu_total = self.saved.get("cpu_s", 0.0) + time.process_time() - clock["cpu0"]  # main process, all runs
        elapsed = time.perf_counter() - clock["t0"]  # this run's wall time
        wall_total = self.saved.get("wall_s", 0.0) + elapsed
        spent, out_of_time = 0.0, False
        if args.max_minutes is not None:  # the main process's clock decides for all processes
            spent = torch.tensor(elapsed / (60 * args.max_minutes + 1e-9), device=accelerator.device)
            spent = broadcast(spent, from_process=0).item()
            out_of_time = spent >= 1
        self._set_lr(self.step, spent)
        end = self.step == args.max_steps or out_of_time
        last = {
            "train/loss": loss.item(),
            "train/lr": self.optimizer.param_groups[0]["lr"],
            "train/patches_per_s": clock["patches"] / elapsed,
            # quality per CPU-hour: every process costs what the main one does (data workers not counted)
            "train/cpu_hours": cpu_total * accelerator.num_processes / 3600,
            "train/bad_images": len(self.stream.bad),
        }
        if self.val_loader is not None and (self.step % args.validation_steps == 0 or end):
            last.update(self._validate(wall_total, last))
        accelerator.log(last, step=self.step)
        if self.step % args.checkpointing_steps == 0 or end:
            check_finite(self._plain_model(), self.step)  # a diverged run saves nothing
            if self.ema is not None:
                check_finite(self.ema.model, self.step, "moving-average weights")
            state = {"metrics": last, "history": self.history, "patches_per_s": last["train/patches_per_s"]}
            state.update(cpu_s=cpu_total, wall_s=wall_total, hardware=args.hardware)
            save_checkpoint(
                accelerator, self.out, self.step, args.checkpoints_total_limit, state, self.ema, run_args(args)
            )
        return last, out_of_time

    def _validate(self, wall_total: float, last: dict) -> dict:
        """Validation PSNR/SSIM of the raw weights (and the moving average), kept in the run's history."""
        accelerator, task = self.accelerator, self.args.task
        scores = validate(accelerator, plain_copy(self._plain_model()), self.val_loader, task)
        if self.ema is not None:
            scores.update(validate(accelerator, self.ema.model, self.val_loader, task, "_ema"))
        self.history.append(
            {
                "step": self.step,
                "cpu_hours": round(last["train/cpu_hours"], 6),
                "hours": round(wall_total / 3600, 6),
                **{k: round(v, 4) for k, v in scores.items()},
            }
        )
        accelerator.print(f"step {self.step}: " + ", ".join(f"{k} {v:.4f}" for k, v in {**last, **scores}.items()))
        return scores

    def _save_folder(self, last: dict) -> None:
        weights = pick_weights(self.args.export_weights, last, self.ema is not None)
        if weights == "ema" and self.ema is None:
            raise ValueError("--export_weights ema needs a moving average (--ema_decay > 0)")
        final = self.ema.model if weights == "ema" else plain_copy(self._plain_model())
        finish(self.args, final, self.out, self.step, last.get("train/patches_per_s"), last, self.history, weights)


def degradation_spec(args: TrainConfig) -> DegradationSpec:
    """The ranges the training degradations are drawn from, from the command line."""
    return DegradationSpec(
        args.task,
        sigma_range=tuple(args.sigma_range),
        quality_range=tuple(args.quality_range),
        mask_types=tuple(args.mask_types),
        mask_scale=args.mask_scale,
        box_sizes=tuple(args.box_sizes) if args.box_sizes else None,
        file_fraction=args.file_fraction,
        camera_fraction=args.camera_fraction,
        noisy_jpeg_fraction=args.noisy_jpeg_fraction,
        noisy_jpeg_range=tuple(args.noisy_jpeg_range),
    )


def export_checkpoint(args: TrainConfig) -> Path:
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
    args: TrainConfig,
    model: RestorationModel,
    out: Path,
    step: int,
    throughput: float | None,
    last: dict,
    history: list[dict] | None = None,
    weights: str = "raw",
) -> None:
    """save_pretrained with the filled model card, then push exactly that folder if asked."""
    from ..pipeline.evaluate import evaluate_model_card_table

    model = model.float().cpu().eval().to(memory_format=torch.contiguous_format)
    check_finite(model, step)
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
    scores = json.loads((out / "evaluation.json").read_text()) if args.eval_dir else None
    card.update(card_words(model, scores, args.hub_model_id))
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
