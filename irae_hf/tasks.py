"""The three restoration tasks in one table (their degradation is ``degradations.degrade``).

Training, validation, evaluation, the app and the tests all read the task names, each task's level keyword
(what a model is called with: ``sigma=``, ``quality=``, ``mask=``), its benchmark settings and its validation
level from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torch import Tensor

__all__ = ["Task", "TASKS", "TASK_NAMES", "MASK_KINDS", "LEVEL_RANGES", "level_kwargs"]

#: the inpainting benchmark's mask kinds: DeepFill-style strokes over 10–30 % of the image, or a 64×64 box
MASK_KINDS = ("free-form", "box")


#: a numeric level's valid range and the divisor that makes it the conditioning map's value: (low, high, scale)
LEVEL_RANGES = {"sigma": (0.0, 255.0, 255.0), "quality": (1.0, 100.0, 100.0)}


@dataclass(frozen=True)
class Task:
    """One task: its name, its level keyword, how tables name the level, and the levels it is measured at."""

    name: str
    keyword: str  # the model's keyword for the degradation level
    label: str  # the level's name in tables
    settings: tuple  # the benchmark settings (CBSD68 tables, model cards)
    validation: float | int | str  # the fixed level of training validation
    validation_words: str  # the same, for model cards


TASKS: dict[str, Task] = {
    t.name: t
    for t in (
        Task("denoise", "sigma", "σ", (15, 25, 50), 25.0, "σ 25"),
        Task("jpeg", "quality", "quality", (10, 20, 30, 40), 20, "JPEG quality 20"),
        Task("inpaint", "mask", "mask", MASK_KINDS, "free-form", "a seeded free-form mask per image"),
    )
}
TASK_NAMES = tuple(TASKS)


def level_kwargs(task: str, level: float | int | Tensor) -> dict:
    """``{keyword: level}`` for a model of ``task`` (``sigma=``, ``quality=`` or ``mask=``)."""
    return {TASKS[task].keyword: level}
