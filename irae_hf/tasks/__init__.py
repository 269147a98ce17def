"""The registry of restoration tasks: everything that depends on what is undone asks ``TASKS[name]``.

Each task lives in its own module (``denoise.py``, ``jpeg.py``, ``inpaint.py``) as a :class:`Task`; a new task is
one more module and one ``register`` line. The registry is light to import (no numpy, no torch): the command
line builds its help from it.
"""

from __future__ import annotations

from typing import Any

from .base import Restorer, Task, identity
from .denoise import CAMERA_SETTINGS, NOISE_KINDS, NOISE_USE, Denoise
from .inpaint import MASK_KINDS, TRAINING_MASK_KINDS, Inpaint
from .jpeg import Jpeg, file_quality

__all__ = [
    "Task",
    "Restorer",
    "identity",
    "TASKS",
    "TASK_NAMES",
    "MASK_KINDS",
    "CAMERA_SETTINGS",
    "NOISE_KINDS",
    "NOISE_USE",
    "TRAINING_MASK_KINDS",
    "LEVEL_RANGES",
    "register",
    "degrade",
    "level_kwargs",
    "file_quality",
]

#: every task by name; ``register`` adds one
TASKS: dict[str, Task] = {}


def register(task: Task) -> Task:
    """Add ``task`` to the registry (replacing a task of the same name) and return it."""
    TASKS[task.name] = task
    return task


for _task in (Denoise(), Jpeg(), Inpaint()):
    register(_task)

#: the three tasks the project ships weights for (the app's tabs)
TASK_NAMES = ("denoise", "jpeg", "inpaint")
#: a numeric level's valid range and the divisor that makes it the conditioning map's value: (low, high, scale)
LEVEL_RANGES = {t.keyword: t.level_range for t in TASKS.values() if t.level_range is not None}


def degrade(clean: Any, task: str, level: Any, seed: Any = None) -> tuple[Any, Any]:
    """(degraded image, the level a model of ``task`` is called with) for a clean [0, 1] image (C×H×W or B×C×H×W).

    ``level``: σ in 0–255 (denoise), the JPEG quality 1–100 (jpeg), or for inpainting a mask kind of
    ``MASK_KINDS`` (drawn from ``seed``) or a 1×H×W mask itself (1 = missing). Noise and masks are seeded.
    """
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; expected one of {list(TASKS)}")
    return TASKS[task].degrade(clean, level, seed)


def level_kwargs(task: str, level: Any) -> dict:
    """``{keyword: level}`` for a model of ``task`` (``sigma=``, ``quality=`` or ``mask=``)."""
    return {TASKS[task].keyword: level}
