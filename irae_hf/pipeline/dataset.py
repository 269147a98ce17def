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
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..io.atomic import PARTIAL, write_file
from ..io.formats import MAX_PIXELS
from ..tasks import task_of
from .orphans import stop_worker_with_parent

if TYPE_CHECKING:
    import datasets

    from ..models.base import RestorationModel

__all__ = [
    "SHARD_ROWS",
    "NEW_COLUMNS",
    "restore_dataset",
    "rows_restored",
    "shard_ranges",
    "shard_name",
    "write_shards",
    "run_facts",
]

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


class DecodedRows:
    """The rows of ``source`` as a map-style dataset whose items are decoded where the loader runs them (in its worker
    processes): (the row, its image cell emptied; its original bytes; the image and the level to restore it at, or
    why not). The level is chosen here too: reading it blind is work a worker can take off the main process."""

    def __init__(self, model: RestorationModel, source: datasets.Dataset, column: str, level: dict) -> None:
        self.model, self.source, self.column, self.level = model, source, column, level

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, index: int) -> tuple[dict, bytes, Any, dict | None, str | None]:
        from ..io.images import load_image
        from .restore import choose_level

        row = dict(self.source[index])
        original = b""
        try:
            original, row[self.column] = _bytes_of(row[self.column]), None  # its place kept, for the columns' order
            if not original:
                raise ValueError("the row holds no image bytes")
            image = load_image(io.BytesIO(original), MAX_PIXELS)
            chosen, _ = choose_level(self.model, image, **self.level)
            return row, original, image, chosen, None
        except Exception as e:  # noqa: BLE001 - one row's failure is that row's outcome, never the run's
            return row, original, None, None, _reason(e)


def _reason(e: Exception) -> str:
    """Why a row was kept as it was, in the same words on every run and in every process."""
    said = re.sub(r"<_io\.BytesIO object at 0x[0-9a-f]+>", "the row's bytes", f"{type(e).__name__}: {e}")
    return said[:500]


def restore_row(model: RestorationModel, column: str, item: tuple) -> tuple[dict, int]:
    """One decoded row (a ``DecodedRows`` item) restored: (the row with its image cell, PNG bytes or the original
    bytes of a row that cannot be used or has nothing to undo, and the new columns; the pixels restored)."""
    from ..io.images import save_image
    from .restore import restore

    row, original, image, chosen, error = item
    cell, value, pixels = {"bytes": original, "path": None}, None, 0
    if error is None:
        try:
            task = task_of(model)
            value = chosen.get(task.keyword)
            if task.unchanged(value):  # no sign of JPEG compression: left as it is
                value = None
            else:
                out = io.BytesIO()
                save_image(restore(model, image, **chosen), out, "PNG")  # a 16-bit row stays 16-bit
                cell, value, pixels = {"bytes": out.getvalue(), "path": None}, float(value), image.width * image.height
        except Exception as e:  # noqa: BLE001 - as above
            value, error = None, _reason(e)
    return {**row, column: cell, "irae_level": value, "irae_error": error}, pixels


def _bytes_of(cell: Any) -> bytes:
    """An undecoded Image cell's bytes: held in the row, or read from its local file (a folder of images)."""
    if not isinstance(cell, dict):
        return b""
    if cell.get("bytes"):
        return cell["bytes"]
    return Path(cell["path"]).read_bytes() if cell.get("path") and Path(cell["path"]).is_file() else b""


def _as_is(item: Any) -> Any:
    """The loader's collate function: items pass unchanged (a row is not a tensor)."""
    return item


def rows_restored(
    model: RestorationModel,
    source: datasets.Dataset,
    indices: list[int],
    facts: dict,
    workers: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> Iterator[dict]:
    """The rows ``indices`` of ``source`` (image column undecoded), in that order, each with its image restored and
    the new columns added; decoded by ``workers`` loader processes (0: here). ``progress(rows, pixels)`` per row."""
    from functools import partial

    from torch.utils.data import DataLoader

    column = facts["column"]
    decoded = DecodedRows(model, source, column, facts["level"])
    # a worker whose process was killed exits too (it would wait forever to hand over its last rows)
    loader = DataLoader(decoded, batch_size=None, sampler=indices, num_workers=workers, collate_fn=_as_is,
                        worker_init_fn=partial(stop_worker_with_parent, os.getpid()))  # fmt: skip
    for item in loader:
        row, pixels = restore_row(model, column, item)
        if progress is not None:
            progress(1, pixels)
        yield {**row, "irae_model": facts["model"], "irae_revision": facts["model_revision"]}


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
    num_workers: int = 0,
    **level: Any,
) -> datasets.Dataset:
    """``dataset`` with every row's ``column`` image restored by ``model`` (one process, in memory), the source's other
    columns kept, and ``irae_level`` (the level used: given, or the row's own estimate), ``irae_error``,
    ``irae_model`` and ``irae_revision`` added. ``level``: ``sigma=``/``quality=`` as ``restore`` takes them;
    ``num_workers``: loader processes that decode the rows."""
    from datasets import Dataset

    source = _undecoded(dataset, column)
    facts = {"column": column, "level": level, "model": model_id, "model_revision": revision}
    rows = list(rows_restored(model, source, list(range(len(source))), facts, num_workers))
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


def check_shared(out_dir: Path) -> None:
    """Refuse, in one line, a folder where this process does not see the run file the main process wrote before the
    first barrier: on several nodes ``--output_dir`` must be one folder every node sees (else each node would write
    its shards to its own disk and the main process would find them missing only at the end)."""
    if not (out_dir / RUN_FILE).is_file():
        raise ValueError(
            f"{out_dir} on this node does not hold the run file the main process wrote: --output_dir must be a "
            "folder every process sees (on several nodes, a shared disk)"
        )


def write_shards(
    model: RestorationModel,
    dataset: datasets.Dataset,
    out_dir: str | Path,
    facts: dict,
    *,
    process: int = 0,
    processes: int = 1,
    workers: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> list[Path]:
    """This process's shards (k ≡ ``process`` mod ``processes``: no padding, no row twice) of ``dataset`` restored
    into ``out_dir``, each written under a temporary name and renamed when complete; shards already complete are
    skipped. One loader (``workers`` decoding processes) runs over all of them. Returns the shards written."""
    out = Path(out_dir)
    source = _undecoded(dataset, facts["column"])
    features = _features(source, facts["column"])
    ranges = shard_ranges(len(source), facts["shard_rows"])
    mine = [(k, out / shard_name(facts["split"], k, len(ranges))) for k in range(process, len(ranges), processes)]
    todo = [(k, target) for k, target in mine if not target.is_file()]
    rows = rows_restored(model, source, [i for k, _ in todo for i in range(*ranges[k])], facts, workers, progress)
    try:
        for k, target in todo:
            target.parent.mkdir(parents=True, exist_ok=True)
            count = ranges[k][1] - ranges[k][0]
            write_file(target, lambda path, count=count: _write_parquet(path, rows, count, features), overwrite=True)
    finally:
        rows.close()  # the loader's workers stop now, not whenever the generator is collected
    return [target for _, target in todo]


#: a row group ends at this many rows (the Hub's choice for image datasets) or bytes, whichever comes first
GROUP_ROWS, GROUP_BYTES = 100, 64 << 20


def _write_parquet(path: Path, rows: Iterator[dict], count: int, features: datasets.Features) -> None:
    """The next ``count`` of ``rows`` as one parquet file, row group by row group: memory holds one group, not the
    file (``write_file`` gives it its name when complete; a killed process leaves a hidden partial file)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = features.arrow_schema
    with pq.ParquetWriter(str(path), schema) as writer:
        group, size = [], 0
        for _ in range(count):
            group.append(features.encode_example(next(rows)))
            size += sum(len(v.get("bytes") or b"") for v in group[-1].values() if isinstance(v, dict))
            if len(group) >= GROUP_ROWS or size >= GROUP_BYTES:
                writer.write_table(pa.Table.from_pylist(group, schema=schema))
                group, size = [], 0
        if group:
            writer.write_table(pa.Table.from_pylist(group, schema=schema))


def shard_files(out_dir: str | Path, facts: dict) -> list[Path]:
    """Every shard of the run, by name, in order (a killed run's partial files are not among them)."""
    count = math.ceil(facts["rows"] / facts["shard_rows"])
    return [Path(out_dir) / shard_name(facts["split"], k, count) for k in range(count)]


def complete_rows(out_dir: str | Path, facts: dict) -> int:
    """How many rows the shards already complete in ``out_dir`` hold (a resumed run starts its count there)."""
    ranges = shard_ranges(facts["rows"], facts["shard_rows"])
    return sum(stop - start for path, (start, stop) in zip(shard_files(out_dir, facts), ranges) if path.is_file())


def shards_complete(out_dir: str | Path, facts: dict) -> bool:
    """Whether every shard of the run is in ``out_dir``."""
    return all(path.is_file() for path in shard_files(out_dir, facts))


def clear_partials(out_dir: str | Path) -> None:
    """Remove what a killed run left half-written (call before any process of the new run writes)."""
    for path in (Path(out_dir) / "data").glob(f"*{PARTIAL}*"):
        path.unlink(missing_ok=True)


def write_run_file(out_dir: str | Path, facts: dict) -> None:
    """The run's facts beside its shards (by the main process, before any shard), replaced in one step: the other
    processes may be reading it (``check_folder``) meanwhile."""
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    write_file(Path(out_dir) / RUN_FILE, lambda path: path.write_text(json.dumps(facts, indent=1)), overwrite=True)


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
