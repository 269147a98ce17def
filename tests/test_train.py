"""train_accelerate.py: 2-process CPU training, kill-and-resume, the Hub push (transport mocked), flags."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file, save_file

import train_accelerate
from irae_hf import IRAE
from irae_hf.training.steps import find_checkpoint

from .conftest import Gated, outlived, processes_mentioning, reset_accelerate

pytestmark = pytest.mark.train

ROOT = Path(__file__).resolve().parents[1]
TINY = [
    "--width",
    "8",
    "--depth",
    "2",
    "--crop_size",
    "32",
    "--batch_size",
    "2",
    "--num_workers",
    "0",
    "--report_to",
    "none",
]


def weights(folder: Path) -> dict:
    return load_file(folder / "model.safetensors")


def max_diff(a: dict, b: dict) -> float:
    assert a.keys() == b.keys()
    return max((a[k].float() - b[k].float()).abs().max().item() for k in a)


def data_args(images: Path, out: Path, task: str = "denoise") -> list[str]:
    return [
        "--task",
        task,
        "--dataset",
        str(images / "train"),
        "--validation_dir",
        str(images / "val"),
        "--output_dir",
        str(out),
    ]


def launch(args, env_extra=None, **kw):
    env = {**os.environ, "ACCELERATE_USE_CPU": "1", "PYTHONUNBUFFERED": "1", **(env_extra or {})}
    cmd = [sys.executable, "-m", "accelerate.commands.launch", *args]
    kw = {"stdout": subprocess.PIPE, "stderr": subprocess.STDOUT, **kw}
    return subprocess.Popen(cmd, cwd=ROOT, env=env, text=True, **kw)


def test_two_process_cpu_training(images, tmp_path):
    out = tmp_path / "run"
    proc = launch(
        [
            "--multi_gpu",
            "--num_processes",
            "2",
            "--num_machines",
            "1",
            "--mixed_precision",
            "no",
            "--dynamo_backend",
            "no",
            "train_accelerate.py",
            *data_args(images, out),
            "--max_steps",
            "4",
            "--checkpointing_steps",
            "2",
            "--validation_steps",
            "2",
            "--max_minutes",
            "60",  # the time check is broadcast from the main process every step
            *TINY,
        ]
    )
    log, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, log
    ckpt = out / "checkpoints" / "checkpoint-4"
    assert (ckpt / "random_states_1.pkl").exists(), "expected two processes"
    state = json.loads((ckpt / "trainer_state.json").read_text())
    assert state["step"] == 4 and [h["step"] for h in state["history"]] == [2, 4]
    assert state["cpu_s"] > 0 and 0 < state["history"][0]["cpu_hours"] <= state["history"][1]["cpu_hours"]
    model = IRAE.from_pretrained(out)
    assert model.config["width"] == 8 and model.task == "denoise"
    card = (out / "README.md").read_text()
    assert "for 4 steps" in card and "val" in card and "patches/s" in card and "| hours | CPU-hours |" in card
    assert "Hardware: 2 × CPU" in card and 0 < state["wall_s"]
    assert "Validation curve (held-out images, center crops, σ 25;" in card
    assert 0 <= state["history"][-1]["val/inverse_error"] < 0.5 and "Exact inverse: the input came back within" in card


def test_a_killed_launcher_leaves_no_process_training(images, tmp_path):
    """SIGKILL ``accelerate launch`` alone, mid-run, with loader workers: its two processes and their workers are all
    gone within seconds (they would train on, or wait forever to hand over a batch)."""
    import time

    out = tmp_path / "run"
    flags = ["--multi_gpu", "--num_processes", "2", "--num_machines", "1", "--mixed_precision", "no"]
    flags += ["--dynamo_backend", "no", "train_accelerate.py", *data_args(images, out), "--max_steps", "100000"]
    proc = launch([*flags, "--checkpointing_steps", "2", *TINY, "--num_workers", "1"], stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        while not (out / "checkpoints" / "checkpoint-2").exists() and proc.poll() is None:
            assert time.monotonic() < deadline, "no checkpoint in 300 s"
            time.sleep(0.05)
        assert len(processes_mentioning(str(out))) == 5, "the launcher, 2 processes and a loader worker each"
        proc.kill()
        proc.wait(timeout=60)
    finally:
        assert outlived(str(out), 30) == [], "a process of the run outlived its launcher by 30 s"


def test_killed_run_resumes_exactly(images, tmp_path):
    common = [
        "train_accelerate.py",
        "--task",
        "jpeg",
        "--dataset",
        str(images / "train"),
        "--max_steps",
        "30",
        "--checkpointing_steps",
        "3",
        "--checkpoints_total_limit",
        "20",
        *TINY,
    ]
    ref = tmp_path / "ref"
    train_accelerate.main(common[1:] + ["--output_dir", str(ref)])

    out = tmp_path / "killed"  # held after its second checkpoint (tests/gated.py), then killed: no race with its speed
    run = Gated("irae_hf.training.trainer:save_checkpoint", *common, "--output_dir", str(out), where="after",
                start_new_session=True)  # fmt: skip
    run.wait_at_gate()
    run.let_through()
    run.wait_at_gate()
    os.killpg(run.p.pid, signal.SIGKILL)
    run.finish()
    done = sorted(int(d.name.split("-")[1]) for d in (out / "checkpoints").glob("checkpoint-*"))
    assert done == [3, 6] and not (out / "model.safetensors").exists(), "the run should have died after step 6"
    train_accelerate.main(common[1:] + ["--output_dir", str(out), "--resume", "latest"])
    state = json.loads((out / "checkpoints" / "checkpoint-30" / "trainer_state.json").read_text())
    assert state["step"] == 30
    assert max_diff(weights(ref), weights(out)) < 1e-5  # no step lost or repeated
    for name in ("model.safetensors", "ema.safetensors"):  # the raw weights and their moving average
        last = [d / "checkpoints" / "checkpoint-30" / name for d in (ref, out)]
        assert max_diff(load_file(last[0]), load_file(last[1])) < 1e-5

    exported = tmp_path / "exported"  # --export_from turns a checkpoint into a save_pretrained folder
    train_accelerate.main(
        common[1:] + ["--output_dir", str(exported), "--export_from", str(out / "checkpoints" / "checkpoint-15")]
    )
    assert "for 15 steps" in (exported / "README.md").read_text()
    assert IRAE.from_pretrained(exported).task == "jpeg"
    bare = tmp_path / "bare"  # the run's arguments are saved with the checkpoint: no training flags to repeat
    train_accelerate.main(["--output_dir", str(bare), "--export_from", str(out / "checkpoints" / "checkpoint-15")])
    assert (bare / "README.md").read_text() == (exported / "README.md").read_text()
    assert max_diff(weights(bare), weights(exported)) == 0 and IRAE.from_pretrained(bare).config["width"] == 8

    warm = tmp_path / "warm"  # --init_from starts from saved weights (no actnorm re-initialisation)
    train_accelerate.main(
        common[1:] + ["--output_dir", str(warm), "--init_from", str(ref), "--max_steps", "1", "--learning_rate", "0"]
    )
    assert max_diff(weights(ref), weights(warm)) == 0

    slow = tmp_path / "slow"  # fine-tuning warms up: lr 1e-3 / 100 on the first step, 2e-3 / 100 after it
    train_accelerate.main(
        common[1:]
        + [
            "--output_dir",
            str(slow),
            "--init_from",
            str(ref),
            "--max_steps",
            "2",
            "--lr_warmup_steps",
            "100",
            "--lr_milestones",
        ]
    )
    state = json.loads((slow / "checkpoints" / "checkpoint-2" / "trainer_state.json").read_text())
    assert state["metrics"]["train/lr"] == pytest.approx(1e-3 * 3 / 100)  # lr for the step after step 2


def test_push_to_hub_pushes_exactly_the_output_folder(images, tmp_path, hub_recorder):
    """huggingface_hub's own calls, only the network transport replaced (tests/hub_recorder.py)."""
    recorder = hub_recorder()
    out = tmp_path / "push"
    train_accelerate.main(
        [
            "--task",
            "inpaint",
            "--dataset",
            str(images / "train"),
            "--output_dir",
            str(out),
            "--max_steps",
            "2",
            "--eval_dir",
            str(images / "val"),
            "--push_to_hub",
            "--hub_model_id",
            "org/irae-test",
            "--memory_saving",
            *TINY,
        ]
    )
    assert [(r["organization"], r["name"]) for r in recorder.repos] == [("org", "irae-test")]
    [commit] = recorder.commits
    assert commit["repo"] == "models/org/irae-test"
    shipped = ("config.json", "model.safetensors", "README.md")
    assert commit["files"] == {name: (out / name).read_bytes() for name in shipped}  # exactly these, as saved
    card = commit["files"]["README.md"].decode()
    assert 'IRAE.from_pretrained("org/irae-test")' in card
    assert "| free-form | IRAE |" in card and "| box | input |" in card  # the evaluation table
    assert {r["method"] for r in json.loads((out / "evaluation.json").read_text())["rows"]} == {"IRAE", "input"}


def test_streaming_and_argument_errors(images, tmp_path, capsys):
    out = tmp_path / "stream"
    train_accelerate.main(
        [
            "--task",
            "denoise",
            "--dataset",
            str(images / "train"),
            "--streaming",
            "--output_dir",
            str(out),
            "--max_steps",
            "2",
            "--mixed_precision",
            "bf16",
            "--gradient_accumulation_steps",
            "2",
            *TINY,
        ]
    )
    assert IRAE.from_pretrained(out).task == "denoise"
    with pytest.raises(SystemExit):
        train_accelerate.parse_args(["--dataset", "x", "--output_dir", "y", "--push_to_hub"])
    assert "--hub_model_id" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        train_accelerate.parse_args(["--dataset", "x", "--output_dir", "y", "--mask_scale", "0"])
    assert "--mask_scale must be a positive" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        train_accelerate.parse_args(["--dataset", "x", "--output_dir", "y", "--box_sizes", "64", "16"])
    assert "--box_sizes must be two numbers" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        train_accelerate.parse_args(["--dataset", "x", "--output_dir", "y", "--file_fraction", "1.5"])
    assert "--file_fraction must be in [0, 1]" in capsys.readouterr().err
    with pytest.raises(FileNotFoundError, match="no complete checkpoint"):
        find_checkpoint(tmp_path / "nothing", "latest")


def test_nan_loss_stops_without_saving(images, tmp_path):
    out = tmp_path / "nan"
    with pytest.raises(RuntimeError, match="loss is nan"):
        train_accelerate.main(
            ["--dataset", str(images / "train"), "--output_dir", str(out), "--max_steps", "50", *TINY]
            + ["--learning_rate", "1e30", "--max_grad_norm", "0"]
        )
    assert not (out / "model.safetensors").exists()


def test_actnorm_initialised_on_first_batch(images, tmp_path):
    out = tmp_path / "init"
    train_accelerate.main(
        [
            "--dataset",
            str(images / "train"),
            "--output_dir",
            str(out),
            "--max_steps",
            "1",
            "--learning_rate",
            "0",
            *TINY,
        ]
    )
    w = weights(out)
    assert w["flow1.root.steps.layers.0.layers.0.bias"].abs().sum() > 0  # data-dependent, not the zero default
    assert torch.equal(w["flow1.root.steps.layers.0.layers.0.bias"], w["flow2.root.steps.layers.0.layers.0.bias"])


def test_interrupted_checkpoint_write_leaves_no_half_checkpoint(images, tmp_path, monkeypatch):
    """A save_state that dies mid-way leaves only a temporary folder; resume uses the last complete one."""
    from accelerate import Accelerator

    real = Accelerator.save_state
    calls = {"n": 0}

    def dying_save_state(self, output_dir=None, **kw):
        calls["n"] += 1
        if calls["n"] == 2:  # the second checkpoint: write part of it, then die
            Path(output_dir).mkdir(parents=True, exist_ok=True)
            (Path(output_dir) / "model.safetensors").write_bytes(b"half")
            raise KeyboardInterrupt("killed while writing")
        return real(self, output_dir, **kw)

    monkeypatch.setattr(Accelerator, "save_state", dying_save_state)
    args = [
        "--task",
        "denoise",
        "--dataset",
        str(images / "train"),
        "--output_dir",
        str(tmp_path / "run"),
        "--max_steps",
        "4",
        "--checkpointing_steps",
        "2",
        *TINY,
    ]
    with pytest.raises(KeyboardInterrupt):
        train_accelerate.main(args)
    names = sorted(d.name for d in (tmp_path / "run" / "checkpoints").iterdir())
    assert names == [".tmp-checkpoint-4", "checkpoint-2"]
    assert find_checkpoint(tmp_path / "run", "latest").name == "checkpoint-2"
    monkeypatch.setattr(Accelerator, "save_state", real)
    reset_accelerate()
    train_accelerate.main(args + ["--resume", "latest"])
    assert sorted(d.name for d in (tmp_path / "run" / "checkpoints").iterdir()) == ["checkpoint-2", "checkpoint-4"]


def test_dncnn_baseline_trains_with_the_same_script(images, tmp_path):
    from irae_hf.models.dncnn import DnCNN
    from irae_hf.models.registry import load_model

    out = tmp_path / "dncnn"
    train_accelerate.main(
        [
            "--arch",
            "dncnn",
            "--task",
            "jpeg",
            "--dataset",
            str(images / "train"),
            "--output_dir",
            str(out),
            "--max_steps",
            "2",
            "--eval_dir",
            str(images / "val"),
            *TINY,
            "--depth",
            "4",
        ]
    )
    model = load_model(out)
    assert isinstance(model, DnCNN) and model.config["width"] == 8 and model.arch == "dncnn"
    card = (out / "README.md").read_text()
    assert "DnCNN baseline (jpeg)" in card and "| 10 | DnCNN |" in card
    with pytest.raises(ValueError, match="not invertible"):
        train_accelerate.main(
            [
                "--arch",
                "dncnn",
                "--dataset",
                str(images / "train"),
                "--output_dir",
                str(tmp_path / "x"),
                "--memory_saving",
                *TINY,
                "--depth",
                "4",
            ]
        )


def test_max_minutes_stops_with_a_validated_checkpoint_and_a_saved_model(images, tmp_path):
    out = tmp_path / "timed"
    timed = [*data_args(images, out, "inpaint"), "--max_minutes", "0", "--checkpointing_steps", "500", *TINY]
    timed += ["--mask_scale", "480"]
    train_accelerate.main([*timed, "--max_steps", "1000"])
    state = json.loads((out / "checkpoints" / "checkpoint-1" / "trainer_state.json").read_text())
    assert state["step"] == 1 and [h["step"] for h in state["history"]] == [1]  # validated at the stop
    assert state["metrics"]["train/lr"] == pytest.approx(1e-3 * 0.5**3)  # all milestones passed in time
    card = (out / "README.md").read_text()
    assert "for 1 steps" in card and "center crops, a seeded free-form mask per image)" in card and "patches/s" in card
    assert "free-form strokes sized for 480-pixel images" in card
    assert IRAE.from_pretrained(out).task == "inpaint"
    train_accelerate.main([*timed, "--max_steps", "1", "--resume", "latest"])  # resuming a finished run
    assert (out / "README.md").read_text() == card


def test_checkpoint_with_the_old_scheduler_state_resumes_exactly(images, tmp_path):
    """Checkpoints written while a MultiStepLR was checkpointed (accelerate's custom_checkpoint_0.pkl) still resume,
    to the same weights as an uninterrupted run: the lr is recomputed from the step."""
    run = ["--task", "denoise", "--dataset", str(images / "train"), "--checkpointing_steps", "2", *TINY]
    ref, old = tmp_path / "ref", tmp_path / "old"
    train_accelerate.main([*run, "--output_dir", str(ref), "--max_steps", "4"])
    train_accelerate.main([*run, "--output_dir", str(old), "--max_steps", "4"])
    checkpoint = old / "checkpoints" / "checkpoint-2"
    optimizer = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=1e-3)
    torch.save(
        torch.optim.lr_scheduler.MultiStepLR(optimizer, [2, 3]).state_dict(), checkpoint / "custom_checkpoint_0.pkl"
    )
    state = load_file(checkpoint / "model.safetensors")  # old weights also held actnorm's unused flags
    save_file(
        state | {"flow1.root.steps.layers.0.layers.0.initialized": torch.tensor(True)}, checkpoint / "model.safetensors"
    )
    for newer in ("ema.safetensors", "run_args.json"):  # and no moving average or saved arguments
        (checkpoint / newer).unlink()
    (old / "model.safetensors").unlink()
    train_accelerate.main([*run, "--output_dir", str(old), "--max_steps", "4", "--resume", str(checkpoint)])
    assert (checkpoint / "lr_scheduler_legacy.pkl").exists()
    raw = [load_file(d / "checkpoints" / "checkpoint-4" / "model.safetensors") for d in (ref, old)]
    assert max_diff(*raw) < 1e-6


def test_a_model_compiled_by_accelerate_config_trains_saves_and_resumes_as_a_plain_one(images, tmp_path, monkeypatch):
    """``accelerate config`` with a dynamo backend compiles the model (the eager backend here: the same wrapping,
    no code generation): the run is the plain run's, its checkpoints hold plain keys and resume uncompiled."""
    run = ["--task", "denoise", "--dataset", str(images / "train"), "--checkpointing_steps", "2", *TINY]
    run += ["--validation_dir", str(images / "val"), "--validation_steps", "2", "--ema_decay", "0.5"]
    ref, compiled = tmp_path / "ref", tmp_path / "compiled"
    train_accelerate.main([*run, "--output_dir", str(ref), "--max_steps", "4"])
    monkeypatch.setenv("ACCELERATE_DYNAMO_BACKEND", "eager")
    reset_accelerate()
    train_accelerate.main([*run, "--output_dir", str(compiled), "--max_steps", "4"])
    assert max_diff(weights(ref), weights(compiled)) < 1e-6
    assert not any("_orig_mod" in k for k in load_file(compiled / "checkpoints" / "checkpoint-2" / "model.safetensors"))
    monkeypatch.delenv("ACCELERATE_DYNAMO_BACKEND")
    reset_accelerate()
    (compiled / "model.safetensors").unlink()
    checkpoint = str(compiled / "checkpoints" / "checkpoint-2")
    train_accelerate.main([*run, "--output_dir", str(compiled), "--max_steps", "4", "--resume", checkpoint])
    assert max_diff(weights(ref), weights(compiled)) < 1e-6


def test_bf16_channels_last_training_with_ema_ships_plain_fp32_weights(images, tmp_path):
    out = tmp_path / "bf16"
    common = data_args(images, out) + TINY + ["--max_steps", "3", "--validation_steps", "3", "--mixed_precision"]
    train_accelerate.main(common + ["bf16", "--channels_last", "--ema_decay", "0.5"])
    state = json.loads((out / "checkpoints" / "checkpoint-3" / "trainer_state.json").read_text())
    assert {"val/psnr", "val/psnr_ema"} <= set(state["history"][-1])
    shipped = weights(out)
    assert all(v.dtype == torch.float32 for v in shipped.values() if v.is_floating_point())
    ema, raw = (load_file(out / "checkpoints" / "checkpoint-3" / n) for n in ("ema.safetensors", "model.safetensors"))
    chosen = "ema" if state["metrics"]["val/psnr_ema"] >= state["metrics"]["val/psnr"] else "raw"
    assert max_diff(shipped, ema if chosen == "ema" else raw) == 0
    card = (out / "README.md").read_text()
    assert "bf16 autocast" in card and "Channels-last" in card and "moving average" in card
    for choice, expected in (("ema", ema), ("raw", raw)):  # --export_weights picks either from a checkpoint
        folder = tmp_path / f"export-{choice}"
        args = data_args(images, folder) + TINY + ["--export_weights", choice]
        train_accelerate.main(args + ["--export_from", str(out / "checkpoints" / "checkpoint-3")])
        assert max_diff(weights(folder), expected) == 0
    none = tmp_path / "no-ema"
    train_accelerate.main(data_args(images, none) + TINY + ["--max_steps", "1", "--ema_decay", "0"])
    assert not (none / "checkpoints" / "checkpoint-1" / "ema.safetensors").exists()
    with pytest.raises(FileNotFoundError, match="moving average"):
        args = data_args(images, tmp_path / "x") + TINY + ["--export_weights", "ema"]
        train_accelerate.main(args + ["--export_from", str(none / "checkpoints" / "checkpoint-1")])


def test_real_world_data_faults_are_survived_or_named(images, tmp_path, monkeypatch, capsys):
    """A corrupt training image is skipped (counted; past --max_bad_images training stops with the list); a 3×3
    validation image is padded; a corrupt validation image stops the run at start-up; a full disk and a corrupt
    checkpoint name the file and what to do."""
    import shutil

    data, val = tmp_path / "data", tmp_path / "val"
    shutil.copytree(images / "train", data)
    (data / "broken.png").write_bytes((data / "0.png").read_bytes()[:60])  # a truncated PNG among good ones
    val.mkdir()
    shutil.copy(images / "val" / "0.png", val / "0.png")
    Image.new("RGB", (3, 3), (200, 10, 10)).save(val / "tiny.png")
    common = ["--dataset", str(data), "--validation_dir", str(val), *TINY, "--validation_steps", "4"]
    out = tmp_path / "run"
    train_accelerate.main([*common, "--output_dir", str(out), "--max_steps", "8", "--cache_images"])
    state = json.loads((out / "checkpoints" / "checkpoint-8" / "trainer_state.json").read_text())
    assert state["metrics"]["train/bad_images"] == 1 and state["history"][-1]["step"] == 8
    with pytest.raises(ValueError, match="cannot be decoded, over --max_bad_images 0"):
        train_accelerate.main(
            [*common, "--output_dir", str(tmp_path / "strict"), "--max_steps", "8", "--max_bad_images", "0"]
        )

    (val / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    with pytest.raises(ValueError, match=r"validation image #\d cannot be used \(UnidentifiedImageError"):
        train_accelerate.main([*common, "--output_dir", str(tmp_path / "v"), "--max_steps", "2"])
    (val / "bad.png").unlink()

    from accelerate import Accelerator

    def full_disk(self, output_dir=None, **kw):
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as m:
        m.setattr(Accelerator, "save_state", full_disk)
        with pytest.raises(RuntimeError, match="cannot write checkpoint .*No space left.*free disk space"):
            train_accelerate.main(
                [*common, "--output_dir", str(tmp_path / "full"), "--max_steps", "2", "--checkpointing_steps", "1"]
            )
    assert not list((tmp_path / "full" / "checkpoints").glob(".tmp-*"))

    (out / "checkpoints" / "checkpoint-8" / "model.safetensors").write_bytes(b"garbage")
    with pytest.raises(RuntimeError, match="checkpoint-8 cannot be loaded.*earlier checkpoint"):
        train_accelerate.main([*common, "--output_dir", str(out), "--max_steps", "10", "--resume", "latest"])


def test_to_tensor_keeps_16_bit_grey_in_range():
    from irae_hf.io.images import to_tensor

    grey = np.full((8, 8), 30000, np.uint16)
    t = to_tensor(Image.fromarray(grey))
    assert t.shape == (3, 8, 8) and abs(t.mean().item() - 30000 / 65535) < 1e-4


@pytest.mark.parametrize(
    "flags,words",
    [
        (["--sigma_range", "75", "0"], "--sigma_range LOW HIGH must satisfy 0 <= LOW <= HIGH <= 255, got 75 0"),
        (["--sigma_range", "-10", "500"], "--sigma_range LOW HIGH must satisfy"),
        (["--quality_range", "0", "101"], "--quality_range LOW HIGH must satisfy 1 <= LOW <= HIGH <= 100"),
    ],
)
def test_level_ranges_are_checked_by_name(flags, words, capsys):
    with pytest.raises(SystemExit):
        train_accelerate.parse_args(["--dataset", "x", "--output_dir", "y", *flags])
    assert words in capsys.readouterr().err


@pytest.mark.parametrize("change", [["--task", "jpeg"], ["--width", "16"], ["--depth", "3"]])
def test_resume_refuses_a_checkpoint_of_another_model(images, tmp_path, change):
    """--resume latest with another task or size than the checkpoint's is refused in one line, before any training,
    and the checkpoint is kept (no advice to delete it)."""
    out = tmp_path / "run"
    train_accelerate.main([*data_args(images, out), "--max_steps", "2", "--checkpointing_steps", "2", *TINY])
    reset_accelerate()
    checkpoint = find_checkpoint(out, "latest")
    task = change[1] if change[0] == "--task" else "denoise"
    args = [*data_args(images, out, task), "--max_steps", "4", *TINY, *change, "--resume", "latest"]
    with pytest.raises(ValueError) as refused:
        train_accelerate.main(args)
    said = str(refused.value)
    assert (
        said.startswith(f"{checkpoint.name} was trained with {change[0]} ") and f"you passed {' '.join(change)}" in said
    )
    assert "delete" not in said and len(said) < 200 and checkpoint.is_dir()


def test_a_local_folder_trains_on_every_image_whatever_its_name(tmp_path):
    from irae_hf.io.image_datasets import load_image_dataset

    names = ["train_photo.png", "holiday.png", "beach.png", "test_shot.png", "val_cat.png", "my_validation.png"]
    names += ["contest.png", "sub/train/deep.jpg", ".hidden.png"]
    for name in names:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (16, 16), (10, 20, 30)).save(tmp_path / name)
    assert len(load_image_dataset(str(tmp_path))) == 8  # all but the hidden file


@pytest.mark.parametrize("loss", ["l2", "charbonnier"])
def test_the_loss_is_chosen_by_name_and_named_on_the_card(images, tmp_path, loss):
    from irae_hf.training.losses import LOSSES, charbonnier

    x, y = torch.zeros(4), torch.full((4,), 0.5)
    assert abs(charbonnier(x, y).item() - (0.25 + 1e-6) ** 0.5) < 1e-7 and set(LOSSES) == {"l1", "l2", "charbonnier"}
    out = tmp_path / loss
    train_accelerate.main([*data_args(images, out), "--max_steps", "2", "--loss", loss, *TINY])
    card = (out / "README.md").read_text()
    assert {"l2": "L2 (mean squared error) loss", "charbonnier": "Charbonnier loss"}[loss] in card
    with pytest.raises(SystemExit):
        train_accelerate.parse_args(["--dataset", "x", "--output_dir", "y", "--loss", "huber"])


def test_per_scale_widths_train_save_and_are_checked(images, tmp_path, capsys):
    """--scale_widths builds IRAE with one coupling width per scale (finest first), saved in config.json; a count
    other than --scales, or another architecture, is refused by name."""
    out = tmp_path / "run"
    train_accelerate.main([*data_args(images, out), "--max_steps", "2", *TINY, "--scale_widths", "4", "12"])
    assert json.loads((out / "config.json").read_text())["width"] == [4, 12]
    for flags in (["--scale_widths", "8"], ["--arch", "dncnn", "--scale_widths", "8", "8"]):
        with pytest.raises(SystemExit):
            train_accelerate.parse_args(["--dataset", "x", "--output_dir", "y", *flags])
        assert "--scale_widths takes one width per scale" in capsys.readouterr().err


@pytest.mark.parametrize(
    "flags,words",
    [
        (["--learning_rate", "inf"], "--learning_rate must be a finite number >= 0, got inf"),
        (["--learning_rate", "nan"], "--learning_rate must be a finite number >= 0"),
        (["--lr_gamma", "-1"], "--lr_gamma must be in (0, 1]"),
        (["--lr_gamma", "nan"], "--lr_gamma must be in (0, 1]"),
        (["--checkpoints_total_limit", "0"], "--checkpoints_total_limit must be >= 1, got 0"),
        (["--checkpoints_total_limit", "-1"], "--checkpoints_total_limit must be >= 1, got -1"),
        (["--max_minutes", "-1"], "--max_minutes must be a finite number of minutes >= 0"),
        (["--lr_milestones", "0.5", "1.5"], "--lr_milestones are fractions of the run, each in (0, 1)"),
        (["--validation_crop", "0"], "--validation_crop must be >= 4 (2**scales), got 0"),
        (["--checkpointing_steps", "0"], "--checkpointing_steps must be >= 1, got 0"),
        (["--validation_steps", "0"], "--validation_steps must be >= 1, got 0"),
        (["--gradient_accumulation_steps", "0"], "--gradient_accumulation_steps must be >= 1, got 0"),
        (["--max_grad_norm", "-1"], "--max_grad_norm must be a finite number >= 0"),
        (["--lr_warmup_steps", "-5"], "--lr_warmup_steps must be >= 0"),
        (["--batch_size", "100000"], "--batch_size × --crop_size² is 921,600,000 pixels a step, over the limit"),
    ],
)
def test_every_numeric_option_is_checked_before_the_first_step(flags, words, capsys):
    with pytest.raises(SystemExit) as stop:
        train_accelerate.parse_args(["--dataset", "x", "--output_dir", "y", *flags])
    said = capsys.readouterr().err
    assert stop.value.code == 2 and words in said and "Traceback" not in said, said


def test_a_run_whose_weights_went_non_finite_saves_nothing(images, tmp_path, monkeypatch):
    """The loss is computed before the step that breaks the weights: the last step's NaN is caught at the save."""
    from irae_hf.training.trainer import Trainer

    step = Trainer.train_step

    def breaking(self, batch):  # noqa: ANN001, ANN202
        loss = step(self, batch)
        with torch.no_grad():
            next(self.accelerator.unwrap_model(self.model).parameters()).fill_(float("nan"))
        return loss

    monkeypatch.setattr(Trainer, "train_step", breaking)
    out = tmp_path / "run"
    with pytest.raises(RuntimeError, match="non-finite weights after step 1 .*: nothing saved"):
        train_accelerate.main(["--dataset", str(images / "train"), "--output_dir", str(out), "--max_steps", "1", *TINY])
    assert not list(out.rglob("*.safetensors"))


def test_an_output_dir_that_is_a_file_is_refused_before_training(images, tmp_path, monkeypatch):
    from irae_hf.training import trainer

    monkeypatch.setattr(trainer, "make_data", lambda *a, **k: pytest.fail("the data was loaded"))
    (tmp_path / "taken").write_text("my notes")
    with pytest.raises(ValueError, match="--output_dir .*taken: a file of that name is in the way"):
        train_accelerate.main(["--dataset", str(images / "train"), "--output_dir", str(tmp_path / "taken"), *TINY])
    assert (tmp_path / "taken").read_text() == "my notes"
