import torch

from irae_hf.models.memsave import invertible_checkpoint
from irae_hf.tasks import condition

from .conftest import make_model


def grads(model, x, sigma):
    model.zero_grad()
    loss = (model(x, condition(model.task, x, sigma=sigma)) - 0.5).abs().mean()
    loss.backward()
    return loss.detach(), {n: p.grad.clone() for n, p in model.named_parameters()}


def test_memory_saving_gradients_equal_autograd():
    model = make_model("denoise", width=16, depth=4).train()
    x = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    loss_ref, ref = grads(model, x, 25)
    model.set_memory_saving(True)
    loss_ms, got = grads(model, x, 25)
    assert torch.allclose(loss_ref, loss_ms, atol=1e-6)
    for name, g in ref.items():
        rel = (got[name] - g).norm() / g.norm().clamp(min=1e-12)
        assert rel < 1e-4, (name, rel.item())


def test_checkpoint_handles_input_gradients_and_reverse():
    model = make_model("denoise", width=8, depth=2).train()
    layers = model.flow1.root.steps.layers
    x = torch.rand(1, 12, 8, 8, requires_grad=True)
    cond = torch.full((1, 1, 8, 8), 0.1)
    for reverse in (False, True):
        x.grad = None
        y_ref = x
        for layer in reversed(layers) if reverse else layers:
            y_ref = layer.inverse(y_ref, cond) if reverse else layer(y_ref, cond)
        (g_ref,) = torch.autograd.grad(y_ref.square().sum(), x)
        y = invertible_checkpoint(layers, x, cond, reverse)
        assert torch.allclose(y, y_ref, atol=1e-6)
        (g,) = torch.autograd.grad(y.square().sum(), x)
        assert torch.allclose(g, g_ref, rtol=1e-4, atol=1e-6)


def test_memory_saving_is_off_in_eval_and_no_grad():
    model = make_model("denoise", width=8, depth=2)
    model.set_memory_saving(True)
    x = torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        cond = condition(model.task, x, sigma=10)
        assert (model.inverse(model(x, cond), cond) - x).abs().max() < 1e-4
