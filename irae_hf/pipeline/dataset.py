"""A whole Hugging Face dataset restored: each row's image through ``restore``, in fixed shards written whole.

The rows are cut into shards of ``SHARD_ROWS`` that do not depend on how many processes run (shard k of K holds a
fixed row range), so a run killed and started again, with any number of processes, skips the shards that are
complete and redoes the rest: no row is missing and none is duplicated. A row that is not a usable image keeps its
original bytes and says why in ``irae_error``; it never stops the run.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..io.atomic import PARTIAL
from ..io.formats import MAX_PIXELS
from ..tasks import task_of

if TYPE_CHECKING:
    import datasets

    from ..models.base import RestorationModel

__all__ = ["SHARD_ROWS", "NEW_COLUMNS", "restore_dataset", "shard_ranges", "shard_name", "write_shards", "run_facts"]

#: rows per shard: fixed, so that which rows a shard holds never depends on the number of processes
#: ($IRAE_SHARD_ROWS: smaller shards, for tests and tiny datasets)
SHARD_ROWS = int(os.environ.get("IRAE_SHARD_ROWS", "256"))
#: the columns a restored dataset adds: the level used per row (given or estimated), why a row was left as it was
#: (None when it was restored), and the model and revision that restored it
NEW_COLUMNS = ("irae_level", "irae_error", "irae_model", "irae_revision")
#: the run's facts, kept beside the shards: a folder holding another run's shards is refused, not mixed
RUN_FILE = "irae_run.json"


def shard_ranges(rows: int, shard_rows: int = SHARD_ROWS) -> list[tuple[int, int]]:
    """The [start, stop) row range of every shard of a ``rows``-row split."""
    return [(start, min(start + shard_rows, rows)) for start in range(0, rows, shard_rows)]


def shard_name(split: str, index: int, count: int) -> str:
    """``data/<split>-<k>-of-<K>.parquet``, the Hub's layout for a dataset's parquet shards."""
    return f"data/{split}-{index:05d}-of-{count:05d}.parquet"


def restore_row(model: RestorationModel, cell: Any, level: dict, max_pixels: int | None) -> tuple[dict, Any, Any]:
    """One row's image restored: (its Image cell, PNG bytes; the level used; None), or, for a row that cannot be
    used or has nothing to undo, (its original bytes; None; the reason, or None)."""
    from ..io.images import load_image
    from .restore import choose_level, restore

    original = b""
    try:
        original = _bytes_of(cell)
        if not original:
            raise ValueError("the row holds no image bytes")
        image = load_image(io.BytesIO(original), max_pixels)
        task = task_of(model)
        chosen, _ = choose_level(model, image, **level)
        value = chosen.get(task.keyword)
        if task.unchanged(value):  # no sign of JPEG compression: left as it is
            return {"bytes": original, "path": None}, None, None
        out = io.BytesIO()
        restore(model, image, **chosen).save(out, format="PNG")
        return {"bytes": out.getvalue(), "path": None}, float(value), None
    except Exception as e:  # noqa: BLE001 - one row's failure is that row's outcome, never the run's
        said = re.sub(r"<_io\.BytesIO object at 0x[0-9a-f]+>", "the row's bytes", f"{type(e).__name__}: {e}")
        return {"bytes": original, "path": None}, None, said[:500]  # the same words on every run, for every process


def _bytes_of(cell: Any) -> bytes:
    """An undecoded Image cell's bytes: held in the row, or read from its local file (a folder of images)."""
    if not isinstance(cell, dict):
        return b""
    if cell.get("bytes"):
        return cell["bytes"]
    return Path(cell["path"]).read_bytes() if cell.get("path") and Path(cell["path"]).is_file() else b""


def _rows(
    model: RestorationModel, dataset: datasets.Dataset, column: str, level: dict, model_id: str, revision: str | None
) -> Iterator[dict]:
    """Every row of ``dataset`` with its image restored and the new columns added, in order."""
    for row in dataset:
        cell, value, error = restore_row(model, row[column], level, MAX_PIXELS)
        yield {**row, column: cell, "irae_level": value, "irae_error": error, "irae_model": model_id,
               "irae_revision": revision}  # fmt: skip


def _features(dataset: datasets.Dataset, column: str) -> datasets.Features:
    """The source's features with the image column an Image and the new columns added."""
    from datasets import Features, Image, Value

    features = dict(dataset.features)
    features[column] = Image()
    features.update({"irae_level": Value("float64"), "irae_error": Value("string"), "irae_model": Value("string"),
                     "irae_revision": Value("string")})  # fmt: skip
    return Features(features)


def _undecoded(dataset: datasets.Dataset, column: str) -> datasets.Dataset:
    """``dataset`` with its image column as raw bytes (decoded here, safely, row by row), or one line if it is not
    an image column."""
    from datasets import Image

    if column not in dataset.column_names:
        raise ValueError(f"no column {column!r} in the dataset; it has {dataset.column_names}")
    if not isinstance(dataset.features[column], Image):
        raise ValueError(f"column {column!r} is not an image column ({dataset.features[column]})")
    return dataset.cast_column(column, Image(decode=False))


def restore_dataset(
    model: RestorationModel,
    dataset: datasets.Dataset,
    column: str = "image",
    *,
    model_id: str = "",
    revision: str | None = None,
    **level: Any,
) -> datasets.Dataset:
    """``dataset`` with every row's ``column`` image restored by ``model`` (one process, in memory), the source's other
    columns kept, and ``irae_level`` (the level used: given, or the row's own estimate), ``irae_error``,
    ``irae_model`` and ``irae_revision`` added. ``level``: ``sigma=``/``quality=`` as ``restore`` takes them."""
    from datasets import Dataset

    source = _undecoded(dataset, column)
    rows = list(_rows(model, source, column, level, model_id, revision))
    return Dataset.from_list(rows, features=_features(source, column))


def run_facts(
    source: str, split: str, column: str, model_id: str, revision: str | None, level: dict, rows: int
) -> dict:
    """What makes two runs the same run: their shards may be mixed only when these agree."""
    facts = {"source": source, "split": split, "column": column, "model": model_id, "model_revision": revision}
    facts["level"] = {k: v for k, v in level.items() if v is not None}
    return {**facts, "rows": rows, "shard_rows": SHARD_ROWS}  # read when called: a test may set it


def check_folder(out_dir: Path, facts: dict) -> None:
    """Refuse, in one line, a folder that holds another run's shards (another source, model or level)."""
    path = out_dir / RUN_FILE
    if path.is_file():
        held = json.loads(path.read_text())
        differ = sorted(k for k in facts if held.get(k) != facts[k])
        if differ:
            said = ", ".join(f"{k} {held.get(k)!r}" for k in differ)
            raise ValueError(f"{out_dir} holds the shards of another run ({said}): choose another --output_dir")
    elif (out_dir / "data").is_dir() and any((out_dir / "data").iterdir()):
        raise ValueError(f"{out_dir}/data holds files of unknown origin: choose another --output_dir")


def write_shards(
    model: RestorationModel,
    dataset: datasets.Dataset,
    out_dir: str | Path,
    facts: dict,
    *,
    process: int = 0,
    processes: int = 1,
    progress: Any = None,
) -> list[Path]:
    """This process's shards (k ≡ ``process`` mod ``processes``) of ``dataset`` restored into ``out_dir``, each
    written under a temporary name and renamed when complete; shards already complete are skipped. Returns the
    shards this call wrote."""
    out = Path(out_dir)
    source = _undecoded(dataset, facts["column"])
    features = _features(source, facts["column"])
    ranges = shard_ranges(len(source), facts["shard_rows"])
    written = []
    for k in range(process, len(ranges), processes):
        target = out / shard_name(facts["split"], k, len(ranges))
        if target.is_file():
            continue
        start, stop = ranges[k]
        rows = list(_rows(model, source.select(range(start, stop)), facts["column"], facts["level"], facts["model"],
                          facts["model_revision"]))  # fmt: skip
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f"{PARTIAL}{os.getpid()}-{target.name}")
        _shard(rows, features).to_parquet(str(partial))
        os.replace(partial, target)
        written.append(target)
        if progress is not None:
            progress(stop - start)
    return written


def _shard(rows: list[dict], features: Any) -> datasets.Dataset:
    from datasets import Dataset

    return Dataset.from_list(rows, features=features)


def shard_files(out_dir: str | Path, facts: dict) -> list[Path]:
    """Every shard of the run, by name, in order (a killed run's partial files are not among them)."""
    count = math.ceil(facts["rows"] / facts["shard_rows"])
    return [Path(out_dir) / shard_name(facts["split"], k, count) for k in range(count)]


def shards_complete(out_dir: str | Path, facts: dict) -> bool:
    """Whether every shard of the run is in ``out_dir``."""
    return all(path.is_file() for path in shard_files(out_dir, facts))


def write_run_file(out_dir: str | Path, facts: dict) -> None:
    """The run's facts beside its shards (written once, by the main process, before any shard)."""
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    (Path(out_dir) / RUN_FILE).write_text(json.dumps(facts, indent=1))


def dataset_card(facts: dict, source_revision: str | None, task: str, errors: int) -> str:
    """The restored dataset's card: its source and revision, the model and revision, the task and level policy, the
    row count and how many rows were kept as they were."""
    level = ", ".join(f"{k}={v}" for k, v in facts["level"].items()) or "auto (each row's own estimate)"
    split = facts["split"]
    config = f"configs:\n- config_name: default\n  data_files:\n  - split: {split}\n    path: data/{split}-*\n"
    return (
        f"---\n{config}tags:\n- irae-hf\n- image-restoration\n---\n\n"
        f"# {facts['source']}, restored with {facts['model']}\n\n"
        f"- Source: `{facts['source']}` (revision `{source_revision or 'as loaded'}`), split `{facts['split']}`, "
        f"column `{facts['column']}`\n"
        f"- Model: `{facts['model']}` (revision `{facts['model_revision'] or 'as loaded'}`), task {task}\n"
        f"- Level: {level}; the level used per row is in `irae_level`\n"
        f"- Rows: {facts['rows']:,}, in the source's order; {errors:,} kept as they were, with the reason in "
        "`irae_error` (not an image, empty, over the pixel limit)\n\n"
        "Made with `irae restore --dataset` ([irae-hf](https://github.com/irae-hf/irae-hf)).\n"
    )
