"""``irae restore --dataset``: a Hugging Face dataset (a Hub id or a folder of images) restored into parquet shards,
on one process or, under ``accelerate launch``, on many; a run started again finishes what is missing."""

from __future__ import annotations

import argparse
from datetime import timedelta
from pathlib import Path

from ..tasks import task_of
from .errors import UsageError

__all__ = ["run_dataset", "load_source"]

#: how long a process may wait for the others at the barrier (a long shard is no hang)
BARRIER_TIMEOUT = timedelta(hours=12)


def load_source(args: argparse.Namespace):
    """The split to restore: a folder's images (every file, whatever its name says) or a Hub dataset's split."""
    from ..io.image_datasets import load_image_dataset

    try:
        return load_image_dataset(args.dataset, args.split, revision=args.dataset_revision)
    except ValueError as e:  # an unknown split, a folder without images
        raise UsageError(f"--dataset {args.dataset} --split {args.split}: {e}") from e


def run_dataset(args: argparse.Namespace, model) -> int:
    """Restore this process's shards, then (main process) the card, the check that no shard is missing, and the push."""
    from accelerate import PartialState
    from accelerate.utils import parse_flag_from_env
    from tqdm.auto import tqdm

    from ..pipeline.dataset import (
        check_folder,
        dataset_card,
        run_facts,
        shard_files,
        shards_complete,
        write_run_file,
        write_shards,
    )

    task = task_of(model)
    level = {task.keyword: getattr(args, task.keyword, None)}
    source = load_source(args)
    out = Path(args.output_dir)
    facts = run_facts(args.dataset, args.split, args.column, args.model, args.revision, level, len(source))
    # on CPUs, accelerate launch says so in ACCELERATE_USE_CPU; without cpu=True the processes would not see each other
    state = PartialState(cpu=parse_flag_from_env("ACCELERATE_USE_CPU"), timeout=BARRIER_TIMEOUT)
    try:
        check_folder(out, facts)
        if state.is_main_process:
            write_run_file(out, facts)
        state.wait_for_everyone()
        with tqdm(total=len(source), unit="row", desc="restoring", disable=not state.is_main_process) as bar:
            written = write_shards(model, source, out, facts, process=state.process_index,
                                   processes=state.num_processes, progress=bar.update)  # fmt: skip
        print(f"process {state.process_index} of {state.num_processes}: wrote {len(written)} shard(s)")
    except ValueError as e:
        raise UsageError(str(e)) from e
    state.wait_for_everyone()
    if not state.is_main_process:
        return 0
    if not shards_complete(out, facts):
        raise UsageError(f"{out}: some shards are missing; run the same command again to finish them")
    import pyarrow.parquet as pq

    # the errors column alone, from the shards themselves (loading the dataset would copy every image into a cache)
    errors = sum(
        pq.read_table(f, columns=["irae_error"]).column(0).drop_null().length() for f in shard_files(out, facts)
    )
    (out / "README.md").write_text(dataset_card(facts, args.dataset_revision, task.name, errors))
    print(f"restored {facts['rows'] - errors:,} of {facts['rows']:,} rows into {out} ({errors:,} kept as they were)")
    if args.push_to_hub:
        from huggingface_hub import HfApi

        api = HfApi()
        repo = api.create_repo(args.push_to_hub, repo_type="dataset", private=args.private, exist_ok=True).repo_id
        api.upload_folder(
            repo_id=repo, repo_type="dataset", folder_path=str(out), allow_patterns=["README.md", "data/*"]
        )
        print(f"pushed {out} to https://huggingface.co/datasets/{repo}")
    return 0
