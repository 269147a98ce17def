import io

import numpy as np
import pytest
import torch
from PIL import Image
from skimage import data

from irae_hf.io.images import load_image
from irae_hf.pipeline.restore import FloatResult, recover_input, restore
from irae_hf.tasks import condition
from irae_hf.tasks.degradations import MASK_FILL, add_gaussian_noise, box_mask

from .conftest import make_model, perturb, random_image


@pytest.mark.parametrize(
    "mode,expected",
    [
        ("RGB", "RGB"),
        ("L", "L"),
        ("RGBA", "RGBA"),
        ("LA", "LA"),
        ("P", "RGB"),
        ("CMYK", "RGB"),
        ("YCbCr", "RGB"),
        ("1", "L"),
        ("I", "I"),
        ("F", "F"),
    ],
)
def test_odd_sizes_keep_size_and_mode(denoiser, mode, expected):
    img = (
        Image.fromarray(random_image()).convert(mode)
        if mode not in ("I", "F")
        else Image.fromarray(random_image()[..., 0]).convert(mode)
    )
    out = restore(denoiser, img, sigma=25)
    assert isinstance(out, Image.Image)
    assert out.size == (53, 37) and out.mode == expected


def test_16_bit_grey_png_round_trips_as_16_bit(denoiser, tmp_path):
    arr = np.random.default_rng(0).integers(0, 65536, (37, 53), dtype=np.uint16)
    Image.fromarray(arr).save(tmp_path / "g16.png")
    img = load_image(tmp_path / "g16.png")
    out = restore(denoiser, img, sigma=5)
    assert out.mode == img.mode and out.mode.startswith("I") and out.size == (53, 37)
    assert np.asarray(out).max() > 255  # still the 16-bit range


def test_alpha_is_passed_through_untouched(denoiser):
    rgba = np.dstack([random_image(), np.random.default_rng(1).integers(0, 256, (37, 53), dtype=np.uint8)])
    out = restore(denoiser, Image.fromarray(rgba, "RGBA"), sigma=25)
    assert np.array_equal(np.asarray(out)[..., 3], rgba[..., 3])
    out_np = restore(denoiser, rgba, sigma=25)
    assert out_np.shape == rgba.shape and np.array_equal(out_np[..., 3], rgba[..., 3])


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32, np.float64])
def test_numpy_arrays_keep_dtype_and_shape(denoiser, dtype):
    base = random_image().astype(np.float64) / 255
    arr = (base * np.iinfo(dtype).max).astype(dtype) if np.issubdtype(dtype, np.integer) else base.astype(dtype)
    for a in (arr, arr[..., 0], arr[..., :1]):
        out = restore(denoiser, a, sigma=15)
        assert out.dtype == a.dtype and out.shape == a.shape


def test_tensors_batches_and_lists(denoiser):
    x = torch.rand(2, 3, 37, 53)
    out = restore(denoiser, x, sigma=25)
    assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1
    assert restore(denoiser, x[0], sigma=25).shape == (3, 37, 53)
    assert restore(denoiser, torch.rand(1, 37, 53), sigma=25).shape == (1, 37, 53)
    outs = restore(denoiser, [Image.fromarray(random_image()), random_image(20, 30)], sigma=25)
    assert outs[0].size == (53, 37) and outs[1].shape == (20, 30, 3)


def test_exif_orientation_is_applied(denoiser, tmp_path):
    img = Image.fromarray(random_image(40, 60))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise on display
    img.save(tmp_path / "rot.jpg", exif=exif)
    out = restore(denoiser, Image.open(tmp_path / "rot.jpg"), sigma=25)
    assert out.size == (40, 60)  # upright: width and height swapped


@pytest.mark.parametrize("shape", [(1, 1), (1, 4000), (3, 2)])
def test_tiny_and_thin_images(denoiser, shape):
    out = restore(denoiser, np.zeros(shape + (3,), np.uint8), sigma=25)
    assert out.shape == shape + (3,)


def test_bad_inputs_fail_clearly(denoiser, tmp_path):
    bad = torch.rand(1, 3, 16, 16)
    bad[0, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN or Inf"):
        restore(denoiser, bad, sigma=25)
    with pytest.raises(TypeError, match="cannot restore a str"):
        restore(denoiser, "photo.png", sigma=25)
    with pytest.raises(ValueError, match="tile must be"):
        restore(denoiser, random_image(), sigma=25, tile=-3)
    buf = io.BytesIO()
    Image.fromarray(random_image(64, 64)).save(buf, format="PNG")
    (tmp_path / "cut.png").write_bytes(buf.getvalue()[:200])
    with pytest.raises(ValueError, match="cannot read image"):
        load_image(tmp_path / "cut.png")


def test_recover_input_on_a_real_photo():
    """The paper's point: the corrupted input comes back from the float result (here through padding)."""
    model = perturb(make_model("denoise", width=32, depth=4), std=0.05)
    clean = torch.from_numpy(data.chelsea()).permute(2, 0, 1).float() / 255  # 300×451: padded to 300×452
    noisy = add_gaussian_noise(clean, 25, seed=0)[None]
    result = restore(model, noisy, sigma=25, return_float=True)
    assert isinstance(result, FloatResult) and result.image.shape == noisy.shape
    assert (result.image - noisy).abs().max() > 1e-2  # the model did change the image
    assert (recover_input(model, result) - noisy).abs().max() < 1e-3
    assert (recover_input(model, result, sigma=25) - noisy).abs().max() < 1e-3


def test_recover_input_inpainting_gives_the_filled_image(model_factory):
    model = model_factory("inpaint")
    img = torch.rand(1, 3, 40, 56)
    mask = box_mask(40, 56, size=16, seed=0)
    result = restore(model, img, mask=mask, return_float=True)
    rec = recover_input(model, result, mask=mask)
    expected = torch.where(mask[None] > 0.5, torch.full_like(img, MASK_FILL), img)
    assert (rec - expected).abs().max() < 1e-3
    out = restore(model, img, mask=mask)
    assert torch.equal(out[:, :, mask[0] == 0], img[:, :, mask[0] == 0])  # known pixels kept exactly
    assert not torch.equal(out[:, :, mask[0] > 0], img[:, :, mask[0] > 0])
    with pytest.raises(ValueError, match="does not match the image size"):
        restore(model, img, mask=torch.zeros(20, 20))


def test_time_estimate_counts_the_tiles_pixels_and_the_ensemble():
    from irae_hf.pipeline.restore import estimate_seconds
    from irae_hf.pipeline.tiling import tiled_pixels

    model = make_model("denoise")
    plain = estimate_seconds(model, 100, 100, tile=None)
    assert plain > 0 and estimate_seconds(model, 100, 100, tile=None, ensemble=True) == pytest.approx(8 * plain)
    assert estimate_seconds(model, 200, 100, tile=None) == pytest.approx(2 * plain)
    tiled = estimate_seconds(model, 200, 200, tile=128, overlap=32)
    assert tiled == pytest.approx(plain * tiled_pixels(200, 200, 128, 32, model.multiple) / 100**2)
    assert tiled_pixels(200, 200, 128, 32, 4) > 200 * 200 == tiled_pixels(200, 200, None, 32, 4)


def test_bf16_precision_is_close_to_fp32_and_refused_for_the_exact_inverse(monkeypatch):
    import irae_hf.models.fused
    from irae_hf.models.registry import build

    monkeypatch.setattr(irae_hf.models.fused, "cpu_has_fast_bf16", lambda: True)  # the bf16 path, on any CPU
    model = perturb(make_model("denoise"))
    image = Image.fromarray(data.astronaut()[:64, :96])
    exact, fast = restore(model, image, sigma=25), restore(model, image, sigma=25, precision="bf16")
    assert fast.size == exact.size and fast.mode == exact.mode
    diff = np.abs(np.asarray(fast, float) - np.asarray(exact, float))
    assert diff.mean() < 1.0 and diff.max() <= 16
    assert next(model.parameters()).dtype == torch.float32  # the caller's model is left as it was
    with pytest.raises(ValueError, match="exact inverse needs the fp32"):
        restore(model, image, sigma=25, precision="bf16", return_float=True)
    with pytest.raises(ValueError, match="precision must be one of"):
        restore(model, image, sigma=25, precision="fp16")
    with pytest.raises(ValueError, match="offered for IRAE models, not DnCNN"):
        restore(build("dncnn", task="denoise"), image, sigma=25, precision="bf16")


def test_the_default_path_is_the_models_own_map():
    model = perturb(make_model("denoise"))
    x = torch.rand(1, 3, 40, 56)
    with torch.inference_mode():
        direct = model(x, condition(model.task, x, sigma=25)).clamp(0, 1)
    assert torch.allclose(restore(model, x, sigma=25), direct, atol=1e-5)  # channels-last inside: same map


def test_bf16_on_a_cpu_without_bf16_hardware_runs_the_fp32_map_and_says_so(monkeypatch):
    """Emulated bf16 makes the model 2–12× slower than fp32 (docs/inference.md): asking for speed must not cost it."""
    import irae_hf.models.fused

    monkeypatch.setattr(irae_hf.models.fused, "cpu_has_fast_bf16", lambda: False)
    model = perturb(make_model("denoise"))
    assert model.in_precision("fp32") is model
    with pytest.warns(UserWarning, match="precision='bf16' runs fp32 here"):
        assert model.in_precision("bf16") is model
    image = Image.fromarray(data.astronaut()[:64, :96])
    with pytest.warns(UserWarning, match="no bf16 hardware"):
        fast = restore(model, image, sigma=25, precision="bf16")
    assert np.array_equal(np.asarray(fast), np.asarray(restore(model, image, sigma=25)))


def test_levels_and_tensors_that_are_not_what_they_seem_are_refused_in_words():
    import torch

    from irae_hf import IRAE

    denoiser, jpeg = IRAE(width=8, depth=2), IRAE(width=8, depth=2, task="jpeg")
    x = torch.rand(1, 3, 16, 16)
    with pytest.raises(ValueError, match="sigma must be a number or 'auto', got True"):
        restore(denoiser, x, sigma=True)
    with pytest.raises(ValueError, match="quality is a whole number, got 10.5"):
        restore(jpeg, x, quality=10.5)
    assert restore(jpeg, x, quality=10.0).shape == x.shape  # a whole number written as a float is one
    with pytest.raises(ValueError, match="a tensor on the meta device holds no values"):
        restore(denoiser, torch.empty(1, 3, 16, 16, device="meta"), sigma=5)
    with pytest.raises(ValueError, match="this model takes 4 channels; restore\\(\\) gives models RGB images"):
        restore(IRAE(width=8, depth=2, channels=4), x, sigma=5)
