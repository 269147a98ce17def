"""The fused inference path (irae_hf/models/fused.py): the same function as the plain layers, rebuilt when weights
change, and the plain layers wherever the fused op does not apply."""

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from irae_hf.models.fused import FusedConvNet, conv3x3_f64, fuse_coupling_nets
from irae_hf.models.irae import IRAE
from irae_hf.pipeline.restore import recover_input, restore
from irae_hf.tasks import condition

CL = torch.channels_last


def coupling_net(cin: int = 7, width: int = 16, cout: int = 12) -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(cin, width, 3, padding=1),
        nn.ReLU(inplace=True),
        nn.Conv2d(width, width, 1),
        nn.ReLU(inplace=True),
        nn.Conv2d(width, cout, 3, padding=1),
    ).eval()


@pytest.mark.parametrize("shape", [(1, 7, 33, 47), (2, 7, 8, 5)])
@pytest.mark.parametrize("layout", [CL, torch.contiguous_format])
def test_fused_net_matches_the_plain_layers(shape, layout):
    net = coupling_net()
    fused = FusedConvNet(net)
    x = torch.randn(*shape).contiguous(memory_format=layout)
    with torch.inference_mode():
        torch.testing.assert_close(fused(x), net(x), rtol=1e-5, atol=1e-5)
    assert list(fused.state_dict()) == list(net.state_dict())


def test_fused_net_in_bf16_is_close_to_the_plain_bf16_layers():
    net = coupling_net().to(torch.bfloat16)
    x = torch.randn(1, 7, 24, 24, dtype=torch.bfloat16).contiguous(memory_format=CL)
    with torch.inference_mode():
        out, ref = FusedConvNet(net)(x), net(x)
    assert out.dtype == torch.bfloat16
    torch.testing.assert_close(out.float(), ref.float(), rtol=0.05, atol=0.05)


def test_bf16_is_fused_only_where_the_cpu_has_it(monkeypatch):
    """Without AVX512-BF16 or AVX-NE-CONVERT oneDNN refuses bf16 weights: a bf16 net then runs its plain layers."""
    import irae_hf.models.fused as inference

    assert (torch.bfloat16 in inference._fused_dtypes()) == torch.ops.mkldnn._is_mkldnn_bf16_supported()
    monkeypatch.setattr(inference, "_fused_dtypes", lambda: (torch.float32,))  # a CPU without bf16
    net = coupling_net().to(torch.bfloat16)
    fused, x = FusedConvNet(net), torch.randn(1, 7, 12, 12, dtype=torch.bfloat16)
    with torch.inference_mode():
        assert not fused._fusable(x) and fused._fusable(x.float()) is False  # float input, bf16 weights: plain
        torch.testing.assert_close(fused(x), net(x))


def test_bf16_counts_as_fast_only_in_hardware():
    """oneDNN's own check also passes on AVX-512 CPUs without AVX512-BF16, where bf16 is emulated (2.2× slower)."""
    from irae_hf.models.fused import bf16_in_hardware, cpu_has_fast_bf16

    assert bf16_in_hardware("x86_64", True, True) and bf16_in_hardware("AMD64", True, True)
    assert not bf16_in_hardware("x86_64", True, False)  # AVX-512 without AVX512-BF16 / AMX: emulated
    assert not bf16_in_hardware("x86_64", False, True)  # oneDNN refuses it (e.g. limited to AVX2)
    assert bf16_in_hardware("aarch64", True, False) and not bf16_in_hardware("aarch64", False, False)
    onednn = torch.ops.mkldnn._is_mkldnn_bf16_supported()
    assert cpu_has_fast_bf16() == (
        onednn and (torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    )


def test_training_runs_the_plain_layers():
    net = coupling_net()
    fused = FusedConvNet(net)
    x = torch.randn(1, 7, 10, 12, dtype=torch.float64)
    torch.testing.assert_close(fused.double()(x), net.double()(x), rtol=0, atol=0)  # with gradients: the same layers
    fused.float()
    x = torch.randn(1, 7, 10, 12, requires_grad=True)
    fused(x).square().sum().backward()  # gradients flow through the plain layers
    assert x.grad is not None and fused[0].weight.grad is not None


@pytest.mark.parametrize("shape", [(1, 7, 10, 12), (2, 7, 3, 1), (1, 7, 1, 1)])
def test_float64_inference_matches_the_plain_layers(shape):
    """The exact inverse's float64 flow: narrowing 3×3 convolutions as matrix products, the same function."""
    net = coupling_net(cin=7, width=16, cout=12).double()
    x = torch.randn(*shape, dtype=torch.float64)
    with torch.inference_mode():
        torch.testing.assert_close(FusedConvNet(net)(x), net(x), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("bias", [True, False])
def test_conv3x3_f64_is_the_convolution(bias):
    torch.manual_seed(2)
    conv = nn.Conv2d(9, 4, 3, padding=1, bias=bias).double()
    x = torch.randn(2, 9, 6, 5, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(conv3x3_f64(x, conv), conv(x), rtol=1e-12, atol=1e-12)


def test_fused_net_follows_weight_changes():
    fused = FusedConvNet(coupling_net())
    x = torch.randn(1, 7, 16, 16).contiguous(memory_format=CL)
    with torch.no_grad():
        before = fused(x)
        fused[4].weight.mul_(2.0)  # an in-place update, as an optimiser step makes
        after = fused(x)
        torch.testing.assert_close(after, nn.Sequential.forward(fused, x), rtol=1e-5, atol=1e-5)
    assert not torch.allclose(before, after)


def test_fuse_rejects_other_layers():
    with pytest.raises(TypeError, match="Conv2d and ReLU"):
        FusedConvNet(nn.Sequential(nn.Conv2d(3, 3, 1), nn.Sigmoid()))


@pytest.fixture
def trained_like() -> IRAE:
    """A small IRAE whose couplings are not the identity (random last layers), as after training."""
    torch.manual_seed(1)
    model = IRAE("denoise", width=16, depth=3, scales=2).eval()
    for name, p in model.named_parameters():
        if name.endswith("net.4.weight"):
            nn.init.normal_(p, std=0.05)
    return model


def test_for_inference_is_the_same_map_and_leaves_the_model_alone(trained_like):
    x = torch.rand(2, 3, 36, 52)
    cond = condition(trained_like.task, x, sigma=25)
    fast = trained_like.for_inference()
    with torch.inference_mode():
        ref = trained_like(x, cond)
        out = fast(x.contiguous(memory_format=CL), cond.contiguous(memory_format=CL))
        # still invertible: the fused copy's output goes back through the exact inverse of the plain model
        back = trained_like.inverse(out.contiguous(), cond)
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(back, x, rtol=1e-4, atol=1e-4)
    assert not any(isinstance(m, FusedConvNet) for m in trained_like.modules())
    assert sum(isinstance(m, FusedConvNet) for m in fast.modules()) == 2 * 2 * 3  # two flows, 2 scales × 3 steps


def test_fusing_twice_changes_nothing():
    model = fuse_coupling_nets(fuse_coupling_nets(IRAE("denoise", width=8, depth=2, scales=2)))
    nets = [m for m in model.modules() if isinstance(m, FusedConvNet)]
    assert len(nets) == 8 and not any(isinstance(m, FusedConvNet) for n in nets for m in n)


def test_restore_uses_new_weights_after_fine_tuning(trained_like):
    image = Image.fromarray(np.random.default_rng(0).integers(0, 256, (20, 28, 3), dtype=np.uint8))
    model = trained_like
    first = np.asarray(restore(model, image, sigma=25))
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("net.4.bias"):
                p.add_(0.3)
    second = np.asarray(restore(model, image, sigma=25))
    x = torch.from_numpy(np.array(image)).permute(2, 0, 1)[None].float() / 255
    with torch.inference_mode():
        ref = model(x, condition(model.task, x, sigma=25))
    expected = (ref.clamp(0, 1) * 255).round().byte()[0].permute(1, 2, 0).numpy()
    assert not np.array_equal(first, second)
    assert np.abs(second.astype(int) - expected.astype(int)).max() <= 1


def test_exact_maps_follow_weight_changes(trained_like):
    x = torch.rand(1, 3, 20, 28)
    model = trained_like
    first = restore(model, x, sigma=25, return_float=True)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("net.4.bias"):
                p.add_(0.3)
    second = restore(model, x, sigma=25, return_float=True)
    with torch.inference_mode():
        ref = model(x, condition(model.task, x, sigma=25))
    assert not torch.allclose(first.output, second.output)
    torch.testing.assert_close(second.output.float(), ref, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(recover_input(model, second).float(), x, rtol=1e-4, atol=1e-4)
