import json
import os

import pytest
import torch

from irae_hf import IRAE
from irae_hf.models.flows import ActNorm
from irae_hf.models.registry import load_model
from irae_hf.pipeline.restore import restore
from irae_hf.tasks import card_words, condition, task_of

from .conftest import make_model, perturb

TOL = 1e-4
CONDITIONS = {
    "denoise": [{"sigma": 0}, {"sigma": 25}, {"sigma": 75}, {"sigma": [5.0, 50.0]}],
    "jpeg": [{"quality": 5}, {"quality": 40}, {"quality": 95}],
    "inpaint": [{"mask": torch.zeros(2, 1, 32, 48)}, {"mask": torch.rand(2, 1, 32, 48) > 0.7}],
}


def test_default_configuration_is_the_papers():
    model = IRAE()
    assert model.config == {"task": "denoise", "channels": 3, "width": 64, "depth": 16, "scales": 2, "noise": None}
    # 1,315,968 flow parameters as in the paper (≈1.3 M) + 37,248 for the conditioning input
    assert model.num_parameters == 1_353_216


@pytest.mark.parametrize("task", sorted(CONDITIONS))
def test_round_trip_for_every_condition(task):
    model = make_model(task, width=16, depth=3)
    x = torch.rand(2, 3, 32, 48)
    with torch.no_grad():
        for cond in CONDITIONS[task]:
            y = model(x, condition(model.task, x, **cond))
            assert (y - x).abs().max() > 1e-3, "the map should not be the identity"
            assert (model.inverse(y, condition(model.task, y, **cond)) - x).abs().max() < TOL


def test_round_trip_paper_size_model():
    model = perturb(IRAE(), std=0.02)
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        y = model(x, condition(model.task, x, sigma=25))
        assert (model.inverse(y, condition(model.task, y, sigma=25)) - x).abs().max() < TOL


def test_fresh_and_initialised_model_is_identity():
    model = IRAE(width=8, depth=2)
    x = torch.rand(2, 3, 16, 16)
    assert torch.allclose(model(x, condition(model.task, x, sigma=10)), x, atol=1e-5)
    model.initialize(x * 4 - 1, condition(model.task, x * 4 - 1, sigma=10))
    assert torch.allclose(model(x, condition(model.task, x, sigma=10)), x, atol=1e-5)
    first = next(m for m in model.flow1.modules() if isinstance(m, ActNorm))
    assert first.bias.abs().sum() > 0 and model.flow2.state_dict().keys() == model.flow1.state_dict().keys()


def test_actnorm_initialisation_is_data_dependent():
    model = IRAE(width=8, depth=2)
    x = torch.rand(4, 3, 32, 32) * 0.2 + 0.7
    model.initialize(x, condition(model.task, x, sigma=10))
    acts = []
    for m in model.flow1.modules():
        if isinstance(m, ActNorm):
            m.register_forward_hook(lambda mod, args, out: acts.append(out))
    model.flow1(x, condition(model.task, x, sigma=10))
    for a in acts:
        assert a.mean(dim=(0, 2, 3)).abs().max() < 1e-4
        assert (a.std(dim=(0, 2, 3), unbiased=False) - 1).abs().max() < 1e-3


def test_condition_changes_the_output():
    model = make_model("denoise")
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        assert (
            model(x, condition(model.task, x, sigma=5)) - model(x, condition(model.task, x, sigma=50))
        ).abs().max() > 1e-4


def test_save_and_load_are_bit_identical(tmp_path):
    model = make_model("jpeg", width=16, depth=2)
    model.save_pretrained(tmp_path)
    assert sorted(os.listdir(tmp_path)) == ["README.md", "config.json", "model.safetensors"]
    umask = os.umask(0)
    os.umask(umask)
    assert {(tmp_path / n).stat().st_mode & 0o777 for n in os.listdir(tmp_path)} == {0o666 & ~umask}  # not 0600
    loaded = IRAE.from_pretrained(tmp_path)
    assert loaded.config == model.config
    assert json.loads((tmp_path / "config.json").read_text()) == {**model.config, "arch": "irae"}
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        cond = condition(model.task, x, quality=20)
        assert torch.equal(loaded(x, cond), model(x, cond))
    card = (tmp_path / "README.md").read_text()
    assert "pipeline_tag: image-to-image" in card and "quality=10" in card and "2009.03173" in card


def test_per_scale_widths_round_trip_and_reload(tmp_path):
    """Widths per scale (finest first) are the same invertible map, saved in config.json and rebuilt from it."""
    model = perturb(IRAE(width=[8, 16], depth=2), std=0.05)
    x = torch.rand(1, 3, 16, 24)
    with torch.no_grad():
        cond = condition(model.task, x, sigma=20)
        assert (model.inverse(model(x, cond), cond) - x).abs().max() < 1e-4
    model.save_pretrained(tmp_path)
    loaded = load_model(tmp_path)
    cond = condition(model.task, x, sigma=20)
    assert loaded.config["width"] == [8, 16] and torch.equal(loaded(x, cond), model(x, cond))
    with pytest.raises(ValueError, match="one per scale"):
        IRAE(width=[8, 16, 32])


def test_dtype_and_device_moves():
    model = make_model("denoise").to(torch.float64)
    x = torch.rand(1, 3, 16, 16, dtype=torch.float64)
    with torch.no_grad():
        y = model(x, condition(model.task, x, sigma=25))
        assert y.dtype == torch.float64
        assert (model.inverse(y, condition(model.task, y, sigma=25)) - x).abs().max() < 1e-10
        assert model.to(torch.bfloat16)(x.bfloat16(), condition(model.task, x, sigma=25)).dtype == torch.bfloat16


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_cuda_round_trip():  # pragma: no cover - runs only where a GPU exists
    model = make_model("denoise").to("cuda")
    x = torch.rand(1, 3, 32, 32, device="cuda")
    with torch.no_grad():
        cond = condition(model.task, x, sigma=25)
        assert (model.inverse(model(x, cond), cond) - x).abs().max() < TOL


@pytest.mark.parametrize("task,level", [("denoise", {"sigma": 25}), ("jpeg", {"quality": 10}), ("inpaint", None)])
def test_shipped_weights_round_trip_in_float64(task, level):
    """Trained flows amplify float32 rounding in the inverse; in float64 the round trip is exact."""
    from pathlib import Path

    model = IRAE.from_pretrained(Path(__file__).resolve().parents[1] / "pretrained" / task).double()
    x = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    level = level or {"mask": (torch.rand(64, 64, generator=torch.Generator().manual_seed(1)) > 0.8)}
    with torch.no_grad():
        cond = condition(model.task, x, **level)
        assert (model.inverse(model(x, cond), cond) - x).abs().max() < 1e-6


@pytest.mark.parametrize("folder", ["denoise", "denoise-real", "jpeg", "inpaint"])
def test_shipped_weights_give_a_degraded_photo_back_through_the_exact_maps(folder):
    """The inverse users run ("Nothing lost", ``recover_input``: flow 2 in float64, flow 1 in float32), on a degraded
    photo at the task's validation level: the input comes back within half an 8-bit level, as validation checks."""
    from pathlib import Path

    from PIL import Image

    from irae_hf.io.images import to_tensor
    from irae_hf.tasks import TASKS, degrade, level_kwargs
    from irae_hf.training.steps import EXACT_INVERSE_LEVELS, inverse_error

    root = Path(__file__).resolve().parents[1]
    model = IRAE.from_pretrained(root / "pretrained" / folder).eval()
    clean = to_tensor(Image.open(root / "examples" / "astronaut.png").convert("RGB").crop((96, 32, 224, 160)))
    x, level = degrade(clean, model.task, TASKS[model.task].validation, seed=0)
    kw = level_kwargs(model.task, level)
    x = TASKS[model.task].model_input(x[None], kw)  # what the model sees (inpainting: the holes filled)
    assert inverse_error(model, x, condition(model.task, x, **kw)) < EXACT_INVERSE_LEVELS


def test_folded_model_is_the_same_invertible_map():
    model = perturb(make_model("denoise"))
    folded = model.folded()
    x = torch.rand(2, 3, 16, 24)
    with torch.no_grad():
        y = model(x, condition(model.task, x, sigma=25))
        assert torch.allclose(folded(x, condition(folded.task, x, sigma=25)), y, atol=1e-5)
        assert torch.allclose(folded.inverse(y, condition(folded.task, y, sigma=25)), x, atol=1e-4)
    assert not any(isinstance(m, ActNorm) for m in folded.modules())


def test_a_card_saved_or_pushed_from_python_carries_its_task_words_unasked(tmp_path, hub_recorder):
    """``from irae_hf import IRAE`` hands the task table's words to every card: ``save_pretrained`` in a fresh
    interpreter and ``push_to_hub`` (only the transport replaced) write them without ``model_card_kwargs``; a
    caller's words still come last."""
    import subprocess
    import sys

    from huggingface_hub import ModelCard

    script = (
        "import sys; from irae_hf import IRAE; "
        "IRAE(task='denoise', width=8, depth=2, noise='real').save_pretrained(sys.argv[1])"
    )
    subprocess.run([sys.executable, "-c", script, str(tmp_path / "saved")], check=True, timeout=300)
    assert "## When to use it" in (tmp_path / "saved" / "README.md").read_text()
    recorder = hub_recorder()
    real = IRAE(task="denoise", width=8, depth=2, noise="real")
    real.push_to_hub("me/irae-denoise-real")
    [commit] = recorder.commits
    assert set(commit["files"]) == {"config.json", "model.safetensors", "README.md"}
    card = ModelCard(commit["files"]["README.md"].decode())
    assert "## When to use it" in card.text and "pretrained/denoise`" in card.text
    assert "When to use" not in str(real.generate_model_card(when_to_use=None))


def test_config_says_which_noise_a_denoiser_was_trained_on(tmp_path):
    """``noise`` round-trips through config.json and the card says when to use the model; other tasks, and kinds
    not known, are one clear error (config.json comes from anywhere)."""
    real = IRAE(task="denoise", width=8, depth=2, noise="real")
    real.save_pretrained(tmp_path / "real", model_card_kwargs=card_words(real))
    config = json.loads((tmp_path / "real" / "config.json").read_text())
    assert config["noise"] == "real" and IRAE.from_pretrained(tmp_path / "real").config["noise"] == "real"
    card = (tmp_path / "real" / "README.md").read_text()
    assert "## When to use it" in card and "pretrained/denoise`" in card  # points at its Gaussian companion
    jpeg = IRAE(task="jpeg", width=8, depth=2)
    assert "When to use" not in str(jpeg.generate_model_card(**card_words(jpeg)))
    for task, noise in (("jpeg", "real"), ("denoise", "poisson")):
        with pytest.raises(ValueError, match="noise must be (None|one of)"):
            task_of(IRAE(task=task, width=8, depth=2, noise=noise))
        with pytest.raises(ValueError, match="noise must be"):
            restore(IRAE(task=task, width=8, depth=2, noise=noise), torch.rand(3, 8, 8))
    with pytest.raises(ValueError, match="noise must be None or the name"):
        IRAE(task="denoise", width=8, depth=2, noise=["real"])


def test_folders_saved_before_the_scales_were_renamed_still_load(tmp_path):
    """config.json once called a flow's scales "levels" (a word the tasks use for strength): the shipped folders as
    they were, and a 3-scale model saved that way, load to the same model, without a warning."""
    import shutil
    import warnings
    from pathlib import Path

    shipped = Path(__file__).resolve().parents[1] / "pretrained"
    three = tmp_path / "three"
    IRAE(width=4, depth=1, scales=3).save_pretrained(three)
    for folder in [shipped / "denoise", shipped / "jpeg", three]:
        old = tmp_path / f"old-{folder.name}"
        shutil.copytree(folder, old)
        config = json.loads((old / "config.json").read_text())
        config["levels"] = config.pop("scales")
        (old / "config.json").write_text(json.dumps(config))
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            loaded, today = IRAE.from_pretrained(old), IRAE.from_pretrained(folder)
        assert loaded.config == today.config and "levels" not in loaded.config
        assert loaded.multiple == today.multiple == (8 if folder == three else 4)
        assert all(torch.equal(a, b) for a, b in zip(loaded.state_dict().values(), today.state_dict().values()))
