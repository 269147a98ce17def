"""irae_hf.training.run_card: the Training section a run writes into its model card."""

from irae_hf.training.config import TrainConfig
from irae_hf.training.run_card import training_section, validation_sentence


def run(**overrides):
    settings = dict(dataset="photos", crop_size=64, output_dir="out", mask_types=["free-form"], lr_milestones=[0.5])
    settings |= dict(hardware="1 × CPU", mixed_precision="bf16", channels_last=True, validation_dir="val")
    return TrainConfig(**(settings | overrides))


def test_training_section_names_recipe_weights_curve_and_credits(tmp_path):
    history = [{"step": 10, "hours": 0.1, "cpu_hours": 0.1, "val/psnr": 30.0, "val/ssim": 0.8, "val/psnr_ema": 30.2}]
    last = {"val/psnr": 30.0, "val/ssim": 0.8, "val/psnr_ema": 30.2, "val/ssim_ema": 0.81}
    last |= {"val/psnr_input": 20.0, "val/ssim_input": 0.3}
    (tmp_path / "credits.md").write_text("### Credits\n\n- a.png: Jane Doe, CC-BY-4.0\n")
    text = training_section(run(credits=str(tmp_path / "credits.md")), 10, 12.5, last, history, "ema")
    assert "for 10 steps of batch 16" in text and "bf16 autocast" in text and "Channels-last" in text
    assert (
        "exponential moving average (decay 0.999)" in text and "| 10 | 0.100 | 0.10 | 30.00 | 0.8000 | 30.20 |" in text
    )
    assert text.endswith("- a.png: Jane Doe, CC-BY-4.0")
    raw = training_section(run(), 10, None, last | {"val/psnr_ema": 29.0}, [], "raw")
    assert "raw training weights" in raw and "Credits" not in raw
    boxes = dict(task="inpaint", mask_types=["free-form", "box"], mask_scale=512, box_sizes=[16, 80])
    inpaint = training_section(run(**boxes), 10, None, last, [], "raw")
    assert "strokes sized for 512-pixel images, boxes of 16–80 pixels a side" in inpaint
    files = training_section(run(file_fraction=0.5), 10, None, last, [], "raw")
    assert "σ drawn uniformly from [0.0, 75.0], 50% of the noisy inputs clipped and rounded to 8 bits" in files
    assert "Exact inverse" not in text  # a run from before the check says nothing
    errors = {"val/inverse_error_ema": 0.003, "val/inverse_error": 9.0}  # the shipped weights' own figure is said
    exact = training_section(run(), 10, None, last | errors, [], "ema")
    assert "the input came back within 0.003 of an 8-bit level" in exact and "Not invertible" not in exact
    lost = training_section(run(), 10, None, last | {"val/inverse_error": 2.7e6}, [], "raw")
    assert "within 2.7e+06 of an 8-bit level" in lost and "**Not invertible in practice**" in lost
    assert "PSNR 30.20 dB" in validation_sentence(run(), last, "ema")
    assert "PSNR 30.00 dB" in validation_sentence(run(), last, "raw")
