"""Training and validation data: Hugging Face ``datasets`` in, degraded/clean patch batches out.

Every random choice of a training sample (crop, flip, rotation, degradation level, mask) comes from a
seed derived from ``(seed, position)``, where ``position`` counts samples drawn by the run; so a run
resumed at step ``s`` draws exactly the samples an uninterrupted run would have drawn.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from ..io.images import to_tensor
from ..tasks import MASK_KINDS, TASKS, TRAINING_RANGES, degrade
from ..tasks.degradations import Seed

__all__ = [
    "DegradationSpec",
    "image_column",
    "PatchStream",
    "PatchBatches",
    "ValidationSet",
    "collate",
]


@dataclass
class DegradationSpec:
    """Ranges the training degradation levels are drawn from, so one model learns the whole range."""

    task: str = "denoise"
    sigma_range: tuple[float, float] = TRAINING_RANGES["sigma_range"][:2]  # the tasks' defaults
    quality_range: tuple[int, int] = TRAINING_RANGES["quality_range"][:2]
    mask_types: tuple[str, ...] = MASK_KINDS
    #: free-form strokes sized for an image of this many pixels (None: for the crop itself)
    mask_scale: int | None = None
    #: box sides drawn from this range of pixels, capped at 3/4 of the crop (None: 1/8 to 1/2 of the crop)
    box_sizes: tuple[int, int] | None = None
    #: the fraction of noisy training inputs stored as 8-bit files (clipped, rounded), as users' photos are
    file_fraction: float = 0.0
    #: the fraction of noisy inputs given camera-like noise (signal-dependent, in linear light) instead of Gaussian
    camera_fraction: float = 0.0
    #: the fraction of noisy inputs then saved as JPEG, at a quality drawn from ``noisy_jpeg_range`` (as phones do)
    noisy_jpeg_fraction: float = 0.0
    noisy_jpeg_range: tuple[int, int] = TRAINING_RANGES["noisy_jpeg_range"][:2]

    def sample(self, clean: Tensor, rng: np.random.Generator) -> tuple[Tensor, Tensor]:
        """(degraded image, level): level is σ, quality, or the 1×H×W mask, drawn from the ranges by the task."""
        return _as_tensor(*TASKS[self.task].sample(clean, rng, self))

    def fixed(self, clean: Tensor, index: int) -> tuple[Tensor, Tensor]:
        """A deterministic validation degradation at the task's ``validation`` level (σ 25, quality 20, or a
        seeded free-form mask)."""
        return self._degrade(clean, TASKS[self.task].validation, index)

    def _degrade(self, clean: Tensor, level: float | int | str | Tensor, seed: Seed) -> tuple[Tensor, Tensor]:
        """``degrade`` with the level as a tensor, as batches collate it."""
        return _as_tensor(*degrade(clean, self.task, level, seed=seed))


def _as_tensor(degraded: Tensor, level: float | int | Tensor) -> tuple[Tensor, Tensor]:
    """(degraded, level) with the level as a tensor, as batches collate it."""
    return degraded, level if isinstance(level, Tensor) else torch.tensor(float(level))


def image_column(dataset, column: str | None = None) -> str:
    """The image column: ``column`` if given, else the first column of ``Image`` type."""
    from datasets import Image as ImageFeature

    features = dataset.features or {}
    if column is not None:
        if column not in features:
            raise ValueError(f"no column {column!r}; the dataset has {sorted(features)}")
        if not isinstance(features[column], ImageFeature):
            raise ValueError(f"column {column!r} holds {features[column]}, not images")
        return column
    for name, feature in features.items():
        if isinstance(feature, ImageFeature):
            return name
    raise ValueError(f"the dataset has no image column (columns: {sorted(features)}); pass --image_column")


def random_patch(image: Tensor, crop: int, rng: np.random.Generator) -> Tensor:
    """A random ``crop``×``crop`` patch with a random flip and 90° rotation (reflect-padded if small)."""
    h, w = image.shape[-2:]
    if h < crop or w < crop:
        ph, pw = max(0, crop - h), max(0, crop - w)
        mode = "reflect" if ph < h and pw < w else "replicate"
        image = torch.nn.functional.pad(image[None], (0, pw, 0, ph), mode=mode)[0]
        h, w = image.shape[-2:]
    top, left = int(rng.integers(0, h - crop + 1)), int(rng.integers(0, w - crop + 1))
    patch = image[:, top : top + crop, left : left + crop]
    if rng.random() < 0.5:
        patch = patch.flip(-1)
    return torch.rot90(patch, int(rng.integers(4)), dims=(-2, -1)).contiguous()


def collate(samples: list[dict[str, Tensor]]) -> dict[str, Tensor]:
    return {k: torch.stack([s[k] for s in samples]) for k in samples[0]}


class PatchStream:
    """Per-process stream of training samples, sharded by position and exactly resumable.

    Map-style datasets: sample ``position`` (counted over all processes) picks image
    ``perm_epoch[position % n]``; this process takes positions ``rank, rank + world, ...``.
    Streaming datasets: each process reads its own shard (``split_dataset_by_node``) and skips what it
    has already consumed on resume.
    """

    def __init__(
        self,
        dataset,
        column: str,
        crop: int,
        spec: DegradationSpec,
        seed: int,
        rank: int = 0,
        world: int = 1,
        cache: bool = False,
        max_bad: int = 10,
    ):
        self.dataset, self.column, self.crop, self.spec = dataset, column, crop, spec
        self.seed, self.rank, self.world = seed, rank, world
        self.cache: dict[int, Tensor] | None = {} if cache else None  # decoded images, for small datasets
        self.bad: dict[int, str] = {}  # images that could not be decoded, and why
        self.max_bad = max_bad
        self.streaming = not hasattr(dataset, "__len__")
        self._perm: tuple[int, np.ndarray] | None = None
        if not self.streaming and len(dataset) == 0:
            raise ValueError("the training dataset has no images")

    def _sample(self, image: Image.Image | Tensor, position: int) -> dict[str, Tensor]:
        rng = np.random.default_rng([self.seed, position])
        clean = random_patch(image if isinstance(image, Tensor) else to_tensor(image), self.crop, rng)
        degraded, level = self.spec.sample(clean, rng)
        return {"degraded": degraded, "clean": clean, "level": level}

    def sample_at(self, k: int) -> dict[str, Tensor]:
        """This process's ``k``-th sample of a map-style dataset (random access, no state)."""
        n = len(self.dataset)
        position = k * self.world + self.rank
        epoch = position // n
        if self._perm is None or self._perm[0] != epoch:
            self._perm = (epoch, np.random.default_rng([self.seed, epoch, 7]).permutation(n))
        for j in range(n):  # an image that cannot be decoded is skipped for the next one, the same way every run
            image = self._image(int(self._perm[1][(position + j) % n]))
            if image is not None:
                return self._sample(image, position)
        raise ValueError("no training image can be decoded")  # pragma: no cover - the limit stops it before

    def _image(self, index: int) -> Tensor | None:
        """Image ``index`` as a 3×H×W tensor (cached if asked), or None when it cannot be decoded: counted in
        ``bad``, and past ``max_bad`` such images training stops with their list."""
        if self.cache is not None and index in self.cache:
            return self.cache[index]
        if index in self.bad:
            return None
        try:
            image = to_tensor(self.dataset[index][self.column])
        except Exception as e:  # noqa: BLE001 - decoders raise many kinds; one bad photo must not end training
            self.bad[index] = f"{type(e).__name__}: {e}"
            if len(self.bad) > self.max_bad:
                listed = "; ".join(f"#{i}: {why}" for i, why in sorted(self.bad.items()))
                raise ValueError(
                    f"{len(self.bad)} training images cannot be decoded, over --max_bad_images {self.max_bad}: {listed}"
                ) from None
            return None
        if self.cache is not None:
            self.cache[index] = image
        return image

    def samples(self, start: int = 0) -> Iterator[dict[str, Tensor]]:
        """This process's samples, from its ``start``-th sample on."""
        if self.streaming:
            yield from self._stream(start)
            return
        k = start
        while True:
            yield self.sample_at(k)
            k += 1

    def _stream(self, start: int) -> Iterator[dict[str, Tensor]]:
        from datasets.distributed import split_dataset_by_node

        shard = split_dataset_by_node(self.dataset, rank=self.rank, world_size=self.world)
        shuffled = shard.shuffle(seed=self.seed, buffer_size=256)
        k, epoch = 0, 0
        while True:
            shuffled.set_epoch(epoch)
            empty = True
            for example in shuffled:
                empty = False
                if k >= start:  # resumed runs re-read, but do not reuse, what was consumed
                    yield self._sample(example[self.column], k * self.world + self.rank)
                k += 1
            if empty:
                raise ValueError("the streamed dataset shard has no images")
            epoch += 1

    def batch_at(self, b: int, batch_size: int) -> dict[str, Tensor]:
        """Batch ``b`` of a map-style dataset: samples ``b * batch_size ...`` of this process."""
        return collate([self.sample_at(k) for k in range(b * batch_size, (b + 1) * batch_size)])

    def first_batch(self, batch_size: int) -> dict[str, Tensor]:
        """This process's first batch (map-style or streaming), e.g. for actnorm initialisation."""
        return collate(list(islice(self.samples(0), batch_size)))


class PatchBatches(torch.utils.data.IterableDataset):
    """Batches ``start, start + 1, ...`` of a PatchStream for a DataLoader (``batch_size=None``).

    Map-style data: worker ``w`` of ``W`` builds batches ``start + w, start + w + W, ...`` and the
    DataLoader interleaves them in order, so the batch sequence does not depend on ``W``. Streaming
    data is read sequentially (use ``num_workers=0``).
    """

    def __init__(self, stream: PatchStream, batch_size: int, start_batch: int = 0):
        self.stream, self.batch_size, self.start = stream, batch_size, start_batch

    def __iter__(self) -> Iterator[dict[str, Tensor]]:
        info = torch.utils.data.get_worker_info()
        wid, workers = (0, 1) if info is None else (info.id, info.num_workers)
        if self.stream.streaming:
            if workers > 1:
                raise ValueError("streaming datasets are read sequentially: use num_workers=0")
            it = self.stream.samples(self.start * self.batch_size)
            while True:
                yield collate([next(it) for _ in range(self.batch_size)])
        b = self.start + wid
        while True:
            yield self.stream.batch_at(b, self.batch_size)
            b += workers


class ValidationSet(torch.utils.data.Dataset):
    """Center crops of held-out images with fixed, seeded degradations (the same every evaluation)."""

    def __init__(self, dataset, column: str, spec: DegradationSpec, crop: int = 256, multiple: int = 4):
        self.dataset, self.column, self.spec = dataset, column, spec
        self.crop = crop - crop % multiple
        self.multiple = multiple

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> dict[str, Tensor]:
        img = to_tensor(self.dataset[index][self.column])
        h, w = img.shape[-2:]
        side = -(-16 // self.multiple) * self.multiple  # SSIM's 11×11 window needs at least that much
        if h < side or w < side:  # a tiny image: replicate-padded to a 16-pixel square
            img = torch.nn.functional.pad(img[None], (0, max(0, side - w), 0, max(0, side - h)), mode="replicate")[0]
            h, w = img.shape[-2:]
        ch, cw = min(self.crop, h - h % self.multiple), min(self.crop, w - w % self.multiple)
        top, left = (h - ch) // 2, (w - cw) // 2
        clean = img[:, top : top + ch, left : left + cw]
        degraded, level = self.spec.fixed(clean, index)
        return {"degraded": degraded, "clean": clean, "level": level}
