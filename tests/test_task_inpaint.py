"""irae_hf.tasks.inpaint: the mask as the level, training masks, the score inside the mask, no "auto"."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from irae_hf.tasks import TASKS
from irae_hf.tasks.degradations import MASK_FILL

INPAINT = TASKS["inpaint"]


def test_the_condition_is_the_mask_checked_against_the_image():
    x = torch.zeros(2, 3, 16, 24)
    mask = torch.zeros(16, 24)
    mask[4:8, 4:8] = 1
    cond = INPAINT.condition(x, mask)
    assert cond.shape == (2, 1, 16, 24) and cond.sum() == 2 * 16
    with pytest.raises(ValueError, match="does not match"):
        INPAINT.condition(x, torch.zeros(16, 23))


def test_training_boxes_follow_the_asked_sizes_and_holes_are_grey():
    clean = torch.rand(3, 64, 64)
    spec = SimpleNamespace(mask_types=("box",), box_sizes=(10, 10), mask_scale=None)
    holed, mask = INPAINT.sample(clean, np.random.default_rng(0), spec)
    assert mask.sum() == 100 and torch.all(holed[:, mask[0] > 0] == MASK_FILL)
    assert torch.equal(INPAINT.model_input(clean, {"mask": mask}), holed)


def test_no_blind_level_and_the_score_inside_the_mask():
    assert not INPAINT.blind and "--mask" in INPAINT.required_message
    with pytest.raises(ValueError, match="no 'auto' level"):
        INPAINT.estimate(None, [])
    clean = torch.rand(3, 32, 32)
    mask = torch.zeros(1, 32, 32)
    mask[:, :16] = 1
    restored = clean.clone()
    restored[:, 16:] = 0  # wrong only outside the mask
    assert INPAINT.extra_scores(restored, clean, {"mask": mask})["psnr_mask"] == float("inf")
    assert "Telea" in " ".join(INPAINT.baselines())


def test_training_draws_bars_thin_scratches_and_text_sized_for_the_crop():
    clean = torch.rand(3, 96, 96)
    for kind in ("bar", "scratch", "text"):
        spec = SimpleNamespace(mask_types=(kind,), box_sizes=None, mask_scale=None)
        covered = []
        for seed in range(4):
            holed, mask = INPAINT.sample(clean, np.random.default_rng(seed), spec)
            assert mask.shape == (1, 96, 96) and torch.all(holed[:, mask[0] > 0] == MASK_FILL)
            covered.append(float(mask.mean()))
        assert 0 < min(covered) and max(covered) < 0.5, (kind, covered)  # thin: never most of the crop
    same = [INPAINT.sample(clean, np.random.default_rng(7), spec)[1] for _ in range(2)]
    assert torch.equal(*same)  # seeded
