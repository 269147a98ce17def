"""Model cards: the IRAE, DnCNN and FFDNet card templates, and the metadata a card's caller gives.

The words that depend on the task (what a denoiser was trained on, its Hub name, the evaluation as model-index)
come from the task table (``irae_hf.tasks.card_words``), which this layer may not import: the package hands it over
with ``use_task_words`` when ``irae_hf.IRAE`` is first used, and a caller's ``model_card_kwargs`` add to it or
override it; a training run fills the Training section (``run_card.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["IRAE_CARD", "DNCNN_CARD", "FFDNET_CARD", "fill_card", "use_task_words", "task_words"]

_HERE = Path(__file__).parent
IRAE_CARD = (_HERE / "model_card.md").read_text(encoding="utf-8")
DNCNN_CARD = (_HERE / "dncnn_card.md").read_text(encoding="utf-8")
FFDNET_CARD = (_HERE / "ffdnet_card.md").read_text(encoding="utf-8")
_task_words: list[Callable[[Any], dict[str, Any]]] = []  # the one function given by use_task_words, if any


def use_task_words(words: Callable[[Any], dict[str, Any]]) -> None:
    """Every card from now on starts from ``words(model)`` (the task's words for ``model``)."""
    _task_words[:] = [words]


def task_words(model: Any) -> dict[str, Any]:
    """The task's words for ``model``'s card ({} until ``use_task_words`` was called)."""
    return _task_words[0](model) if _task_words else {}


def fill_card(card: Any, **words: Any) -> Any:
    """``card`` (a ``huggingface_hub.ModelCard``) with the metadata among ``words``: the ``base_model`` a fine-tune
    started from, the Hub ``datasets`` it trained on, ``eval_results`` (``EvalResult`` entries) and its
    ``model_name``."""
    if words.get("base_model"):
        card.data.base_model = words["base_model"]
    if words.get("datasets"):
        card.data.datasets = list(words["datasets"])
    if words.get("eval_results"):
        card.data.eval_results = list(words["eval_results"])
        card.data.model_name = words.get("model_name")
    return card
