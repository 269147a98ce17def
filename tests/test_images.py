"""irae_hf.io.images: any image to a float batch and back to the caller's type, mode and depth; masks; saving."""

import numpy as np
import pytest
import torch
from PIL import Image

from irae_hf.io.images import from_batch, mask_to_tensor, save_image, to_batch, to_tensor, to_uint8

from .conftest import random_image


@pytest.mark.parametrize(
    "image",
    [
        Image.fromarray(random_image(9, 13)),
        Image.fromarray(random_image(9, 13)[..., 0]),
        Image.fromarray(np.dstack([random_image(9, 13), random_image(9, 13, seed=1)[..., :1]])),
        Image.fromarray(np.random.default_rng(0).integers(0, 65536, (9, 13), dtype=np.uint16)),
        random_image(9, 13),
        np.random.default_rng(0).integers(0, 65536, (9, 13, 3), dtype=np.uint16),
        np.random.default_rng(0).random((9, 13, 1)).astype(np.float32),
        torch.rand(2, 3, 9, 13),
    ],
    ids=["RGB", "L", "RGBA", "I;16", "uint8", "uint16", "float HxWx1", "tensor batch"],
)
def test_every_kind_of_image_round_trips_through_a_batch(image):
    x, meta = to_batch(image)
    assert x.ndim == 4 and x.shape[1] == 3 and x.dtype == torch.float32 and 0 <= x.min() and x.max() <= 1
    back = from_batch(x.clone(), meta)
    assert type(back) is type(image)
    if isinstance(image, Image.Image):
        assert back.mode == image.mode and np.array_equal(np.asarray(back), np.asarray(image))
    elif isinstance(image, np.ndarray):
        assert back.dtype == image.dtype and back.shape == image.shape and np.allclose(back, image, atol=1e-6)
    else:
        assert torch.equal(back, image)


def test_masks_are_nonzero_missing_and_must_fit_the_image():
    mask = np.zeros((6, 8), np.uint8)
    mask[2:4, 3:5] = 7
    m = mask_to_tensor(Image.fromarray(mask), 6, 8)
    assert m.shape == (1, 1, 6, 8) and m.sum() == 4 and set(m.unique().tolist()) == {0.0, 1.0}
    with pytest.raises(ValueError, match="does not match the image size"):
        mask_to_tensor(mask, 8, 6)


@pytest.mark.parametrize("height, width", [(1, 1), (1, 9), (9, 1)])
def test_masks_one_pixel_high_or_wide_fit_their_images(height, width):
    """Only the batch and channel axes are dropped: a 1×W mask is not a W-long vector (nor a 1×1 one a scalar)."""
    mask = np.ones((height, width), np.uint8)
    for given in (Image.fromarray(mask * 255), mask, mask[..., None], torch.from_numpy(mask)[None, None]):
        assert mask_to_tensor(given, height, width).shape == (1, 1, height, width)
    with pytest.raises(ValueError, match=rf"mask of shape \({height}, {width}\) does not match the image size 4×4"):
        mask_to_tensor(mask, 4, 4)


def test_save_image_picks_the_format_by_the_suffix(tmp_path):
    image = Image.fromarray(random_image(9, 13))
    for name, fmt in (("a.png", "PNG"), ("b.jpg", "JPEG"), ("c.tiff", "TIFF"), ("d.webp", "WEBP")):
        save_image(image, tmp_path / name)
        assert Image.open(tmp_path / name).format == fmt
    assert np.array_equal(np.asarray(Image.open(tmp_path / "a.png")), np.asarray(image))


def test_uint8_conversions_round_and_clip():
    x = torch.tensor([-0.1, 0.0, 0.5, 1.0, 1.3]).reshape(1, 1, 5).expand(3, 1, 5)
    assert to_uint8(x)[0, :, 0].tolist() == [0, 0, 128, 255, 255]
    assert torch.equal(to_tensor(to_uint8(x)), torch.tensor([0, 0, 128, 255, 255]).div(255).expand(3, 1, 5))


def test_float_images_in_0_255_and_empty_tensors_are_refused_in_words():
    """0–255 data passed as floats was restored as if it were [0, 1] (garbage back); an empty tensor hit torch."""
    with pytest.raises(ValueError, match=r"float image values span .* expected \[0, 1\] \(divide 8-bit data by 255\)"):
        to_batch(np.full((4, 4, 3), 200.0))
    with pytest.raises(ValueError, match="expected \\[0, 1\\]"):
        to_batch(torch.full((3, 4, 4), 200.0))
    noisy = torch.rand(3, 8, 8) + 0.8 * torch.randn(3, 8, 8)  # the float protocol strays outside [0, 1]: accepted
    assert to_batch(noisy)[0].shape == (1, 3, 8, 8)
    for shape in ((1, 3, 0, 8), (0, 3, 8, 8), (3, 8, 0)):
        with pytest.raises(ValueError, match="empty image tensor"):
            to_batch(torch.rand(shape))
