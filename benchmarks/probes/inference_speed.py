"""Inference speed of each execution variant, side by side in one run: MP/s, achieved GFLOP/s, and the PSNR change.

    python benchmarks/probes/inference_speed.py --model pretrained/denoise --images ../shared/data/cbsd68 \
        [--threads 2] [--sizes 768x512 2048x1536] [--compile] [--json benchmarks/results/inference-speed.json]

Every variant runs the same canvases (random pixels: speed does not depend on content) whole and in restore's
tiles (512 px, 64 px overlap), timed after a warm-up. FLOPs are counted (``torch.utils.flop_counter`` on a 256×256
input, per pixel, times the pixels each run covers, tile overlaps included), not assumed. The plain 64→64 3×3
convolution on 64×256×384 is timed in the same run (fp32 contiguous, fp32 channels-last, bf16 channels-last), so
the ratio "model rate / convolution rate" holds on any machine. PSNR: σ 25 noise on the first --psnr_images
images (seeded), each variant's restoration against the clean image, minus the fp32 eager PSNR (dB; RGB, [0, 255],
no border cropping). restore runs ``model.for_inference(precision)`` (folded, fused). "through restore" is
``restore(model, PIL image)`` end to end (conversion, padding, level), with ``precision=`` and ``backend=``
(onnxruntime: its graph exported once, before the timed runs).
The bf16 variants run bf16 even on CPUs without bf16 hardware (what it would cost there); ``restore`` runs fp32 there.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from unittest import mock

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.flop_counter import FlopCounterMode

import irae_hf.models.fused as irae_inference
from irae_hf import IRAE
from irae_hf.io.images import to_uint8
from irae_hf.models.fused import cpu_has_fast_bf16
from irae_hf.pipeline.evaluate import load_folder
from irae_hf.pipeline.restore import restore
from irae_hf.pipeline.runtime import channels_last as _channels_last
from irae_hf.pipeline.tiling import DEFAULT_OVERLAP, DEFAULT_TILE, pad, tiled, tiled_pixels
from irae_hf.tasks import condition
from irae_hf.tasks.degradations import add_gaussian_noise
from irae_hf.tasks.metrics import psnr

Fn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def timed(fn: Callable[[], object], repeat: int) -> float:
    """Best of ``repeat`` wall times (seconds), after one warm-up call."""
    with torch.inference_mode():
        fn()
        best = float("inf")
        for _ in range(repeat):
            t0 = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - t0)
    return best


def flops_per_pixel(model: IRAE) -> float:
    x = torch.rand(1, 3, 256, 256)
    cond = condition(model.task, x, sigma=25.0)
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        model(x, cond)
    return counter.get_total_flops() / (256 * 256)


def plain_conv_rates() -> dict[str, float]:
    """GFLOP/s of a 64→64 3×3 convolution on 1×64×256×384: fp32 contiguous, fp32 channels-last, bf16 channels-last."""
    x, w = torch.rand(1, 64, 256, 384), torch.rand(64, 64, 3, 3)
    flops = 2 * 64 * 64 * 9 * 256 * 384
    cl = x.contiguous(memory_format=torch.channels_last)
    cases = {"fp32": (x, w), "fp32 channels_last": (cl, w), "bf16 channels_last": (cl.bfloat16(), w.bfloat16())}
    return {k: flops / timed(lambda a=a, b=b: F.conv2d(a, b, padding=1), 5) / 1e9 for k, (a, b) in cases.items()}


def onnx_fn(model: IRAE, folder: Path, threads: int) -> Fn:
    import onnxruntime as ort

    from irae_hf.pipeline.onnx import export_onnx

    export_onnx(model, folder)
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(str(folder / "restore.onnx"), options, providers=["CPUExecutionProvider"])

    def run(x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        level = (cond[:, 0, 0, 0] * 255.0).numpy().astype(np.float32)
        return torch.from_numpy(session.run(None, {"image": x.numpy(), "level": level})[0])

    return run


def variants(model: IRAE, args: argparse.Namespace, tmp: Path) -> dict[str, Fn]:
    def autocast(fn: Fn) -> Fn:
        def run(x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
            with torch.autocast("cpu", dtype=torch.bfloat16):
                return fn(x, cond).float()

        return run

    out: dict[str, Fn] = {
        "fp32 eager": model.forward,
        "fp32 channels_last": _channels_last(model.forward),
        "fp32 channels_last + folded actnorm": _channels_last(model.folded().forward),
        "fp32 folded + fused conv+ReLU (restore's default)": _channels_last(model.for_inference().forward),
        "bf16 autocast, all convolutions": autocast(_channels_last(model.forward)),
    }
    with mock.patch.object(irae_inference, "cpu_has_fast_bf16", lambda: True):  # bf16 even where the CPU emulates it
        out["bf16 coupling nets"] = _channels_last(model.in_precision("bf16").forward)
        out["bf16 coupling nets, folded + fused (precision='bf16')"] = _channels_last(
            model.for_inference("bf16").forward
        )
    if args.compile:
        compiled = torch.compile(model.forward, dynamic=True)
        t0 = time.perf_counter()
        with torch.inference_mode():
            compiled(torch.rand(1, 3, 64, 64), torch.full((1, 1, 64, 64), 0.1))
        print(f"torch.compile: {time.perf_counter() - t0:.0f} s to compile")
        out["fp32 torch.compile"] = _channels_last(compiled)
    if not args.no_onnx:
        out["onnxruntime fp32"] = onnx_fn(model, tmp / "onnx", args.threads)
    return out


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="pretrained/denoise", help="a denoising IRAE folder")
    p.add_argument("--images", default=None, help="clean images for the PSNR column (e.g. ../shared/data/cbsd68)")
    p.add_argument("--psnr_images", type=int, default=3)
    p.add_argument("--sizes", nargs="+", default=["768x512", "2048x1536"])
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--compile", action="store_true", help="also torch.compile (minutes to compile)")
    p.add_argument("--no_onnx", action="store_true")
    p.add_argument("--json", default=None)
    return p.parse_args()


def psnr_changes(model: IRAE, fns: dict, clean: list) -> dict[str, list[float]]:
    """Each variant's PSNR minus fp32 eager's, per clean image at σ 25."""
    deltas: dict[str, list[float]] = {name: [] for name in fns}
    for i, image in enumerate(clean):
        noisy = pad(add_gaussian_noise(image, 25.0, seed=i)[None], model.multiple)
        cond = condition(model.task, noisy, sigma=25.0)
        h, w = image.shape[-2:]
        with torch.inference_mode():
            scores = {n: psnr(fn(noisy, cond)[0, :, :h, :w].clamp(0, 1), image) for n, fn in fns.items()}
        for name, score in scores.items():
            deltas[name].append(score - scores["fp32 eager"])
    return deltas


def size_rows(model: IRAE, fns: dict, args: argparse.Namespace, per_pixel: float, deltas: dict) -> list[dict]:
    """Each variant's time at each size, whole and tiled."""
    rows = []
    for size in args.sizes:
        width, height = (int(v) for v in size.split("x"))
        x = pad(torch.rand(1, 3, height, width), model.multiple)
        cond = condition(model.task, x, sigma=25.0)
        for tile in (None, DEFAULT_TILE):
            pixels = tiled_pixels(*x.shape[-2:], tile, DEFAULT_OVERLAP, model.multiple)
            repeat = args.repeat if width * height <= 1_000_000 else 1
            for name, fn in fns.items():
                seconds = timed(lambda fn=fn: tiled(fn, x, cond, tile, DEFAULT_OVERLAP, model.multiple), repeat)
                rows.append(
                    {
                        "size": size,
                        "tiled": tile is not None,
                        "variant": name,
                        "seconds": seconds,
                        "mp_per_s": width * height / seconds / 1e6,
                        "gflops": per_pixel * pixels / seconds / 1e9,
                        "psnr_change": float(np.mean(deltas[name])) if deltas[name] else None,
                    }
                )
                print(f"  {size} {'tiled' if tile else 'whole'} {name}: {seconds:.2f} s", flush=True)
    return rows


def restore_rows(model: IRAE, args: argparse.Namespace, per_pixel: float) -> list[dict]:
    """``restore`` itself on a 768×512 photo at each precision and backend."""
    rows = []
    photo = Image.fromarray(to_uint8(torch.rand(3, 512, 768)))
    for precision, backend in (("fp32", "torch"), ("bf16", "torch"), ("fp32", "onnxruntime")):
        if backend == "onnxruntime" and args.no_onnx:
            continue
        kw = {"precision": precision, "backend": backend}
        seconds = timed(lambda kw=kw: restore(model, photo, sigma=25, **kw), 2)
        variant = f"through restore, {precision}, backend={backend}"
        if precision == "bf16" and not cpu_has_fast_bf16():
            variant += " (runs fp32: no bf16 hardware)"
        row = {"size": "768x512", "tiled": False, "variant": variant}
        row.update({"seconds": seconds, "mp_per_s": 0.393216 / seconds, "gflops": per_pixel * 393216 / seconds / 1e9})
        row["psnr_change"] = None
        rows.append(row)
    return rows


def print_table(out: dict, conv: dict, per_pixel: float) -> None:
    reference = conv["fp32 channels_last"]
    print(f"\n| size | run | variant | s | MP/s | GFLOP/s | ÷ fp32 conv rate | PSNR change (dB) |\n|{'---|' * 8}")
    for r in out["rows"]:
        change = "" if r["psnr_change"] is None else f"{r['psnr_change']:+.4f}"
        print(
            f"| {r['size']} | {'tiled' if r['tiled'] else 'whole'} | {r['variant']} | {r['seconds']:.2f} | "
            f"{r['mp_per_s']:.3f} | {r['gflops']:.0f} | {r['gflops'] / reference:.2f} | {change} |"
        )
    print(
        f"\nfp32 conv rate as MP/s of this model: {reference * 1e9 / per_pixel / 1e6:.3f}; "
        f"bf16: {conv['bf16 channels_last'] * 1e9 / per_pixel / 1e6:.3f}"
    )


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = IRAE.from_pretrained(args.model).eval()
    per_pixel = flops_per_pixel(model)
    conv = plain_conv_rates()
    out = {"threads": args.threads, "flops_per_pixel": per_pixel, "plain_conv_gflops": conv, "rows": []}
    print(f"{args.threads} thread(s); the model: {per_pixel / 1e6:.3f} MFLOP per pixel (counted)")
    print("plain 64→64 3×3 convolution: " + ", ".join(f"{k} {v:.0f} GFLOP/s" for k, v in conv.items()))
    with tempfile.TemporaryDirectory() as tmp:
        fns = variants(model, args, Path(tmp))
        clean = [c for _, c in load_folder(args.images, args.psnr_images)] if args.images else []
        deltas = psnr_changes(model, fns, clean)
        out["rows"] = size_rows(model, fns, args, per_pixel, deltas) + restore_rows(model, args, per_pixel)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    print_table(out, conv, per_pixel)


if __name__ == "__main__":
    main()
