"""Model cards: the IRAE, DnCNN and FFDNet card templates, and the metadata a card's caller gives.

The words that depend on the task (what a denoiser was trained on, its Hub name, the evaluation as model-index)
come from the caller (``irae_hf.tasks.card_words``); a training run fills the Training section (``run_card.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["IRAE_CARD", "DNCNN_CARD", "FFDNET_CARD", "fill_card"]

_HERE = Path(__file__).parent
IRAE_CARD = (_HERE / "model_card.md").read_text(encoding="utf-8")
DNCNN_CARD = (_HERE / "dncnn_card.md").read_text(encoding="utf-8")
FFDNET_CARD = (_HERE / "ffdnet_card.md").read_text(encoding="utf-8")


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
