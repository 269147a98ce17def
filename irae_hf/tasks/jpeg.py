"""JPEG artifact removal: the level is the quality (1–100) the file was saved at, read from its tables or pixels."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .base import AppTab, Restorer, Task, identity

if TYPE_CHECKING:
    import numpy as np
    from torch import Tensor


def file_quality(image: Any) -> int | None:
    """The JPEG quality a file's quantization tables say, where the image carries it: ``load_image`` keeps it in a
    PIL image's ``info``, the app on its uploads' ``jpeg_quality``; None otherwise."""
    from PIL import Image

    if isinstance(image, Image.Image):
        return image.info.get("jpeg_quality")
    return getattr(image, "jpeg_quality", None)


#: a file's pixels must show a compression this many qualities below its tables' to count as an earlier one
TWICE_MARGIN = 5


class Jpeg(Task):
    name, keyword, label = "jpeg", "quality", "quality"
    settings, validation, validation_words = (10, 20, 30, 40), 20, "JPEG quality 20"
    level_range = (1.0, 100.0, 100.0)
    level_type = int
    level_help = "the JPEG quality to undo, 1–100, or auto (from the file's tables, else its pixels; the default)"
    level_words = "the JPEG quality, 1–100"
    training_ranges = {"quality_range": (5, 95, 1, 100)}  # noqa: RUF012 - read-only
    app = AppTab(
        title="JPEG",
        button="Restore",
        level_name="The JPEG quality",
        slider=(1, 100, 10),
        degrade_button="Compress",
        degrade_api="compress",
        degrade_label="JPEG quality to compress at (to try a clean photo)",
        auto_label="Auto: estimate the quality from the image (or use the one you compressed at)",
        level_label="JPEG quality to undo, when Auto is off",
    )

    def degrade(self, clean: Tensor, level: Any, seed: Any = None) -> tuple[Tensor, int]:
        from .degradations import jpeg_compress

        return jpeg_compress(clean, int(level)), int(level)

    def sample(self, clean: Tensor, rng: np.random.Generator, spec: Any) -> tuple[Tensor, Tensor]:
        import torch

        from .degradations import jpeg_compress

        quality = int(rng.integers(spec.quality_range[0], spec.quality_range[1] + 1))
        return jpeg_compress(clean, quality), torch.tensor(float(quality))

    def words(self, level: dict) -> str:
        return f"JPEG quality {level['quality']}"

    def estimate(self, image: Any, pixels: list[np.ndarray]) -> tuple[list, str]:
        """The file's tables when it has them, else the pixels' JPEG ghosts; None: no sign of compression. A file
        saved twice (quality 30, then 90) has the last quality's tables, but its pixels still show the earlier,
        stronger compression, whose artifacts are the ones to undo: that one is used ("twice")."""
        from .estimate import jpeg_quality_from_pixels

        ghosts = [jpeg_quality_from_pixels(p) for p in pixels]
        tables = file_quality(image)
        if tables is None:
            return ghosts, "pixels"
        earlier = ghosts[0] if len(ghosts) == 1 else None
        if earlier is not None and earlier < tables - TWICE_MARGIN:
            return [earlier], "twice"
        return [tables], "tables"

    def unchanged(self, value: Any) -> bool:
        return value is None

    def placeholder(self) -> Any:
        return 95

    def estimate_note(self, level: dict, source: str) -> str:
        if level["quality"] is None:
            return "no sign of JPEG compression: left unchanged"
        where = {"tables": "its JPEG tables", "pixels": "the pixels"}.get(source)
        if where is None:  # "twice"
            return f"JPEG quality {level['quality']} (the pixels show it under the file's last, lighter compression)"
        return f"JPEG quality {level['quality']} (read from {where})"

    def baselines(self) -> dict[str, Restorer]:
        return {"input (JPEG)": identity}

    def training_words(self, config: Any) -> str:
        return f"quality drawn from {config.quality_range}"
