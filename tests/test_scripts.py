"""scripts/: train the shipped weights (CPU), continue them with a time budget (the GPU script, here on the CPU),
and export them with their model cards — each on a tiny model and a handful of small images."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from irae_hf import IRAE

ROOT = Path(__file__).resolve().parents[1]
TINY = "--width 8 --depth 2 --report_to none"


def run(script: str, *tasks: str, **env: str) -> None:
    full = {**os.environ, "PYTHON": sys.executable, "ACCELERATE_USE_CPU": "1", "CREDITS_FROM": "", **env}
    subprocess.run(["bash", str(ROOT / "scripts" / script), *tasks], cwd=ROOT, env=full, check=True, timeout=600)


def photos(images: Path, root: Path) -> Path:
    """The training images plus images named like the three held-out validation photos."""
    data = root / "photos"
    data.mkdir()
    for f in (images / "train").iterdir():
        shutil.copy(f, data / f.name)
    for f, name in zip(sorted((images / "val").iterdir()) * 2, ["Wood.png", "Storm.png", "citrus-fruits.png"]):
        shutil.copy(f, data / name)
    return data


@pytest.mark.train
def test_train_export_and_continue_with_a_time_budget(images, tmp_path):
    data, work, ship = photos(images, tmp_path), tmp_path / "runs", tmp_path / "shipped"
    common = {"DATA": str(data), "CROP": "32", "BATCH": "2"}
    run("train_pretrained.sh", "denoise", "inpaint", **common, WORK=str(work), STEPS="2", EXTRA=TINY)
    assert sorted(p.name for p in (work / "photos_val").iterdir()) == ["Storm.png", "Wood.png", "citrus-fruits.png"]
    for task in ("denoise", "inpaint"):
        state = json.loads((work / task / "checkpoints" / "checkpoint-2" / "trainer_state.json").read_text())
        assert state["step"] == 2 and state["history"][-1]["step"] == 2, (work / f"{task}.log").read_text()

    extra = tmp_path / "extra" / "photos" / "src"  # a manifest with one photo asking for attribution
    extra.mkdir(parents=True)
    (extra / "manifest.csv").write_text("file,licence,credit\na.png,CC-BY-SA 4.0,Jane Doe\nb.png,CC0-1.0,Nobody\n")
    run(
        "export_pretrained.sh", "denoise", **common, WORK=str(work), STEPS="2", EVAL="", DEST=str(ship), EXTRA=TINY,
        CREDITS_FROM=str(tmp_path / "extra"),
    )  # fmt: skip
    assert IRAE.from_pretrained(ship / "denoise").task == "denoise"
    card = (ship / "denoise" / "README.md").read_text()
    assert "for 2 steps of batch 2" in card and "- `src/a.png`: Jane Doe — CC-BY-SA 4.0" in card
    assert "Martin" in card and "b.png" not in card and "CC0-1.0 (1)" in card

    gpu = tmp_path / "runs-gpu"  # the GPU script, run on the CPU: throughput table, then 3 tasks at once
    for task in ("jpeg", "inpaint"):
        IRAE(task=task, width=8, depth=2, scales=2).save_pretrained(ship / task)
    run(
        "train_gpu.sh",
        **common,
        WORK=str(gpu),
        INIT=str(ship),
        TASKS="denoise jpeg inpaint",
        MINUTES="0.01",
        WORKERS="1",
        DEVICE="cpu",
        TP_STEPS="1",
        TP_CONFIGS="irae:8:2:2:16:2 dncnn:8:3:0:16:2",
        EXTRA="--report_to none",
    )
    rows = json.loads((gpu / "throughput.json").read_text())
    assert [r["config"] for r in rows] == ["irae:8:2:2:16:2", "dncnn:8:3:0:16:2"] and rows[0]["device"] == "cpu"
    for task in ("denoise", "jpeg", "inpaint"):
        state = json.loads((gpu / task / "trainer_state.json").read_text())  # left beside the weights for export
        card = (gpu / task / "README.md").read_text()
        assert state["history"] and f"Initialised from `{ship / task}`" in card and "minutes at most" in card
    assert "strokes sized for 512-pixel images" in (gpu / "inpaint" / "README.md").read_text()
    run(
        "export_pretrained.sh",
        "jpeg",
        **common,
        WORK=str(gpu),
        EVAL="",
        DEST=str(ship),
        INIT=str(ship),
        STAGE="Stage 1: elsewhere",
        EXTRA="--width 8 --depth 2 --max_minutes 0.01",
    )
    card = (ship / "jpeg" / "README.md").read_text()
    assert "Stage 1: elsewhere" in card and "minutes at most" in card and not (ship / ".tmp-jpeg").exists()
    scratch = tmp_path / "scratch"  # INIT= (empty): a new architecture from scratch, e.g. the 3-level study's lead
    run("train_gpu.sh", **common, WORK=str(scratch), INIT="", TASKS="jpeg", MINUTES="0.01", WORKERS="0", DEVICE="cpu",
        TP_STEPS="0", EXTRA="--report_to none --scales 3")  # fmt: skip
    config = json.loads((scratch / "jpeg" / "config.json").read_text())
    assert config["scales"] == 3 and "Initialised from" not in (scratch / "jpeg" / "README.md").read_text()


def test_compact_data_keeps_names_shrinks_photos_and_copies_cbsd432(tmp_path):
    """scripts/compact_data.py: the pool small enough to travel to a GPU machine, laid out as scripts/photos.sh reads
    it."""
    from PIL import Image

    root = tmp_path / "train-extra"
    (root / "cbsd432").mkdir(parents=True)
    (root / "photos" / "kde").mkdir(parents=True)
    (root / "LICENSES").mkdir()
    Image.new("RGB", (48, 32), (10, 20, 30)).save(root / "cbsd432" / "bsds1.jpg", quality=75)
    Image.new("RGBA", (900, 300), (200, 100, 50, 255)).save(root / "photos" / "kde" / "big.png")
    Image.new("RGB", (100, 800), (1, 2, 3)).save(root / "photos" / "kde" / "held.png")
    Image.new("RGB", (8, 8)).save(root / "LICENSES" / "logo.png")
    out = tmp_path / "compact"
    cmd = [sys.executable, str(ROOT / "scripts" / "compact_data.py"), str(root), "--out", str(out), "--side", "200"]
    printed = subprocess.run(
        [*cmd, "--val", "photos__kde__held.png"], check=True, capture_output=True, text=True
    ).stdout
    assert printed.startswith("3 images")
    got = out / "train-extra"
    assert (got / "cbsd432" / "bsds1.jpg").read_bytes() == (root / "cbsd432" / "bsds1.jpg").read_bytes()
    with Image.open(got / "photos" / "kde" / "big.jpg") as im:
        assert (im.format, im.mode, im.size) == ("JPEG", "RGB", (200, 67))
    with Image.open(got / "photos" / "kde" / "held.png") as im:  # held out: same name, still PNG
        assert (im.format, im.size) == ("PNG", (25, 200))
    assert not (got / "LICENSES").exists()


def test_the_apps_examples_are_made_again_byte_for_byte_and_credited(tmp_path):
    """scripts/make_examples.py, from stand-ins named like the licensed photos (the real ones live outside the
    repository): seeded, so a second run writes the same bytes; every file written has its credit row."""
    import numpy as np
    from PIL import Image

    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import make_examples
    finally:
        sys.path.pop(0)
    rng = np.random.default_rng(0)
    for _, source, *_ in make_examples.EXAMPLES:
        Image.fromarray(rng.integers(0, 256, (300, 400, 3), np.uint8)).save(tmp_path / f"{source}.png")
    runs = [tmp_path / "a", tmp_path / "b"]
    for out in runs:
        make_examples.main(["--data", str(tmp_path), "--out", str(out)])
    written = sorted(p.relative_to(runs[0]).as_posix() for p in runs[0].rglob("*.*") if p.name != "LICENSES.md")
    assert written == sorted(name for name, *_ in make_examples.EXAMPLES)
    assert all((runs[0] / n).read_bytes() == (runs[1] / n).read_bytes() for n in written)
    credits = (runs[0] / "LICENSES.md").read_text()
    assert all(f"| {name} | 16.04/{source}.jpg" in credits for name, source, *_ in make_examples.EXAMPLES)
    assert max(Image.open(runs[0] / written[0]).size) == make_examples.LONG_SIDE
