"""Model cards: the IRAE and DnCNN card templates (a training run fills their Training section: ``run_card.py``)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["IRAE_CARD", "DNCNN_CARD", "FFDNET_CARD"]

_HERE = Path(__file__).parent
IRAE_CARD = (_HERE / "model_card.md").read_text(encoding="utf-8")
DNCNN_CARD = (_HERE / "dncnn_card.md").read_text(encoding="utf-8")
FFDNET_CARD = (_HERE / "ffdnet_card.md").read_text(encoding="utf-8")
