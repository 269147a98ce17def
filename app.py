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
import contextlib
import math
import os
import re
import shutil
import tempfile
import threading
import time
import uuid
import warnings
from collections.abc import Iterator
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
    upload_name: str | None = None  # the editor keeps no file name: the Inpaint upload's, for its download
    upload_digest: str | None = None  # ... while the editor still holds that upload's pixels


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


_SWEEPING = threading.Lock()


def sweep_old_downloads() -> None:
    """Delete downloads older than an hour, so the folder does not pile up; one sweep at a time (a request that finds
    one running skips it), and a file that vanishes meanwhile (another server, a manual clean) is no error."""
    if not _SWEEPING.acquire(blocking=False):
        return
    try:
        now = time.time()
        for old in OUT_DIR.iterdir():
            try:
                if now - old.lstat().st_mtime > KEEP_DOWNLOADS_S:
                    shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink(missing_ok=True)
            except OSError:
                continue
    except OSError:  # the folder itself vanished or cannot be listed: nothing to sweep
        pass
    finally:
        _SWEEPING.release()


def _save_png(image: np.ndarray, task: str, like: np.ndarray | None = None) -> str:
    """Full-resolution PNG for download, named after the upload (``like``), in a folder of its own per request."""
    from PIL import Image

    OUT_DIR.mkdir(parents=True, exist_ok=True)
    sweep_old_downloads()
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


class RunTimes:
    """Seconds per megapixel of this server's recent restorations, per (task, ensemble, precision): the time the
    progress bar says up front is this server's own measure, not Gradio's average over photos of every size."""

    def __init__(self, keep: int = 5):
        self.keep, self.seen, self._lock = keep, {}, threading.Lock()

    def record(self, variant: tuple, megapixels: float, seconds: float) -> None:
        with self._lock:
            self.seen[variant] = (self.seen.get(variant, []) + [seconds / max(megapixels, 0.01)])[-self.keep :]

    def estimate(self, variant: tuple, megapixels: float) -> float | None:
        """The median seconds per megapixel of the last runs times ``megapixels``; None before the first run."""
        with self._lock:
            rates = sorted(self.seen.get(variant, []))
        return rates[len(rates) // 2] * max(megapixels, 0.01) if rates else None


TIMES = RunTimes()


class NoEta:
    """Stands in for Gradio's per-event average run time, so that its progress bar shows no ETA (that average mixes
    photos of every size and the self-ensemble: "0.4/25.1 s" on a 6 s job); the app's own estimate is in the text."""

    avg_time = None
    process_time = count = 0

    def add(self, seconds: float) -> None:
        return None


def hide_gradio_eta(demo: gr.Blocks) -> None:
    """Gradio's ETA off for the restorations (called after ``demo.queue``); the app says its own time instead. Only
    events without a Gradio concurrency limit (they wait in ``LANES``): Gradio sums average times where one is set."""
    queue = getattr(demo, "_queue", None)
    for fn in getattr(demo, "fns", {}).values():
        if (
            queue is not None
            and fn.api_name in ("denoise", "jpeg", "inpaint", "recover")
            and fn.concurrency_limit is None
        ):
            queue.process_time_per_fn[fn] = NoEta()


class ClientGone(gr.Error):
    """The client of this request disconnected: its work stops (nobody would see the result)."""

    def __init__(self) -> None:
        super().__init__("The client disconnected: the work was stopped.")


def client_gone() -> bool:
    """Whether the client of the request this thread serves has disconnected (Gradio then marks its event not alive;
    outside a Gradio request, or where Gradio keeps no such mark, the answer is no)."""
    try:
        from gradio.context import LocalContext

        event_id, blocks = LocalContext.event_id.get(None), LocalContext.blocks.get(None)
        for jobs in blocks._queue.active_jobs if event_id and blocks else []:
            for event in jobs or []:
                if event._id == event_id:
                    return not event.alive
    except Exception:  # noqa: BLE001 - Gradio internals moved: never stop a request on a guess
        return False
    return False


class Lanes:
    """Two lanes of restorations: photos up to ``SAY_TIME_ABOVE_PIXELS`` share ``small`` slots, bigger ones run
    ``large`` at a time beside them (so a small photo never waits behind a 40-megapixel one), and at most
    ``large_waiting`` big photos wait; more are refused in words. Waiting stops when the client disconnects."""

    def __init__(self, small: int = 1, large: int = 1, large_waiting: int = 2):
        self.small, self.large = threading.BoundedSemaphore(small), threading.BoundedSemaphore(large)
        self.inverse = threading.BoundedSemaphore(1)  # the float64 exact inverse: one at a time, beside restorations
        self.large_waiting, self._waiting, self._lock = large_waiting, 0, threading.Lock()

    def inverse_slot(self) -> contextlib.AbstractContextManager:
        """Hold the exact inverse's one slot."""
        return self._held(self.inverse)

    def slot(self, pixels: int) -> contextlib.AbstractContextManager:
        """Hold a slot of the lane for an image of ``pixels`` while restoring it."""
        if pixels <= SAY_TIME_ABOVE_PIXELS:
            return self._held(self.small)
        with self._lock:
            if self._waiting >= self.large_waiting:
                raise gr.Error(
                    f"The server is busy with {self._waiting} large photos; try again in a few minutes, or use the "
                    "command line (irae restore) for big batches."
                )
            self._waiting += 1
        return self._held(self.large, counted=True)

    @contextlib.contextmanager
    def _held(self, lane: threading.BoundedSemaphore, counted: bool = False) -> Iterator[None]:
        try:
            while not lane.acquire(timeout=0.5):
                if client_gone():
                    raise ClientGone
        finally:
            if counted:
                with self._lock:
                    self._waiting -= 1
        try:
            yield
        finally:
            lane.release()


LANES = Lanes()


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
    with LANES.slot(image.shape[0] * image.shape[1]):
        return _restore_now(models[task].model, task, image, level, session, progress, ensemble, fast)


def _restore_now(model, task, image, level, session, progress, ensemble, fast) -> np.ndarray:  # noqa: ANN001
    """``_run`` once its lane has a slot: stops between tiles when the client has gone."""

    def tile_done(done: int, total: int) -> None:
        if client_gone():
            raise ClientGone
        progress(done / total, desc=f"{task}: tile {done}/{total}{guess}")

    x = to_tensor(image)
    precision, megapixels = "bf16" if fast else "fp32", x.shape[-2] * x.shape[-1] / 1e6
    variant = (task, bool(ensemble), precision)
    seconds = TIMES.estimate(variant, megapixels)  # this server's own past runs of this variant
    if seconds is None and megapixels * 1e6 > SAY_TIME_ABOVE_PIXELS:  # a big photo and no past run: time the model
        seconds = estimate_seconds(model, *x.shape[-2:], ensemble=bool(ensemble), precision=precision)
    guess = f" (about {seconds:.0f} s in all)" if seconds is not None else ""
    progress(0, desc=f"{task}: {x.shape[-1]}×{x.shape[-2]}{guess}")
    t0 = time.perf_counter()
    restored = restore(model, x[None], **level, ensemble=bool(ensemble), precision=precision, progress=tile_done)
    TIMES.record(variant, megapixels, time.perf_counter() - t0)
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
        mask = painted_mask(editor, background.shape[:2])
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
        named = editor["background"]
        if session.upload_name and session.upload_digest == digest(background):  # still the photo uploaded above
            named = background.view(Upload)
            named.name = session.upload_name
        download = _save_png(restored, "inpaint", like=named)
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
        with LANES.inverse_slot():
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


def painted_mask(editor: dict, shape: tuple[int, int]) -> np.ndarray:
    """The pixels painted on the editor's layers (any colour, any opacity), as an H×W bool mask."""
    mask = np.zeros(shape, bool)
    for layer in editor.get("layers") or []:
        if layer is None:
            continue
        if layer.shape[:2] != mask.shape:
            raise gr.Error(
                f"The painted layer is {layer.shape[1]}×{layer.shape[0]} but the image is {mask.shape[1]}×"
                f"{mask.shape[0]}: paint on the image itself, at its size."
            )
        mask |= (layer[..., 3] if layer.ndim == 3 and layer.shape[2] == 4 else np.atleast_3d(layer).max(2)) > 0
    return mask


def painted_size(editor: dict | None) -> str:
    """What the brush has painted so far, in words (shown before Fill): pixels, share and width at the widest."""
    background = (editor or {}).get("background")
    if background is None:
        return ""
    mask = painted_mask(editor, background.shape[:2])
    if not mask.any():
        return "Nothing painted yet."
    pixels, share, width = fill_size(mask)
    large = f" (over {LARGE_FILL_WIDTH} px: it will come out smooth)" if width > LARGE_FILL_WIDTH else ""
    return f"Painted: **{pixels:,} pixels** ({share:.1%} of the image), **{width} px across** at the widest{large}."


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


NOT_UPLOADED = "Only images uploaded to this app can be restored: send the file itself, not a path."


def payload_paths(payload: Any) -> list[str]:
    """Every file path a client's payload names: an Image's file, or an editor's background, layers and composite."""
    files = [payload]
    if hasattr(payload, "background"):
        files = [payload.background, payload.composite, *(payload.layers or [])]
    return [str(f.path) for f in files if getattr(f, "path", None) is not None]


def from_upload_cache(path: str) -> bool:
    """Whether ``path`` (resolved, links followed) lies inside Gradio's upload cache, where this server stores what
    clients upload: a client can name any path in a payload, and Gradio checks it only where the payload says it is a
    file (``meta``), so every path is checked again here before a byte of it is read."""
    from gradio.utils import get_upload_folder

    cache = Path(get_upload_folder()).resolve()
    try:
        return Path(path).resolve().is_relative_to(cache)
    except (OSError, RuntimeError, ValueError):  # a loop of links, a NUL byte
        return False


def checked_uploads(component: gr.components.Component) -> gr.components.Component:
    """``component`` (an Image or ImageEditor) checking its upload when it arrives and saying what is wrong in words.

    The check wraps this instance's ``preprocess`` (a subclass would make Gradio write a .pyi beside app.py)."""
    decode = component.preprocess

    def preprocess(payload):  # noqa: ANN001, ANN202 - Gradio's signature
        if not all(from_upload_cache(path) for path in payload_paths(payload)):
            raise gr.Error(NOT_UPLOADED)  # the same words whether or not the path exists on the server
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


def checked_number(slider: gr.Slider, words: str, whole: bool = False) -> gr.Slider:
    """``slider`` refusing, in words, a value that is not a (whole) number in its range: an API client can send
    anything, and Gradio would answer a generic error or silently round."""
    decode = slider.preprocess
    low, high = slider.minimum, slider.maximum
    wanted = f"{words} must be a {'whole ' if whole else ''}number from {low:g} to {high:g}"

    def preprocess(payload):  # noqa: ANN001, ANN202 - Gradio's signature
        try:
            value = float(payload) if not isinstance(payload, bool) else float("nan")
        except (TypeError, ValueError):
            raise gr.Error(f"{wanted}, not {str(payload)[:40]!r}.") from None
        if not (math.isfinite(value) and low <= value <= high) or (whole and value != int(value)):
            raise gr.Error(f"{wanted}, not {str(payload)[:40]}.")
        return decode(value)

    slider.preprocess = preprocess
    return slider


BRUSH_DEFAULT_RADIUS = 3  # px: a 6-px stroke, a scratch's width on a 768×512 photo


def brush_radius(height: int, width: int) -> int:
    """The brush's radius for a photo: a stroke about 1/85 of its shorter side across (6 px on a 768×512 photo, 36 on
    a 12-megapixel one), the width of a scratch or a power line at that size."""
    return max(1, round(min(height, width) / 170))


def _brush(radius: int) -> gr.Brush:
    return gr.Brush(colors=["#ff00ff"], color_mode="fixed", default_size=radius)


def photo_for_painting(path: str | None, session: Session) -> tuple:
    """The Inpaint tab's upload button: the photo into the editor with the brush sized to it (and its width on the
    slider); the file's name is kept for the download (the editor itself calls every picture "background")."""
    from irae_hf.images import load_image

    if path is None:
        return gr.ImageEditor(), gr.Slider(), session
    if not from_upload_cache(path):
        raise gr.Error(NOT_UPLOADED)
    name = Path(path).name
    problem = upload_problem(path, name)
    if problem:
        raise gr.Error(problem)
    try:
        photo = np.asarray(load_image(path).convert("RGB"))
    except ValueError as e:
        raise gr.Error(f"{name} cannot be read as an image ({str(e).rsplit(': ', 1)[-1][:80]}).") from None
    session.upload_name, session.upload_digest = name, digest(photo)
    radius = brush_radius(*photo.shape[:2])
    value = {"background": photo, "layers": [], "composite": photo}
    return gr.ImageEditor(value=value, brush=_brush(radius)), gr.Slider(value=2 * radius), session


def digest(pixels: np.ndarray) -> str:
    """A fingerprint of a picture's RGB pixels: is the editor's picture still the upload whose name we keep?"""
    import hashlib

    rgb = np.ascontiguousarray(pixels[..., :3])
    return hashlib.blake2b(rgb.tobytes() + str(rgb.shape).encode(), digest_size=16).hexdigest()


def brush_of_width(width: float) -> gr.ImageEditor:
    """The brush at ``width`` px across (the slider beside the editor)."""
    return gr.ImageEditor(brush=_brush(max(1, round(float(width) / 2))))


def said_on_upload(value: Any) -> None:
    """Nothing to do: the upload's checks (``checked_uploads``) ran when Gradio decoded it, and a problem was said."""
    return None


def _image_input() -> gr.Image:
    image = gr.Image(type="numpy", image_mode="RGB", format="png", label="Image", sources=["upload", "clipboard"])
    return checked_uploads(image)


def _result_column() -> tuple[gr.ImageSlider, gr.Markdown, gr.File]:
    """Before/after slider (PNG, not Gradio's default webp), the PSNR note and the full-resolution download."""
    with gr.Column():
        return (
            gr.ImageSlider(  # its own download would save "image.png": the named PNG below is the download
                type="numpy", format="png", label="before / after", interactive=False, buttons=["fullscreen"]
            ),
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
                    checked_number(d_add, "σ")
                    d_add_btn = gr.Button("Add noise")
                    d_auto = gr.Checkbox(True, label="Auto: estimate σ from the image (or use the σ you added)")
                    d_sigma = checked_number(gr.Slider(0, 75, 25, step=1, label="σ to remove, when Auto is off"), "σ")
                    d_btn = gr.Button("Denoise", variant="primary")
                d_outputs = _result_column()
            gr.Examples(EXAMPLES, inputs=d_in)
        with gr.Tab("JPEG"):
            with gr.Row():
                with gr.Column():
                    j_in = _image_input()
                    j_add = gr.Slider(1, 100, 10, step=1, label="JPEG quality to compress at (to try a clean photo)")
                    checked_number(j_add, "The JPEG quality", whole=True)
                    j_add_btn = gr.Button("Compress")
                    j_auto = gr.Checkbox(
                        True, label="Auto: estimate the quality from the image (or use the one you compressed at)"
                    )
                    j_q = gr.Slider(1, 100, 10, step=1, label="JPEG quality to undo, when Auto is off")
                    checked_number(j_q, "The JPEG quality", whole=True)
                    j_btn = gr.Button("Restore", variant="primary")
                j_outputs = _result_column()
            gr.Examples(EXAMPLES, inputs=j_in)
        with gr.Tab("Inpaint"):
            with gr.Row():
                with gr.Column():
                    i_file = gr.UploadButton("Upload a photo", file_types=["image"], type="filepath")
                    i_in = gr.ImageEditor(
                        type="numpy",
                        image_mode="RGBA",
                        format="png",
                        label="Paint the region to fill",
                        elem_id="inpaint-editor",
                        brush=gr.Brush(colors=["#ff00ff"], color_mode="fixed", default_size=BRUSH_DEFAULT_RADIUS),
                        sources=["clipboard"],  # uploads come through the button above, which keeps the file's name
                        layers=False,
                        transforms=(),
                    )
                    checked_uploads(i_in)
                    i_painted = gr.Markdown()
                    i_brush = gr.Slider(
                        2, 120, 2 * BRUSH_DEFAULT_RADIUS, step=2, label="Brush width (px across; set for each photo)"
                    )
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

        for upload in (d_in, j_in):  # a file that is not a usable image is said when it arrives, not on the button
            upload.upload(
                said_on_upload, [upload], None, api_name=False, show_progress="hidden", concurrency_limit=None
            )
        i_in.change(
            painted_size, [i_in], [i_painted], api_name=False, show_progress="hidden", trigger_mode="always_last"
        )
        i_file.upload(photo_for_painting, [i_file, session], [i_in, i_brush, session], api_name=False)
        i_brush.release(brush_of_width, [i_brush], [i_in], api_name=False, show_progress="hidden")
        d_add_btn.click(add_noise, [d_in, d_add, session], [d_in, session], api_name="add_noise")
        d_btn.click(
            h["denoise"],
            [d_in, d_sigma, ensemble, d_auto, fast, session],
            [*d_outputs, session],
            api_name="denoise",
            concurrency_limit=None,  # restorations wait in LANES, where big photos cannot hold up small ones
        ).success(h["new_result"], [session], [r_rec, r_orig, r_note], api_name=False)  # the panel follows the result
        j_add_btn.click(compress, [j_in, j_add, session], [j_in, session], api_name="compress")
        j_btn.click(
            h["jpeg"],
            [j_in, j_q, ensemble, j_auto, fast, session],
            [*j_outputs, session],
            api_name="jpeg",
            concurrency_limit=None,
        ).success(h["new_result"], [session], [r_rec, r_orig, r_note], api_name=False)
        i_btn.click(
            h["inpaint"],
            [i_in, ensemble, fast, session],
            [*i_outputs, i_telea, session],
            api_name="inpaint",
            concurrency_limit=None,
        ).success(h["new_result"], [session], [r_rec, r_orig, r_note], api_name=False)
        r_btn.click(h["recover"], [session], [r_rec, r_orig, r_note], api_name="recover", concurrency_limit=None)
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
    p.add_argument(
        "--concurrency",
        type=int,
        default=1,
        help="photos up to 2 MP restored at once; bigger ones run one at a time in a lane of their own beside them",
    )
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
    global LANES
    # Gradio notices a client has gone when it next writes to it: a heartbeat every 2 s (not 15) stops abandoned
    # work within a tile or two
    os.environ.setdefault("GRADIO_HEARTBEAT_INTERVAL", "2")
    LANES = Lanes(small=args.concurrency)  # the restore events run in these lanes, not in Gradio's one queue
    demo.queue(max_size=args.queue_size, default_concurrency_limit=args.concurrency)
    hide_gradio_eta(demo)
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
