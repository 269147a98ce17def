"""The command line's argument types and shared words: each a clear one-line argument error, checked before work."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from ..tasks import TASKS, Task

__all__ = [
    "device_arg",
    "level_arg",
    "restore_level_type",
    "tile_arg",
    "count_arg",
    "missing_package",
    "foreign_level_flag",
    "REVISION_HELP",
]

REVISION_HELP = (
    "a Hub model's branch, tag or commit (reproducible results: pin a commit); or write --model ORG/NAME@REV"
)


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


def missing_package(package: str, what: str) -> str | None:
    """One line saying what to install when ``package`` (a dev requirement) is missing, or None."""
    import importlib.util

    if importlib.util.find_spec(package) is None:
        return (
            f"{what} needs the {package} package, which the app-only install leaves out: pip install -r "
            "requirements-dev.txt"
        )
    return None


def foreign_level_flag(args: argparse.Namespace, task: str) -> str | None:
    """A level flag of another task than the model's (``--quality`` for a denoiser): it would be silently ignored."""
    own = TASKS[task].keyword
    for other in TASKS.values():
        if other.keyword != own and getattr(args, other.keyword, None) is not None:
            article = "an" if task[0] in "aeiou" else "a"
            return f"--{other.keyword} is not a level of {article} {task} model"
    return None
