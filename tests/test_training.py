"""irae_hf.training.steps: the weights' moving average and plain copies; the trainer's choice of weights to ship; the
config's choices made by the device."""

import pytest
import torch

from irae_hf.tasks import condition
from irae_hf.training.steps import EMA, LRSchedule, pick_weights, plain_copy

from .conftest import make_model


def test_ema_moves_towards_the_weights_by_one_minus_decay_and_round_trips_exactly(tmp_path):
    model = make_model()
    ema = EMA(model, decay=0.9)
    before = {k: v.clone() for k, v in ema.model.state_dict().items()}
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    ema.update(model)
    for name, value in ema.model.state_dict().items():
        if value.dtype.is_floating_point and name in dict(model.named_parameters()):
            torch.testing.assert_close(value, before[name] + 0.1)  # 0.9·old + 0.1·(old + 1)
    assert not any(p.requires_grad for p in ema.model.parameters())
    ema.save(tmp_path / "ema.safetensors")
    again = EMA(make_model(seed=1), decay=0.9)
    again.load(tmp_path / "ema.safetensors")
    for a, b in zip(ema.model.state_dict().values(), again.model.state_dict().values()):
        assert torch.equal(a, b)


def test_ema_decay_out_of_range_is_refused():
    with pytest.raises(ValueError, match="decay"):
        EMA(make_model(), decay=1.0)


def test_plain_copy_is_fp32_contiguous_and_equal():
    model = make_model().to(memory_format=torch.channels_last)
    copy = plain_copy(model)
    assert all(v.is_contiguous() for v in copy.state_dict().values())
    x = torch.rand(1, 3, 16, 16)
    cond = condition(model.task, x, sigma=25)
    torch.testing.assert_close(copy(x, cond), model(x, cond))
    assert copy is not model and not copy.training


def test_pick_weights_keeps_the_average_unless_validation_measured_it_worse():
    assert pick_weights("auto", {"val/psnr": 30.0, "val/psnr_ema": 30.1}, has_ema=True) == "ema"
    assert pick_weights("auto", {"val/psnr": 30.2, "val/psnr_ema": 30.1}, has_ema=True) == "raw"
    assert pick_weights("auto", {}, has_ema=True) == "ema"
    assert pick_weights("auto", {"val/psnr_ema": 40.0}, has_ema=False) == "raw"
    assert pick_weights("raw", {"val/psnr": 1.0, "val/psnr_ema": 2.0}, has_ema=True) == "raw"


def test_lr_schedule_warms_up_then_decays_by_steps_or_by_time():
    schedule = LRSchedule(1e-3, max_steps=100, warmup_steps=10)
    assert [schedule(s) for s in (0, 4, 9)] == pytest.approx([1e-4, 5e-4, 1e-3])
    assert schedule(50) == pytest.approx(5e-4)  # first milestone: 50 % of the steps
    assert schedule(20, spent=0.8) == pytest.approx(2.5e-4)  # 80 % of the time
    assert schedule(95, spent=0.1) == pytest.approx(1.25e-4)  # steps further on


def test_a_denoisers_config_says_the_noise_of_its_training_mix():
    """config.json's ``noise`` comes from the run's own mix: any camera-like or noisy-JPEG input makes a camera and
    phone denoiser, Gaussian noise alone (floats and files) a Gaussian one; other tasks say nothing."""
    from irae_hf.training.config import parse_config
    from irae_hf.training.steps import new_model

    base = ["--dataset", "x", "--output_dir", "y"]
    assert parse_config([*base, "--task", "denoise", "--file_fraction", "0.5"]).noise == "gaussian"
    assert parse_config([*base, "--task", "denoise", "--camera_fraction", "0.3"]).noise == "real"
    assert parse_config([*base, "--task", "denoise", "--noisy_jpeg_fraction", "0.3"]).noise == "real"
    assert parse_config([*base, "--task", "jpeg"]).noise is None
    assert new_model("irae", "denoise", 8, 2, 2, "real").config["noise"] == "real"
    assert new_model("dncnn", "denoise", 8, 3, None, "gaussian").config["noise"] == "gaussian"


def test_inverse_error_is_a_fraction_of_a_level_for_a_sound_flow_and_unbounded_for_a_squashing_one():
    """Validation's check of the exact inverse: a trained-like model gives its input back to far under half an 8-bit
    level; one whose flow 1 squashes a channel to 1e-11 before mixing it (lost to float32) does not."""
    from irae_hf.training.steps import EXACT_INVERSE_LEVELS, inverse_error

    model = make_model("denoise", width=8, depth=2)
    x = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    cond = condition(model.task, x, sigma=25)
    assert inverse_error(model, x, cond) < 1e-3
    with torch.no_grad():
        model.flow1.root.steps.layers[0].layers[0].logs[0, 0] = -25.0  # channel 0 × 1e-11, then mixed by the 1×1 conv
    assert inverse_error(model, x, cond) > EXACT_INVERSE_LEVELS


def test_loader_workers_default_to_none_on_a_cpu_and_two_on_a_gpu(capsys):
    """Unasked, a CPU run decodes in its own process (a worker would take a core from training) and a GPU run uses
    two workers per process; --num_workers overrides both, and a negative count is one line."""
    from irae_hf.training.config import build_parser, parse_config

    base = ["--dataset", "x", "--output_dir", "y"]
    unasked = parse_config(base)
    assert (unasked.loader_workers("cpu"), unasked.loader_workers("cuda")) == (0, 2)
    asked = parse_config([*base, "--num_workers", "3"])
    assert (asked.loader_workers("cpu"), asked.loader_workers("cuda")) == (3, 3)
    assert parse_config([*base, "--num_workers", "0"]).loader_workers("cuda") == 0
    with pytest.raises(SystemExit):
        parse_config([*base, "--num_workers", "-1"])
    assert "--num_workers must be >= 0, got -1" in capsys.readouterr().err
    assert "about 1 % of a CPU step" in " ".join(build_parser().format_help().split())


def test_checkpoints_saved_before_the_scales_were_renamed_keep_their_identity(tmp_path):
    """A checkpoint's saved flags from before the rename (--levels, --level_widths) read as --scales/--scale_widths,
    so resuming it with the same model is allowed and with another is refused by name."""
    import json

    from irae_hf.training.steps import ARGS_FILE, run_mismatch, saved_args

    (tmp_path / ARGS_FILE).write_text(json.dumps({"arch": "irae", "levels": 3, "level_widths": [8, 8, 8]}))
    assert saved_args(tmp_path) == {"arch": "irae", "scales": 3, "scale_widths": [8, 8, 8]}
    assert run_mismatch(tmp_path, {"arch": "irae", "scales": 3, "scale_widths": [8, 8, 8]}) is None
    assert "--scales 3" in run_mismatch(tmp_path, {"arch": "irae", "scales": 2, "scale_widths": [8, 8, 8]})
