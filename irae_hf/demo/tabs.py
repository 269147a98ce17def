"""The demo's tabs, each built from its task's ``AppTab`` (``TASKS[name].app``): a task with a numeric level gets a
level tab (Denoise, JPEG), one whose level is a mask a painter (Inpaint). Every builder lays out its components and
returns a function that wires its events once the page's shared parts (options, the inverse panel) exist."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import gradio as gr

from ..tasks import TASKS
from .inpainting import BRUSH_DEFAULT_RADIUS, LARGE_FILL_WIDTH, brush_of_width, painted_size, photo_for_painting
from .uploads import CHECKED, checked_number, checked_uploads, emptied, left_unmarked, said_on_upload

__all__ = ["Shared", "task_tab", "level_tab", "inpaint_tab", "image_input", "result_column"]


@dataclass
class Shared:
    """The page's parts every tab uses: the handlers, the options, the session and the inverse panel's outputs."""

    handlers: dict[str, Any]
    ensemble: gr.Checkbox
    fast: gr.Checkbox
    session: gr.State
    recover_outputs: list = None


def image_input(task: str) -> gr.Image:
    """The tab's image box (``#TASK-image`` on the page)."""
    image = gr.Image(
        type="numpy",
        image_mode="RGB",
        format="png",
        label="Image",
        sources=["upload", "clipboard"],
        elem_id=f"{task}-image",
        elem_classes=[CHECKED],  # uploads checked, also after Gradio rebuilds the box (an example's click)
    )
    return checked_uploads(image)


def result_column() -> tuple[gr.ImageSlider, gr.Markdown, gr.File]:
    """Before/after slider (PNG, not Gradio's default webp), the PSNR note and the full-resolution download."""
    with gr.Column():
        return (
            gr.ImageSlider(  # its own download would save "image.png": the named PNG below is the download
                type="numpy", format="png", label="before / after", interactive=False, buttons=["fullscreen"]
            ),
            gr.Markdown(),
            gr.File(label="Full-resolution PNG"),
        )


def task_tab(task: str, examples: list[str]) -> Callable[[Shared], None]:
    """The tab of ``task``: a level tab for a numeric level, a painter for a mask."""
    return level_tab(task, examples) if TASKS[task].level_range is not None else inpaint_tab(task, examples)


def level_tab(task: str, examples: list[str]) -> Callable[[Shared], None]:
    """Lay out one level tab from its task's ``AppTab``; returns its wiring."""
    spec = TASKS[task].app
    low, high, default = spec.slider
    whole = TASKS[task].level_type is int
    with gr.Tab(spec.title):
        with gr.Row():
            with gr.Column():
                image = image_input(task)
                amount = checked_number(
                    gr.Slider(low, high, default, step=1, label=spec.degrade_label), spec.level_name, whole=whole
                )
                degrade = gr.Button(spec.degrade_button)
                auto = gr.Checkbox(True, label=spec.auto_label)
                level = checked_number(
                    gr.Slider(low, high, default, step=1, label=spec.level_label), spec.level_name, whole=whole
                )
                chosen = (
                    [gr.Radio(list(spec.choices), value=spec.choices[0][1], label=spec.choice_label)]
                    if spec.choices
                    else []
                )
                button = gr.Button(spec.button, variant="primary")
            outputs = result_column()
        gr.Examples(examples, inputs=image)

    def wire(shared: Shared) -> None:
        # a file that is not a usable image is said when it arrives, and the box is emptied for the next one
        image.upload(
            said_on_upload, [image], None, api_name=False, show_progress="hidden", concurrency_limit=None
        ).failure(emptied, None, [image], api_name=False, show_progress="hidden")
        clear = [*outputs, *shared.recover_outputs, shared.session]  # a new photo: nothing of the old one stays
        image.upload(shared.handlers["new_photo"], [shared.session], clear, api_name=False, show_progress="hidden")
        degraded = degrade.click(
            shared.handlers[spec.degrade_api], [image, amount, shared.session], [image, shared.session],
            api_name=spec.degrade_api,
        )  # fmt: skip
        left_unmarked(degraded, [image, shared.session])
        restored = button.click(
            shared.handlers[task],
            [image, level, shared.ensemble, auto, shared.fast, shared.session, *chosen],
            [*outputs, shared.session],
            api_name=task,
            concurrency_limit=None,  # restorations wait in LANES, where big photos cannot hold up small ones
        )
        restored.success(shared.handlers["new_result"], [shared.session], shared.recover_outputs, api_name=False)
        left_unmarked(restored, [*outputs, shared.session])  # no image, say: its words, and no output marked

    return wire


INPAINT_ADVICE = (
    "Best on strokes and regions from about 10 to 24 px across (power lines, small objects), where it measured "
    "0.8–1.8 dB above OpenCV. Thinner strokes (up to about 8 px) and text come out better with OpenCV's Navier-Stokes, "
    f"and regions over {LARGE_FILL_WIDTH} px across smooth (it fills from the surroundings; it does not invent "
    "objects): for both, OpenCV is shown beside."
)


def inpaint_tab(task: str, examples: list[str]) -> Callable[[Shared], None]:
    """Lay out a painter tab (upload button, painter, brush width, advice) for a task whose level is a mask; returns
    its wiring."""
    spec = TASKS[task].app
    with gr.Tab(spec.title):
        with gr.Row():
            with gr.Column():
                upload = gr.UploadButton("Upload a photo", file_types=["image"], type="filepath")
                editor = gr.ImageEditor(
                    type="numpy",
                    image_mode="RGBA",
                    format="png",
                    label="Paint the region to fill",
                    elem_id=f"{task}-editor",
                    elem_classes=[CHECKED],
                    brush=gr.Brush(colors=["#ff00ff"], color_mode="fixed", default_size=BRUSH_DEFAULT_RADIUS),
                    sources=["clipboard"],  # uploads come through the button above, which keeps the file's name
                    layers=False,
                    transforms=(),
                )
                checked_uploads(editor)
                painted = gr.Markdown()
                brush = gr.Slider(
                    2, 120, 2 * BRUSH_DEFAULT_RADIUS, step=2, label="Brush width (px across; set for each photo)"
                )
                gr.Markdown(INPAINT_ADVICE)
                button = gr.Button(spec.button, variant="primary")
            with gr.Column():
                outputs = result_column()
                opencv = gr.Image(type="numpy", format="png", interactive=False, visible=False)
        gr.Examples(examples, inputs=editor)

    def wire(shared: Shared) -> None:
        editor.change(
            painted_size, [editor], [painted], api_name=False, show_progress="hidden", trigger_mode="always_last"
        )
        clear = [*outputs, opencv, *shared.recover_outputs, shared.session]  # a new photo: nothing of the old one stays
        new_photo = partial(shared.handlers["new_photo"], with_comparison=True)
        into_editor = [editor, brush, painted, shared.session]
        uploaded = upload.upload(photo_for_painting, [upload, shared.session], into_editor, api_name=False)
        uploaded.success(new_photo, [shared.session], clear, api_name=False, show_progress="hidden")
        left_unmarked(uploaded, into_editor)  # a bad file: said in words; the editor keeps what it had, unmarked
        brush.release(brush_of_width, [brush], [editor], api_name=False, show_progress="hidden")
        filled = button.click(
            shared.handlers[task],
            [editor, shared.ensemble, shared.fast, shared.session],
            [*outputs, opencv, shared.session],
            api_name=task,
            concurrency_limit=None,
        )
        filled.success(shared.handlers["new_result"], [shared.session], shared.recover_outputs, api_name=False)
        left_unmarked(filled, [*outputs, opencv, shared.session])

    return wire
