import numpy as np
import pytest
import torch
from datasets import Dataset
from datasets import Image as ImageFeature
from PIL import Image

from irae_hf.io.image_datasets import load_image_dataset
from irae_hf.tasks import TASKS
from irae_hf.tasks.degradations import add_gaussian_noise, as_8bit_file, free_form_mask, jpeg_compress
from irae_hf.training.data import (
    DegradationSpec,
    PatchBatches,
    PatchStream,
    ValidationSet,
    image_column,
    random_patch,
)


@pytest.fixture
def folder(tmp_path):
    rng = np.random.default_rng(0)
    for i in range(5):
        Image.fromarray(rng.integers(0, 256, (40 + i, 50, 3), dtype=np.uint8)).save(tmp_path / f"{i}.png")
    Image.fromarray(rng.integers(0, 256, (20, 20), dtype=np.uint8)).save(tmp_path / "small_grey.png")
    return tmp_path


def test_folder_dataset_and_image_column(folder):
    ds = load_image_dataset(str(folder))
    assert len(ds) == 6 and image_column(ds) == "image"
    with pytest.raises(ValueError, match="no column 'img'"):
        image_column(ds, "img")
    text = Dataset.from_dict({"caption": ["a", "b"]})
    with pytest.raises(ValueError, match="no image column"):
        image_column(text)
    mixed = Dataset.from_dict({"caption": ["a"], "picture": [Image.new("RGB", (8, 8))]}).cast_column(
        "picture", ImageFeature()
    )
    assert image_column(mixed) == "picture"
    with pytest.raises(ValueError, match="not images"):
        image_column(mixed, "caption")


@pytest.mark.parametrize("task", ["denoise", "jpeg", "inpaint"])
def test_samples_are_deterministic_by_position_and_sharded(folder, task):
    ds = load_image_dataset(str(folder))
    spec = DegradationSpec(task)
    a = PatchStream(ds, "image", 32, spec, seed=3)
    b = PatchStream(ds, "image", 32, spec, seed=3)
    cached = PatchStream(ds, "image", 32, spec, seed=3, cache=True)
    s1, s2 = a.sample_at(7), b.sample_at(7)
    assert all(torch.equal(s1[k], v) for k, v in cached.sample_at(7).items()) and len(cached.cache) == 1
    assert all(torch.equal(s1[k], s2[k]) for k in s1)
    assert s1["clean"].shape == (3, 32, 32) and s1["degraded"].shape == (3, 32, 32)
    assert not torch.equal(a.sample_at(8)["clean"], s1["clean"])
    rank0 = PatchStream(ds, "image", 32, spec, seed=3, rank=0, world=2)
    rank1 = PatchStream(ds, "image", 32, spec, seed=3, rank=1, world=2)
    assert torch.equal(rank0.sample_at(0)["clean"], a.sample_at(0)["clean"])  # position 0
    assert torch.equal(rank1.sample_at(0)["clean"], a.sample_at(1)["clean"])  # position 1
    level = s1["level"]
    if task == "denoise":
        assert 0 <= level <= 75
    elif task == "jpeg":
        assert 5 <= level <= 95
    else:
        assert level.shape == (1, 32, 32) and 0 < level.mean() < 1


def test_batches_do_not_depend_on_worker_count(folder):
    stream = PatchStream(load_image_dataset(str(folder)), "image", 16, DegradationSpec("denoise"), seed=0)

    def first(workers, start=0, n=4):
        loader = torch.utils.data.DataLoader(PatchBatches(stream, 3, start), batch_size=None, num_workers=workers)
        it = iter(loader)
        return [next(it)["degraded"] for _ in range(n)]

    serial, parallel, resumed = first(0), first(2), first(0, start=2, n=2)
    assert all(torch.equal(x, y) for x, y in zip(serial, parallel))
    assert all(torch.equal(x, y) for x, y in zip(serial[2:], resumed))


def test_streaming_dataset_resumes_by_skipping(folder):
    ds = load_image_dataset(str(folder), streaming=True)
    stream = PatchStream(ds, "image", 16, DegradationSpec("jpeg"), seed=0)
    assert stream.streaming
    it = stream.samples()
    seq = [next(it)["clean"] for _ in range(8)]  # more than one pass over 6 images
    later = stream.samples(start=5)
    assert torch.equal(next(later)["clean"], seq[5])


def test_random_patch_pads_small_images():
    rng = np.random.default_rng(0)
    assert random_patch(torch.rand(3, 10, 50), 32, rng).shape == (3, 32, 32)
    assert random_patch(torch.rand(3, 1, 1), 8, rng).shape == (3, 8, 8)


def test_fixed_level_names_the_validation_degradation():
    """TASKS[task].validation_words (the model cards' words) says what DegradationSpec.fixed does."""
    clean = torch.rand(3, 64, 64)
    noisy, sigma = DegradationSpec("denoise").fixed(clean, 3)
    assert (
        TASKS["denoise"].validation_words == "σ 25"
        and sigma == 25
        and torch.equal(noisy, add_gaussian_noise(clean, 25, seed=3))
    )
    jpeg, quality = DegradationSpec("jpeg").fixed(clean, 3)
    assert (
        TASKS["jpeg"].validation_words == "JPEG quality 20"
        and quality == 20
        and torch.equal(jpeg, jpeg_compress(clean, 20))
    )
    _, mask = DegradationSpec("inpaint").fixed(clean, 3)
    assert "free-form" in TASKS["inpaint"].validation_words and torch.equal(mask, free_form_mask(64, 64, seed=3))


def test_mask_scale_reaches_the_training_masks():
    clean = torch.rand(3, 64, 64)
    spec = DegradationSpec("inpaint", mask_types=("free-form",), mask_scale=480)
    _, mask = spec.sample(clean, np.random.default_rng(7))
    rng = np.random.default_rng(7)
    rng.integers(1)  # the mask kind
    assert torch.equal(mask, free_form_mask(64, 64, seed=rng, scale=480))


def test_file_fraction_stores_noisy_inputs_as_8bit_files():
    clean = torch.rand(3, 32, 32)
    floats = [DegradationSpec("denoise").sample(clean, np.random.default_rng(i))[0] for i in range(20)]
    assert all(x.min() < 0 or x.max() > 1 for x in floats)  # the benchmark's unclipped noise by default
    files = DegradationSpec("denoise", file_fraction=1.0)
    noisy, sigma = files.sample(clean, np.random.default_rng(3))
    plain, same_sigma = DegradationSpec("denoise").sample(clean, np.random.default_rng(3))
    assert sigma == same_sigma and torch.equal(noisy, as_8bit_file(plain))
    half = DegradationSpec("denoise", file_fraction=0.5)
    stored = [
        bool(torch.equal(x, as_8bit_file(x)))
        for x in (half.sample(clean, np.random.default_rng(i))[0] for i in range(40))
    ]
    assert 8 < sum(stored) < 32  # about half


def box_sides(spec: DegradationSpec, size: int, draws: int = 200) -> set[int]:
    """The box sides ``spec`` draws for ``size``×``size`` crops (a box's side is its mask's widest row)."""
    rng = np.random.default_rng(0)
    return {int(spec.sample(torch.rand(3, size, size), rng)[1].sum(-1).max()) for _ in range(draws)}


def test_box_sizes_set_the_training_boxes():
    default = box_sides(DegradationSpec("inpaint", mask_types=("box",)), 96)
    assert min(default) >= 12 and max(default) <= 48  # 1/8 to 1/2 of the crop
    sized = box_sides(DegradationSpec("inpaint", mask_types=("box",), box_sizes=(40, 64)), 96)
    assert min(sized) >= 40 and max(sized) == 64  # the benchmark's 64-pixel box is reached
    capped = box_sides(DegradationSpec("inpaint", mask_types=("box",), box_sizes=(40, 200)), 64, draws=50)
    assert max(capped) <= 48 and min(capped) >= 40  # at most 3/4 of the crop, so context remains


def test_validation_set_is_fixed(folder):
    ds = load_image_dataset(str(folder))
    val = ValidationSet(ds, "image", DegradationSpec("denoise"), crop=32, multiple=4)
    a, b = val[1], val[1]
    assert torch.equal(a["degraded"], b["degraded"]) and a["clean"].shape == (3, 32, 32)
    assert val[5]["clean"].shape == (3, 20, 20)  # smaller than the crop: kept whole (multiple of 4)
