"""ONNX export of both directions of an IRAE model: ``restore.onnx`` (the forward map) and ``recover.onnx`` (its
exact inverse), with dynamic batch, height and width and the level as an input, plus a README on running them.

The graphs take H and W that are multiples of the model's ``multiple`` (pad first, as ``restore`` does) and return
the unclamped map; the actnorms are folded into the 1×1 convolutions (:meth:`IRAE.folded`), so the graphs hold
fixed weights only.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import torch
from torch import Tensor, nn

from ..io.atomic import write_file
from ..models.irae import IRAE
from ..tasks import TASKS, task_of

__all__ = ["export_onnx", "OnnxGraph", "OPSET", "level_scale"]

OPSET = 17


def level_scale(task: str) -> float | None:
    """The divisor that turns the task's level into its conditioning value (None: the mask is the condition)."""
    return TASKS[task].level_range[2] if TASKS[task].level_range is not None else None


class OnnxGraph(nn.Module):
    """One direction of the model with the level as an input: (image B×3×H×W, level) -> B×3×H×W."""

    def __init__(self, model: IRAE, direction: str = "restore", dtype: torch.dtype = torch.float32):
        super().__init__()
        self.model, self.direction = model.folded().to(device="cpu", dtype=dtype).eval(), direction
        self.scale, self.multiple = level_scale(model.task), model.multiple

    def forward(self, image: Tensor, level: Tensor) -> Tensor:
        h, w = image.shape[2], image.shape[3]
        m = self.multiple
        pad = (0, (m - w % m) % m, 0, (m - h % m) % m)  # any size in: replicated edges up to the multiple, cut after
        image = nn.functional.pad(image, pad, mode="replicate")
        if self.scale is None:  # inpainting: the mask itself (1 = missing) is the condition
            cond = nn.functional.pad((level > 0.5).to(image.dtype), pad, mode="replicate")
        else:  # σ or quality per image, as a constant map
            cond = (level.to(image.dtype) / self.scale).reshape(-1, 1, 1, 1) * torch.ones_like(image[:, :1])
        out = self.model(image, cond) if self.direction == "restore" else self.model.inverse(image, cond)
        return out[:, :, :h, :w]


def export_onnx(
    model: IRAE,
    out_dir: str | Path,
    *,
    dtype: torch.dtype = torch.float32,
    directions: tuple[str, ...] = ("restore", "recover"),
    overwrite: bool = True,
) -> list[Path]:
    """Write ``restore.onnx``, ``recover.onnx``, ``onnx.json`` (inputs, task, multiple) and a README to ``out_dir``.

    Each file is written whole, then named (``irae_hf.io.atomic.write_file``); with ``overwrite=False`` an existing
    file is never replaced (:class:`~irae_hf.io.atomic.OutputExists`)."""
    if not isinstance(model, IRAE):
        raise ValueError(f"ONNX export is for invertible IRAE models, not {type(model).__name__}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    m = model.multiple
    image = torch.rand(1, 3, 4 * m, 6 * m, dtype=dtype)
    task = task_of(model)
    name, shape = task.keyword, task.onnx_shape
    level = task.example_level(image)
    axes = {"image": {0: "batch", 2: "height", 3: "width"}, "output": {0: "batch", 2: "height", 3: "width"}}
    axes["level"] = {0: "batch"} if level.ndim == 1 else {0: "batch", 2: "height", 3: "width"}
    written = []
    for direction in directions:
        graph = OnnxGraph(model, direction, dtype)  # a folded copy: the caller's model is left as it is
        path = out / f"{direction}.onnx"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            write = lambda partial: torch.onnx.export(  # noqa: E731
                graph,
                (image, level),
                str(partial),
                input_names=["image", "level"],
                output_names=["output"],
                dynamic_axes=axes,
                opset_version=OPSET,
                dynamo=False,
            )
            written.append(write_file(path, write, overwrite))
    info = {"task": model.task, "multiple": m, "level": name, "level_shape": shape, "dtype": str(dtype)[6:]}
    texts = {"onnx.json": json.dumps(info, indent=1), "README.md": _readme(model.task, m, name, shape, str(dtype)[6:])}
    for file, text in texts.items():
        written.append(write_file(out / file, lambda partial, text=text: partial.write_text(text), overwrite))
    return written


def _readme(task: str, multiple: int, name: str, shape: str, dtype: str) -> str:
    the = TASKS[task]
    level = f"{name}: {shape if shape != 'B' else 'B values'}, {the.level_words}"
    example = name if shape != "B" else f"np.array([{float(the.validation)}], np.{dtype})"
    return f"""# IRAE ({TASKS[task].label} → {task}) as ONNX

- `restore.onnx`: `image` (B×3×H×W, {dtype}, RGB in [0, 1]) and `level` ({level}) → `output`, the restored image
  (unclamped: clip to [0, 1] for display).
- `recover.onnx`: the inverse. Give it `restore.onnx`'s unclamped `output` and the same `level`: it returns the
  input, up to float32 rounding magnified by the trained map (a few thousandths on [0, 1] is typical; onnxruntime
  has no float64 convolutions). For the exact inverse use `irae_hf.pipeline.restore.recover_input` in PyTorch (float64).

Any H and W: each graph pads its input to a multiple of {multiple} inside (replicated edges) and crops its output
back. `recover.onnx` undoes `restore.onnx` up to rounding when H and W are multiples of {multiple}; for other sizes
the padded border is cut away, so pad to a multiple yourself (reflect) before `restore.onnx` if you need the inverse.

```python
import numpy as np, onnxruntime as ort
restore = ort.InferenceSession("restore.onnx", providers=["CPUExecutionProvider"])
recover = ort.InferenceSession("recover.onnx", providers=["CPUExecutionProvider"])
image = np.random.rand(1, 3, 256, 384).astype(np.{dtype})   # your picture, RGB in [0, 1], any size
mask = np.zeros((1, 1, 256, 384), np.{dtype})                # inpainting only: 1 = missing
level = {example}
out = restore.run(None, {{"image": image, "level": level}})[0]
back = recover.run(None, {{"image": out, "level": level}})[0]   # ≈ image
```
"""
