import pytest
import torch

from irae_hf.models.flows import (
    ActNorm,
    AffineCoupling,
    FlowScale,
    FlowStep,
    InvConv1x1,
    Inverse,
    InvertibleSequence,
    MultiScaleFlow,
    squeeze,
    unsqueeze,
)

from .conftest import perturb

TOL = 1e-4  # float32 round trip


def roundtrip_error(module, x, cond=None):
    with torch.no_grad():
        y = module(x, cond)
        assert y.shape == x.shape
        return (module.inverse(y, cond) - x).abs().max().item()


def test_squeeze_is_an_exact_permutation():
    x = torch.randn(2, 3, 8, 12)
    assert squeeze(x).shape == (2, 12, 4, 6)
    assert torch.equal(unsqueeze(squeeze(x)), x)
    assert torch.equal(squeeze(x).flatten().sort().values, x.flatten().sort().values)


def test_actnorm_data_init_standardises_and_inverts():
    x = torch.randn(4, 6, 8, 8) * 3 + 2
    an = ActNorm(6)
    an.initialize(x)
    y = an(x)
    assert torch.allclose(y.mean(dim=(0, 2, 3)), torch.zeros(6), atol=1e-5)
    assert torch.allclose(y.std(dim=(0, 2, 3), unbiased=False), torch.ones(6), atol=1e-4)
    assert roundtrip_error(an, x) < TOL


def test_invconv_lu_weight_and_inverse():
    conv = InvConv1x1(12, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        conv.lower.add_(0.1 * torch.randn(12, 12))
        conv.upper.add_(0.1 * torch.randn(12, 12))
        conv.log_s.add_(0.1)
    eye = conv.weight() @ conv.inverse_weight()
    assert torch.allclose(eye, torch.eye(12), atol=1e-5)
    assert roundtrip_error(conv, torch.randn(2, 12, 5, 7)) < TOL


def test_fresh_coupling_is_identity_and_perturbed_coupling_inverts():
    c = AffineCoupling(12, 16, cond_channels=1)
    x, cond = torch.randn(2, 12, 6, 6), torch.rand(2, 1, 6, 6)
    assert torch.equal(c(x, cond), x)
    perturb(c, std=0.2)
    assert not torch.allclose(c(x, cond), x)
    assert roundtrip_error(c, x, cond) < TOL


def test_coupling_scale_is_bounded():
    c = perturb(AffineCoupling(4, 8), std=50.0)
    _, scale = c._shift_scale(torch.randn(1, 2, 5, 5), None)
    assert scale.min() >= 0.5 and scale.max() <= 1.5


def test_step_level_sequence_and_inverse_wrapper_round_trip():
    x, cond = torch.randn(2, 12, 8, 8), torch.rand(2, 1, 8, 8)
    step = perturb(FlowStep(12, 16, cond_channels=1), std=0.1)
    assert roundtrip_error(step, x, cond) < TOL
    scale = perturb(FlowScale(3, 2, 16, 1, inner=FlowScale(6, 2, 16, 1)), std=0.1)
    assert roundtrip_error(scale, torch.randn(2, 3, 16, 16), torch.rand(2, 1, 16, 16)) < TOL
    seq = InvertibleSequence(step, Inverse(perturb(FlowStep(12, 16, 1), std=0.1, seed=1)))
    assert roundtrip_error(seq, x, cond) < TOL
    inv = Inverse(step)
    assert torch.equal(inv(x, cond), step.inverse(x, cond))


@pytest.mark.parametrize("scales", [1, 2, 3])
def test_multiscale_flow_round_trip_with_and_without_condition(scales):
    flow = perturb(MultiScaleFlow(3, depth=3, width=16, scales=scales, cond_channels=1), std=0.1)
    x = torch.rand(2, 3, 32, 24)
    assert roundtrip_error(flow, x, torch.rand(2, 1, 32, 24)) < TOL
    plain = perturb(MultiScaleFlow(3, depth=2, width=8, scales=scales), std=0.1)
    assert roundtrip_error(plain, x) < TOL
    assert sum(isinstance(m, FlowStep) for m in flow.modules()) == 3 * scales


def test_multiscale_flow_takes_one_coupling_width_per_scale():
    flow = perturb(MultiScaleFlow(3, depth=2, width=[4, 12], scales=2, cond_channels=1), std=0.1)
    widths = lambda steps: [m.net[0].out_channels for m in steps.modules() if isinstance(m, AffineCoupling)]  # noqa: E731
    assert widths(flow.root.steps) == [4, 4] and widths(flow.root.inner.steps) == [12, 12]
    x = torch.rand(2, 3, 16, 8)
    assert roundtrip_error(flow, x, torch.rand(2, 1, 16, 8)) < TOL
    with pytest.raises(ValueError, match="one per scale"):
        MultiScaleFlow(3, depth=2, width=[4, 12, 8], scales=2)


def test_multiscale_flow_checks_shapes():
    flow = MultiScaleFlow(3, depth=1, width=4, scales=2)
    with pytest.raises(ValueError, match="multiples of 4"):
        flow(torch.rand(1, 3, 30, 32))
    with pytest.raises(ValueError):
        MultiScaleFlow(scales=0)


def test_folded_actnorm_and_1x1_is_the_same_map_both_ways():
    from irae_hf.models.flows import ActNorm, Affine1x1, InvConv1x1, InvertibleSequence

    torch.manual_seed(0)
    actnorm, conv = ActNorm(8), InvConv1x1(8)
    with torch.no_grad():
        actnorm.bias.normal_()
        actnorm.logs.normal_(std=0.5)
    pair, folded = InvertibleSequence(actnorm, conv), Affine1x1.fold(actnorm, conv)
    x = torch.randn(2, 8, 5, 7)
    with torch.no_grad():
        assert torch.allclose(folded(x), pair(x), atol=1e-5)
        assert torch.allclose(folded.inverse(folded(x)), x, atol=1e-5)
        assert torch.allclose(folded.inverse(x), pair.inverse(x), atol=1e-5)
