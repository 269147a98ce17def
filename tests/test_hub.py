"""The Hub for real: models and datasets pulled over HTTP from olah, a Hub-compatible server, on loopback.

The server (tests/hub_server.py) serves git repositories the tests build: a tiny denoiser committed twice (two
revisions), a repo without weights, and a dataset of generated photos. Nothing leaves the machine.
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from irae_hf import IRAE
from irae_hf.cli import main as cli
from irae_hf.models.base import WeightsError
from irae_hf.models.registry import load_model

from .conftest import irae_launch, make_model, perturb
from .hub_server import DATASET, MODEL, HubServer, commit_all, free_port, write_photos

pytestmark = pytest.mark.hub

pytest.importorskip("olah", reason="olah (the loopback Hub server) is a test requirement")
ROOT = Path(__file__).resolve().parents[1]
NO_WEIGHTS = "testorg/no-weights"


def second_model() -> IRAE:
    """The weights of the repo's second commit (the first is ``make_model("denoise")``)."""
    return perturb(make_model("denoise"), seed=1)


def same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True))


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    root = tmp_path_factory.mktemp("hub")
    repo = root / "mirrors" / "models" / MODEL
    repo.mkdir(parents=True)
    make_model("denoise").save_pretrained(repo)
    first = commit_all(repo, "first weights")
    second_model().save_pretrained(repo)
    second = commit_all(repo, "second weights")
    empty = root / "mirrors" / "models" / NO_WEIGHTS
    empty.mkdir(parents=True)
    (empty / "config.json").write_text('{"task": "denoise", "width": 16, "depth": 2}')
    (empty / "README.md").write_text("# no weights here\n")
    commit_all(empty, "config only")
    photos = root / "mirrors" / "datasets" / DATASET
    write_photos(photos)
    commit_all(photos, "photos")
    server = HubServer(root, shas=[first, second]).start()
    yield server
    server.stop()


def point_at(endpoint: str, home: Path, monkeypatch, offline: bool = False) -> dict:
    """HF_ENDPOINT and an HF_HOME of the test's own, for this process and the processes it starts."""
    from huggingface_hub import constants

    env = {
        "HF_ENDPOINT": endpoint,
        "HF_HOME": str(home),
        "HF_HUB_CACHE": str(home / "hub"),
        "HF_DATASETS_CACHE": str(home / "datasets"),
        "HF_HUB_OFFLINE": "1" if offline else "0",
        "HF_DATASETS_OFFLINE": "1" if offline else "0",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(constants, "ENDPOINT", endpoint)
    monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE", endpoint + "/{repo_id}/resolve/{revision}/{filename}")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(home / "hub"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", offline)
    try:  # `datasets` keeps its own copy of these, read when it was first imported
        import datasets.config
    except ImportError:
        return env
    for name, value in (("HF_ENDPOINT", endpoint), ("HF_HUB_OFFLINE", offline), ("HF_DATASETS_OFFLINE", offline)):
        monkeypatch.setattr(datasets.config, name, value)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", home / "datasets")
    return env


@pytest.fixture
def hub_env(hub, tmp_path, monkeypatch):
    return point_at(hub.url, tmp_path / "hf", monkeypatch)


def test_from_pretrained_pulls_over_http_and_pins_revisions(hub, hub_env):
    latest = IRAE.from_pretrained(MODEL)
    assert same_weights(latest, second_model())
    first = IRAE.from_pretrained(MODEL, revision=hub.shas[0])
    assert same_weights(first, make_model("denoise")) and not same_weights(first, latest)
    assert same_weights(load_model(f"{MODEL}@{hub.shas[0]}"), first)  # ORG/NAME@REV, as the CLI and app take it
    assert same_weights(load_model(MODEL, revision=hub.shas[0]), first)
    assert list(Path(hub_env["HF_HUB_CACHE"]).glob("models--testorg--irae-denoise/snapshots/*/model.safetensors"))


def test_the_cache_serves_a_model_when_the_server_is_gone(hub, tmp_path, monkeypatch):
    home = tmp_path / "hf"
    point_at(hub.url, home, monkeypatch)
    pulled = load_model(MODEL)
    point_at(f"http://127.0.0.1:{free_port()}", home, monkeypatch, offline=True)  # nothing listens there
    assert same_weights(load_model(MODEL), pulled)


@pytest.mark.parametrize(
    "source,words",
    [
        ("testorg/missing", "no such model repository"),
        (NO_WEIGHTS, "no model.safetensors in Hub repo testorg/no-weights"),
        (f"{MODEL}@no-such-branch", "no such (model repository or )?revision"),  # olah: "repository not found"
    ],
)
def test_hub_failures_are_one_clear_error(hub_env, source, words):
    with pytest.raises(WeightsError, match=words) as caught:
        load_model(source)
    assert "\n" not in str(caught.value)


def test_a_server_that_is_down_is_one_clear_error(tmp_path, monkeypatch, capsys):
    point_at(f"http://127.0.0.1:{free_port()}", tmp_path / "hf", monkeypatch)
    with pytest.raises(WeightsError, match="cannot reach http://127.0.0.1:.* not in the cache"):
        load_model(MODEL)
    assert cli(["restore", "--model", MODEL, str(ROOT / "examples" / "coffee.png"), "-o", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot reach" in err and "Traceback" not in err


def test_cli_restores_with_a_hub_model_at_a_revision(hub, hub_env, tmp_path):
    from PIL import Image

    from irae_hf.pipeline.restore import restore

    photo = ROOT / "examples" / "coffee.png"
    argv = ["restore", "--model", MODEL, "--revision", hub.shas[0], "--sigma", "25", str(photo), "-o", str(tmp_path)]
    assert cli(argv) == 0
    expected = restore(make_model("denoise"), Image.open(photo), sigma=25)
    assert np.array_equal(np.asarray(Image.open(tmp_path / "coffee_denoised.png")), np.asarray(expected))


def test_app_serves_a_hub_model_shows_its_card_and_falls_back_when_one_is_missing(hub, hub_env):
    gradio_client = pytest.importorskip("gradio_client")
    import app

    with pytest.warns(UserWarning, match="testorg/missing: no such model repository .* the shipped pretrained/jpeg"):
        models = app.load_models({"denoise": f"{MODEL}@{hub.shas[1]}", "jpeg": "testorg/missing"})
    assert models["denoise"].source == f"{MODEL}@{hub.shas[1]}" and "IRAE" in (models["denoise"].card or "")
    assert same_weights(models["denoise"].model, second_model())
    assert "no such model repository" in models["jpeg"].note and "pretrained/jpeg (shipped)" in models["jpeg"].source
    assert f"`{MODEL}@{hub.shas[1]}`" in app.about_models(models)

    port = free_port()
    demo = app.main(["--denoise-model", MODEL, "--port", str(port)], prevent_thread_lock=True, quiet=True)
    try:
        client = gradio_client.Client(f"http://127.0.0.1:{port}/", verbose=False)
        (_, restored), note, _ = client.predict(
            gradio_client.handle_file(str(ROOT / "examples" / "coffee.png")), 25, False, False, api_name="/denoise"
        )
        assert "**σ 25**, as set" in note and Path(restored).is_file()
    finally:
        demo.close()


@pytest.mark.parametrize("streaming", [False, True], ids=["map-style", "streaming"])
def test_trainer_pulls_a_hub_dataset(hub, hub_env, tmp_path, streaming):
    out = tmp_path / "run"
    command = [
        sys.executable,
        "train_accelerate.py",
        "--dataset",
        DATASET,
        "--output_dir",
        str(out),
        "--max_steps",
        "2",
        "--crop_size",
        "32",
        "--batch_size",
        "2",
        "--report_to",
        "none",
        "--init_from",
        f"{MODEL}@{hub.shas[0]}",
        *(["--streaming"] if streaming else []),
    ]
    env = {**os.environ, **hub_env, "ACCELERATE_USE_CPU": "1"}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert IRAE.from_pretrained(out).task == "denoise"
    if not streaming:
        assert f"6 training images from {DATASET}" in done.stdout + done.stderr


def test_a_fine_tune_of_hub_model_and_data_pushes_exactly_its_files_and_metadata(hub, hub_env, tmp_path, hub_recorder):
    """The training pulls its data and starting weights from the server; its push runs huggingface_hub's real calls
    with only the network transport replaced (tests/hub_recorder.py), and what it commits is checked exactly."""
    from huggingface_hub import ModelCard

    import train_accelerate

    recorder = hub_recorder(hub.url)
    write_photos(tmp_path / "eval", count=2)
    out = tmp_path / "fine-tuned"
    argv = ["--dataset", DATASET, "--init_from", f"{MODEL}@{hub.shas[0]}", "--output_dir", str(out)]
    argv += ["--max_steps", "2", "--crop_size", "32", "--batch_size", "2", "--report_to", "none"]
    argv += ["--eval_dir", str(tmp_path / "eval" / "train"), "--push_to_hub", "--hub_model_id", "me/irae-fine"]
    train_accelerate.main([*argv, "--hub_private"])
    assert [(r["organization"], r["name"], r["visibility"]) for r in recorder.repos] == [("me", "irae-fine", "private")]
    [commit] = recorder.commits
    assert commit["repo"] == "models/me/irae-fine" and commit["summary"] == "IRAE denoise, 2 steps"
    assert commit["files"] == {
        name: (out / name).read_bytes() for name in ("config.json", "model.safetensors", "README.md")
    }
    card = ModelCard(commit["files"]["README.md"].decode())
    assert card.data.license == "apache-2.0" and {"image-restoration", "irae"} <= set(card.data.tags)
    assert card.data.base_model == MODEL and card.data.datasets == [DATASET]
    assert card.data.library_name == "irae-hf" and card.data.pipeline_tag == "image-to-image"
    results = {(r.metric_type, r.metric_name) for r in card.data.eval_results}
    assert {("psnr", "PSNR (σ 25)"), ("ssim", "SSIM (σ 50)")} <= results and card.data.model_name == "me/irae-fine"
    assert 'IRAE.from_pretrained("me/irae-fine")' in card.text


def test_a_hub_dataset_is_restored_alike_on_one_and_two_processes_and_pushed(
    hub, hub_env, tmp_path, monkeypatch, hub_recorder
):
    """``irae restore --dataset`` pulls the served dataset at a commit; two processes under accelerate launch write
    the shards one process wrote, byte for byte; the push runs huggingface_hub's real calls (only the transport is
    replaced: tests/hub_recorder.py) and commits the card and the shards, nothing else, to a private dataset repo."""
    import datasets

    from irae_hf.pipeline import dataset as module

    revision = subprocess.run(["git", "rev-parse", "HEAD"], cwd=hub.root / "mirrors" / "datasets" / DATASET,
                              capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    monkeypatch.setattr(module, "SHARD_ROWS", 4)  # six photos: two shards
    recorder = hub_recorder(hub.url)
    args = ["restore", "--model", MODEL, "--revision", hub.shas[0], "--dataset", DATASET]
    args += ["--dataset_revision", revision]
    one = tmp_path / "one"
    assert cli([*args, "--output_dir", str(one), "--push_to_hub", "me/photos-clean", "--private"]) == 0
    shards = {f"data/{p.name}": p.read_bytes() for p in sorted((one / "data").glob("*.parquet"))}
    assert list(shards) == ["data/train-00000-of-00002.parquet", "data/train-00001-of-00002.parquet"]
    private = {"name": "photos-clean", "organization": "me", "visibility": "private", "type": "dataset"}
    assert recorder.repos == [private]
    [commit] = recorder.commits
    assert commit["repo"] == "datasets/me/photos-clean"
    assert commit["files"] == {"README.md": (one / "README.md").read_bytes(), **shards}
    card = commit["files"]["README.md"].decode()
    assert f"`{DATASET}` (revision `{revision}`)" in card and f"`{MODEL}` (revision `{hub.shas[0]}`)" in card
    back = datasets.load_dataset(str(one), split="train")
    assert back.num_rows == 6 and None not in back["irae_level"]  # each row's own estimate (no --sigma)

    env = {**os.environ, **hub_env, "ACCELERATE_USE_CPU": "1", "OMP_NUM_THREADS": "1", "IRAE_SHARD_ROWS": "4"}
    done = subprocess.run(irae_launch(2, [*args, "--output_dir", str(tmp_path / "two")]), env=env,
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert {f"data/{p.name}": p.read_bytes() for p in sorted((tmp_path / "two" / "data").glob("*.parquet"))} == shards
