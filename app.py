"""Gradio demo: denoising, JPEG cleanup and inpainting with IRAE — and the exact inverse ("nothing is lost").

    python app.py [--denoise-model PATH_OR_HUB_ID] [--denoise-real-model ...] [--jpeg-model ...] [--inpaint-model ...]
                  [--device cpu] [--host 127.0.0.1] [--port 7860] [--share]

Weights default to the folders shipped in ``pretrained/`` (also settable with IRAE_DENOISE_MODEL,
IRAE_DENOISE_REAL_MODEL, IRAE_JPEG_MODEL, IRAE_INPAINT_MODEL) and load with ``IRAE.from_pretrained``, so
``HF_HUB_OFFLINE=1`` works. The Denoise tab runs the Gaussian denoiser on noise added in the app and the camera and
phone one on photos brought to it, unless told which. Named API endpoints for ``gradio_client``: /denoise, /jpeg,
/inpaint, /recover (plus /add_noise
and /compress to degrade a clean image first).
"""

# ruff: noqa: E402 - the environment is checked before Gradio's import reads it
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from irae_hf.demo.options import address, check_environment, parse_args

check_environment()  # GRADIO_SERVER_PORT=abc would otherwise be a traceback inside `import gradio`

import gradio as gr
import numpy as np

from irae_hf.demo import serving
from irae_hf.demo.handlers import app_tasks, make_handlers
from irae_hf.demo.models import MODELS, Loaded, about_models, load_models
from irae_hf.demo.session import Session
from irae_hf.demo.tabs import Shared, task_tab
from irae_hf.demo.uploads import left_unmarked
from irae_hf.models.fused import bf16_pays
from irae_hf.tasks import TASKS

ROOT = Path(__file__).resolve().parent
CLEAN_EXAMPLES = sorted(str(p) for p in (ROOT / "examples").glob("*.png"))  # to try "Add noise" and "Compress"


def examples_for(task: str) -> list[str]:
    """A tab's examples: photos already degraded as users bring them (examples/TASK/, credits in LICENSES.md), then
    clean ones to degrade in the app (or, in Inpaint, to paint anything over)."""
    return [str(p) for p in sorted((ROOT / "examples" / task).glob("*.*"))] + CLEAN_EXAMPLES


def example_names(examples: list[str]) -> dict[str, str]:
    """The inpainting examples' file names by their pixels' digest, for their downloads' names."""
    from PIL import Image

    from irae_hf.demo.uploads import digest

    return {digest(np.asarray(Image.open(p).convert("RGB"))): Path(p).name for p in examples}


def build_demo(models: dict[str, Loaded]) -> gr.Blocks:
    """The page: how to use it, the models, the options, one tab per task, and the exact inverse."""
    with gr.Blocks(title="IRAE — invertible image restoration", delete_cache=(3600, 3600)) as demo:
        gr.Markdown(
            "# IRAE — restore a photo, and get the original back exactly\n"
            "1. Pick a tab — **Denoise** (grainy, noisy photos), **JPEG** (blocky, over-compressed ones) or "
            "**Inpaint** (blemishes, power lines, small objects) — and upload a photo or click an example.\n"
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
        tasks = app_tasks(models)  # a tab for each task with a model and words for the app (TASKS[task].app)
        examples = {task: examples_for(task) for task in tasks}
        painted = [path for task in tasks if TASKS[task].level_range is None for path in examples[task]]
        session = Session(known_names=example_names(painted))
        shared = Shared(make_handlers(models), *_options(bf16_pays_here(models)), gr.State(session))
        wiring = [task_tab(task, examples[task]) for task in tasks]
        recover = _inverse_panel(shared)
        for wire in wiring:
            wire(shared)
        recover()
    return demo


def bf16_pays_here(models: dict[str, Loaded]) -> bool:
    """Whether bf16 makes every model of this server faster (on a CPU without bf16 hardware it is 2–12× slower)."""
    return all(bf16_pays(next(m.model.parameters()).device) for m in models.values())


def _options(bf16: bool = True) -> tuple[gr.Checkbox, gr.Checkbox]:
    """The self-ensemble and bf16 options every tab uses; bf16 greyed out where it would be slower."""
    with gr.Row():
        ensemble = gr.Checkbox(
            False,
            label="Self-ensemble: average over the 8 flips and rotations (a little better, 8× slower). The "
            "exact inverse below belongs to the plain map, which it reruns.",
        )
        fast = gr.Checkbox(
            False,
            label="Faster: bf16 networks (faster on CPUs with AVX512-BF16, a few "
            "thousandths of a dB lower). The exact inverse reruns the fp32 map."
            if bf16
            else "Faster bf16 networks: not offered here (this server's CPU has no bf16 hardware, where bf16 "
            "is slower than fp32).",
            interactive=bf16,
        )
    return ensemble, fast


def _inverse_panel(shared: Shared):  # noqa: ANN202 - returns its wiring
    """The "nothing lost" panel: its outputs go into ``shared``; returns the wiring of its button."""
    with gr.Accordion("Nothing lost: run the exact inverse on the last result", open=True):
        button = gr.Button("Recover the input from the result")
        with gr.Row():
            recovered = gr.Image(type="numpy", format="png", label="recovered input", interactive=False)
            original = gr.Image(type="numpy", format="png", label="input the model saw", interactive=False)
        note = gr.Markdown()
    shared.recover_outputs = [recovered, original, note]

    def wire() -> None:
        outputs = shared.recover_outputs
        recover = button.click(
            shared.handlers["recover"], [shared.session], outputs, api_name="recover", concurrency_limit=None
        )
        left_unmarked(recover, outputs)

    return wire


def main(argv: list[str] | None = None, **launch_kwargs: Any) -> gr.Blocks:
    """Load the weights, build the page and serve it (``prevent_thread_lock=True`` returns at once)."""
    args = parse_args(argv)
    try:
        models = load_models({name: getattr(args, name) for name in MODELS}, args.device, ROOT / "pretrained")
    except (ValueError, OSError) as e:  # a model of another task, unreadable shipped weights: one line
        raise SystemExit(f"error: {e}") from None
    for task, m in models.items():
        print(f"{task}: {m.source}" + ("" if m.trained else "  (untrained identity model)"))
    demo = build_demo(models)
    # Gradio notices a client has gone when it next writes to it: a heartbeat every 2 s (not 15) stops abandoned
    # work within a tile or two
    os.environ.setdefault("GRADIO_HEARTBEAT_INTERVAL", "2")
    serving.LANES = serving.Lanes(small=args.concurrency)  # the restorations wait in these lanes
    demo.queue(max_size=args.queue_size, default_concurrency_limit=args.concurrency)
    serving.hide_gradio_eta(demo)
    host, port = address(args)
    demo.launch(
        server_name=host,
        server_port=port,
        share=args.share,
        max_file_size=args.max_file_size,
        **{"show_error": True, **launch_kwargs},  # Gradio's own refusals (a path not uploaded) in words, not null
    )
    return demo


if __name__ == "__main__":
    main()
