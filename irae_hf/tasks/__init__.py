"""The registry of restoration tasks: everything that depends on what is undone asks ``TASKS[name]``.

Each task lives in its own module (``denoise.py``, ``jpeg.py``, ``inpaint.py``) as a :class:`Task`; a new task is
one more module and one ``register`` line. The registry is light to import (no numpy, no torch): the command
line builds its help from it.
"""

from __future__ import annotations

from typing import Any

from .base import AppTab, Restorer, Task, identity
from .card_words import card_words
from .denoise import CAMERA_SETTINGS, NOISE_KINDS, NOISE_USE, Denoise
from .inpaint import MASK_KINDS, TRAINING_MASK_KINDS, Inpaint
from .jpeg import Jpeg, file_quality

__all__ = [
    "Task",
    "AppTab",
    "Restorer",
    "identity",
    "TASKS",
    "TASK_NAMES",
    "MASK_KINDS",
    "CAMERA_SETTINGS",
    "NOISE_KINDS",
    "NOISE_USE",
    "TRAINING_MASK_KINDS",
    "TRAINING_RANGES",
    "register",
    "task_of",
    "condition",
    "card_words",
    "degrade",
    "level_kwargs",
    "file_quality",
]


class TaskTable(dict):
    """Tasks by name; a name it does not hold is one clear line (config.json from anywhere may name any task)."""

    def __missing__(self, name: str) -> Task:
        raise ValueError(f"unknown task {name!r}; expected one of {sorted(self)}")


#: every task by name; ``register`` adds one
TASKS: dict[str, Task] = TaskTable()


def register(task: Task) -> Task:
    """Add ``task`` to the registry (replacing a task of the same name) and return it."""
    TASKS[task.name] = task
    return task


for _task in (Denoise(), Jpeg(), Inpaint()):
    register(_task)

#: the three tasks the project ships weights for (the app's tabs)
TASK_NAMES = ("denoise", "jpeg", "inpaint")
#: every task's training ranges by flag: (default low, default high, lowest, highest)
TRAINING_RANGES = {flag: r for t in TASKS.values() for flag, r in t.training_ranges.items()}


def task_of(model: Any) -> Task:
    """The task of a model (anything with ``task`` and ``config``), refused in one line where its config.json names
    a task, or a kind of noise, that this package does not know."""
    task = TASKS[model.task]
    noise = model.config.get("noise")
    if noise is not None and noise not in task.noise_kinds:
        said = (
            f"one of {sorted(task.noise_kinds)}"
            if task.noise_kinds
            else "None (it says what a denoiser was trained on)"
        )
        raise ValueError(f"noise must be {said}, got {noise!r}")
    return task


def condition(task: str, x: Any, **level: Any) -> Any:
    """The B×1×H×W conditioning map a ``task`` model takes for ``x``, from the task's keyword and only that one
    (``sigma=``, ``quality=``, ``mask=``, or a registered task's own), as in
    ``model(x, condition(model.task, x, sigma=25))``."""
    given = {k: v for k, v in level.items() if v is not None}
    key = TASKS[task].keyword
    extra = sorted(set(given) - {key})
    if extra:
        raise ValueError(f"a {task!r} model takes {key}=, not {', '.join(e + '=' for e in extra)}")
    if key not in given:
        raise ValueError(f"a {task!r} model needs {key}= (the degradation level to undo)")
    return TASKS[task].condition(x, given[key])


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
