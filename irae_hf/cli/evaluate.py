"""``irae evaluate``: PSNR/SSIM of a model and the classical baselines on a folder of clean images."""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from ..io.atomic import file_problem
from ..tasks import CAMERA_SETTINGS, TASKS, Restorer, task_of
from .args import REVISION_HELP, count_arg, device_arg
from .errors import UsageError

if TYPE_CHECKING:
    from ..models.base import RestorationModel

__all__ = ["register", "run"]


def register(sub: argparse._SubParsersAction) -> None:
    """The ``evaluate`` subcommand's flags."""
    e = sub.add_parser("evaluate", help="PSNR/SSIM of a model and the classical baselines on a folder")
    e.add_argument("--model", help="a save_pretrained folder or Hub id (omit to run baselines only)")
    e.add_argument("--name", help="the model's name in the table (default: its class, IRAE or DnCNN)")
    e.add_argument("--task", required=True, choices=list(TASKS))
    e.add_argument("--data", required=True, help="folder of clean images")
    for task in TASKS.values():  # each task's settings: --sigma 15 25 50, --quality ..., --masks box ...
        settings = " ".join(map(str, task.settings))
        e.add_argument(
            f"--{task.settings_flag}",
            type=task.level_type,
            nargs="+",
            choices=task.settings if task.level_range is None else None,
            help=f"{task.name}: the {task.label} settings (default {settings})",
        )
    e.add_argument(
        "--noise",
        choices=["gaussian", "camera"],
        help="denoise: Gaussian noise at each --sigma, or camera-like noise in 8-bit files and phone JPEGs (every "
        "method told its RMS σ); default: what the model's config.json says it was trained on, else gaussian",
    )
    e.add_argument(
        "--baselines",
        nargs="*",
        help="subset of the task's baselines (default all; the flag alone: none), and methods from outside the "
        "package as NAME=FILE.py:FACTORY (FACTORY() returns restore(image, level)), e.g. "
        "FFDNet=benchmarks/studies/peers.py:ffdnet_restorer",
    )
    e.add_argument("--limit", type=count_arg("--limit", 1), help="only the first N images")
    e.add_argument("--ensemble", action="store_true", help="also the model's 8-fold self-ensemble (a row of its own)")
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--json", help="write the rows here as JSON")
    e.add_argument("--device", default="cpu", type=device_arg)
    e.add_argument("--revision", help=REVISION_HELP)
    e.set_defaults(run=run)


def noise_for(args: argparse.Namespace, model: RestorationModel | None) -> str | None:
    """``--noise``, else camera-like for a denoiser trained on camera and phone noise (it is measured on its own kind),
    else Gaussian; None for the other tasks (a clear line when given to one, or with --sigma)."""
    noise = getattr(args, "noise", None)
    if not TASKS[args.task].noise_kinds:
        if noise:
            raise ValueError(f"--noise is for denoising, not --task {args.task}")
        return None
    if noise == "camera" and getattr(args, "sigma", None):
        raise ValueError("--noise camera has its own settings (low light, moderate, and each as a JPEG): drop --sigma")
    if noise is None and model is not None and model.config.get("noise") == "real" and not getattr(args, "sigma", None):
        print(
            f"note: {args.model} was trained on camera and phone noise: measured on camera-like noise (--noise "
            "gaussian: at each σ)",
            file=sys.stderr,
        )
        return "camera"
    return noise or "gaussian"


def chosen_baselines(args: argparse.Namespace, methods: dict[str, Restorer]) -> dict[str, Restorer]:
    """The task's baselines ``--baselines`` names (all by default, those whose package is missing skipped with a
    note) and methods from outside the package (``NAME=FILE.py:FACTORY``); one line for a name unknown or taken."""
    from ..pipeline.evaluate import INSTALL_DEV, external_baseline, missing_packages

    baselines = TASKS[args.task].baselines()
    named = [b for b in args.baselines or () if "=" not in b]
    unknown = sorted(set(named) - set(baselines))
    if unknown:
        raise ValueError(
            f"unknown {args.task} baseline(s) {unknown}; choose from {sorted(baselines)} or give NAME=FILE.py:FACTORY"
            " (--baselines alone: none)"
        )
    chosen = dict(baselines) if args.baselines is None else {k: baselines[k] for k in named}
    for name, package in missing_packages(chosen).items():
        if args.baselines is not None:  # asked for by name: refused up front
            raise ValueError(f"the {name} baseline needs the {package} package: {INSTALL_DEV}")
        print(f"note: {name} skipped: it needs the {package} package ({INSTALL_DEV})", file=sys.stderr)
        del chosen[name]
    for name, restorer in (external_baseline(b) for b in args.baselines or () if "=" in b):
        if name in methods or name in chosen:
            raise ValueError(f"--baselines {name}=...: the table already has a method named {name!r}")
        chosen[name] = restorer
    return chosen


def run(args: argparse.Namespace) -> int:
    """Print the markdown table and write the JSON; a reader's warning said in one line, a refusal as a UsageError."""

    def note(message: Warning | str, *_: object, **__: object) -> None:
        print(f"note: {message}", file=sys.stderr)

    try:
        with warnings.catch_warnings():
            warnings.showwarning = note
            return evaluate_folder(args)
    except (ValueError, KeyError, OSError) as e:
        raise UsageError(str(e)) from e


def evaluate_folder(args: argparse.Namespace) -> int:
    """The evaluation ``irae evaluate`` asks for: the model and the chosen baselines on the folder's images."""
    from ..models.registry import load_model
    from ..pipeline.evaluate import evaluate, load_folder, markdown_table, model_restorer

    problem = file_problem(args.json, "--json") if args.json else None
    if problem:  # said before the evaluation, not after it
        raise ValueError(problem)
    if args.ensemble and not args.model:
        raise ValueError("--ensemble is the model's self-ensemble: give --model too")
    methods: dict[str, Restorer] = {}
    if args.model:
        model = load_model(args.model, revision=getattr(args, "revision", None)).to(args.device)
        task_of(model)
        if model.task != args.task:
            raise ValueError(f"--task {args.task} but {args.model} is a {model.task!r} model")
        name = args.name or type(model).__name__
        methods[name] = model_restorer(model)
        if args.ensemble:
            methods[f"{name} ×8 ensemble"] = model_restorer(model, ensemble=True)
    methods.update(chosen_baselines(args, methods))
    given = getattr(args, TASKS[args.task].settings_flag, None)
    settings = given or list(TASKS[args.task].settings)
    noise = noise_for(args, model if args.model else None)
    if noise == "camera":
        settings = list(CAMERA_SETTINGS)
    images = load_folder(args.data, args.limit)
    rows = evaluate(methods, images, args.task, settings, args.seed)
    table = markdown_table(rows)
    what = {"camera": " (camera-like noise; every method told its RMS σ)", "gaussian": " (Gaussian noise)"}.get(
        noise, ""
    )
    print(f"{args.task}{what} on {len(images)} images of {args.data} (seed {args.seed}):\n")
    print(table)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        data = Path(args.data).name  # the data set's name, not this machine's path
        Path(args.json).write_text(
            json.dumps({"data": data, "seed": args.seed, "noise": noise, "rows": rows}, indent=2)
        )
    return 0
