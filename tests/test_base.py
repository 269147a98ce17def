"""irae_hf.models.base: what every restoration model shares: its condition from the task's level, checked settings, safe
loading of weights (safetensors only, checked tensor by tensor), the Hub cache."""

import pytest
import torch
from safetensors.torch import load_file, save_file

from irae_hf import IRAE, WeightsError
from irae_hf.pipeline.restore import restore
from irae_hf.tasks import condition

from .conftest import make_model


@pytest.mark.parametrize(
    "task,kwargs,match",
    [
        ("denoise", {}, "needs sigma="),
        ("denoise", {"quality": 10}, "takes sigma="),
        ("denoise", {"sigma": -1}, r"sigma must be in \[0, 255\]"),
        ("denoise", {"sigma": 256}, r"sigma must be in \[0, 255\]"),
        ("denoise", {"sigma": float("nan")}, "sigma must be"),
        ("denoise", {"sigma": [1, 2, 3]}, "3 values for a batch of 2"),
        ("jpeg", {"quality": 0}, r"quality must be in \[1, 100\]"),
        ("jpeg", {"quality": 101}, r"quality must be in \[1, 100\]"),
        ("inpaint", {"mask": torch.zeros(1, 1, 8, 8)}, "does not match"),
    ],
)
def test_condition_errors_are_clear(task, kwargs, match):
    model = make_model(task, width=4, depth=1)
    with pytest.raises(ValueError, match=match):
        model(torch.rand(2, 3, 16, 16), condition(model.task, torch.rand(2, 3, 16, 16), **kwargs))


def test_constructor_validates_config():
    """A config's names are checked for shape by the model, and against the task table where the task is used."""
    with pytest.raises(ValueError, match="task must be a task's name"):
        IRAE(task="de blur")
    with pytest.raises(ValueError, match="unknown task 'deblur'"):
        restore(IRAE(task="deblur", width=4, depth=1), torch.rand(3, 8, 8))
    with pytest.raises(ValueError, match="width must be an integer from 1 to 1024"):
        IRAE(width=0)


def test_weights_with_the_old_actnorm_flag_still_load(tmp_path):
    """irae-hf <= 0.1 saved an unused per-actnorm "initialized" flag; such weights load strictly, flag dropped."""
    from safetensors.torch import save_file

    model = make_model("denoise", width=8, depth=2)
    state = dict(model.state_dict()) | {"flow1.root.steps.layers.0.layers.0.initialized": torch.tensor(True)}
    save_file({k: v.contiguous() for k, v in state.items()}, tmp_path / "old.safetensors")
    fresh = IRAE(width=8, depth=2)
    fresh.load_weights(tmp_path / "old.safetensors")
    assert all(torch.equal(a, b) for a, b in zip(fresh.state_dict().values(), model.state_dict().values()))


def test_load_from_hub_cache_offline(tmp_path, monkeypatch):
    """A Hub id resolves from the local cache with HF_HUB_OFFLINE=1 (the Hub path, without network)."""
    model = make_model("denoise", width=8, depth=1)
    snapshot = tmp_path / "models--org--irae-test" / "snapshots" / ("a" * 40)
    model.save_pretrained(snapshot)
    (tmp_path / "models--org--irae-test" / "refs").mkdir()
    (tmp_path / "models--org--irae-test" / "refs" / "main").write_text("a" * 40)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    loaded = IRAE.from_pretrained("org/irae-test", cache_dir=tmp_path)
    x = torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        cond = condition(model.task, x, sigma=25)
        assert torch.equal(loaded(x, cond), model(x, cond))


def test_strict_load_with_a_missing_tensor_fails_clearly(tmp_path):
    make_model("denoise", width=8, depth=1).save_pretrained(tmp_path)
    state = load_file(tmp_path / "model.safetensors")
    del state["flow2.root.steps.layers.0.layers.2.net.0.weight"]
    save_file(state, tmp_path / "model.safetensors")
    with pytest.raises(WeightsError, match=r"missing tensors flow2\.root\.steps\.layers\.0\.layers\.2\.net\.0\.weight"):
        IRAE.from_pretrained(tmp_path, strict=True)
    IRAE.from_pretrained(tmp_path, strict=False)  # explicitly lenient: loads what is there


def test_wrong_shapes_corrupt_files_and_pickles_are_refused(tmp_path):
    make_model("denoise", width=8, depth=1).save_pretrained(tmp_path / "a")
    with pytest.raises(WeightsError, match="wrong shape"):
        IRAE.from_pretrained(tmp_path / "a", width=16)
    (tmp_path / "a" / "model.safetensors").write_bytes(b"\x00garbage" * 10)
    with pytest.raises(WeightsError, match="corrupt or not a safetensors file"):
        IRAE.from_pretrained(tmp_path / "a")
    (tmp_path / "a" / "model.safetensors").unlink()
    torch.save(IRAE(width=8, depth=1).state_dict(), tmp_path / "a" / "pytorch_model.bin")
    with pytest.raises(WeightsError, match="pickle weights are refused"):
        IRAE.from_pretrained(tmp_path / "a")
