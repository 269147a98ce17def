"""irae-hf: IRAE, the Invertible Restoring Autoencoder, packaged for the Hugging Face ecosystem."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .model import IRAE, TASKS, WeightsError

__all__ = ["IRAE", "TASKS", "WeightsError"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    """``IRAE``, ``TASKS`` and ``WeightsError`` load torch on first use, so ``irae --help`` does not wait for it."""
    if name in __all__:
        from . import model

        return getattr(model, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
