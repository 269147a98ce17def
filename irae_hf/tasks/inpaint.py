"""Inpainting: the level is the mask (1×H×W or B×1×H×W, 1 = missing); known pixels come back unchanged."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .base import AppTab, Restorer, Task, identity

if TYPE_CHECKING:
    import numpy as np
    from torch import Tensor

#: the inpainting benchmark's mask kinds: DeepFill-style strokes over 10–30 % of the image, or a 64×64 box
MASK_KINDS = ("free-form", "box")
#: the kinds training can draw (``--mask_types``): also bars, thin scratches (1–5 px) and rendered text
TRAINING_MASK_KINDS = MASK_KINDS + ("bar", "scratch", "text")


def _chw(a: np.ndarray) -> Tensor:
    import numpy as np
    import torch

    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)).permute(2, 0, 1)


def _holes(level: dict) -> np.ndarray:
    return level["mask"].squeeze().numpy() > 0.5


def opencv_baseline(flag_name: str) -> Restorer:
    """OpenCV's ``cv2.inpaint`` (``INPAINT_TELEA`` or ``INPAINT_NS``) with radius 3 on the 8-bit image."""

    def run(x: Tensor, level: dict) -> Tensor:
        import cv2
        import numpy as np

        from ..io.images import to_uint8

        mask = _holes(level).astype(np.uint8) * 255
        return _chw(cv2.inpaint(to_uint8(x), mask, 3, getattr(cv2, flag_name)) / 255.0)

    return run


def biharmonic_baseline(x: Tensor, level: dict) -> Tensor:
    """scikit-image's biharmonic inpainting."""
    import numpy as np
    from skimage.restoration import inpaint_biharmonic

    out = inpaint_biharmonic(x.permute(1, 2, 0).double().numpy(), _holes(level), channel_axis=-1)
    return _chw(np.clip(out, 0, 1))


class Inpaint(Task):
    name, keyword, label = "inpaint", "mask", "mask"
    done = "filled"
    settings, validation, validation_words = MASK_KINDS, "free-form", "a seeded free-form mask per image"
    level_type = str
    settings_flag = "masks"
    level_help = "mask image (white = missing), or a folder of masks named like the inputs"
    onnx_shape = "B×1×H×W"
    blind = False
    level_words = "1 where pixels are missing (fill them with 0.5 in the image first)"
    app = AppTab(title="Inpaint", button="Fill")
    required_message = (
        "an inpainting model needs --mask (an image, white = missing, or a folder of masks named like the inputs)"
    )

    def condition(self, x: Tensor, value: Any) -> Tensor:
        import torch

        b, _, h, w = x.shape
        m = torch.as_tensor(value, device=x.device)
        if m.ndim == 2:
            m = m[None, None]
        elif m.ndim == 3:
            m = m[:, None]
        if m.shape[-2:] != (h, w) or m.shape[1] != 1 or m.shape[0] not in (1, b):
            raise ValueError(f"mask of shape {tuple(m.shape)} does not match the image {tuple(x.shape)}")
        return (m > 0.5).to(x.dtype).expand(b, 1, h, w)

    def parse_setting(self, setting: Any) -> Any:
        return setting

    def example_level(self, x: Tensor) -> Any:
        import torch

        return torch.zeros_like(x[:, :1])

    def words(self, level: dict) -> str:
        return "the painted mask"

    def degrade(self, clean: Tensor, level: Any, seed: Any = None) -> tuple[Tensor, Tensor]:
        """``level``: a mask kind of ``MASK_KINDS`` (drawn from ``seed``; the box 64×64) or a 1×H×W mask."""
        from torch import Tensor

        from .degradations import apply_mask, box_mask, free_form_mask

        h, w = clean.shape[-2:]
        if isinstance(level, Tensor):
            mask = level
        elif level == "box":
            mask = box_mask(h, w, 64, seed=seed)
        elif level == "free-form":
            mask = free_form_mask(h, w, seed=seed)
        else:
            raise ValueError(f"an inpainting level is a mask or one of {MASK_KINDS}, not {level!r}")
        return apply_mask(clean, mask), mask

    def sample(self, clean: Tensor, rng: np.random.Generator, spec: Any) -> tuple[Tensor, Tensor]:
        """A mask of a kind drawn from ``spec.mask_types``: a box sized by ``spec.box_sizes``, free-form strokes
        sized by ``spec.mask_scale``, or a bar, thin scratches or a line of text sized for the crop."""
        from .degradations import apply_mask, box_mask, free_form_mask

        h, w = clean.shape[-2:]
        kind = spec.mask_types[int(rng.integers(len(spec.mask_types)))]
        if kind == "box":
            mask = box_mask(h, w, size=_box_side(min(h, w), spec.box_sizes, rng), seed=rng)
        elif kind == "free-form":
            mask = free_form_mask(h, w, seed=rng, scale=spec.mask_scale)
        else:
            mask = _thin_mask(kind, h, w, rng)
        return apply_mask(clean, mask), mask

    def read_map(self, value: Any, height: int, width: int) -> Tensor:
        """The mask, nonzero = missing, from a PIL image, array or tensor (``mask_to_tensor``)."""
        from ..io.images import mask_to_tensor

        return mask_to_tensor(value, height, width)

    def model_input(self, x: Tensor, level: dict) -> Tensor:
        from .degradations import apply_mask

        return apply_mask(x, level["mask"])

    def baselines(self) -> dict[str, Restorer]:
        return {
            "input": identity,
            "OpenCV Telea": opencv_baseline("INPAINT_TELEA"),
            "OpenCV Navier-Stokes": opencv_baseline("INPAINT_NS"),
            "biharmonic": biharmonic_baseline,
        }

    def extra_scores(self, restored: Tensor, clean: Tensor, level: dict) -> dict[str, float]:
        from .metrics import psnr

        return {"psnr_mask": psnr(restored, clean, mask=_holes(level))}

    def training_words(self, config: Any) -> str:
        words = f"masks: {', '.join(config.mask_types)}"
        if config.mask_scale:
            words += f", free-form strokes sized for {config.mask_scale}-pixel images"
        if "box" in config.mask_types and config.box_sizes:
            words += f", boxes of {config.box_sizes[0]}–{config.box_sizes[1]} pixels a side"
        return words


def _thin_mask(kind: str, h: int, w: int, rng: np.random.Generator) -> Tensor:
    """A training bar (a quarter to the whole crop long, 4 px to a quarter of it thick, either way), 2–6 scratches
    1–5 px wide, or a line of text 10–27 px high."""
    from .degradations import bar_mask, scratch_mask, text_mask

    side = min(h, w)
    if kind == "bar":
        long, thick = int(rng.integers(side // 4, side + 1)), int(rng.integers(4, max(5, side // 4 + 1)))
        return bar_mask(h, w, (long, thick) if rng.random() < 0.5 else (thick, long), seed=rng)
    if kind == "scratch":
        return scratch_mask(h, w, thickness=int(rng.integers(1, 6)), count=int(rng.integers(2, 7)), seed=rng)
    return text_mask(h, w, size=int(rng.integers(10, 28)), seed=rng)


def _box_side(side: int, sizes: tuple[int, int] | None, rng: np.random.Generator) -> int:
    """A training box's side for a crop whose shorter side is ``side``: from ``sizes`` capped at 3/4 of the crop,
    or 1/8 to 1/2 of the crop when None."""
    if sizes is None:
        return int(rng.integers(max(1, side // 8), side // 2 + 1))
    cap = max(1, side * 3 // 4)
    lo, hi = min(sizes[0], cap), min(sizes[1], cap)
    return int(rng.integers(lo, hi + 1))
