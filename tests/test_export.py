"""ONNX export of both directions: onnxruntime on CPU matches PyTorch on two sizes and a batch."""

import json

import numpy as np
import pytest
import torch

from irae_hf.cli import main
from irae_hf.models.registry import build
from irae_hf.pipeline.onnx import OnnxGraph, export_onnx
from irae_hf.tasks import condition

from .conftest import make_model, perturb

ort = pytest.importorskip("onnxruntime")


def level_for(task: str, shape: tuple) -> np.ndarray:
    if task == "inpaint":
        mask = np.zeros((shape[0], 1, *shape[2:]), np.float32)
        mask[..., 8:20, 12:30] = 1
        return mask
    return np.full(shape[0], 25.0 if task == "denoise" else 30.0, np.float32)


@pytest.mark.parametrize("task", ["denoise", "jpeg", "inpaint"])
def test_onnx_restore_and_recover_match_pytorch(tmp_path, task):
    model = perturb(make_model(task)).eval()
    export_onnx(model, tmp_path)
    restore = ort.InferenceSession(str(tmp_path / "restore.onnx"), providers=["CPUExecutionProvider"])
    recover = ort.InferenceSession(str(tmp_path / "recover.onnx"), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    for shape in [(1, 3, 32, 48), (2, 3, 64, 36)]:  # dynamic batch, height and width
        image, level = rng.random(shape, dtype=np.float32), level_for(task, shape)
        out = restore.run(None, {"image": image, "level": level})[0]
        with torch.inference_mode():
            ref = OnnxGraph(model, "restore")(torch.from_numpy(image), torch.from_numpy(level)).numpy()
            cond = condition(model.task, torch.from_numpy(image), **_level(task, level))
            direct = model(torch.from_numpy(image), cond).numpy()
        assert np.abs(out - ref).max() <= 1e-4 and np.abs(out - direct).max() <= 1e-4
        back = recover.run(None, {"image": out, "level": level})[0]
        with torch.inference_mode():
            ref_back = model.inverse(torch.from_numpy(out), cond).numpy()
        assert np.abs(back - ref_back).max() <= 1e-4 and np.abs(back - image).max() <= 1e-4
    image, level = rng.random((1, 3, 37, 53), dtype=np.float32), level_for(task, (1, 3, 37, 53))
    out = restore.run(None, {"image": image, "level": level})[0]  # any size: padded inside the graph, cut back
    with torch.inference_mode():
        padded = torch.nn.functional.pad(torch.from_numpy(image), (0, 3, 0, 3), mode="replicate")
        edge = np.pad(level, ((0, 0), (0, 0), (0, 3), (0, 3)), "edge") if task == "inpaint" else level
        cond = condition(model.task, padded, **_level(task, edge))
        direct = model(padded, cond)[:, :, :37, :53].numpy()
    assert out.shape == image.shape and np.abs(out - direct).max() <= 1e-4
    info = json.loads((tmp_path / "onnx.json").read_text())
    assert info["task"] == task and info["multiple"] == model.multiple
    assert "onnxruntime" in (tmp_path / "README.md").read_text()


def _level(task: str, level: np.ndarray) -> dict:
    key = {"denoise": "sigma", "jpeg": "quality", "inpaint": "mask"}[task]
    return {key: torch.from_numpy(level)}


def test_export_command_writes_both_graphs_and_never_overwrites(tmp_path, capsys):
    make_model("denoise").save_pretrained(tmp_path / "model")
    argv = ["export", "--format", "onnx", str(tmp_path / "model"), str(tmp_path / "onnx")]
    assert main(argv) == 0
    assert (tmp_path / "onnx" / "restore.onnx").is_file() and (tmp_path / "onnx" / "recover.onnx").is_file()
    assert main(argv) == 2 and "--overwrite" in capsys.readouterr().err
    assert main([*argv, "--overwrite"]) == 0


def test_export_refuses_what_it_cannot_export(tmp_path, capsys):
    build("dncnn", task="denoise").save_pretrained(tmp_path / "dncnn")
    assert main(["export", str(tmp_path / "dncnn"), str(tmp_path / "out")]) == 2
    assert "not DnCNN" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "missing"), str(tmp_path / "out")]) == 2


def test_restore_with_the_onnxruntime_backend_is_the_same_map():
    from irae_hf.pipeline.restore import restore

    model = perturb(make_model("jpeg")).eval()
    x = torch.rand(2, 3, 44, 60)
    for tile in (None, 32):  # whole and in tiles (dynamic shapes)
        ours = restore(model, x, quality=30, tile=tile, backend="onnxruntime")
        assert (ours - restore(model, x, quality=30, tile=tile)).abs().max() <= 1e-4
    with torch.no_grad():  # new weights (fine-tuned in between): exported again, not a stale graph
        next(m for m in model.modules() if isinstance(m, torch.nn.Conv2d)).weight.mul_(1.5)
    again = restore(model, x, quality=30, backend="onnxruntime")
    assert (again - restore(model, x, quality=30)).abs().max() <= 1e-4
    for bad in ({"precision": "bf16"}, {"return_float": True}):
        with pytest.raises(ValueError, match="runs the fp32 map"):
            restore(model, x, quality=30, backend="onnxruntime", **bad)
    with pytest.raises(ValueError, match="backend must be one of"):
        restore(model, x, quality=30, backend="tensorrt")
    with pytest.raises(ValueError, match="for invertible IRAE models"):
        restore(build("dncnn", task="denoise"), x, sigma=25, backend="onnxruntime")
