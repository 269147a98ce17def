"""``irae export``: a model's restore and recover (inverse) graphs as ONNX, for other runtimes; or one file that
spandrel (chaiNNer, ComfyUI) loads, its level fixed or read from each image."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..io.atomic import folder_problem
from ..tasks import TASKS
from .args import REVISION_HELP, foreign_level_flag, missing_package
from .errors import UsageError

__all__ = ["register", "run", "EXPORT_FILES"]

#: every file ``irae export`` writes (none is replaced without --overwrite)
EXPORT_FILES = ("restore.onnx", "recover.onnx", "onnx.json", "README.md")


def register(sub: argparse._SubParsersAction) -> None:
    """The ``export`` subcommand's flags."""
    from .args import restore_level_type

    x = sub.add_parser("export", help="write a model's graphs for other runtimes (ONNX), or a file for spandrel")
    x.add_argument(
        "--format",
        default="onnx",
        choices=["onnx", "spandrel"],
        help="onnx: restore.onnx, recover.onnx, onnx.json, README.md; spandrel: one .safetensors for chaiNNer and "
        "ComfyUI (irae_hf.spandrel.install() registers the architecture)",
    )
    x.add_argument("model", help="a save_pretrained folder or Hub id of an IRAE model")
    x.add_argument("output", help="folder to write into")
    for task in TASKS.values():  # --sigma, --quality: the level a spandrel file keeps (none: each image's estimate)
        if task.blind:
            say = f"spandrel: {task.name} at this level (default: each image's own estimate)"
            x.add_argument(f"--{task.keyword}", type=restore_level_type(task), help=say)
    x.add_argument("--overwrite", action="store_true", help="replace graphs already in the folder")
    x.add_argument("--revision", help=REVISION_HELP)
    x.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Write the model's restore and recover graphs into the output folder, refusing before any work."""
    if args.format == "spandrel":
        return run_spandrel(args)
    given = [f"--{t.keyword}" for t in TASKS.values() if t.blind and getattr(args, t.keyword, None) is not None]
    if given:  # an ONNX graph takes the level as an input: a level here would be silently ignored
        raise UsageError(f"{given[0]} is for --format spandrel; the ONNX graphs take the level as an input")
    problem = missing_package("onnx", "irae export")
    if problem:
        raise UsageError(problem)
    from ..models.registry import load_model
    from ..pipeline.onnx import export_onnx

    out = Path(args.output)
    existing = [n for n in EXPORT_FILES if (out / n).exists()]
    if existing and not args.overwrite:
        raise UsageError(f"{out} already holds {', '.join(existing)} (--overwrite to replace)")
    problem = folder_problem(out, flag="")
    if problem:
        raise UsageError(problem.strip())
    try:
        model = load_model(args.model, revision=args.revision)
        written = export_onnx(model, out, overwrite=args.overwrite)
    except (ValueError, OSError) as e:
        raise UsageError(str(e)) from e
    print("wrote " + ", ".join(str(p) for p in written))
    return 0


def spandrel_name(model_id: str, task, level: float | None) -> str:
    """``irae-<model>-<level>.safetensors``: the model's folder or Hub name, and its level or ``auto``."""
    name = Path(model_id.split("@")[0].rstrip("/")).name or "model"
    name = name if name.startswith("irae") else f"irae-{name}"
    said = "auto" if level is None else f"{task.keyword}{level:g}"
    return f"{name}-{said}.safetensors" if task.blind else f"{name}.safetensors"


def run_spandrel(args: argparse.Namespace) -> int:
    """One safetensors file spandrel loads after ``irae_hf.spandrel.install()``, its level fixed or blind."""
    from ..models.registry import load_model
    from ..spandrel import export_spandrel
    from ..tasks import task_of

    out = Path(args.output)
    problem = folder_problem(out, flag="")
    if problem:
        raise UsageError(problem.strip())
    try:
        model = load_model(args.model, revision=args.revision)
        task = task_of(model)
    except (ValueError, OSError) as e:
        raise UsageError(f"cannot load model {args.model}: {e}") from e
    foreign = foreign_level_flag(args, task.name)
    if foreign:
        raise UsageError(foreign)
    level = getattr(args, task.keyword, None) if task.blind else None
    level = None if level == "auto" else level
    target = out / spandrel_name(args.model, task, level)
    if target.exists() and not args.overwrite:
        raise UsageError(f"{target} exists (--overwrite to replace)")
    try:
        export_spandrel(model, target, level, overwrite=args.overwrite)
    except (ValueError, OSError) as e:
        raise UsageError(str(e)) from e
    what = (
        f"{task.keyword} {level:g} for every image" if level is not None
        else "each image's own estimate" if task.blind else "the mask given with each image"
    )  # fmt: skip
    print(f"wrote {target}: {task.name} at {what}; load it in spandrel after irae_hf.spandrel.install()")
    return 0
