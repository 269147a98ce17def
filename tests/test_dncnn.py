import pytest
import torch

from irae_hf import IRAE
from irae_hf.models.dncnn import DnCNN
from irae_hf.models.registry import build, load_model
from irae_hf.pipeline.restore import restore
from irae_hf.tasks import condition


def test_equal_size_to_irae():
    assert abs(DnCNN().num_parameters / IRAE().num_parameters - 1) < 0.10
    assert DnCNN().num_parameters == 1_336_323


def test_restores_any_size_and_loads_by_arch(tmp_path):
    model = DnCNN(task="inpaint", width=8, depth=3).eval()
    img = torch.rand(1, 3, 37, 53)
    mask = torch.zeros(37, 53)
    mask[5:10, 5:10] = 1
    out = restore(model, img, mask=mask)
    assert out.shape == img.shape and torch.equal(out[..., mask == 0], img[..., mask == 0])
    model.save_pretrained(tmp_path)
    loaded = load_model(tmp_path)
    assert isinstance(loaded, DnCNN) and torch.equal(
        loaded(img[..., :36, :52], cond := condition("inpaint", img[..., :36, :52], mask=mask[:36, :52])),
        model(img[..., :36, :52], cond),
    )
    assert isinstance(build("irae", task="jpeg", width=4, depth=1), IRAE)


def test_not_invertible():
    model = DnCNN(width=8, depth=3)
    with pytest.raises(NotImplementedError, match="not invertible"):
        model.inverse(torch.rand(1, 3, 8, 8), torch.zeros(1, 1, 8, 8))
    with pytest.raises(ValueError, match="not invertible"):
        model.set_memory_saving(True)
    with pytest.raises(ValueError, match="depth >= 3"):
        DnCNN(depth=2)
