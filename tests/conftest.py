"""Shared fixtures: small IRAE models whose couplings are perturbed so that no map is trivially the identity."""

import os
import select
import struct
import subprocess
import sys
import zlib
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never reach the network

import numpy as np
import pytest
import torch
from PIL import Image

from irae_hf import IRAE
from irae_hf.models.flows import AffineCoupling
from irae_hf.tasks import condition


def random_image(h=37, w=53, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares width × height (the pixel data is a few bytes): a decompression bomb."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    )


def perturb(module: torch.nn.Module, std: float = 0.02, seed: int = 0) -> torch.nn.Module:
    """Give every coupling's zero-initialised last convolution random weights (a 'trained-like' model)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, AffineCoupling):
                last = m.net[-1]
                last.weight.copy_(torch.randn(last.weight.shape, generator=g) * std)
                last.bias.copy_(torch.randn(last.bias.shape, generator=g) * std)
    return module


def make_model(task: str = "denoise", width: int = 16, depth: int = 2, scales: int = 2, seed: int = 0) -> IRAE:
    torch.manual_seed(seed)
    model = IRAE(task=task, width=width, depth=depth, scales=scales)
    x = torch.rand(2, 3, 32, 32)
    init = {"denoise": {"sigma": 25}, "jpeg": {"quality": 30}, "inpaint": {"mask": torch.zeros(2, 1, 32, 32)}}[task]
    model.initialize(x, condition(model.task, x, **init))
    return perturb(model, seed=seed).eval()


@pytest.fixture
def model_factory():
    return make_model


@pytest.fixture
def denoiser() -> IRAE:
    return make_model("denoise")


def reset_accelerate() -> None:
    """accelerate keeps one global state per process; each in-process training run needs a fresh one."""
    from accelerate.state import AcceleratorState, GradientState

    AcceleratorState._reset_state(reset_partial_state=True)
    GradientState._reset_state()


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    """Image folders for training runs: train/ (4) and val/ (2) smooth-ish 64×48 photos (upsampled noise)."""
    root = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(0)
    for split, n in (("train", 4), ("val", 2)):
        (root / split).mkdir()
        for i in range(n):
            base = rng.integers(0, 256, (12, 16, 3), dtype=np.uint8)
            Image.fromarray(base).resize((64, 48), Image.BICUBIC).save(root / split / f"{i}.png")
    return root


@pytest.fixture(autouse=True)
def fresh_accelerate_state():
    yield
    reset_accelerate()


@pytest.fixture(autouse=True, scope="session")
def gradio_event_loops_closed():
    """Close, after the run, the event loops gradio makes and never closes: every ``gr.Blocks()`` built outside a
    running loop sets a new one per lock and event (``gradio.utils.safe_get_lock``, gradio-app/gradio#11734), which
    were garbage-collected mid-run as "unclosed event loop" and "unclosed socket" ResourceWarnings."""
    import asyncio

    made = []
    new_event_loop = asyncio.new_event_loop

    def tracked() -> asyncio.AbstractEventLoop:
        made.append(new_event_loop())
        return made[-1]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(asyncio, "new_event_loop", tracked)
        yield
    for loop in made:
        if not loop.is_running():
            loop.close()


@pytest.fixture(autouse=True, scope="session")
def no_process_left_behind(tmp_path_factory):
    """After the whole run: no process a test started on its temporary files is still alive (each is killed)."""
    yield
    base = str(tmp_path_factory.getbasetemp())
    assert outlived(base, 30) == [], f"processes started on {base} outlived the test run"


@pytest.fixture(scope="module")
def server():
    """The app on a free loopback port, once per test module: (its URL, the Blocks)."""
    import app

    from .hub_server import free_port

    port = free_port()
    demo = app.main(["--port", str(port)], prevent_thread_lock=True, quiet=True, show_error=True)
    yield f"http://127.0.0.1:{port}/", demo
    demo.close()


@pytest.fixture
def client(server):
    """A gradio_client on the module's app."""
    import gradio_client

    return gradio_client.Client(server[0], verbose=False)


class Gated:
    """``python PROGRAM...`` (``-m MODULE ...`` or a script) with ``MODULE:FUNCTION`` held at a gate (tests/gated.py,
    ``where`` it is: before, inside or after each call): the test lets calls through one at a time, so a signal always
    meets work in progress, however fast or busy the machine is."""

    def __init__(self, target: str, *program: str, where: str = "before", **popen):
        self.arrived, ready = os.pipe()
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "GATE_FD": str(ready)}
        gate = Path(__file__).with_name("gated.py")
        self.p = subprocess.Popen(
            [sys.executable, str(gate), target, where, "--", *program],
            cwd=gate.parents[1],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            pass_fds=(ready,),
            **popen,
        )
        os.close(ready)

    def wait_at_gate(self) -> None:
        """Block until the process is at the gate (if it ends instead, fail with what it said)."""
        readable, _, _ = select.select([self.arrived], [], [], 600)  # a guard against a hang, not a speed limit
        assert readable and os.read(self.arrived, 1) == b".", self.p.communicate(timeout=60)

    def let_through(self) -> None:
        """Let the call waiting at the gate go on."""
        self.p.stdin.write("\n")
        self.p.stdin.flush()

    def finish(self) -> tuple[str, str]:
        """Let every further call through; (stdout, stderr) once the process has ended."""
        out = self.p.communicate(timeout=600)
        os.close(self.arrived)
        return out

    def interrupt(self, sig: int) -> str:
        """Send ``sig`` to the process waiting at its gate; its stderr once it has ended."""
        self.p.send_signal(sig)
        _, err = self.p.communicate(timeout=120)
        os.close(self.arrived)
        return err


def processes_mentioning(text: str) -> list[int]:
    """The processes whose command line contains ``text`` (from /proc: Linux), this one excepted."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            line = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # gone meanwhile
            continue
        if text in line and int(entry.name) != os.getpid():
            found.append(int(entry.name))
    return found


def outlived(text: str, seconds: float) -> list[int]:
    """The processes mentioning ``text`` still alive after waiting up to ``seconds`` for them to end; each is then
    SIGKILLed, so that a test leaves nothing behind whatever it asserts."""
    import signal
    import time

    deadline = time.monotonic() + seconds
    while (alive := processes_mentioning(text)) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in alive:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return alive


def irae_launch(processes: int, args: list[str]) -> list[str]:
    """The command line of ``accelerate launch -m irae_hf ARGS`` on ``processes`` CPU processes (the caller's
    environment sets ACCELERATE_USE_CPU and the threads)."""
    command = [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", str(processes)]
    command += ["--multi_gpu"] if processes > 1 else []
    command += ["--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no"]
    return [*command, "-m", "irae_hf", *args]


@pytest.fixture
def hub_recorder(monkeypatch):
    """``hub_recorder(endpoint=None)``: huggingface_hub's HTTP through a HubRecorder (tests/hub_recorder.py), its
    connections closed after the test."""
    from .hub_recorder import install

    made = []
    yield lambda endpoint=None: made.append(install(monkeypatch, endpoint)) or made[-1]
    for recorder in made:
        recorder.close()


#: the kinds of test that are slow by nature: ``-m "not slow"`` leaves them out too
SLOW_KINDS = ("browser", "hub", "train", "spandrel")


def pytest_collection_modifyitems(config, items):
    """Browser, Hub-server and training tests are slow tests too."""
    for item in items:
        if any(item.get_closest_marker(kind) for kind in SLOW_KINDS):
            item.add_marker(pytest.mark.slow)
