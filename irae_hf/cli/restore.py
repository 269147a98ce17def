"""``irae restore``: image files or folders in, restored files out, each written whole; refusals before the first."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from PIL import Image

from ..io.atomic import folder_problem, write_file
from ..io.formats import MAX_PIXELS
from ..tasks import TASKS, task_of
from .args import (
    REVISION_HELP,
    count_arg,
    device_arg,
    foreign_level_flag,
    missing_package,
    restore_level_type,
    tile_arg,
)
from .errors import UsageError
from .files import check_outputs, find_images, fit_format, mask_for, plan_outputs, suffix_problem

__all__ = ["register", "run"]


def register(sub: argparse._SubParsersAction) -> None:
    """The ``restore`` subcommand's flags."""
    r = sub.add_parser("restore", help="restore image files or folders of images, or a whole dataset")
    r.add_argument("inputs", nargs="*", help="image files and/or folders (searched recursively)")
    r.add_argument("--model", required=True, help="a save_pretrained folder or a Hub model id")
    r.add_argument("--task", choices=list(TASKS), help="checked against the model's task")
    for task in TASKS.values():  # each task's level flag: --sigma, --quality, --mask, ...
        r.add_argument(f"--{task.keyword}", type=restore_level_type(task), help=f"{task.name}: {task.level_help}")
    r.add_argument("-o", "--output", help="output folder for the restored files (created)")
    r.add_argument("--format", default="png", choices=["png", "tiff", "webp", "jpg"], help="output format (png)")
    r.add_argument(
        "--suffix",
        help="added to each output's name: photo.jpg becomes photo<suffix>.png (default _<what was done>: _denoised, "
        "_restored, _filled, as the app names its downloads; '' keeps the input's name)",
    )
    r.add_argument("--tile", default="auto", type=tile_arg, help="'auto', 0 (never) or a tile size in pixels")
    r.add_argument(
        "--ensemble",
        action="store_true",
        help="average over the 8 flips/rotations (a little better, 8× slower; the exact inverse is a property "
        "of the plain map, the default)",
    )
    r.add_argument(
        "--precision",
        default="fp32",
        choices=["fp32", "bf16"],
        help="fp32 (the exact map) or bf16 (faster on CPUs with AVX512-BF16 or AMX, a few thousandths of a dB lower; "
        "fp32 on other CPUs, where bf16 would be slower)",
    )
    r.add_argument(
        "--backend",
        default="torch",
        choices=["torch", "onnxruntime"],
        help="onnxruntime: the same fp32 map, faster on large images on CPUs (exported once per model)",
    )
    r.add_argument(
        "--device",
        type=device_arg,
        help="torch device, e.g. cpu or cuda (cpu; with --dataset, each process's own: cuda:<local rank> under "
        "accelerate launch on GPUs)",
    )
    r.add_argument("--revision", help=REVISION_HELP)
    r.add_argument(
        "--max-pixels",
        type=count_arg("--max-pixels", 0),
        default=MAX_PIXELS,
        help=f"refuse images (and masks) declaring more pixels than this before decoding (default {MAX_PIXELS:,}; "
        "0: no limit, for trusted files)",
    )
    r.add_argument("--overwrite", action="store_true", help="replace existing outputs (inputs are never replaced)")
    register_dataset(r)
    r.set_defaults(run=run)


def register_dataset(r: argparse.ArgumentParser) -> None:
    """``restore --dataset``'s flags: a Hub dataset or folder in, parquet shards out."""
    d = r.add_argument_group("a whole dataset (instead of files): parquet shards, resumable, any number of processes")
    d.add_argument("--dataset", help="a Hub dataset id or a folder of images")
    d.add_argument("--dataset_revision", help="the Hub dataset's branch, tag or commit")
    d.add_argument("--split", default="train", help="the split to restore (train)")
    d.add_argument("--column", default="image", help="the image column (image)")
    d.add_argument(
        "--output_dir",
        help="where the restored dataset goes: data/*.parquet and README.md (on several nodes: a folder all of them "
        "see)",
    )
    d.add_argument(
        "--num_workers",
        type=count_arg("--num_workers", 0, 64),
        default=2,
        help="loader processes per process that decode the rows (2; 0: in the process itself)",
    )
    d.add_argument("--push_to_hub", metavar="ORG/NAME", help="then upload it as a Hub dataset")
    d.add_argument("--private", action="store_true", help="a private Hub dataset")


def run(args: argparse.Namespace) -> int:
    """Restore every input file into the output folder (or a dataset's rows into shards: ``dataset.py``); refusals
    before the first file, per-file errors counted."""
    from tqdm.auto import tqdm

    if args.dataset or args.output_dir:
        return _run_dataset(args)
    if not args.inputs or not args.output:
        raise UsageError("give image files or folders and -o OUTDIR (or --dataset NAME --output_dir DIR)")
    problem = missing_package("onnxruntime", "--backend onnxruntime") if args.backend == "onnxruntime" else None
    if problem:
        raise UsageError(problem)
    skipped: list[str] = []
    files = list(find_images(args.inputs, skipped))
    for note in skipped:
        print(f"note: {note}", file=sys.stderr)
    if not files:
        raise UsageError("no image files found in the inputs")
    out_dir = Path(args.output)
    refusal = suffix_problem(args.suffix) or folder_problem(out_dir)
    if refusal:
        raise UsageError(refusal)
    model = _model(args)
    suffix = f"_{task_of(model).done}" if args.suffix is None else args.suffix
    targets, notes = plan_outputs(files, out_dir, args.format, suffix)
    refusal = (
        level_flag_problem(args, model.task)
        or tile_problem(args.tile, model.multiple)
        or check_outputs(files, targets, args.overwrite)
    )
    if refusal:
        raise UsageError(refusal)
    for note in notes:
        print(note, file=sys.stderr)
    done = failed = 0
    try:
        for (path, rel), target in zip(tqdm(files, desc="restoring", unit="img"), targets):
            failed += not restore_one(model, path, rel, target, args)
            done += 1
    except KeyboardInterrupt:
        print(f"\ninterrupted after {done} of {len(files)}; outputs written so far are complete", file=sys.stderr)
        return 130
    print(f"restored {len(files) - failed} of {len(files)} images into {out_dir}")
    return 1 if failed else 0


def _model(args: argparse.Namespace) -> object:
    """The model, refused in one line before any work: unreadable, of a task or noise this package does not know,
    or of another task than ``--task``."""
    from ..models.registry import load_model

    try:
        model = load_model(args.model, revision=args.revision).to(args.device or "cpu")
        task_of(model)  # a task or noise this package does not know: refused before any file
    except (ValueError, OSError) as e:  # WeightsError, bad config values, missing folders or files
        raise UsageError(f"cannot load model {args.model}: {e}") from e
    if args.task and args.task != model.task:
        raise UsageError(f"--task {args.task} but {args.model} is a {model.task!r} model")
    return model


def _run_dataset(args: argparse.Namespace) -> int:
    """``--dataset NAME --output_dir DIR``: the dataset's rows, not files."""
    from .dataset import level_problem, run_dataset

    if args.inputs or args.output:
        raise UsageError("give image files with -o, or --dataset with --output_dir, not both")
    if not (args.dataset and args.output_dir):
        raise UsageError("--dataset and --output_dir go together")
    problem = missing_package("datasets", "--dataset") or missing_package("accelerate", "--dataset")
    if problem:
        raise UsageError(problem)
    model = _model(args)
    refusal = level_problem(task_of(model)) or level_flag_problem(args, model.task)
    if refusal:
        raise UsageError(refusal)
    return run_dataset(args, model)


def tile_problem(tile: int | str, multiple: int) -> str | None:
    """A tile size the model cannot run on (under its size multiple), said before the first file; or None."""
    if isinstance(tile, int) and 0 < tile < multiple:
        return f"--tile {tile}: this model needs tiles of at least {multiple} pixels (or auto, or 0 for none)"
    return None


def level_flag_problem(args: argparse.Namespace, task: str) -> str | None:
    """A level flag the model's task does not use (it would be silently ignored), or inpainting without --mask."""
    foreign = foreign_level_flag(args, task)
    if foreign:
        return f"{foreign} (it takes --{TASKS[task].keyword})"
    if not TASKS[task].blind and getattr(args, TASKS[task].keyword, None) is None:
        return TASKS[task].required_message
    return None


def levels_for(model: object, image: Image.Image, args: argparse.Namespace) -> tuple[dict | None, str | None]:
    """The level keywords for one image (``--sigma``/``--quality``, estimated where "auto" or not given) and what to
    say about an estimate; None for a JPEG-task image that shows no sign of compression (left unchanged)."""
    from ..pipeline.restore import choose_level

    task = task_of(model)
    given = {task.keyword: getattr(args, task.keyword, None)} if task.blind else {}  # a mask is read per input
    level, source = choose_level(model, image, **given)
    if source == "given":
        return level, None
    return (None if task.unchanged(level[task.keyword]) else level), task.estimate_note(level, source)


#: images over this many pixels get an up-front time estimate and a progress bar over their tiles
SAY_TIME_ABOVE_PIXELS = 2_000_000


def restore_saying_how_long(model: object, image: Image.Image, path: Path, kw: dict) -> Image.Image:
    """``restore``, with an estimate of its time said first and a tile progress bar for a big image."""
    from tqdm.auto import tqdm

    from ..pipeline.restore import estimate_seconds, restore

    if image.width * image.height <= SAY_TIME_ABOVE_PIXELS:
        return restore(model, image, **kw)
    seconds = estimate_seconds(
        model, image.height, image.width, tile=kw["tile"], ensemble=kw["ensemble"], precision=kw["precision"]
    )
    tqdm.write(
        f"note: {path}: {image.width}×{image.height}, about {_duration(seconds)} on this machine", file=sys.stderr
    )
    with tqdm(desc=f"{path.name} tiles", unit="tile", leave=False) as bar:

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        return restore(model, image, progress=progress, **kw)


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


def restore_one(model: object, path: Path, rel: Path, target: Path, args: argparse.Namespace) -> bool:
    """Restore one file into ``target`` (written whole, then named); whatever fails is said, and False returned."""
    from tqdm.auto import tqdm

    from ..io.images import load_image, save_image

    max_pixels = args.max_pixels or None
    try:  # one guard per file: whatever a decoder or the model raises, the batch goes on
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            image = load_image(path, max_pixels)
            task = task_of(model)  # a level given as a picture (a mask) is read per input, the others once
            picture = mask_for(getattr(args, task.keyword), rel, max_pixels) if task.level_range is None else None
            level, said = levels_for(model, image, args)
            if said:
                tqdm.write(f"note: {path}: {said}", file=sys.stderr)
            if level is None:  # no sign of JPEG compression: nothing to undo
                result = image
            else:
                kw = dict(tile=args.tile, ensemble=args.ensemble, precision=args.precision, **level)
                kw.update({"backend": args.backend} | ({task.keyword: picture} if picture is not None else {}))
                result = restore_saying_how_long(model, image, path, kw)
        result, changed = fit_format(result, args.format)
        for note in [str(n.message) for n in caught] + ([changed] if changed else []):
            tqdm.write(f"note: {path}: {note.removeprefix(f'{path}: ')}", file=sys.stderr)
        target.parent.mkdir(parents=True, exist_ok=True)
        # written whole, then named (OutputExists: another run took the name); 16-bit colour stays 16-bit in PNG / TIFF
        write_file(target, lambda partial: save_image(result, partial), overwrite=args.overwrite)
    except Exception as e:  # noqa: BLE001 - reported per file, counted in the exit code
        tqdm.write(f"error: {path}: {e}", file=sys.stderr)
        return False
    return True
