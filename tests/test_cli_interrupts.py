"""The CLI as a process: interrupted, racing another run, pointed at bad places or given bad flags, it says so in
one line and leaves only complete outputs."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from .conftest import Gated, make_model

pytestmark = pytest.mark.slow  # subprocesses, the app in-process or benchmark workers: seconds each

ROOT = Path(__file__).resolve().parents[1]


def irae(*args: str, cwd: Path = ROOT, **kw) -> subprocess.Popen:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "irae_hf", *args], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, **kw,
    )  # fmt: skip


def run(*args: str, cwd: Path = ROOT, timeout: float = 120) -> tuple[int, str]:
    p = irae(*args, cwd=cwd)
    out, err = p.communicate(timeout=timeout)
    return p.returncode, out + err


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("model") / "denoise"
    make_model("denoise", width=16, depth=2).save_pretrained(folder)
    return folder


def photos(folder: Path, n: int, side: int = 256, seed: int = 0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (side, side, 3), dtype=np.uint8)).save(folder / f"{i:03d}.png")
    return folder


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "kill"])
def test_an_interrupted_batch_leaves_complete_outputs_and_says_so(model, tmp_path, sig):
    inputs, out = photos(tmp_path / "in", 5), tmp_path / "out"
    run = Gated(
        "irae_hf.io.images:load_image",
        "-m",
        "irae_hf",
        "restore",
        "--model",
        str(model),
        "--sigma",
        "25",
        str(inputs),
        "-o",
        str(out),
    )
    for _ in range(2):  # two images go through whole
        run.wait_at_gate()
        run.let_through()
    run.wait_at_gate()  # the third is held before it is read: the signal meets it
    err = run.interrupt(sig)
    assert run.p.returncode == 130, err
    written = sorted(out.iterdir())
    assert [p.name for p in written] == ["000_denoised.png", "001_denoised.png"] and "Traceback" not in err, err
    assert "interrupted after 2 of 5; outputs written so far are complete" in err
    for path in written:  # every output there decodes: no half-written file, no hidden partial left
        Image.open(path).load()


def test_two_runs_into_one_folder_never_overwrite_each_other(model, tmp_path):
    a, b = photos(tmp_path / "a", 1, seed=1), photos(tmp_path / "b", 1, seed=2)
    out = tmp_path / "out"
    runs = [irae("restore", "--model", str(model), "--sigma", "25", str(d / "000.png"), "-o", str(out)) for d in (a, b)]
    results = [(p.wait(timeout=120), p.communicate()) for p in runs]
    codes = sorted(code for code, _ in results)
    said = " ".join(o + e for _, (o, e) in results)
    assert codes[0] == 0 and codes[1] != 0, said  # exactly one run wrote out/000_denoised.png; the other said why not
    assert said.count("restored 1 of 1") == 1 and "already exist" in said
    assert [p.name for p in out.iterdir()] == ["000_denoised.png"]


@pytest.mark.parametrize("where", ["a file", "under a file", "proc"])
def test_an_unwritable_output_is_refused_before_any_work(model, tmp_path, where):
    (tmp_path / "taken").write_text("x")
    target = {"a file": tmp_path / "taken", "under a file": tmp_path / "taken" / "out", "proc": "/proc/irae-out"}
    code, said = run("restore", "--model", "no/such-model-is-loaded", "--sigma", "5", str(ROOT / "examples"),
                     "-o", str(target[where]))  # fmt: skip
    assert code == 2 and said.count("error:") == 1 and "-o" in said and "model" not in said, said
    assert (tmp_path / "taken").read_text() == "x"


def test_export_never_replaces_a_folders_other_files(model, tmp_path):
    out = tmp_path / "export"
    out.mkdir()
    (out / "README.md").write_text("my notes")
    code, said = run("export", str(model), str(out))
    assert code == 2 and "README.md" in said and "--overwrite" in said
    assert (out / "README.md").read_text() == "my notes" and sorted(p.name for p in out.iterdir()) == ["README.md"]


def test_pipes_and_unknown_names_are_skipped_in_words(model, tmp_path):
    inputs = photos(tmp_path / "in", 1)
    os.mkfifo(inputs / "pipe.png")
    (inputs / "photo.heic").write_bytes(b"\x00" * 64)
    Image.new("RGB", (16, 16)).save(inputs / "no_suffix", format="PNG")
    code, said = run("restore", "--model", str(model), "--sigma", "5", str(inputs), str(inputs / "pipe.png"), "-o",
                     str(tmp_path / "out"), timeout=60)  # fmt: skip
    assert code == 0 and "restored 1 of 1" in said, said
    assert "pipe.png: not a regular file" in said and "photo.heic" in said and "no_suffix" in said


def test_misleading_messages_are_plain(model, tmp_path):
    photo = str(ROOT / "examples" / "coffee.png")
    code, said = run("restore", "--model", "pretrained/denoize", photo, "-o", str(tmp_path / "o"))
    assert code == 2 and "pretrained/denoize: no such folder" in said, said  # said at once: no Hub id was tried
    code, said = run("restore", "--model", "../../../../../../etc", photo, "-o", str(tmp_path / "o"))
    assert code == 2 and "no config.json in" in said and "Repo id" not in said, said
    make_model("jpeg").save_pretrained(tmp_path / "jpeg")
    code, said = run("restore", "--model", str(tmp_path / "jpeg"), "--sigma", "25", photo, "-o", str(tmp_path / "o"))
    assert code == 2 and "--sigma is not a level of a jpeg model (it takes --quality)" in said, said
    code, said = run("restore", "--model", str(model), "--sigma", "-5", photo, photo, "-o", str(tmp_path / "o"))
    assert code == 2 and said.count("-5") == 1 and "outside 0–255" in said and "restored" not in said, said


def test_an_interrupted_export_leaves_no_broken_graph(model, tmp_path):
    out = tmp_path / "export"
    # the gate holds after each graph is written under its hidden name, before it is named
    run = Gated("irae_hf.pipeline.onnx:write_file", "-m", "irae_hf", "export", str(model), str(out), where="inside")
    run.wait_at_gate()
    run.let_through()  # restore.onnx is named
    run.wait_at_gate()  # recover.onnx is written whole under a hidden name; the signal comes before it is named
    err = run.interrupt(signal.SIGINT)
    assert run.p.returncode == 130 and "Traceback" not in err and "interrupted" in err, err
    assert sorted(p.name for p in out.iterdir()) == ["restore.onnx"]  # no hidden partial left, no broken graph
    import onnx

    onnx.checker.check_model(str(out / "restore.onnx"))


def test_flags_that_would_fail_each_file_are_refused_before_the_first(model, tmp_path):
    photo = str(ROOT / "examples" / "coffee.png")
    code, said = run("restore", "--model", str(model), "--sigma", "25", "--tile", "3", photo, "-o", str(tmp_path / "o"))
    assert code == 2 and "--tile 3: this model needs tiles of at least 4 pixels" in said and "coffee" not in said, said
    code, said = run("restore", "--model", str(model), "--sigma", "25", "--max-pixels", "-5", photo, "-o",
                     str(tmp_path / "o"))  # fmt: skip
    assert code == 2 and "--max-pixels takes a whole number >= 0, got '-5'" in said, said
    assert not any((tmp_path / "o").glob("*.png"))


def test_a_path_too_long_for_the_file_system_is_one_line(model, tmp_path):
    code, said = run("restore", "--model", str(model), "--sigma", "25", "a" * 5000 + ".png", "-o", str(tmp_path / "o"))
    assert code == 2 and "cannot be opened (File name too long): skipped" in said and "Traceback" not in said
    assert len(said) < 1000, said  # the 5,000-character name is shown shortened
