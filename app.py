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
from pathlib import Path
from typing import Any

import gradio as gr

from irae_hf.demo import serving
from irae_hf.demo.handlers import add_noise, compress, make_handlers
from irae_hf.demo.inpainting import (
    BRUSH_DEFAULT_RADIUS,
    LARGE_FILL_WIDTH,
    brush_of_width,
    painted_size,
    photo_for_painting,
)
from irae_hf.demo.models import ENV_VARS, Loaded, about_models, load_models
from irae_hf.demo.session import Session
from irae_hf.demo.uploads import checked_number, checked_uploads, said_on_upload
from irae_hf.tasks import TASK_NAMES

ROOT = Path(__file__).resolve().parent
EXAMPLES = sorted(str(p) for p in (ROOT / "examples").glob("*.png"))


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
        session = gr.State(Session())
        with gr.Row():
            ensemble = gr.Checkbox(
                False,
                label="Self-ensemble: average over the 8 flips and rotations (a little better, 8× slower). The "
                "exact inverse below belongs to the plain map, which it reruns.",
            )
            fast = gr.Checkbox(
                False,
                label="Faster: bf16 networks (faster on CPUs with AVX512-BF16, a few "
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
                        "Best on strokes and regions from about 6 to 24 px across (blemishes, power lines, small "
                        "objects), where it measured 0.2–1.3 dB above OpenCV. Hair-thin scratches and text come out "
                        f"better with OpenCV's Navier-Stokes, and regions over {LARGE_FILL_WIDTH} px across smooth (it "
                        "fills from the surroundings; it does not invent objects): for both, OpenCV is shown beside."
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
    p.add_argument("--host", help="bind address (default $GRADIO_SERVER_NAME, as a Space sets it, else 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default $GRADIO_SERVER_PORT, else 7860)")
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


def address(args: argparse.Namespace, environ: dict | None = None) -> tuple[str, int]:
    """Where to listen: --host / --port, else Gradio's GRADIO_SERVER_NAME / GRADIO_SERVER_PORT (a Hugging Face Space
    sets 0.0.0.0:7860), else 127.0.0.1:7860, loopback only."""
    environ = os.environ if environ is None else environ
    host = args.host or environ.get("GRADIO_SERVER_NAME") or "127.0.0.1"
    port = args.port or environ.get("GRADIO_SERVER_PORT") or 7860
    try:
        return host, int(port)
    except ValueError:
        raise SystemExit(f"error: GRADIO_SERVER_PORT must be a port number, got {port!r}") from None


def main(argv: list[str] | None = None, **launch_kwargs: Any) -> gr.Blocks:
    """Load the weights, build the page and serve it (``prevent_thread_lock=True`` returns at once)."""
    args = parse_args(argv)
    models = load_models({t: getattr(args, t) for t in TASK_NAMES}, args.device, ROOT / "pretrained")
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
        **launch_kwargs,
    )
    return demo


if __name__ == "__main__":
    main()
