"""The networks: invertible flows and IRAE, the DnCNN and FFDNet baselines, their registry and safe loading.

Tensors in, tensors out: nothing here reads images or knows the task table.
"""

from .base import RestorationModel, WeightsError
from .dncnn import DnCNN
from .ffdnet import FFDNet
from .irae import IRAE
from .registry import ARCHS, build, load_model

__all__ = ["ARCHS", "IRAE", "DnCNN", "FFDNet", "RestorationModel", "WeightsError", "build", "load_model"]
