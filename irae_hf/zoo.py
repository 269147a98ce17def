"""Every restoration network by name, and loading the right one from a folder or Hub id."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .dncnn import DnCNN
from .base import RestorationModel, WeightsError
from .model import IRAE

__all__ = ["ARCHS", "build", "load_model"]

ARCHS: dict[str, type[RestorationModel]] = {"irae": IRAE, "dncnn": DnCNN}


def build(arch: str, **config: Any) -> RestorationModel:
    """A fresh model of ``arch`` ("irae" or "dncnn"); None values take the architecture's defaults."""
    if arch not in ARCHS:
        raise ValueError(f"unknown architecture {arch!r}; expected one of {sorted(ARCHS)}")
    return ARCHS[arch](**{k: v for k, v in config.items() if v is not None})


def load_model(source: str | Path, **kwargs: Any) -> RestorationModel:
    """``from_pretrained`` of the class named by config.json's ``arch`` (IRAE when absent)."""
    config_path = Path(source) / "config.json"
    if not os.path.isdir(source):
        from huggingface_hub import hf_hub_download

        config_path = Path(hf_hub_download(str(source), "config.json"))
    try:
        arch = json.loads(config_path.read_text()).get("arch", "irae") if config_path.is_file() else "irae"
    except (json.JSONDecodeError, AttributeError, RecursionError, UnicodeDecodeError):
        arch = "irae"  # IRAE.from_pretrained reports the broken config clearly
    if not isinstance(arch, str) or arch not in ARCHS:
        raise WeightsError(f"{source}: unknown architecture {arch!r} in config.json")
    return ARCHS[arch].from_pretrained(source, **kwargs)
