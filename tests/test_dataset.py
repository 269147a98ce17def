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

from .conftest import make_model, random_image

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


@pytest.mark.train  # accelerate launch: two processes
def test_the_command_restores_a_folder_resumes_and_two_processes_write_the_same_bytes(tmp_path, monkeypatch):
    """irae restore --dataset on one process, read back by datasets.load_dataset(DIR) in order; a shard lost to a
    killed run is redone alone; and under accelerate launch with two processes the shards are byte for byte the
    same. Another run's folder, a column that is no image and a split that does not exist are one line."""
    import os
    import subprocess
    import sys

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
    launch = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2"]
    launch += ["--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", "-m", "irae_hf"]
    done = subprocess.run(
        [*launch, *args, "--output_dir", str(tmp_path / "two")], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "process 0 of 2: wrote 2 shard(s)" in done.stdout and "process 1 of 2: wrote 1 shard(s)" in done.stdout
    assert {p.name: p.read_bytes() for p in sorted((tmp_path / "two" / "data").glob("*.parquet"))} == first

    assert main([*args, "--sigma", "15", "--output_dir", str(tmp_path / "one")]) == 2  # another level: refused
    assert main(["restore", "--model", str(tmp_path / "model"), "--dataset", str(folder), "--output_dir",
                 str(tmp_path / "x"), "--split", "test", "--column", "label"]) == 2  # fmt: skip
