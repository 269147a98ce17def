"""Image datasets in: a Hub dataset's split, or every image file of a local folder as one split (counted)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["load_image_dataset"]


def load_image_dataset(
    source: str, split: str = "train", name: str | None = None, streaming: bool = False, revision: str | None = None
):
    """A ``datasets`` dataset from a Hub id (``revision``: a branch, tag or commit) or a local folder of images
    (``imagefolder``, labels dropped)."""
    from datasets import load_dataset

    if os.path.isdir(source):
        return _whole_folder(source, split, streaming)
    return load_dataset(source, name=name, split=split, streaming=streaming, revision=revision)


def _whole_folder(folder: str, split: str, streaming: bool):
    """Every image file under ``folder`` as one split. ``imagefolder`` given the folder splits files by their names
    (``train_photo.png``, ``test_shot.png``, ``val_cat.png`` ...) and drops the rest without a word; given the file
    list it keeps them all, and the count is checked against the files found."""
    from datasets import load_dataset
    from datasets.packaged_modules.imagefolder.imagefolder import ImageFolder

    suffixes = {e.lower() for e in ImageFolder.EXTENSIONS}
    files = sorted(
        str(p)
        for p in Path(folder).rglob("*")
        if p.is_file() and p.suffix.lower() in suffixes and not p.relative_to(folder).as_posix().startswith(".")
        and "/." not in p.relative_to(folder).as_posix()
    )  # fmt: skip
    if not files:
        raise ValueError(f"no image files in {folder} (looked for {', '.join(sorted(suffixes)[:8])}, ...)")
    data = load_dataset("imagefolder", data_files={split: files}, drop_labels=True, split=split, streaming=streaming)
    if not streaming and len(data) != len(files):
        raise ValueError(f"{folder}: {len(files)} image files but the dataset holds {len(data)}")
    return data
