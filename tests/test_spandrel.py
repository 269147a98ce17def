"""irae_hf.spandrel: exported files recognised from their keys, rebuilt from their shapes, loaded strictly, and run
as ``restore`` runs; with the real spandrel in a side environment (requirements-spandrel.txt)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file, save_file

from irae_hf import IRAE, restore
from irae_hf.cli import main
from irae_hf.spandrel import detect, export_spandrel, from_state_dict, hyperparameters
from irae_hf.tasks import TASKS

from .conftest import make_model, perturb, random_image

ROOT = Path(__file__).resolve().parents[1]


def exported(model: IRAE, tmp_path: Path, level=None) -> dict:
    path = export_spandrel(model, tmp_path / f"m-{model.task}-{level}.safetensors", level)
    return load_file(path)


@pytest.mark.parametrize(
    "config",
    [
        {"task": "denoise", "width": 16, "depth": 2, "scales": 2},
        {"task": "jpeg", "width": [8, 12, 16], "depth": 3, "scales": 3},
        {"task": "inpaint", "width": 24, "depth": 1, "scales": 1},
    ],
    ids=["denoise", "jpeg-3-scales-3-widths", "inpaint-1-scale"],
)
def test_every_hyperparameter_comes_back_from_key_names_and_shapes(config, tmp_path):
    model = perturb(IRAE(**config))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    state = exported(model, tmp_path, 25 if config["task"] == "denoise" else None)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # the caller's model untouched
    assert state[f"level.{TASKS[config['task']].keyword}"].dtype == torch.float64
    assert detect(state) and hyperparameters(state) == {"channels": 3, **config}
    rebuilt = from_state_dict(state)
    assert all(torch.equal(a, b) for a, b in zip(rebuilt.irae.state_dict().values(), model.state_dict().values()))


def test_the_file_keeps_its_level_and_runs_as_restore_runs(tmp_path):
    """A fixed level, each image's own estimate (NaN), and inpainting's mask given per call: the wrapper's output is
    restore()'s, to the last 8-bit value."""
    photo = Image.fromarray(random_image(37, 53))
    x = torch.from_numpy(np.asarray(photo, dtype=np.float32) / 255).permute(2, 0, 1)[None]
    mask = np.zeros((37, 53), np.uint8)
    mask[10:20, 5:30] = 255
    cases = [("denoise", 25, {"sigma": 25}), ("denoise", None, {}), ("jpeg", 10, {"quality": 10}), ("jpeg", None, {})]
    for task, level, kw in cases:
        model = perturb(make_model(task))
        wrapped = from_state_dict(exported(model, tmp_path, level))
        assert wrapped.fixed_level == level and ("level." + wrapped.keyword) in wrapped.state_dict()
        got = (wrapped(x)[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
        assert np.array_equal(got, np.asarray(restore(model, photo, **kw))), (task, level)
    inpaint = perturb(make_model("inpaint"))
    wrapped = from_state_dict(exported(inpaint, tmp_path))
    got = wrapped(x, torch.from_numpy(mask > 0).float()[None, None])
    expected = restore(inpaint, photo, mask=Image.fromarray(mask))
    assert np.array_equal((got[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8), np.asarray(expected))


def test_other_state_dicts_are_not_ours_and_a_damaged_file_is_one_line(tmp_path):
    state = exported(make_model("denoise"), tmp_path, 15)
    dncnn = {f"model.{i}.{p}": torch.zeros(1) for i in range(0, 17, 2) for p in ("weight", "bias")}
    compact = {f"body.{i}.weight": torch.zeros(1) for i in range(4)}
    plain = make_model("denoise").state_dict()  # a save_pretrained model: no level, so no task to run
    assert not any(detect(s) for s in (dncnn, compact, plain, {**plain, "level.sigma": torch.tensor(1.0)}))
    for broken in (
        {k: v for k, v in state.items() if not k.endswith("net.4.bias")},  # a tensor missing
        {**state, "irae.flow1.root.steps.layers.0.layers.2.net.0.weight": torch.zeros(3, 3)},  # a shape altered
        {k: v for k, v in state.items() if ".inner." not in k or "flow2" in k},  # a scale cut from flow 1
    ):
        with pytest.raises(ValueError, match="^not a complete IRAE export: ") as e:
            from_state_dict(broken)
        assert "\n" not in str(e.value)


def test_irae_export_writes_one_file_per_model_saying_what_it_does_about_the_level(tmp_path, capsys):
    for task in ("denoise", "jpeg", "inpaint"):
        make_model(task).save_pretrained(tmp_path / task)
    out = tmp_path / "out"
    assert main(["export", "--format", "spandrel", str(tmp_path / "denoise"), str(out), "--sigma", "25"]) == 0
    assert main(["export", "--format", "spandrel", str(tmp_path / "jpeg"), str(out)]) == 0
    assert main(["export", "--format", "spandrel", str(tmp_path / "inpaint"), str(out)]) == 0
    said = capsys.readouterr().out
    assert "denoise at sigma 25 for every image" in said and "jpeg at each image's own estimate" in said
    assert "inpaint at the mask given with each image" in said
    names = sorted(p.name for p in out.iterdir())
    umask = os.umask(0)
    os.umask(umask)
    assert all(p.stat().st_mode & 0o777 == 0o666 & ~umask for p in out.iterdir())  # the usual mode (not 0600)
    assert names == ["irae-denoise-sigma25.safetensors", "irae-inpaint.safetensors", "irae-jpeg-auto.safetensors"]
    assert main(["export", "--format", "spandrel", str(tmp_path / "jpeg"), str(out)]) == 2  # exists: not replaced
    assert main(["export", "--format", "spandrel", str(tmp_path / "jpeg"), str(out), "--sigma", "5"]) == 2
    assert "--sigma is not a level of a jpeg model" in capsys.readouterr().err
    assert main(["export", "--format", "spandrel", str(tmp_path / "jpeg"), str(out), "--sigma", "0"]) == 2  # falsy
    assert "--sigma is not a level of a jpeg model" in capsys.readouterr().err
    assert main(["export", "--format", "spandrel", str(tmp_path / "inpaint"), str(out), "--quality", "30"]) == 2
    assert "--quality is not a level of an inpaint model" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "denoise"), str(tmp_path / "onnx"), "--sigma", "25"]) == 2  # ONNX: an input
    assert "--sigma is for --format spandrel" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # argparse: a level out of range
        main(["export", "--format", "spandrel", str(tmp_path / "denoise"), str(out), "--sigma", "-3"])


@pytest.fixture(scope="session")
def spandrel_python() -> Path:
    """The side environment's Python (``$IRAE_SPANDREL_PYTHON``, or ``.venv-spandrel`` built here once, about a
    minute from the local wheels): requirements-spandrel.txt over this environment's own packages."""
    if os.environ.get("IRAE_SPANDREL_PYTHON"):
        return Path(os.environ["IRAE_SPANDREL_PYTHON"])
    venv = ROOT / ".venv-spandrel"
    python = venv / "bin" / "python"
    wanted = (ROOT / "requirements-spandrel.txt").read_text()
    stamp = venv / "built-from.txt"
    if not (python.exists() and stamp.exists() and stamp.read_text() == wanted):
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                              capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
        ours = [p for p in sys.path if p.endswith("site-packages")]
        # this environment's packages after the side environment's own (its torch, torchvision, spandrel first)
        (Path(site) / "irae-parent.pth").write_text("".join(f"import site; site.addsitedir({p!r})\n" for p in ours))
        install = [python, "-m", "pip", "install", "-q", "-r", str(ROOT / "requirements-spandrel.txt")]
        subprocess.run(install, check=True, timeout=1800)
        stamp.write_text(wanted)
    return python


@pytest.mark.spandrel
def test_the_real_spandrel_loads_every_export_as_restore_runs_it(spandrel_python, tmp_path):
    """spandrel 0.4.2 after install(): each exported file (a fixed level, an estimate, a mask) loads with
    ModelLoader().load_from_file and gives restore()'s output to the last 8-bit value; spandrel's own DnCNN and
    Compact stay theirs and no other entry takes ours; a truncated or altered file is one line; ComfyUI's loader
    takes the file once the shipped custom-node folder is imported, and not before."""
    photo = random_image(45, 61)
    Image.fromarray(photo).save(tmp_path / "photo.png")
    mask = np.zeros((45, 61), np.uint8)
    mask[12:24, 8:40] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    levels = {"denoise-sigma25": ("denoise", 25, {"sigma": 25}), "denoise-auto": ("denoise", None, {}),
              "jpeg-quality10": ("jpeg", 10, {"quality": 10}), "jpeg-auto": ("jpeg", None, {}),
              "inpaint": ("inpaint", None, {})}  # fmt: skip
    cases = {}
    for name, (task, level, kw) in levels.items():
        model = perturb(make_model(task))
        model.save_pretrained(tmp_path / name)
        export_spandrel(model, tmp_path / f"{name}.safetensors", level)
        cases[name] = {"level": kw, "photo": "photo.png"}
    shipped = {"real-auto": ("denoise-real", None, {}, "denoise/dogs-phone-noise.jpg"),
               "jpeg-quality20": ("jpeg", 20, {"quality": 20}, "jpeg/brushes-quality-20.jpg")}  # fmt: skip
    for name, (folder, level, kw, photo) in shipped.items():  # the shipped weights on the app's example photos
        (tmp_path / name).symlink_to(ROOT / "pretrained" / folder)
        export_spandrel(IRAE.from_pretrained(ROOT / "pretrained" / folder), tmp_path / f"{name}.safetensors", level)
        cases[name] = {"level": kw, "photo": str(ROOT / "examples" / photo)}
        levels[name] = (folder, level, kw)
    (tmp_path / "levels.json").write_text(json.dumps(cases))
    whole = (tmp_path / "denoise-sigma25.safetensors").read_bytes()
    (tmp_path / "truncated.safetensors").write_bytes(whole[: len(whole) // 2])
    state = load_file(tmp_path / "denoise-sigma25.safetensors")
    state["irae.flow2.root.steps.layers.0.layers.2.net.2.weight"] = torch.zeros(5, 5, 1, 1)
    save_file(state, str(tmp_path / "altered.safetensors"))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    run = [str(spandrel_python), str(ROOT / "tests" / "spandrel_check.py")]
    done = subprocess.run([*run, "loader", str(tmp_path)], env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.splitlines()[-1])
    assert found["registered"] == 1 and found["first"] == "IRAE"
    for name, (task, level, _) in levels.items():
        got = found[name]
        assert got["arch"] == "IRAE" and got["scale"] == 1 and got["max_diff"] == 0, (name, got)
        masked = "inpaint" in task
        assert got["kind"] == ("MaskedImageModelDescriptor" if masked else "ImageModelDescriptor")
        assert got["purpose"] == ("Inpainting" if masked else "Restoration")
        assert (got["multiple_of"], got["tiling"]) == ((4, "SUPPORTED") if level is not None else (1, "INTERNAL"))
    assert found["others_taking_ours"] == [] and found["theirs"] == {"DnCNN": "DnCNN", "Compact": "Compact"}
    assert found["truncated"] != "NO ERROR" and not found["truncated"].startswith("MORE THAN ONE LINE")
    assert found["altered"].startswith("ValueError: not a complete IRAE export: size mismatch for irae.flow2.")
    done = subprocess.run([*run, "comfyui", str(tmp_path)], env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    comfy = json.loads(done.stdout.splitlines()[-1])
    assert "UnsupportedModelError" in comfy["before"] and comfy["after"] == "ImageModelDescriptor"
    assert comfy["single_image"] is True and comfy["nodes"] == {}
