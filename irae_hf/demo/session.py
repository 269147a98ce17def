"""What the app remembers per browser session."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch


@dataclass
class Session:
    """Per-browser-session memory: the clean image behind a degradation, and the last exact result."""

    clean: dict[str, np.ndarray] = field(default_factory=dict)
    degraded: dict[str, np.ndarray] = field(default_factory=dict)
    chosen: dict[str, dict] = field(default_factory=dict)  # the level of the degradation made in the app
    degraded_names: dict[str, str | None] = field(default_factory=dict)  # ... and the name of the file it degraded
    result: tuple[torch.Tensor, dict] | None = None  # the last (input, level), for /recover
    model_input: torch.Tensor | None = None
    task: str | None = None
    model: str | None = None  # the name of the model that made the last result (``MODELS``), for /recover
    unchanged: str | None = None  # the task whose last run left the image as it was (nothing to invert)
    upload_name: str | None = None  # the editor keeps no file name: the Inpaint upload's, for its download
    upload_digest: str | None = None  # ... while the editor still holds that upload's pixels
    upload_deep: np.ndarray | None = None  # ... and its 16 bits per channel, for a 16-bit colour file
    restored16: np.ndarray | None = None  # the last result at 16 bits (H×W×3 uint16), for a 16-bit upload
    known_names: dict[str, str] = field(default_factory=dict)  # the examples' file names by their pixels' digest
