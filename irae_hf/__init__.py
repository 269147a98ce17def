"""irae-hf: IRAE, the Invertible Restoring Autoencoder, packaged for the Hugging Face ecosystem."""

from .model import IRAE, TASKS, WeightsError

__all__ = ["IRAE", "TASKS", "WeightsError"]
__version__ = "0.1.0"
