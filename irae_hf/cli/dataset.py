"""``irae restore --dataset``: a Hugging Face dataset (a Hub id or a folder of images) restored into parquet shards,
on one process or, under ``accelerate launch``, on many; a run started again finishes what is missing."""

from __future__ import annotations

import argparse
from datetime import timedelta
from pathlib import Path

from ..tasks import task_of
from .errors import UsageError

__all__ = ["run_dataset", "load_source", "level_problem"]

#: how long a process may wait for the others at the barrier (a long shard is no hang)
BARRIER_TIMEOUT = timedelta(hours=12)


def level_problem(task) -> str | None:
    """A task whose level is a picture per image (inpainting's mask): no column carries one, said before any work."""
    if task.blind:
        return None
    return (
        f"--dataset restores every row at one level or at its own estimate; a {task.name} model needs a "
        f"{task.keyword} per image: restore those files with --{task.keyword}"
    )


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

    from ..pipeline.dataset import run_facts
    from ..pipeline.orphans import stop_with_launcher

    task = task_of(model)
    level = {task.keyword: getattr(args, task.keyword, None)}
    source = load_source(args)
    out = Path(args.output_dir)
    facts = run_facts(args.dataset, args.split, args.column, args.model, args.revision, level, len(source))
    # on CPUs, accelerate launch says so in ACCELERATE_USE_CPU; without cpu=True the processes would not see each other
    state = PartialState(cpu=parse_flag_from_env("ACCELERATE_USE_CPU"), timeout=BARRIER_TIMEOUT)
    stop_with_launcher(state.num_processes)  # a killed launcher leaves no process behind, asleep at a barrier
    if args.device is None:  # each process on its own device (cuda:<local rank> under accelerate launch on GPUs)
        model.to(state.device)
    try:
        _restore_shards(args, model, source, out, facts, state)
    except ValueError as e:
        raise UsageError(str(e)) from e
    return _finish(args, out, facts, task.name) if state.is_main_process else 0


def _restore_shards(args: argparse.Namespace, model, source, out: Path, facts: dict, state) -> None:
    """Check the folder, clear what a killed run left (main process), write this process's shards, counting, and wait
    for the others; then the main process alone finishes."""
    from ..pipeline.dataset import (
        check_folder,
        check_shared,
        clear_partials,
        complete_rows,
        write_run_file,
        write_shards,
    )
    from .progress import AllRanksBar, RankProgress, clear_progress

    check_folder(out, facts)
    if state.is_main_process:
        write_run_file(out, facts)
        clear_partials(out)
        clear_progress(out)
    state.wait_for_everyone()  # before any process writes: the folder is checked and cleared
    check_shared(out)
    done = complete_rows(out, facts)
    counts = RankProgress(out, state.process_index)
    with AllRanksBar(out, len(source), done, disable=not state.is_main_process):
        written = write_shards(model, source, out, facts, process=state.process_index,
                               processes=state.num_processes, workers=args.num_workers, progress=counts)  # fmt: skip
        counts.write()
        print(f"process {state.process_index} of {state.num_processes}: wrote {len(written)} shard(s)", flush=True)
        state.wait_for_everyone()  # the one barrier after the work (the bar counts on until every process is done)


def _finish(args: argparse.Namespace, out: Path, facts: dict, task: str) -> int:
    """The main process, after every process is done: check no shard is missing, write the card, push."""
    import shutil

    import pyarrow.parquet as pq

    from ..pipeline.dataset import dataset_card, shard_files, shards_complete
    from .progress import PROGRESS_DIR

    if not shards_complete(out, facts):
        raise UsageError(f"{out}: some shards are missing; run the same command again to finish them")
    shutil.rmtree(out / PROGRESS_DIR, ignore_errors=True)
    # the errors column alone, from the shards themselves (loading the dataset would copy every image into a cache)
    errors = sum(
        pq.read_table(f, columns=["irae_error"]).column(0).drop_null().length() for f in shard_files(out, facts)
    )
    (out / "README.md").write_text(dataset_card(facts, args.dataset_revision, task, errors))
    print(f"restored {facts['rows'] - errors:,} of {facts['rows']:,} rows into {out} ({errors:,} kept as they were)")
    if args.push_to_hub:
        from huggingface_hub import HfApi

        api = HfApi()
        repo = api.create_repo(args.push_to_hub, repo_type="dataset", private=args.private, exist_ok=True).repo_id
        api.upload_folder(
            repo_id=repo, repo_type="dataset", folder_path=str(out), allow_patterns=["README.md", "data/*.parquet"]
        )
        print(f"pushed {out} to https://huggingface.co/datasets/{repo}")
    return 0
