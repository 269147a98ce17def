"""irae_hf.pipeline.dataset: a Hugging Face dataset restored row by row, in fixed shards that resume."""

import io

import numpy as np
import pytest
from PIL import Image

from irae_hf.pipeline.dataset import (
    NEW_COLUMNS,
    check_folder,
    restore_dataset,
    run_facts,
    shard_name,
    shard_ranges,
    shards_complete,
    write_shards,
)
from irae_hf.pipeline.restore import restore

from .conftest import irae_launch, make_model, outlived, processes_mentioning, random_image

datasets = pytest.importorskip("datasets")


def png(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(array).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def source():
    """Seven rows: five photos of different sizes, an empty row and bytes that are no image; a label column."""
    cells = [{"bytes": png(random_image(24 + 4 * i, 32)), "path": None} for i in range(5)]
    cells += [{"bytes": b"", "path": None}, {"bytes": b"not an image", "path": None}]
    features = datasets.Features({"image": datasets.Image(), "label": datasets.Value("int64")})
    return datasets.Dataset.from_dict({"image": cells, "label": list(range(7))}, features=features)


def test_each_row_is_restored_in_order_and_a_bad_row_says_why(source):
    model = make_model("denoise")
    out = restore_dataset(model, source, "image", model_id="irae-denoise", revision="abc", sigma=25)
    assert out.column_names == ["image", "label", *NEW_COLUMNS] and out["label"] == list(range(7))
    first = out.cast_column("image", datasets.Image(decode=False))[0]["image"]["bytes"]
    expected = restore(
        model,
        Image.open(io.BytesIO(source.cast_column("image", datasets.Image(decode=False))[0]["image"]["bytes"])),
        sigma=25,
    )
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(first))), np.asarray(expected))
    assert out["irae_level"][:5] == [25.0] * 5 and out["irae_error"][:5] == [None] * 5
    assert out["irae_model"][0] == "irae-denoise" and out["irae_revision"][0] == "abc"
    assert out["irae_level"][5] is None and "no image bytes" in out["irae_error"][5]
    assert "ValueError" in out["irae_error"][6]
    raw = out.cast_column("image", datasets.Image(decode=False))
    assert raw[6]["image"]["bytes"] == b"not an image"  # kept as it was, never dropped
    auto = restore_dataset(model, source.select(range(2)), "image")
    assert all(level is not None and level >= 0 for level in auto["irae_level"])  # each row's own estimate


def test_rows_decoded_in_loader_workers_are_the_rows_decoded_here(source):
    """Two loader processes decode the rows (and read each row's level): the dataset is the same, value for value,
    a JPEG's quality from its tables included (read in the worker, where the file's tables are)."""
    jpegs = []
    for q in (20, 60):
        out = io.BytesIO()
        Image.fromarray(random_image(32, 40, seed=q)).save(out, format="JPEG", quality=q)
        jpegs.append({"bytes": out.getvalue(), "path": None})
    features = datasets.Features({"image": datasets.Image()})
    photos = datasets.Dataset.from_dict({"image": jpegs + [{"bytes": b"", "path": None}]}, features=features)
    model = make_model("jpeg")
    here, workers = (restore_dataset(model, photos, num_workers=n) for n in (0, 2))
    assert here["irae_level"][:2] == [20.0, 60.0] and here["irae_error"][2] is not None
    assert here.to_dict() == workers.to_dict()
    denoise = make_model("denoise")
    assert restore_dataset(denoise, source).to_dict() == restore_dataset(denoise, source, num_workers=2).to_dict()


def test_shards_are_fixed_row_ranges_written_whole_and_a_second_run_redoes_only_what_is_missing(source, tmp_path):
    model = make_model("denoise")
    assert shard_ranges(7, 3) == [(0, 3), (3, 6), (6, 7)]
    facts = {**run_facts("local/photos", "train", "image", "m", None, {"sigma": 25}, len(source)), "shard_rows": 3}
    check_folder(tmp_path, facts)
    halves = [write_shards(model, source, tmp_path, facts, process=p, processes=2) for p in (0, 1)]
    assert [p.name for p in halves[0]] == [Path_name(0), Path_name(2)] and [p.name for p in halves[1]] == [Path_name(1)]
    assert shards_complete(tmp_path, facts)
    whole = datasets.load_dataset("parquet", data_files=str(tmp_path / "data" / "*.parquet"), split="train")
    assert whole["label"] == list(range(7))  # in the source's order, none missing, none twice
    (tmp_path / shard_name("train", 1, 3)).unlink()  # a killed run: one shard never finished
    (tmp_path / "data" / ".irae-partial-1-x.parquet").write_bytes(b"half")
    assert [p.name for p in write_shards(model, source, tmp_path, facts)] == [Path_name(1)]  # one process now
    again = datasets.load_dataset("parquet", data_files=str(tmp_path / "data" / "train-*.parquet"), split="train")
    assert again["label"] == list(range(7)) and again["irae_level"] == whole["irae_level"]


def Path_name(k: int) -> str:  # noqa: N802 - reads as the shard's file name
    return shard_name("train", k, 3).split("/")[1]


def test_a_folder_of_another_run_and_a_column_that_is_no_image_are_one_line(source, tmp_path):
    import json

    facts = run_facts("local/photos", "train", "image", "m", None, {"sigma": 25}, 7)
    (tmp_path / "irae_run.json").write_text(json.dumps({**facts, "model": "another"}))
    with pytest.raises(ValueError, match="holds the shards of another run \\(model 'another'\\)"):
        check_folder(tmp_path, facts)
    with pytest.raises(ValueError, match="column 'label' is not an image column"):
        restore_dataset(make_model("denoise"), source, "label", sigma=25)
    with pytest.raises(ValueError, match="no column 'photo'"):
        restore_dataset(make_model("denoise"), source, "photo", sigma=25)


def test_a_process_that_does_not_see_the_main_process_folder_stops_before_writing(tmp_path):
    """On several nodes --output_dir must be one shared folder: a process (here rank 1 of 2, its barrier a no-op) that
    does not find the run file the main process wrote before the barrier says so in one line and writes nothing."""
    from argparse import Namespace

    from irae_hf.cli.dataset import _restore_shards

    class OtherNode:
        is_main_process, process_index, num_processes = False, 1, 2

        def wait_for_everyone(self) -> None:
            pass

    out = tmp_path / "local-disk"
    with pytest.raises(ValueError, match="must be a folder every process sees"):
        _restore_shards(Namespace(num_workers=0), None, [], out, {}, OtherNode())
    assert not out.exists() or not any(out.rglob("*.parquet"))


@pytest.mark.train  # accelerate launch: two processes
def test_the_command_restores_a_folder_resumes_and_two_processes_write_the_same_bytes(tmp_path, monkeypatch):
    """irae restore --dataset on one process, read back by datasets.load_dataset(DIR) in order; a shard lost to a
    killed run is redone alone; and under accelerate launch with two processes the shards are byte for byte the
    same. Another run's folder, a column that is no image and a split that does not exist are one line."""
    import os
    import subprocess

    from irae_hf.cli import main
    from irae_hf.pipeline import dataset as module

    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(5):
        Image.fromarray(random_image(20 + 4 * i, 28)).save(folder / f"p{i}.png")
    (folder / "broken.png").write_bytes(b"not a png")
    make_model("denoise").save_pretrained(tmp_path / "model")
    monkeypatch.setattr(module, "SHARD_ROWS", 2)  # six rows: three shards
    args = ["restore", "--model", str(tmp_path / "model"), "--dataset", str(folder), "--sigma", "25"]
    assert main([*args, "--output_dir", str(tmp_path / "one")]) == 0
    shards = sorted((tmp_path / "one" / "data").glob("*.parquet"))
    assert [p.name for p in shards] == [f"train-0000{k}-of-00003.parquet" for k in range(3)]
    back = datasets.load_dataset(str(tmp_path / "one"), split="train")
    assert len(back) == 6 and back.column_names[-4:] == list(NEW_COLUMNS)
    assert (
        sum(e is not None for e in back["irae_error"]) == 1
        and "Rows: 6, in the source's order; 1 kept as they were" in (tmp_path / "one" / "README.md").read_text()
    )
    first = {p.name: p.read_bytes() for p in shards}
    shards[1].unlink()  # killed before its second shard was complete
    assert main([*args, "--output_dir", str(tmp_path / "one")]) == 0
    assert {p.name: p.read_bytes() for p in sorted((tmp_path / "one" / "data").glob("*.parquet"))} == first

    env = {**os.environ, "ACCELERATE_USE_CPU": "1", "OMP_NUM_THREADS": "1", "IRAE_SHARD_ROWS": "2"}
    done = subprocess.run(irae_launch(2, [*args, "--output_dir", str(tmp_path / "two")]), env=env, capture_output=True,
                          text=True)  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "6/6" in done.stderr.split("restoring")[-1] and "MP/s" in done.stderr  # the main's bar counts both
    assert "process 0 of 2: wrote 2 shard(s)" in done.stdout and "process 1 of 2: wrote 1 shard(s)" in done.stdout
    assert {p.name: p.read_bytes() for p in sorted((tmp_path / "two" / "data").glob("*.parquet"))} == first

    assert main([*args, "--sigma", "15", "--output_dir", str(tmp_path / "one")]) == 2  # another level: refused
    assert main(["restore", "--model", str(tmp_path / "model"), "--dataset", str(folder), "--output_dir",
                 str(tmp_path / "x"), "--split", "test", "--column", "label"]) == 2  # fmt: skip


def test_a_16_bit_row_stays_16_bit_and_a_row_over_the_pixel_limit_is_kept_with_the_reason(monkeypatch):
    import tifffile

    from irae_hf.io.images import load_image
    from irae_hf.io.sixteen_bit import deep_pixels
    from irae_hf.pipeline import dataset as module

    deep = np.random.default_rng(0).integers(0, 65536, (24, 32, 3), dtype=np.uint16)
    out = io.BytesIO()
    tifffile.imwrite(out, deep, photometric="rgb")
    rows = [{"bytes": out.getvalue(), "path": None}, {"bytes": png(random_image(64, 64)), "path": None}]
    photos = datasets.Dataset.from_dict({"image": rows}, features=datasets.Features({"image": datasets.Image()}))
    monkeypatch.setattr(module, "MAX_PIXELS", 32 * 32)
    model = make_model("denoise")
    raw = restore_dataset(model, photos, sigma=10).cast_column("image", datasets.Image(decode=False))
    expected = deep_pixels(restore(model, load_image(io.BytesIO(rows[0]["bytes"])), sigma=10))
    written = deep_pixels(load_image(io.BytesIO(raw[0]["image"]["bytes"])))  # a 16-bit PNG, read at 16 bits
    assert expected is not None and np.array_equal(written, expected) and raw[0]["irae_error"] is None
    assert "64×64" in raw[1]["irae_error"] or "4,096" in raw[1]["irae_error"], raw[1]["irae_error"]
    assert raw[1]["image"]["bytes"] == rows[1]["bytes"] and raw[1]["irae_level"] is None


def test_one_bar_counts_every_process_and_an_inpainting_model_is_refused_up_front(tmp_path, capsys):
    """Each process's counts live in a file of the output folder; the main process's bar adds them up, starting
    from the rows of shards complete before. A model that needs a mask per image is one line, before any work."""
    from irae_hf.cli import main
    from irae_hf.cli.progress import AllRanksBar, RankProgress, read_counts

    ranks = [RankProgress(tmp_path, rank, every=0) for rank in (0, 1)]
    ranks[0](3, 300)
    ranks[1](2, 200)
    assert read_counts(tmp_path) == (5, 500)
    with AllRanksBar(tmp_path, total=10, done=4, every=60) as bar:
        bar.update()
        assert bar.bar.n == 9
    make_model("inpaint").save_pretrained(tmp_path / "inpaint")
    argv = ["restore", "--model", str(tmp_path / "inpaint"), "--dataset", "any/name", "--output_dir", str(tmp_path)]
    assert main(argv) == 2
    assert "needs a mask per image: restore those files with --mask" in capsys.readouterr().err


@pytest.mark.train  # accelerate launch, killed twice
def test_a_run_killed_one_rank_or_its_launcher_leaves_no_process_and_resumes_to_the_same_bytes(tmp_path, monkeypatch):
    """SIGKILL one rank of a 2-process run, then the launcher alone of a second: each time every process of the run
    (ranks and their loader workers) is gone within seconds; a 1-process run then finishes: the shards are those of
    an uninterrupted run, byte for byte, and nothing half-written is left."""
    import json
    import os
    import signal
    import subprocess
    import time

    from irae_hf.cli import main
    from irae_hf.pipeline import dataset as module

    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(40):
        Image.fromarray(random_image(192, 192, seed=i)).save(folder / f"p{i:02d}.png")
    make_model("denoise", width=32, depth=4).save_pretrained(tmp_path / "model")
    args = ["restore", "--model", str(tmp_path / "model"), "--dataset", str(folder), "--sigma", "25"]
    env = {**os.environ, "ACCELERATE_USE_CPU": "1", "OMP_NUM_THREADS": "1", "IRAE_SHARD_ROWS": "2"}
    out = tmp_path / "out"
    data = out / "data"

    def shards() -> set[str]:
        return {p.name for p in data.glob("train-*.parquet")} if data.is_dir() else set()

    def run_until(more_than: int, kill) -> None:
        command = irae_launch(2, [*args, "--num_workers", "2", "--output_dir", str(out)])
        job = subprocess.Popen(command, env=env, start_new_session=True, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)  # fmt: skip
        try:
            deadline = time.monotonic() + 300
            while len(shards()) <= more_than and job.poll() is None and time.monotonic() < deadline:
                time.sleep(0.005)
            assert len(processes_mentioning(str(out))) >= 5, "the launcher, 2 ranks and their loader workers"
            kill(job)
            assert job.wait(timeout=120) != 0, "the run ended before it was killed"
        finally:
            assert outlived(str(out), 30) == [], "a process of the killed run was still alive 30 s later"

    def kill_rank_one(job) -> None:
        os.kill(json.loads((out / ".irae-progress" / "1.json").read_text())["pid"], signal.SIGKILL)

    run_until(1, kill_rank_one)  # rank 1 killed after its first shard: the launcher stops rank 0; its workers stop
    first = shards()
    assert 2 <= len(first) < 20
    run_until(len(first) + 1, lambda job: os.kill(job.pid, signal.SIGKILL))  # the launcher alone: its ranks stop
    second = shards()
    assert first < second and len(second) < 20
    monkeypatch.setattr(module, "SHARD_ROWS", 2)
    assert main([*args, "--output_dir", str(out)]) == 0  # one process finishes what is missing
    assert main([*args, "--output_dir", str(tmp_path / "whole")]) == 0  # uninterrupted, for comparison
    whole = {p.name: p.read_bytes() for p in (tmp_path / "whole" / "data").iterdir()}
    assert {p.name: p.read_bytes() for p in data.iterdir()} == whole and len(whole) == 20
    assert datasets.load_dataset(str(out), split="train").num_rows == 40
