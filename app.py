"""Gradio demo: denoising, JPEG cleanup and inpainting with IRAE — and the exact inverse ("nothing is lost").

    python app.py [--denoise-model PATH_OR_HUB_ID] [--jpeg-model ...] [--inpaint-model ...]
                  [--device cpu] [--host 127.0.0.1] [--port 7860] [--share]

Weights default to the folders shipped in ``pretrained/`` (also settable with IRAE_DENOISE_MODEL,
IRAE_JPEG_MODEL, IRAE_INPAINT_MODEL) and load with ``IRAE.from_pretrained``, so ``HF_HUB_OFFLINE=1``
works. Named API endpoints for ``gradio_client``: /denoise, /jpeg, /inpaint, /recover (plus /add_noise
and /compress to degrade a clean image first).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import tempfile
import time
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np
import torch

from irae_hf.base import RestorationModel, WeightsError
from irae_hf.degradations import apply_mask, degrade
from irae_hf.estimate import jpeg_quality_from_tables
from irae_hf.images import MAX_PIXELS, to_tensor, to_uint8  # uploads over MAX_PIXELS are refused
from irae_hf.metrics import psnr
from irae_hf.restore import estimate_level, estimate_seconds, recover_input, restore
from irae_hf.tasks import TASK_NAMES, TASKS
from irae_hf.zoo import build, load_model, split_revision

ROOT = Path(__file__).resolve().parent
ENV_VARS = {task: f"IRAE_{task.upper()}_MODEL" for task in TASK_NAMES}
EXAMPLES = sorted(str(p) for p in (ROOT / "examples").glob("*.png"))
OUT_DIR = Path(tempfile.gettempdir()) / "irae-app"
RECOVER_MAX_PIXELS = 1_000_000  # the float64 exact inverse of larger results would hold the worker for minutes
KEEP_DOWNLOADS_S = 3600
SAY_TIME_ABOVE_PIXELS = 2_000_000  # bigger photos get an up-front time estimate in the progress bar
LARGE_FILL_WIDTH = 24  # px across at the widest: larger holes come out smooth, and Telea is shown beside them


@dataclass
class Loaded:
    """A task's model and where it came from (shown on the page)."""

    model: RestorationModel
    source: str
    trained: bool = True
    card: str | None = None  # the model card (README.md) of the folder or Hub repo, when there is one
    note: str | None = None  # why the configured model was not used (shown on the page)


@dataclass
class Session:
    """Per-browser-session memory: the clean image behind a degradation, and the last exact result."""

    clean: dict[str, np.ndarray] = field(default_factory=dict)
    degraded: dict[str, np.ndarray] = field(default_factory=dict)
    chosen: dict[str, dict] = field(default_factory=dict)  # the level of the degradation made in the app
    result: tuple[torch.Tensor, dict] | None = None  # the last (input, level), for /recover
    model_input: torch.Tensor | None = None
    task: str | None = None


def load_models(sources: dict[str, str | None], device: str = "cpu") -> dict[str, Loaded]:
    """One model per task: the given path/Hub id (``org/name@revision`` pins one), else $IRAE_<TASK>_MODEL, else
    ``pretrained/<task>``.

    A configured model that cannot be loaded (Hub unreachable and not cached, no such repo) falls back to the shipped
    weights with a visible note; a missing default folder gives an untrained (identity) model, clearly labelled, so
    the app still starts.
    """
    models = {}
    for task in TASK_NAMES:
        src = sources.get(task) or os.environ.get(ENV_VARS[task])
        shipped = ROOT / "pretrained" / task
        note = None
        if src is not None:
            try:
                model = load_model(src).to(device).eval()
            except WeightsError as e:
                if not (shipped / "model.safetensors").exists():
                    raise
                note, src = f"{e} — using the shipped pretrained/{task} instead", None
                warnings.warn(note, stacklevel=2)
            else:
                if model.task != task:
                    raise ValueError(f"{src} is a {model.task!r} model, not a {task!r} model")
                models[task] = Loaded(model, src, card=_read_card(src))
                continue
        if not (shipped / "model.safetensors").exists():
            models[task] = Loaded(
                build("irae", task=task).to(device).eval(), f"UNTRAINED: no weights in pretrained/{task}", False
            )
            continue
        model = load_model(shipped).to(device).eval()
        models[task] = Loaded(model, f"pretrained/{task} (shipped)", card=_read_card(shipped), note=note)
    return models


def _read_card(source: str | Path) -> str | None:
    """The model card of a local folder, or of a Hub repo (``org/name@rev`` pinned) from the cache or the Hub."""
    folder = Path(source)
    if folder.is_dir():
        card = folder / "README.md"
        return card.read_text(encoding="utf-8", errors="replace") if card.is_file() else None
    try:
        from huggingface_hub import hf_hub_download

        repo, revision = split_revision(source)
        return Path(hf_hub_download(str(repo), "README.md", revision=revision)).read_text(errors="replace")
    except Exception:  # noqa: BLE001 - no card is not an error: the page says so
        return None


def card_section(card: str | None, heading: str = "Evaluation") -> str | None:
    """The text of a card's ``## heading`` section (up to the next ``## ``), or None."""
    if not card:
        return None
    found = re.search(rf"^## {re.escape(heading)}\s*$(.*?)(?=^## |\Z)", card, flags=re.M | re.S)
    return found.group(1).strip() if found else None


def about_models(models: dict[str, Loaded]) -> str:
    """The "About the models" text: each model's source, size and its card's evaluation table."""
    parts = []
    for task, m in models.items():
        params = sum(p.numel() for p in m.model.parameters())
        head = f"**{TASKS[task].label}** — `{m.source}`, {params / 1e6:.2f} M parameters"
        if not m.trained:
            parts.append(head + "\n\n⚠️ untrained identity model: results equal the input.")
            continue
        numbers = card_section(m.card)
        parts.append(head + "\n\n" + (numbers or "(its model card has no evaluation section)"))
    return "\n\n".join(parts)


# ------------------------------------------------------------------------------------------- handlers
def _check(image: np.ndarray | None) -> np.ndarray:
    if image is None:
        raise gr.Error("Upload an image first.")
    if image.shape[0] * image.shape[1] > MAX_PIXELS:
        raise gr.Error(f"Image too large ({image.shape[1]}×{image.shape[0]}); the limit is {MAX_PIXELS // 10**6} MP.")
    return image[..., :3] if image.ndim == 3 else np.repeat(image[..., None], 3, axis=2)


class Upload(np.ndarray):
    """An uploaded picture's pixels that remember the file's name (for the download's name) and, for a JPEG file,
    the quality its quantization tables say (decoded pixels alone only allow an estimate)."""

    name: str | None = None
    jpeg_quality: int | None = None

    def __array_finalize__(self, obj: np.ndarray | None) -> None:  # views and slices keep what the file said
        self.name = getattr(obj, "name", None)
        self.jpeg_quality = getattr(obj, "jpeg_quality", None)


PAST = {"denoise": "denoised", "jpeg": "restored", "inpaint": "filled"}


def download_name(image: np.ndarray, task: str) -> str:
    """``<the upload's stem>_<done>.png`` with the stem reduced to safe characters, else ``irae_<done>.png``."""
    stem = Path(getattr(image, "name", None) or "").stem
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._-")[:80]
    return f"{safe or 'irae'}_{PAST[task]}.png"


def _save_png(image: np.ndarray, task: str, like: np.ndarray | None = None) -> str:
    """Full-resolution PNG for download, named after the upload (``like``), in a folder of its own per request."""
    from PIL import Image

    OUT_DIR.mkdir(parents=True, exist_ok=True)
    now = time.time()
    for old in OUT_DIR.iterdir():  # downloads live an hour, then go: the folder does not pile up
        if now - old.stat().st_mtime > KEEP_DOWNLOADS_S:
            shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink(missing_ok=True)
    folder = OUT_DIR / uuid.uuid4().hex[:12]
    folder.mkdir()
    path = folder / download_name(image if like is None else like, task)
    Image.fromarray(np.asarray(image)).save(path)
    return str(path)


def add_noise(image: np.ndarray, sigma: float, session: Session) -> tuple[np.ndarray, Session]:
    """Degrade a clean image with σ noise (clipped to 8 bits, as a saved file would be)."""
    clean = _check(image)
    noisy = to_uint8(degrade(to_tensor(clean), "denoise", float(sigma), seed=0)[0])  # clipped to 8 bits
    session.clean["denoise"], session.degraded["denoise"] = clean, noisy
    session.chosen["denoise"] = {"sigma": float(sigma)}
    return noisy, session


def compress(image: np.ndarray, quality: float, session: Session) -> tuple[np.ndarray, Session]:
    """Degrade a clean image by JPEG compression at ``quality``."""
    clean = _check(image)
    out = to_uint8(degrade(to_tensor(clean), "jpeg", int(quality))[0])
    session.clean["jpeg"], session.degraded["jpeg"] = clean, out
    session.chosen["jpeg"] = {"quality": int(quality)}
    return out, session


def _words(level: dict) -> str:
    return f"σ {level['sigma']:g}" if "sigma" in level else f"JPEG quality {level['quality']}"


def _psnr_note(task: str, image: np.ndarray, restored: np.ndarray, session: Session, mask=None) -> str:
    clean = session.clean.get(task)
    if clean is None or not np.array_equal(session.degraded.get(task), image):
        return "PSNR: degrade a clean image with the button above to measure it."
    before, after = psnr(image, clean, mask=mask), psnr(restored, clean, mask=mask)
    where = " in the filled region" if mask is not None else ""
    return f"PSNR{where} against the clean image: **{before:.2f} dB → {after:.2f} dB** ({after - before:+.2f} dB)"


def _run(
    models: dict[str, Loaded],
    task: str,
    image: np.ndarray,
    level: dict,
    session: Session,
    progress,
    ensemble: bool = False,
    fast: bool = False,
) -> np.ndarray:
    """Restore ``image`` (H×W×3 uint8) keeping what /recover needs to rerun the plain map exactly."""
    model = models[task].model
    x = to_tensor(image)
    guess = ""
    if x.shape[-2] * x.shape[-1] > SAY_TIME_ABOVE_PIXELS:  # a big photo: say up front how long it will take
        precision = "bf16" if fast else "fp32"
        seconds = estimate_seconds(model, *x.shape[-2:], ensemble=bool(ensemble), precision=precision)
        guess = f" (about {seconds:.0f} s in all)"
        progress(0, desc=f"{task}: {x.shape[-1]}×{x.shape[-2]}{guess}")
    restored = restore(
        model,
        x[None],
        **level,
        ensemble=bool(ensemble),
        precision="bf16" if fast else "fp32",
        progress=lambda done, total: progress(done / total, desc=f"{task}: tile {done}/{total}{guess}"),
    )
    session.result, session.task = (x, level), task  # /recover reruns it exactly (float64) on demand
    session.model_input = apply_mask(x, level["mask"]) if task == "inpaint" else x  # what the model saw
    return to_uint8(restored[0])


def make_handlers(models: dict[str, Loaded]) -> dict[str, Any]:
    """The event functions, bound to the loaded models."""

    def leveled(task: str, image, level: dict, session: Session, progress, ensemble: bool, auto: bool, fast: bool):
        image = _check(image)
        if auto and np.array_equal(session.degraded.get(task), image):  # degraded here: the level the user chose
            level = session.chosen[task]
            said = f"Level: **{_words(level)}**, the one you degraded the image with."
        elif auto and task == "jpeg" and getattr(image, "jpeg_quality", None):
            level = {"quality": image.jpeg_quality}
            said = f"Level: **{_words(level)}**, read from the JPEG file's quantization tables (untick Auto to set it)."
        elif auto:
            level = estimate_level(models[task].model, image)
            if level.get("quality", 0) is None:
                note = "No sign of JPEG compression in this image: left unchanged (untick Auto to force a quality)."
                session.result = session.task = None  # nothing ran: there is no result to invert
                return (image, image), note, _save_png(image, task, like=image), session
            said = f"Level: **{_words(level)}**, estimated from the image (untick Auto to set it)."
        else:
            said = f"Level: **{_words(level)}**, as set."
        restored = _run(models, task, image, level, session, progress, ensemble, fast)
        note = said + "\n\n" + _psnr_note(task, image, restored, session)
        return (image, restored), note, _save_png(restored, task, like=image), session

    def denoise(image, sigma, ensemble=False, auto=True, fast=False, session=None, progress=gr.Progress()):
        return leveled("denoise", image, {"sigma": float(sigma)}, session, progress, ensemble, auto, fast)

    def jpeg(image, quality, ensemble=False, auto=True, fast=False, session=None, progress=gr.Progress()):
        return leveled("jpeg", image, {"quality": int(quality)}, session, progress, ensemble, auto, fast)

    def inpaint(editor, ensemble=False, fast=False, session=None, progress=gr.Progress()):
        if editor is None or editor.get("background") is None:
            raise gr.Error("Upload an image and paint the region to fill.")
        background = _check(editor["background"])
        mask = np.zeros(background.shape[:2], bool)
        for layer in editor.get("layers") or []:
            if layer is not None and layer.ndim == 3 and layer.shape[2] == 4 and layer.shape[:2] == mask.shape:
                mask |= layer[..., 3] > 0
        if not mask.any():
            raise gr.Error("Paint over the region to fill with the brush first.")
        restored = _run(
            models,
            "inpaint",
            background,
            {"mask": torch.from_numpy(mask.astype(np.float32))},
            session,
            progress,
            ensemble,
            fast,
        )
        holed = to_uint8(session.model_input)
        before, after = psnr(holed, background, mask=mask), psnr(restored, background, mask=mask)
        pixels, share, width = fill_size(mask)
        note = (
            f"Filled **{pixels:,} pixels** ({share:.1%} of the image; {width} px across at the widest). PSNR in the "
            f"painted region against the original picture: **{before:.2f} dB (grey hole) → {after:.2f} dB** "
            f"({after - before:+.2f} dB); pixels outside it differ by at most "
            f"{int(np.abs(restored[~mask].astype(int) - background[~mask]).max()) if (~mask).any() else 0}/255."
        )
        comparison = gr.Image(value=None, visible=False)
        if width > LARGE_FILL_WIDTH:
            note += (
                f"\n\nA region over {LARGE_FILL_WIDTH} px across is large for this model: it fills from the "
                "surroundings and comes out smooth (it does not invent objects)."
            )
            classic = telea(background, mask)
            if classic is not None:
                label = f"OpenCV Telea, for comparison: {psnr(classic, background, mask=mask):.2f} dB in the region"
                comparison = gr.Image(value=classic, visible=True, label=label)
                note += f" OpenCV's Telea is shown beside it ({psnr(classic, background, mask=mask):.2f} dB)."
        download = _save_png(restored, "inpaint", like=editor["background"])
        return (holed, restored), note, download, comparison, session

    seconds_per_mp: list[float] = []  # measured by this server's earlier inverses: the estimate shown up front

    def recover(session, progress=gr.Progress()):
        if session.result is None:
            raise gr.Error("Restore an image first.")
        model = models[session.task].model
        x, level = session.result
        if x.shape[-2] * x.shape[-1] > RECOVER_MAX_PIXELS:
            raise gr.Error(
                f"The exact inverse runs partly in float64 and is slow: it is offered up to {RECOVER_MAX_PIXELS / 1e6:g} "
                f"megapixels here ({x.shape[-1]}×{x.shape[-2]} is larger); use recover_input in Python for big images."
            )
        megapixels = x.shape[-2] * x.shape[-1] / 1e6
        guess = f"about {seconds_per_mp[-1] * megapixels:.0f} s" if seconds_per_mp else "no estimate yet (first run)"
        progress(0, desc=f"exact forward and inverse of {x.shape[-1]}×{x.shape[-2]}: {guess}")
        t0 = time.perf_counter()
        exact = restore(model, x[None], **level, return_float=True)  # float64: the inverse is exact
        progress(0.5, desc=f"exact inverse: {guess}")
        recovered = recover_input(model, exact)[0]
        seconds = time.perf_counter() - t0
        seconds_per_mp.append(seconds / megapixels)
        diff = (recovered.float().cpu() - session.model_input).abs().max().item() * 255
        text = (
            f"Ran the exact inverse of the {session.task} model on its float output for the last {session.task} result "
            f"({x.shape[-1]}×{x.shape[-2]}) in {seconds:.0f} s: the recovered "
            f"input differs from the input the model saw by at most **{diff:.2e}** (in 0–255 pixel units). Flow 2 runs "
            "in float64 because, trained, it magnifies float32 rounding up to 10 million times (far beyond a pixel)."
        )
        return to_uint8(recovered), to_uint8(session.model_input), text

    def new_result(session):
        """Clear the inverse's panel when a new result arrives: what it showed belonged to the previous one."""
        if session.result is None:
            return None, None, ""
        x = session.result[0]
        megapixels = x.shape[-2] * x.shape[-1] / 1e6
        guess = f", about {seconds_per_mp[-1] * megapixels:.0f} s" if seconds_per_mp else ""
        return (
            None,
            None,
            (
                f"New {session.task} result ({x.shape[-1]}×{x.shape[-2]}): press Recover to run its exact inverse{guess}."
            ),
        )

    return {"denoise": denoise, "jpeg": jpeg, "inpaint": inpaint, "recover": recover, "new_result": new_result}


def fill_size(mask: np.ndarray) -> tuple[int, float, int]:
    """(pixels to fill, their share of the image, the region's width in pixels at its widest)."""
    from scipy.ndimage import distance_transform_edt

    width = int(round(2 * distance_transform_edt(mask).max())) if mask.any() else 0
    return int(mask.sum()), float(mask.mean()), width


def telea(image: np.ndarray, mask: np.ndarray) -> np.ndarray | None:
    """OpenCV's Telea inpainting of ``mask`` (the classical fill people compare with); None without OpenCV."""
    try:
        import cv2
    except ImportError:
        return None
    return cv2.inpaint(np.ascontiguousarray(image), mask.astype(np.uint8) * 255, 3, cv2.INPAINT_TELEA)


# ------------------------------------------------------------------------------------------- page
def upload_problem(path: str | None, name: str | None) -> str | None:
    """What is wrong with an uploaded file, in words (None: an image under the pixel limit), before anything is
    decoded: Gradio's own decoding would fail with a bare "Error" badge, or decode a decompression bomb."""
    from PIL import Image, UnidentifiedImageError

    name = name or "the file"
    if path is None or not Path(path).is_file():
        return None
    if Path(path).stat().st_size == 0:
        return f"{name} is empty (0 bytes)."
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as im:
                width, height = im.size
    except UnidentifiedImageError:
        return f"{name} is not an image this app can read (PNG, JPEG, WebP, TIFF, BMP, GIF, ...)."
    except Exception as e:  # noqa: BLE001 - Image.DecompressionBombError and broken headers
        return f"{name} cannot be read as an image ({type(e).__name__})."
    if width * height > MAX_PIXELS:
        return f"{name} is {width}×{height}, over the limit of {MAX_PIXELS // 10**6} megapixels."
    return None


def checked_uploads(component: gr.components.Component) -> gr.components.Component:
    """``component`` (an Image or ImageEditor) checking its upload when it arrives and saying what is wrong in words.

    The check wraps this instance's ``preprocess`` (a subclass would make Gradio write a .pyi beside app.py)."""
    decode = component.preprocess

    def preprocess(payload):  # noqa: ANN001, ANN202 - Gradio's signature
        upload = getattr(payload, "background", payload)  # the editor's uploaded picture is its background
        problem = upload_problem(getattr(upload, "path", None), getattr(upload, "orig_name", None))
        if problem:
            raise gr.Error(problem)
        try:
            pixels = decode(payload)
        except gr.Error:
            raise
        except Exception as e:  # noqa: BLE001 - whatever the decoder raises, one sentence for the user
            raise gr.Error(f"The upload cannot be read as an image ({type(e).__name__}).") from None
        if isinstance(pixels, np.ndarray):  # keep the file's name (and JPEG tables) with the pixels
            pixels = _remembering(pixels, upload)
        elif isinstance(pixels, dict) and isinstance(pixels.get("background"), np.ndarray):
            pixels["background"] = _remembering(pixels["background"], upload)
        return pixels

    component.preprocess = preprocess
    return component


def _remembering(pixels: np.ndarray, upload: Any) -> Upload:
    """The decoded pixels as an :class:`Upload` holding the file's name and, for a JPEG, its tables' quality."""
    from PIL import Image

    pixels = pixels.view(Upload)
    pixels.name = getattr(upload, "orig_name", None)
    path = getattr(upload, "path", None)
    if path and Path(path).is_file():
        with Image.open(path) as opened:  # the uploaded bytes, as sent: Gradio caches the file unchanged
            pixels.jpeg_quality = jpeg_quality_from_tables(opened)
    return pixels


def _image_input() -> gr.Image:
    image = gr.Image(type="numpy", image_mode="RGB", format="png", label="Image", sources=["upload", "clipboard"])
    return checked_uploads(image)


def _result_column() -> tuple[gr.ImageSlider, gr.Markdown, gr.File]:
    """Before/after slider (PNG, not Gradio's default webp), the PSNR note and the full-resolution download."""
    with gr.Column():
        return (
            gr.ImageSlider(type="numpy", format="png", label="before / after", interactive=False),
            gr.Markdown(),
            gr.File(label="Full-resolution PNG"),
        )


def build_demo(models: dict[str, Loaded]) -> gr.Blocks:
    h = make_handlers(models)
    with gr.Blocks(title="IRAE — invertible image restoration", delete_cache=(3600, 3600)) as demo:
        gr.Markdown(
            "# IRAE — restore a photo, and get the original back exactly\n"
            "1. Pick a tab — **Denoise** (grainy, noisy photos), **JPEG** (blocky, over-compressed ones) or "
            "**Inpaint** (scratches, blemishes, small objects) — and upload a photo or click an example.\n"
            "2. Press the button. **Auto** reads the noise level or JPEG quality from the photo; untick it to set "
            "one. Paint the part to fill in the Inpaint tab.\n"
            "3. Drag the before / after slider, download the PNG, and if you like, recover the exact input from "
            "the result at the bottom: the model is invertible, nothing is lost "
            "([paper](https://arxiv.org/abs/2009.03173))."
        )
        for task, m in models.items():
            if m.note:
                gr.Markdown(f"⚠️ **The configured {task} model could not be loaded:** {m.note}.")
        with gr.Accordion("About the models", open=False):
            gr.Markdown(about_models(models))
        session = gr.State(Session())
        with gr.Row():
            ensemble = gr.Checkbox(
                False,
                label="Self-ensemble: average over the 8 flips and rotations (a little better, 8× slower). The "
                "exact inverse below belongs to the plain map, which it reruns.",
            )
            fast = gr.Checkbox(
                False,
                label="Faster: bf16 networks (about 1.7× faster on CPUs with AVX512-BF16, a few "
                "thousandths of a dB lower). The exact inverse reruns the fp32 map.",
            )
        with gr.Tab("Denoise"):
            with gr.Row():
                with gr.Column():
                    d_in = _image_input()
                    d_add = gr.Slider(0, 75, 25, step=1, label="σ of the noise to add (to try a clean photo)")
                    d_add_btn = gr.Button("Add noise")
                    d_auto = gr.Checkbox(True, label="Auto: estimate σ from the image (or use the σ you added)")
                    d_sigma = gr.Slider(0, 75, 25, step=1, label="σ to remove, when Auto is off")
                    d_btn = gr.Button("Denoise", variant="primary")
                d_outputs = _result_column()
            gr.Examples(EXAMPLES, inputs=d_in)
        with gr.Tab("JPEG"):
            with gr.Row():
                with gr.Column():
                    j_in = _image_input()
                    j_add = gr.Slider(1, 100, 10, step=1, label="JPEG quality to compress at (to try a clean photo)")
                    j_add_btn = gr.Button("Compress")
                    j_auto = gr.Checkbox(
                        True, label="Auto: estimate the quality from the image (or use the one you compressed at)"
                    )
                    j_q = gr.Slider(1, 100, 10, step=1, label="JPEG quality to undo, when Auto is off")
                    j_btn = gr.Button("Restore", variant="primary")
                j_outputs = _result_column()
            gr.Examples(EXAMPLES, inputs=j_in)
        with gr.Tab("Inpaint"):
            with gr.Row():
                with gr.Column():
                    i_in = gr.ImageEditor(
                        type="numpy",
                        image_mode="RGBA",
                        format="png",
                        label="Paint the region to fill",
                        brush=gr.Brush(colors=["#ff00ff"], color_mode="fixed"),
                        sources=["upload", "clipboard"],
                        layers=False,
                        transforms=(),
                    )
                    checked_uploads(i_in)
                    gr.Markdown(
                        "Good at what is thin or small: scratches, blemishes, power lines, small objects, text and "
                        f"watermarks. Regions over {LARGE_FILL_WIDTH} px across come out smooth (it fills from the "
                        "surroundings; it does not invent objects); for those, OpenCV's Telea is shown beside it."
                    )
                    i_btn = gr.Button("Fill", variant="primary")
                with gr.Column():
                    i_outputs = _result_column()
                    i_telea = gr.Image(type="numpy", format="png", interactive=False, visible=False)
            gr.Examples(EXAMPLES, inputs=i_in)
        with gr.Accordion("Nothing lost: run the exact inverse on the last result", open=True):
            r_btn = gr.Button("Recover the input from the result")
            with gr.Row():
                r_rec = gr.Image(type="numpy", format="png", label="recovered input", interactive=False)
                r_orig = gr.Image(type="numpy", format="png", label="input the model saw", interactive=False)
            r_note = gr.Markdown()

        d_add_btn.click(add_noise, [d_in, d_add, session], [d_in, session], api_name="add_noise")
        d_btn.click(
            h["denoise"], [d_in, d_sigma, ensemble, d_auto, fast, session], [*d_outputs, session], api_name="denoise"
        ).success(h["new_result"], [session], [r_rec, r_orig, r_note], api_name=False)  # the panel follows the result
        j_add_btn.click(compress, [j_in, j_add, session], [j_in, session], api_name="compress")
        j_btn.click(
            h["jpeg"], [j_in, j_q, ensemble, j_auto, fast, session], [*j_outputs, session], api_name="jpeg"
        ).success(h["new_result"], [session], [r_rec, r_orig, r_note], api_name=False)
        i_btn.click(
            h["inpaint"], [i_in, ensemble, fast, session], [*i_outputs, i_telea, session], api_name="inpaint"
        ).success(h["new_result"], [session], [r_rec, r_orig, r_note], api_name=False)
        r_btn.click(h["recover"], [session], [r_rec, r_orig, r_note], api_name="recover")  # its own queue (per event)
    return demo


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="IRAE restoration demo")
    for task in TASK_NAMES:
        p.add_argument(
            f"--{task}-model",
            dest=task,
            help=f"folder or Hub id, ORG/NAME@REVISION to pin one (default ${ENV_VARS[task]} or pretrained/{task})",
        )
    p.add_argument("--device", default="cpu")
    p.add_argument("--host", default="127.0.0.1", help="bind address (127.0.0.1 unless told otherwise)")
    p.add_argument("--port", type=int, default=7860)
    p.add_argument("--share", action="store_true")
    p.add_argument("--concurrency", type=int, default=1, help="restorations running at once")
    p.add_argument("--queue-size", type=int, default=32, help="requests waiting at most")
    p.add_argument("--max-file-size", default="50mb", help="largest upload")
    return p.parse_args(argv)


def main(argv: list[str] | None = None, **launch_kwargs: Any) -> gr.Blocks:
    """Load the weights, build the page and serve it (``prevent_thread_lock=True`` returns at once)."""
    args = parse_args(argv)
    models = load_models({t: getattr(args, t) for t in TASK_NAMES}, args.device)
    for task, m in models.items():
        print(f"{task}: {m.source}" + ("" if m.trained else "  (untrained identity model)"))
    demo = build_demo(models)
    demo.queue(max_size=args.queue_size, default_concurrency_limit=args.concurrency)
    demo.launch(
        server_name=args.host,
        server_port=args.port,
        share=args.share,
        max_file_size=args.max_file_size,
        **launch_kwargs,
    )
    return demo


if __name__ == "__main__":
    main()
