"""The app's event handlers, module-level functions of the loaded models (``functools.partial`` binds them)."""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import gradio as gr
import numpy as np
import torch

from ..io.images import to_tensor, to_uint8
from ..models.base import RestorationModel
from ..pipeline.restore import choose_level, estimate_seconds, recover_input, restore
from ..tasks import TASKS, degrade
from ..tasks.metrics import psnr
from . import serving
from .downloads import save_png
from .inpainting import LARGE_FILL_WIDTH, THIN_FILL_WIDTH, fill_size, opencv_fill, painted_mask
from .models import TITLES, Loaded
from .serving import SAY_TIME_ABOVE_PIXELS, TIMES, ClientGone, client_gone
from .session import Session
from .uploads import Upload, check_image, digest

#: how to set the level by hand, in words for the page and for gradio_client alike
AUTO_OFF = "Auto off sets it: the checkbox, or auto=False through the API"
#: where a level came from (``choose_level``'s answer, or the level of a degradation made in the app), in words
LEVEL_SOURCES = {
    "chosen": "the one you degraded the image with.",
    "tables": f"read from the JPEG file's quantization tables ({AUTO_OFF}).",
    "pixels": f"estimated from the image ({AUTO_OFF}).",
    "twice": "read from the pixels: the file was saved twice, and this earlier, stronger compression shows under "
    f"the last one ({AUTO_OFF}).",
    "given": "as set.",
}
NOTHING_TO_INVERT = (
    "The last {task} run left the image unchanged (no sign of JPEG compression): nothing was restored, so there is "
    "nothing to invert."
)
#: why Auto picked a model: for a picture degraded in the app, and for one brought to it
AUTO_WHY = {True: "auto: the noise was added here", False: "auto: a photo"}
RECOVER_MAX_PIXELS = 1_000_000  # the float64 exact inverse of larger results would hold the worker for minutes


def degrade_here(task: str, image: np.ndarray, amount: float, session: Session) -> tuple[np.ndarray, Session]:
    """Degrade a clean image at ``amount`` as the task's tab offers (noise clipped to 8 bits as a saved file would
    be, a JPEG), remembering the clean image and the level for the PSNR and for Auto."""
    spec, amount = TASKS[task], TASKS[task].level_type(amount)
    clean = check_image(image)
    out = to_uint8(degrade(to_tensor(clean), task, amount, seed=0)[0])  # 8 bits, as saved
    session.clean[task], session.degraded[task] = clean, out
    session.chosen[task] = {spec.keyword: amount}
    session.degraded_names[task] = getattr(image, "name", None)  # its download keeps the upload's name
    return out, session


def _psnr_note(task: str, image: np.ndarray, restored: np.ndarray, session: Session, mask=None) -> str:
    clean = session.clean.get(task)
    if clean is None or not np.array_equal(session.degraded.get(task), image):
        return (
            "PSNR: measured when a clean image is degraded in the app first (Add noise or Compress; /add_noise "
            "or /compress through the API)."
        )
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
    name: str | None = None,
) -> np.ndarray:
    """Restore ``image`` (H×W×3 uint8) with the model ``name`` (the task's own by default), keeping what /recover
    needs to rerun the plain map exactly."""
    name = name or task
    with serving.LANES.slot(image.shape[0] * image.shape[1]):
        restored = _restore_now(models[name].model, task, image, level, session, progress, ensemble, fast)
    session.model = name
    return restored


def _restore_now(model, task, image, level, session, progress, ensemble, fast) -> np.ndarray:  # noqa: ANN001
    """``_run`` once its lane has a slot: stops between tiles when the client has gone."""

    def tile_done(done: int, total: int) -> None:
        if client_gone():
            raise ClientGone
        step = "pass" if ensemble else "tile"  # the self-ensemble reports its 8 passes per tile
        progress(done / total, desc=f"{task}: {step} {done}/{total}{guess}")

    deep = getattr(image, "deep", None)  # a 16-bit colour upload: restored from its 16 bits
    x = to_tensor(image) if deep is None else torch.from_numpy(deep.astype(np.float32) / 65535).permute(2, 0, 1)
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
    session.unchanged = None
    session.model_input = TASKS[task].model_input(x, level)  # what the model saw
    session.restored16 = (
        None
        if deep is None
        else (restored[0] * 65535).round().to(torch.int32).permute(1, 2, 0).numpy().astype(np.uint16)
    )
    return to_uint8(restored[0])


def leveled(
    models: dict[str, Loaded], task: str, image, level: dict, session: Session, progress, ensemble: bool, auto: bool,
    fast: bool, noise: str | None = None,
) -> tuple:  # fmt: skip
    """A level tab's restore: the level chosen here, read from the file, estimated, or as set; then restore (with
    the model the tab's choice ``noise`` picks, where it offers one: see ``pick_kind``)."""
    image = check_image(image)
    degraded_here = np.array_equal(session.degraded.get(task), image)
    kind, why = pick_kind(task, noise, degraded_here) if TASKS[task].app.choices else (None, "")
    name = TASKS[task].specialists.get(kind, task)
    if why:
        why = f"\n\nModel: **{TITLES[name]}**, `{models[name].source}` ({why})."
    if degraded_here:  # the file's name, not the "image.png" Gradio gave the degraded picture
        image = image.view(Upload)
        image.name = session.degraded_names.get(task)
    if auto and degraded_here:  # degraded here: the level the user chose
        level, source = session.chosen[task], "chosen"
    else:
        level, source = choose_level(models[name].model, image, **({} if auto else level))
    if TASKS[task].unchanged(level.get(TASKS[task].keyword)):  # a JPEG that shows no sign of compression
        note = (
            "No sign of JPEG compression in this image: left unchanged (Auto off forces a quality: the "
            "checkbox, or auto=False through the API)."
        )
        session.result = session.task = None  # nothing ran: there is no result to invert, nor one to download
        session.unchanged = task
        return (image, image), note, None, session
    said = f"Level: **{TASKS[task].words(level)}**, " + LEVEL_SOURCES[source] + why
    restored = _run(models, task, image, level, session, progress, ensemble, fast, name)
    note = said + "\n\n" + _psnr_note(task, image, restored, session) + _depth_note(session)
    return (image, restored), note, save_png(restored, task, like=image, deep=session.restored16), session


def pick_kind(task: str, choice: str | None, degraded_here: bool) -> tuple[str, str]:
    """The kind of degradation whose model runs for the tab's ``choice`` (its radio's value) and why, in words: by
    default Auto's kinds (a denoiser: the Gaussian model for noise added in the app, the camera and phone one for a
    photo brought to it)."""
    app = TASKS[task].app
    values = [value for _, value in app.choices]
    if choice not in (None, *values):
        raise gr.Error(f"noise must be one of {', '.join(values)}, got {str(choice)[:40]!r}")
    if choice in (None, "auto"):
        return (app.made_here if degraded_here else app.brought), AUTO_WHY[degraded_here]
    return choice, "as chosen"


def restore_at_level(
    task: str, models, image, level, ensemble=False, auto=True, fast=False, session=None, noise="auto",
    progress=gr.Progress(),
):  # fmt: skip
    """A level tab's restore button: the level chosen here, read or estimated (Auto), or as set; ``noise`` is the
    tab's choice of model, where it offers one."""
    spec = TASKS[task]
    level = {spec.keyword: spec.level_type(level)}
    return leveled(models, task, image, level, session, progress, ensemble, auto, fast, noise)


def inpaint(task: str, models, editor, ensemble=False, fast=False, session=None, progress=gr.Progress()):
    """Fill the painted region; say how large it was, and show OpenCV's Telea beside a large one."""
    if editor is None or editor.get("background") is None:
        raise gr.Error("Upload an image and paint the region to fill.")
    background = check_image(editor["background"])
    mask = painted_mask(editor, background.shape[:2])
    if not mask.any():
        raise gr.Error("Paint over the region to fill with the brush first.")
    level = {TASKS[task].keyword: torch.from_numpy(mask.astype(np.float32))}
    seen = digest(background)
    if session.upload_name and session.upload_digest == seen:  # still the photo uploaded above
        background = background.view(Upload)
        background.name, background.deep = session.upload_name, session.upload_deep
    elif seen in session.known_names:  # an example: the editor calls every picture "background"
        background = background.view(Upload)
        background.name = session.known_names[seen]
    restored = _run(models, task, background, level, session, progress, ensemble, fast)
    holed = to_uint8(session.model_input)
    note, comparison = _fill_note(background, holed, restored, mask)
    note += _depth_note(session)
    download = save_png(restored, task, like=background, deep=session.restored16)
    return (holed, restored), note, download, comparison, session


def _depth_note(session: Session) -> str:
    """For a 16-bit colour upload: the download keeps its 16 bits (the browser shows 8)."""
    if session.restored16 is None:
        return ""
    return "\n\nA 16-bit colour photo: restored from its 16 bits per channel; the PNG download is 16-bit too."


def _fill_note(background: np.ndarray, holed: np.ndarray, restored: np.ndarray, mask: np.ndarray) -> tuple:
    """What the fill did, in words, and OpenCV's Telea beside a region too large for the model (else hidden)."""
    before, after = psnr(holed, background, mask=mask), psnr(restored, background, mask=mask)
    pixels, share, width = fill_size(mask)
    outside = int(np.abs(restored[~mask].astype(int) - background[~mask]).max()) if (~mask).any() else 0
    note = (
        f"Filled **{pixels:,} pixel{'' if pixels == 1 else 's'}** ({share:.1%} of the image; {width} px across at the "
        f"widest); pixels outside it differ by at most {outside}/255. PSNR in the painted region against what was "
        f"painted over: **{before:.2f} dB (grey hole) → {after:.2f} dB** ({after - before:+.2f} dB): a measure "
        "when that belongs in the photo, as when you try it on a clean one; over a scratch or an object to remove, "
        "a low figure is the point."
    )
    comparison = gr.Image(value=None, visible=False)
    if width > LARGE_FILL_WIDTH:
        method = "Telea"
        note += (
            f"\n\nA region over {LARGE_FILL_WIDTH} px across is large for this model: it fills from the "
            "surroundings and comes out smooth (it does not invent objects)."
        )
    elif width <= THIN_FILL_WIDTH:
        method = "Navier-Stokes"
        note += (
            f"\n\nA fill at most {THIN_FILL_WIDTH} px across is thin: on such strokes and on text, OpenCV's "
            "Navier-Stokes measured better than this model."
        )
    else:
        return note, comparison
    classic = opencv_fill(background, mask, method)
    if classic is not None:
        score = psnr(classic, background, mask=mask)
        label = f"OpenCV {method}, for comparison: {score:.2f} dB in the region"
        comparison = gr.Image(value=classic, visible=True, label=label)
        note += f" OpenCV's {method} is shown beside it ({score:.2f} dB)."
    return note, comparison


def recover(models, session, progress=gr.Progress()):
    """The exact inverse of the last result (float64 flow 2): the input back, and how close it is."""
    if session.result is None and session.unchanged:
        return None, None, NOTHING_TO_INVERT.format(task=session.unchanged)
    if session.result is None:
        raise gr.Error("Restore an image first.")
    model = models[session.model or session.task].model
    if type(model).inverse is RestorationModel.inverse:  # a DnCNN or FFDNet baseline in a tab: its input is lost
        raise gr.Error(
            f"The {session.task} tab serves a {type(model).__name__} model, which is not invertible: its input cannot "
            "be recovered from its output (the paper's point). Only IRAE models have an exact inverse."
        )
    x, level = session.result
    if x.shape[-2] * x.shape[-1] > RECOVER_MAX_PIXELS:
        raise gr.Error(
            f"The exact inverse runs partly in float64 and is slow: it is offered up to {RECOVER_MAX_PIXELS / 1e6:g} "
            f"megapixels here ({x.shape[-1]}×{x.shape[-2]} is larger); use recover_input in Python for big images."
        )
    megapixels = x.shape[-2] * x.shape[-1] / 1e6
    seconds = TIMES.estimate(("recover",), megapixels)  # measured by this server's earlier inverses
    guess = f"about {seconds:.0f} s" if seconds is not None else "no estimate yet (first run)"
    progress(0, desc=f"exact forward and inverse of {x.shape[-1]}×{x.shape[-2]}: {guess}")
    with serving.LANES.inverse_slot():
        t0 = time.perf_counter()
        exact = restore(model, x[None], **level, return_float=True)  # float64: the inverse is exact
        progress(0.5, desc=f"exact inverse: {guess}")
        recovered = recover_input(model, exact)[0]
        seconds = time.perf_counter() - t0
    TIMES.record(("recover",), megapixels, seconds)
    diff = (recovered.float().cpu() - session.model_input).abs().max().item() * 255
    text = (
        f"Ran the exact inverse of the {session.task} model on its float output for the last {session.task} result "
        f"({x.shape[-1]}×{x.shape[-2]}) in {seconds:.0f} s: the recovered "
        f"input differs from the input the model saw by at most **{diff:.2e}** (in 0–255 pixel units). Flow 2 runs "
        "in float64 because, trained, it magnifies float32 rounding up to 10 million times (far beyond a pixel)."
    )
    return to_uint8(recovered), to_uint8(session.model_input), text


def new_photo(session: Session, with_comparison: bool = False) -> tuple:
    """A new upload clears what belonged to the previous photo: its result, note and download (and OpenCV's fill
    beside it), and the inverse's panel, whose Recover would have inverted the old result."""
    session.result = session.task = session.unchanged = None
    cleared = (None, "", None) + ((gr.Image(value=None, visible=False),) if with_comparison else ())
    return (*cleared, None, None, "", session)


def new_result(session: Session) -> tuple:
    """Clear the inverse's panel when a new result arrives: what it showed belonged to the previous one."""
    if session.result is None:
        return None, None, NOTHING_TO_INVERT.format(task=session.unchanged) if session.unchanged else ""
    x = session.result[0]
    if x.shape[-2] * x.shape[-1] > RECOVER_MAX_PIXELS:  # say the limit, not an invitation the button then refuses
        return (
            None,
            None,
            (
                f"New {session.task} result ({x.shape[-1]}×{x.shape[-2]}): the exact inverse is offered here up to "
                f"{RECOVER_MAX_PIXELS / 1e6:g} megapixel; `recover_input` in Python runs it on any size."
            ),
        )
    seconds = TIMES.estimate(("recover",), x.shape[-2] * x.shape[-1] / 1e6)
    guess = f", about {seconds:.0f} s" if seconds is not None else ""
    return (
        None,
        None,
        f"New {session.task} result ({x.shape[-1]}×{x.shape[-2]}): press Recover to run its exact inverse{guess}.",
    )


def make_handlers(models: dict[str, Loaded]) -> dict[str, Any]:
    """The event functions, bound to the loaded models: each tab's task by its name (a numeric level's tab, or a
    painter for a task whose level is a mask) and its degrade button by its API name, then the inverse's."""
    handlers: dict[str, Any] = {"recover": partial(recover, models), "new_result": new_result, "new_photo": new_photo}
    for task in app_tasks(models):
        spec = TASKS[task]
        if spec.level_range is None:
            handlers[task] = partial(inpaint, task, models)
            continue
        handlers[task] = api_named(partial(restore_at_level, task, models), level=spec.keyword)
        if spec.app.degrade_api:
            handlers[spec.app.degrade_api] = api_named(partial(degrade_here, task), amount=spec.keyword)
    return handlers


def api_named(fn: Callable, **names: str) -> Callable:
    """``fn`` with parameters renamed as ``names`` says (old=new): gradio_client's keywords are a handler's parameter
    names, so /denoise takes ``sigma=`` and /jpeg ``quality=``, the task's own word, from one generic handler."""
    signature = inspect.signature(fn)
    back = {new: old for old, new in names.items()}

    def named(*args: Any, **kwargs: Any) -> Any:
        return fn(*args, **{back.get(k, k): v for k, v in kwargs.items()})

    named.__signature__ = signature.replace(
        parameters=[p.replace(name=names.get(p.name, p.name)) for p in signature.parameters.values()]
    )
    return named


def app_tasks(models: dict[str, Any]) -> list[str]:
    """The tasks the app has a tab for: those the task table shows in the app and a model is loaded for."""
    return [name for name, task in TASKS.items() if task.app is not None and name in models]
