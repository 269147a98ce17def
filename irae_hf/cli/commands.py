"""Command line: ``python -m irae_hf restore --model PATH --task denoise --sigma 25 IN... -o OUTDIR``."""

from __future__ import annotations

import argparse
import errno
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from PIL import Image

from ..io.atomic import PARTIAL, folder_problem, write_file
from ..io.formats import IMAGE_SUFFIXES, MAX_PIXELS
from ..tasks import TASKS, Task, task_of

__all__ = ["main", "build_parser", "find_images"]


def shown(path: Path, most: int = 120) -> str:
    """``path`` for a message, its middle elided when it is longer than ``most`` characters."""
    text = str(path)
    return text if len(text) <= most else f"{text[: most // 2]}…{text[-most // 2 :]}"


def find_images(inputs: Sequence[str], skipped: list[str] | None = None) -> Iterator[tuple[Path, Path]]:
    """(file, path relative to its input root) for files given directly and image files under folders.

    What is passed over is said in ``skipped``: anything that is not a regular file (a FIFO would block the
    reader forever, a device never ends), and files in folders whose names are not of an image format this
    reader knows (``.heic``, no suffix), which can still be given directly to be tried.
    """
    skipped = [] if skipped is None else skipped
    for item in inputs:
        p = Path(item)
        try:
            p.stat()
        except OSError as e:  # a name too long for the file system, a path through a file: said, not a traceback
            if e.errno not in (errno.ENOENT,):  # a missing file is said where it is read, with the others
                skipped.append(f"{shown(p)}: cannot be opened ({e.strerror}): skipped")
                continue
        if p.is_dir():
            others = []
            for f in sorted(p.rglob("*")):
                if f.is_dir() or PARTIAL in f.name:
                    continue
                if not f.is_file():
                    skipped.append(f"{f}: not a regular file (a pipe, socket or device): skipped")
                elif f.suffix.lower() in IMAGE_SUFFIXES:
                    yield f, f.relative_to(p)
                else:
                    others.append(f.name)
            if others:
                names = ", ".join(others[:5]) + (f" and {len(others) - 5} more" if len(others) > 5 else "")
                skipped.append(
                    f"{p}: skipped {len(others)} file(s) not named as an image this reader knows ({names}); "
                    "give a file directly to try it anyway"
                )
        elif p.exists() and not p.is_file():
            skipped.append(f"{p}: not a regular file (a pipe, socket or device): skipped")
        else:
            yield p, Path(p.name)


def device_arg(text: str) -> str:
    """A torch device this machine has (argparse type: a clear argument error otherwise)."""
    if text == "cpu":  # the default: no need to load torch to know it (help and argument errors stay fast)
        return text
    import torch

    try:
        device = torch.device(text)
    except (RuntimeError, ValueError):
        raise argparse.ArgumentTypeError(f"{text!r} is not a torch device (e.g. cpu, cuda, cuda:1)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise argparse.ArgumentTypeError(f"{text!r}: no CUDA device on this machine")
    if device.type not in ("cpu", "cuda", "mps"):
        raise argparse.ArgumentTypeError(f"{text!r}: restoring runs on cpu, cuda or mps")
    return text


def level_arg(kind: type, low: float, high: float) -> Callable[[str], float | int | str]:
    """argparse type: "auto", or a number of ``kind`` in [low, high] (checked once, before any work)."""

    def parse(text: str) -> float | int | str:
        if text == "auto":
            return text
        try:
            value = kind(text)
        except ValueError:
            whole = "a whole number" if kind is int else "a number"
            raise argparse.ArgumentTypeError(f"{text!r}: give {whole} from {low:g} to {high:g}, or auto") from None
        if not low <= value <= high:  # NaN fails too
            raise argparse.ArgumentTypeError(f"{text!r} is outside {low:g}–{high:g}")
        return value

    return parse


def restore_level_type(task: Task) -> Callable[[str], Any]:
    """argparse type of a task's level flag: a number in its range or "auto"; a path where the level is a map."""
    return str if task.level_range is None else level_arg(task.level_type, *task.level_range[:2])


def tile_arg(text: str) -> int | str:
    """'auto', or a tile size in pixels (0: never tile)."""
    if text == "auto":
        return text
    try:
        tile = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give 'auto', 0 (never tile) or a tile size in pixels") from None
    if tile < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: a tile size cannot be negative")
    return tile


def count_arg(flag: str, low: int, high: int | None = None) -> Callable[[str], int]:
    """argparse type: a whole number >= ``low`` (and <= ``high`` when given)."""
    wanted = f"takes a whole number >= {low}" if high is None else f"must be a whole number from {low} to {high}"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = low - 1
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"{flag} {wanted}, got {text!r}")
        return value

    return parse


REVISION_HELP = (
    "a Hub model's branch, tag or commit (reproducible results: pin a commit); or write --model ORG/NAME@REV"
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="irae", description="IRAE image restoration (invertible flows).")
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("restore", help="restore image files or folders of images")
    r.add_argument("inputs", nargs="+", help="image files and/or folders (searched recursively)")
    r.add_argument("--model", required=True, help="a save_pretrained folder or a Hub model id")
    r.add_argument("--task", choices=list(TASKS), help="checked against the model's task")
    for task in TASKS.values():  # each task's level flag: --sigma, --quality, --mask, ...
        r.add_argument(f"--{task.keyword}", type=restore_level_type(task), help=f"{task.name}: {task.level_help}")
    r.add_argument("-o", "--output", required=True, help="output folder (created)")
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
    r.add_argument("--device", default="cpu", type=device_arg, help="torch device, e.g. cpu or cuda")
    r.add_argument("--revision", help=REVISION_HELP)
    r.add_argument(
        "--max-pixels",
        type=count_arg("--max-pixels", 0),
        default=MAX_PIXELS,
        help=f"refuse images (and masks) declaring more pixels than this before decoding (default {MAX_PIXELS:,}; "
        "0: no limit, for trusted files)",
    )
    r.add_argument("--overwrite", action="store_true", help="replace existing outputs (inputs are never replaced)")

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

    x = sub.add_parser("export", help="write a model's restore and recover (inverse) graphs for other runtimes")
    x.add_argument("--format", default="onnx", choices=["onnx"], help="graph format (onnx)")
    x.add_argument("model", help="a save_pretrained folder or Hub id of an IRAE model")
    x.add_argument("output", help="folder to write restore.onnx, recover.onnx, onnx.json and README.md into")
    x.add_argument("--overwrite", action="store_true", help="replace graphs already in the folder")
    x.add_argument("--revision", help=REVISION_HELP)
    return parser


#: every file ``irae export`` writes (none is replaced without --overwrite)
EXPORT_FILES = ("restore.onnx", "recover.onnx", "onnx.json", "README.md")


def missing_package(package: str, what: str) -> str | None:
    """One line saying what to install when ``package`` (a dev requirement) is missing, or None."""
    import importlib.util

    if importlib.util.find_spec(package) is None:
        return f"{what} needs the {package} package, which the app-only install leaves out: pip install -r requirements-dev.txt"  # fmt: skip
    return None


def run_export(args: argparse.Namespace) -> int:
    problem = missing_package("onnx", "irae export")
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    from ..models.registry import load_model
    from ..pipeline.onnx import export_onnx

    out = Path(args.output)
    existing = [n for n in EXPORT_FILES if (out / n).exists()]
    if existing and not args.overwrite:
        print(f"error: {out} already holds {', '.join(existing)} (--overwrite to replace)", file=sys.stderr)
        return 2
    problem = folder_problem(out, flag="")
    if problem:
        print(f"error: {problem.strip()}", file=sys.stderr)
        return 2
    try:
        model = load_model(args.model, revision=args.revision)
        written = export_onnx(model, out, overwrite=args.overwrite)
    except (ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print("wrote " + ", ".join(str(p) for p in written))
    return 0


def _mask_for(mask_arg: str | None, rel: Path, max_pixels: int | None) -> Image.Image | None:
    """The mask for input ``rel``: the one mask file, or the file in a mask folder with exactly its relative path
    and stem (any image suffix); several candidates are an error, never a guess."""
    if mask_arg is None:
        return None
    from ..io.images import load_image

    m = Path(mask_arg)
    if m.is_dir():
        folder = m / rel.parent
        candidates = sorted(
            p for p in (folder.iterdir() if folder.is_dir() else [])
            if p.is_file() and p.stem == rel.stem and p.suffix.lower() in IMAGE_SUFFIXES
        )  # fmt: skip
        if len(candidates) != 1:
            found = "none" if not candidates else ", ".join(p.name for p in candidates)
            raise ValueError(f"needs exactly one mask named {rel.stem}.* in {folder} (found {found})")
        m = candidates[0]
    return load_image(m, max_pixels)


def plan_outputs(
    files: list[tuple[Path, Path]], out_dir: Path, fmt: str, suffix: str = ""
) -> tuple[list[Path], list[str]]:
    """One output path per input (``rel`` + ``suffix``, with the format's extension: ``photo_denoised.png``);
    inputs whose names would collide (``a.png`` and ``a.jpg``) get ``-1``, ``-2``, ... in input order. Returns the
    targets and notes on renames."""
    first = [out_dir / rel.with_name(f"{rel.stem}{suffix}.{fmt}") for _, rel in files]
    groups: dict[Path, list[int]] = {}
    for i, target in enumerate(first):
        groups.setdefault(target, []).append(i)
    targets, notes = list(first), []
    for target, members in groups.items():
        if len(members) > 1:
            for k, i in enumerate(members, 1):
                targets[i] = target.with_name(f"{target.stem}-{k}{target.suffix}")
            names = ", ".join(str(files[i][0]) for i in members)
            notes.append(f"note: {names} share the output name {target.name}: written as {target.stem}-1.., in order")
    return targets, notes


def suffix_problem(suffix: str | None) -> str | None:
    """Why ``--suffix`` cannot be part of a file name (a path separator, a control character), or None."""
    if suffix and (any(c in suffix for c in "/\\\0") or not suffix.isprintable()):
        return f"--suffix {suffix!r} must be plain characters of a file name (no /, \\ or control characters)"
    return None


def check_outputs(files: list[tuple[Path, Path]], targets: list[Path], overwrite: bool) -> str | None:
    """Why writing ``targets`` must not start (an input would be overwritten; existing outputs without
    ``--overwrite``), or None."""
    inputs = {path.resolve() for path, _ in files if path.exists()}
    clobbered = [t for t in targets if t.resolve() in inputs]
    if clobbered:
        return f"the output {clobbered[0]} is an input: choose another output folder (-o) or --format"
    existing = [t for t in targets if t.exists()]
    if existing and not overwrite:
        more = f" and {len(existing) - 1} more" if len(existing) > 1 else ""
        verb = "already exist" if more else "already exists"
        return f"{existing[0]}{more} {verb}: choose another output folder or pass --overwrite"
    return None


#: the image modes each output format stores as they are (others are converted, with a note)
KEEPS = {
    "png": {"1", "L", "LA", "RGB", "RGBA", "I;16"},
    "tiff": {"1", "L", "LA", "RGB", "RGBA", "I;16", "I", "F"},
    "webp": {"RGB", "RGBA"},
    "jpg": {"L", "RGB"},
}


def fit_format(image: Image.Image, fmt: str) -> tuple[Image.Image, str | None]:
    """``image`` in a mode ``fmt`` can store, and a note when bit depth, range or alpha had to change."""
    from ..io.sixteen_bit import DEEP, deep_pixels

    if fmt in ("webp", "jpg") and deep_pixels(image) is not None:  # PNG and TIFF keep 16-bit colour (save_image)
        plain = image.copy()
        plain.info.pop(DEEP)
        converted, note = fit_format(plain, fmt)
        said = f"16-bit colour saved as 8 bits in .{fmt} (use --format png or tiff to keep 16 bits)"
        return converted, said + (f"; {note}" if note else "")
    if image.mode in KEEPS[fmt]:
        return image, None
    import numpy as np

    if image.mode in ("I", "F", "I;16", "I;16B", "I;16L", "I;16N"):
        from ..io.images import value_top

        arr = np.asarray(image, dtype=np.float64)
        top = value_top(image.mode, arr)
        if fmt == "png" and top == 65535.0:
            return Image.fromarray(np.round(arr).clip(0, 65535).astype(np.uint16)), None  # 16 bits, exact
        grey = Image.fromarray(np.round(arr / top * 255).clip(0, 255).astype(np.uint8), mode="L")
        grey = grey if fmt != "webp" else grey.convert("RGB")
        return (
            grey,
            f"{image.mode} ({'float' if image.mode == 'F' else 'integer'} grey) saved as 8 bits in .{fmt}; use --format tiff to keep it",
        )
    if fmt == "jpg":
        target = "L" if image.mode in ("L", "LA") else "RGB"
    else:
        target = "RGBA" if "A" in image.mode else "RGB"
    converted = image.convert(target)
    lost = "alpha dropped" if "A" in image.mode and "A" not in target else f"{image.mode} stored as {target}"
    return converted, f"{lost} in .{fmt} (use --format png or tiff to keep it)"


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


def tile_problem(tile: int | str, multiple: int) -> str | None:
    """A tile size the model cannot run on (under its size multiple), said before the first file; or None."""
    if isinstance(tile, int) and 0 < tile < multiple:
        return f"--tile {tile}: this model needs tiles of at least {multiple} pixels (or auto, or 0 for none)"
    return None


def level_flag_problem(args: argparse.Namespace, task: str) -> str | None:
    """A level flag the model's task does not use (it would be silently ignored), or inpainting without --mask."""
    wanted = f"--{TASKS[task].keyword}"
    for other in TASKS.values():
        if getattr(args, other.keyword, None) is not None and f"--{other.keyword}" != wanted:
            return f"--{other.keyword} is not a level of a {task} model (it takes {wanted})"
    if not TASKS[task].blind and getattr(args, TASKS[task].keyword, None) is None:
        return TASKS[task].required_message
    return None


def run_restore(args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    from ..models.registry import load_model

    problem = missing_package("onnxruntime", "--backend onnxruntime") if args.backend == "onnxruntime" else None
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    skipped: list[str] = []
    files = list(find_images(args.inputs, skipped))
    for note in skipped:
        print(f"note: {note}", file=sys.stderr)
    if not files:
        print("error: no image files found in the inputs", file=sys.stderr)
        return 2
    out_dir = Path(args.output)
    refusal = suffix_problem(args.suffix) or folder_problem(out_dir)
    if refusal:
        print(f"error: {refusal}", file=sys.stderr)
        return 2
    try:
        model = load_model(args.model, revision=args.revision).to(args.device)
        task_of(model)  # a task or noise this package does not know: refused before any file
    except (ValueError, OSError) as e:  # WeightsError, bad config values, missing folders or files
        print(f"error: cannot load model {args.model}: {e}", file=sys.stderr)
        return 2
    if args.task and args.task != model.task:
        print(f"error: --task {args.task} but {args.model} is a {model.task!r} model", file=sys.stderr)
        return 2
    suffix = f"_{task_of(model).done}" if args.suffix is None else args.suffix
    targets, notes = plan_outputs(files, out_dir, args.format, suffix)
    refusal = (
        level_flag_problem(args, model.task)
        or tile_problem(args.tile, model.multiple)
        or check_outputs(files, targets, args.overwrite)
    )
    if refusal:
        print(f"error: {refusal}", file=sys.stderr)
        return 2
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


def restore_one(model: object, path: Path, rel: Path, target: Path, args: argparse.Namespace) -> bool:
    """Restore one file into ``target`` (written whole, then named); whatever fails is said, and False returned."""
    from tqdm.auto import tqdm

    from ..io.images import load_image, save_image

    max_pixels = args.max_pixels or None
    try:  # one guard per file: whatever a decoder or the model raises, the batch goes on
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            image = load_image(path, max_pixels)
            mask = _mask_for(args.mask, rel, max_pixels)
            level, said = levels_for(model, image, args)
            if said:
                tqdm.write(f"note: {path}: {said}", file=sys.stderr)
            if level is None:  # no sign of JPEG compression: nothing to undo
                result = image
            else:
                kw = dict(mask=mask, tile=args.tile, ensemble=args.ensemble, precision=args.precision, **level)
                kw["backend"] = args.backend
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


def main(argv: Sequence[str] | None = None) -> int:
    """Run a command; Ctrl-C or a termination signal ends it in one line with code 130, never a traceback."""
    import signal

    def terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, terminate) if _main_thread() else None
    try:
        return _main(argv)
    except KeyboardInterrupt:
        print("\ninterrupted: finished outputs are complete; nothing half-written was left", file=sys.stderr)
        return 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "restore":
        return run_restore(args)
    if args.command == "export":
        return run_export(args)
    if args.command == "evaluate":
        from ..pipeline.evaluate import run_cli

        def note(message: Warning | str, *_: object, **__: object) -> None:  # a reader's warning, in one line
            print(f"note: {message}", file=sys.stderr)

        try:
            with warnings.catch_warnings():
                warnings.showwarning = note
                return run_cli(args)
        except (ValueError, KeyError, OSError) as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
    return 2  # pragma: no cover - argparse enforces a known command


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
