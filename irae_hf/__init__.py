"""irae-hf: IRAE, the Invertible Restoring Autoencoder, packaged for the Hugging Face ecosystem.

The package in layers, each importing only those below it: ``models/`` (tensors in, tensors out) and ``io/`` (files
in and out), ``tasks/`` (what is undone: degradations, conditions, estimates, metrics), ``pipeline/`` (restore,
tiling, runtimes, ONNX, evaluation), then the entry points: ``training/``, ``demo/``, ``cli/``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .models import IRAE, WeightsError, load_model
    from .pipeline.dataset import restore_dataset
    from .pipeline.restore import recover_input, restore
    from .tasks import TASKS

#: the public names and the module each comes from, imported on first use so that ``irae --help`` does not load torch
_PUBLIC = {
    "IRAE": "models",
    "WeightsError": "models",
    "load_model": "models",
    "TASKS": "tasks",
    "restore": "pipeline.restore",
    "recover_input": "pipeline.restore",
    "restore_dataset": "pipeline.dataset",
}
__all__ = ["IRAE", "TASKS", "WeightsError", "load_model", "recover_input", "restore", "restore_dataset"]
__version__ = "0.1.0"


assert sorted(__all__) == sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    """The public names, each imported from its layer on first use; a model's card then carries its task's words."""
    if name not in _PUBLIC:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(f".{_PUBLIC[name]}", __name__)
    if _PUBLIC[name] == "models":  # the models layer cannot import the task table: it is handed over here
        from .models.cards import use_task_words
        from .tasks import card_words

        use_task_words(card_words)
    return getattr(module, name)
