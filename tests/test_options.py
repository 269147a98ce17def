"""irae_hf.demo.options: the app's flags and environment, each refused in one line before any model is loaded or
Gradio is imported (Gradio reads GRADIO_SERVER_PORT at import), never a traceback or a server that never answers."""

import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import torch

from irae_hf.demo import options

ROOT = Path(__file__).resolve().parents[1]


def app(*args: str, **env: str) -> tuple[int, str]:
    environ = {**os.environ, "HF_HUB_OFFLINE": "1", **env}
    done = subprocess.run([sys.executable, "app.py", *args], cwd=ROOT, env=environ, capture_output=True, text=True,
                          timeout=300)  # fmt: skip
    return done.returncode, done.stdout + done.stderr


@pytest.mark.slow  # the app started in a subprocess, once per case
@pytest.mark.parametrize(
    "env,words",
    [
        ({"GRADIO_SERVER_PORT": "abc"}, "GRADIO_SERVER_PORT must be a port number from 1 to 65535, got 'abc'"),
        ({"GRADIO_SERVER_PORT": "99999"}, "GRADIO_SERVER_PORT must be a port number from 1 to 65535, got '99999'"),
        ({"GRADIO_SERVER_PORT": "-1"}, "GRADIO_SERVER_PORT must be a port number from 1 to 65535, got '-1'"),
        ({"IRAE_MAX_PIXELS": "inf"}, "IRAE_MAX_PIXELS must be a number of pixels from 1 to 40000000, got 'inf'"),
        (
            {"IRAE_DENOISE_MODEL": "pretrained/jpeg"},
            "IRAE_DENOISE_MODEL=pretrained/jpeg: a jpeg model, where the denoise tab needs a denoise model",
        ),  # fmt: skip
        (
            {"IRAE_DENOISE_REAL_MODEL": "pretrained/inpaint"},
            "IRAE_DENOISE_REAL_MODEL=pretrained/inpaint: an inpaint model, where the denoise tab needs a denoise model",
        ),  # fmt: skip
    ],
)
def test_a_bad_environment_is_one_line_before_the_server_starts(env, words):
    code, said = app(**env)
    assert code != 0 and words in said and "Traceback" not in said and said.count("error:") == 1, said


@pytest.mark.parametrize(
    "flags,words",
    [
        (["--concurrency", "0"], "--concurrency must be a whole number from 1 to 64, got '0'"),  # was a hang
        (["--concurrency", "-1"], "--concurrency must be a whole number from 1 to 64, got '-1'"),
        (["--queue-size", "0"], "--queue-size must be a whole number from 1 to 10000"),
        (["--port", "70000"], "--port must be a whole number from 1 to 65535"),
        (["--max-file-size", "abc"], "--max-file-size must be a size such as 50mb, 2gb or 1000000, got 'abc'"),
        (["--device", "banana"], "'banana' is not a torch device"),
        (["--device", "cuda"] if not torch.cuda.is_available() else ["--device", "tpu"], "--device"),
    ],
)
def test_bad_flags_are_argument_errors(flags, words, capsys):
    with pytest.raises(SystemExit) as stop:
        options.parse_args(flags)
    said = capsys.readouterr().err
    assert stop.value.code == 2 and words in said, said


def test_good_values_pass_and_an_empty_model_variable_is_an_unset_one(monkeypatch):
    args = options.parse_args(["--max-file-size", "2GB", "--concurrency", "4", "--port", "8080"])
    assert (args.max_file_size, args.concurrency, args.port) == ("2gb", 4, 8080)
    options.check_environment({"GRADIO_SERVER_PORT": "7861", "IRAE_MAX_PIXELS": "4e6"})
    from irae_hf.demo.models import load_models

    monkeypatch.setenv("IRAE_DENOISE_MODEL", "")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # not tried as a Hub id '' (which warned and fell back)
        models = load_models({}, pretrained=ROOT / "pretrained")
    assert models["denoise"].source == "pretrained/denoise (shipped)" and models["denoise"].note is None
