"""The app-only install works: run in a fresh venv made from requirements.txt alone (``.ci/run`` does).

Checks the default paths a new user takes, with files as users have them (an 8-bit noisy PNG, a JPEG file):
``irae restore`` with no level, every line of the README's "Command line" block in order in one folder, the app's
/denoise and /jpeg with Auto through ``gradio_client``, and every Python block of README.md executed as written
(extracted from the README, so an edit of it is checked), with the figures the README states. Exits non-zero, saying
what failed, on the first failure.

    python scripts/check_app_install.py
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from irae_hf.tasks import TASKS

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
PHOTO = ROOT / "examples" / "coffee.png"


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255**2 / mse))


def user_files(folder: Path) -> np.ndarray:
    """noisy.png (σ 25, clipped and rounded as a saved file is) and blocky.jpg (Pillow, quality 15) of the photo."""
    clean = np.asarray(Image.open(PHOTO).convert("RGB"))
    noisy = np.clip(clean + np.random.default_rng(0).normal(0, 25, clean.shape), 0, 255).round().astype(np.uint8)
    Image.fromarray(noisy).save(folder / "noisy.png")
    Image.fromarray(clean).save(folder / "blocky.jpg", quality=15)
    return clean


def check_cli(folder: Path, clean: np.ndarray) -> None:
    for model, name in (("denoise", "noisy.png"), ("jpeg", "blocky.jpg")):
        done = subprocess.run(
            [
                str(Path(sys.executable).parent / "irae"),
                "restore",
                "--model",
                str(ROOT / "pretrained" / model),
                name,
                "-o",
                "restored",
            ],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=600,
        )
        said = done.stdout + done.stderr
        assert done.returncode == 0 and "restored 1 of 1" in said, f"irae restore {name}:\n{said[-2000:]}"
        before = np.asarray(Image.open(folder / name).convert("RGB"))
        done = TASKS[model].done  # the task's word in output names, as the app names downloads
        after = np.asarray(Image.open(folder / "restored" / f"{Path(name).stem}_{done}.png").convert("RGB"))
        gain = psnr(after, clean) - psnr(before, clean)
        assert gain > 1, f"irae restore {name}: {gain:+.2f} dB"
        print(f"ok: irae restore {name} with no level: {gain:+.2f} dB ({said.strip().splitlines()[0][:90]})")


def cli_lines() -> list[str]:
    """The README's "Command line" block, one command per line, comments stripped."""
    block = re.search(r"## Command line\n\n```bash\n(.*?)```", README, re.S)
    assert block, "README.md has no '## Command line' bash block"
    return [line.split("  #")[0].strip() for line in block.group(1).splitlines() if line.strip()]


def readme_files(folder: Path) -> None:
    """The files the README's command lines name, as users have them: noisy/ (two noisy PNGs), photo.jpg (quality
    10), photo.png with mask.png (a stroke 16 px wide), big.jpg (2.2 MP, tiled), clean/ (two photos to evaluate on)."""
    clean = Image.open(PHOTO).convert("RGB")
    rng = np.random.default_rng(1)
    (folder / "noisy").mkdir()
    (folder / "clean").mkdir()
    for k, box in enumerate(((0, 0, 192, 160), (64, 32, 256, 192))):
        crop = np.asarray(clean.crop(box))
        noisy = np.clip(crop + rng.normal(0, 20, crop.shape), 0, 255).round().astype(np.uint8)
        Image.fromarray(noisy).save(folder / "noisy" / f"kodim{k}.png")
        Image.fromarray(crop).save(folder / "clean" / f"photo{k}.png")
    clean.save(folder / "photo.jpg", quality=10)
    clean.save(folder / "photo.png")
    mask = Image.new("L", clean.size)
    mask.paste(255, (clean.width // 3, clean.height // 2, clean.width // 3 + 60, clean.height // 2 + 16))
    mask.save(folder / "mask.png")
    big = np.asarray(clean.resize((1712, 1288)), dtype=np.float64)
    Image.fromarray(np.clip(big + rng.normal(0, 15, big.shape), 0, 255).astype(np.uint8)).save(folder / "big.jpg")
    (folder / "pretrained").symlink_to(ROOT / "pretrained")


def check_cli_block(folder: Path) -> None:
    """Every line of the README's "Command line" block, pasted in order into one folder: each succeeds, or (export
    and evaluate's BM3D, which the app-only install leaves out) says in one line what to install; never a
    traceback."""
    work = folder / "readme"
    work.mkdir()
    readme_files(work)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    for line in cli_lines():
        done = subprocess.run(["bash", "-c", line], cwd=work, env=env, capture_output=True, text=True, timeout=1200)
        said = (done.stdout + done.stderr).strip()
        assert "Traceback" not in said, f"{line}\n{said[-3000:]}"
        wants = [n for n in ("pip install -r requirements-dev.txt",) if n in said]
        if done.returncode != 0:
            errors = [s for s in said.splitlines() if s.startswith("error:")]
            assert wants and len(errors) == 1, f"{line}: exit {done.returncode}\n{said[-3000:]}"
        print(f"ok ({done.returncode}): {line[:100]}{' (says: ' + wants[0] + ')' if wants else ''}")
    outputs = [
        p for d in ("restored", "restored-25", "out", "onnx") if (work / d).is_dir() for p in (work / d).iterdir()
    ]
    written = sorted(p.relative_to(work).as_posix() for p in outputs)
    print(f"ok: the README's {len(cli_lines())} command lines ran in order in one folder; wrote {', '.join(written)}")


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README, re.S)


def free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def check_app_and_client_block(folder: Path, clean: np.ndarray) -> None:
    """Start ``python app.py`` as the README says, then run the README's gradio_client block as written."""
    assert free(7860), "port 7860 is taken: the README's client example talks to the app there"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    app = subprocess.Popen(
        [sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.time() + 300
        while free(7860):
            assert app.poll() is None and time.time() < deadline, "python app.py did not start"
            time.sleep(1)
        from gradio_client import Client, handle_file

        client = Client("http://127.0.0.1:7860/", verbose=False)
        for endpoint, name in (("/denoise", "noisy.png"), ("/jpeg", "blocky.jpg")):
            (_, after), note, _ = client.predict(handle_file(str(folder / name)), api_name=endpoint)  # Auto: default
            before = np.asarray(Image.open(folder / name).convert("RGB"))
            gain = psnr(np.asarray(Image.open(after).convert("RGB")), clean) - psnr(before, clean)
            assert gain > 1 and "Level:" in note, f"{endpoint} with Auto: {gain:+.2f} dB; {note}"
            print(f"ok: the app's {endpoint} with Auto: {gain:+.2f} dB ({note.splitlines()[0]})")
        block = next(b for b in python_blocks() if "gradio_client" in b)
        namespace: dict = {}
        cwd = os.getcwd()
        os.chdir(folder)  # the block's noisy.png and blocky.jpg are these files
        try:
            exec(block, namespace)  # noqa: S102 - the README's own example, run as written
        finally:
            os.chdir(cwd)
        assert "at most" in namespace["text"], namespace["text"]
        print("ok: the README's gradio_client block")
    finally:
        app.kill()


def lan_address() -> str:
    """An address of this machine other than loopback (where a Space's visitors reach the container)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("10.254.254.254", 1))  # chooses the outgoing interface; sends nothing
        address = s.getsockname()[0]
    assert not address.startswith("127."), "this machine has no address other than loopback"
    return address


def check_as_a_space(folder: Path) -> None:
    """``python app.py`` from a clean copy of the repository (its tracked files) with the environment a Hugging Face
    Space gives and no flags: it must listen on every interface and restore through a non-loopback address."""
    import shutil

    copy = folder / "space"
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True)
    for name in filter(None, tracked.stdout.split("\0")):
        if (ROOT / name).is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, copy / name)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "SPACE_ID": "irae-hf/check", "GRADIO_SERVER_NAME": "0.0.0.0", "GRADIO_SERVER_PORT": str(port)}
    t0 = time.time()
    app = subprocess.Popen(
        [sys.executable, "app.py"], cwd=copy, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        host = lan_address()
        while True:
            with socket.socket() as s:
                if s.connect_ex((host, port)) == 0:
                    break
            assert app.poll() is None and time.time() - t0 < 300, "the app did not start as a Space"
            time.sleep(0.5)
        started = time.time() - t0
        from gradio_client import Client, handle_file

        (_, after), note, _ = Client(f"http://{host}:{port}/", verbose=False).predict(
            handle_file(str(folder / "noisy.png")), api_name="/denoise"
        )
        assert Path(after).is_file() and "Level:" in note, note
        print(f"ok: as a Space (SPACE_ID, GRADIO_SERVER_NAME=0.0.0.0): started in {started:.0f} s, /denoise via {host}")
    finally:
        app.kill()


def check_python_block() -> None:
    """The README's Python section as written, and the figures its comments state."""
    import torch

    from irae_hf.io.images import to_tensor

    block = next(b for b in python_blocks() if "from irae_hf import IRAE" in b and "recover_input" in b)
    namespace: dict = {}
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        exec(block, namespace)  # noqa: S102 - the README's own example, run as written
    finally:
        os.chdir(cwd)
    seen = to_tensor(Image.open(PHOTO).convert("RGB"))[None].double()
    recovered = (namespace["corrupted"].double() - seen).abs().max().item()
    assert recovered <= 2e-4, f"recover_input: off by {recovered:.2e}, the README says within 2e-4"
    again = (namespace["x_again"] - namespace["x"]).abs().max().item()
    assert namespace["x"].dtype == torch.float64 and again <= 1e-8, f"float64 round trip off by {again:.2e}"
    print(f"ok: the README's Python block (recover_input {recovered:.1e}, float64 round trip {again:.1e})")


def main() -> None:
    placeholders = [b for b in python_blocks() if "ORG/" in b]  # Hub examples name a repo of the reader's own
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        clean = user_files(folder)
        check_cli(folder, clean)
        check_cli_block(folder)
        check_python_block()
        check_app_and_client_block(folder, clean)
        check_as_a_space(folder)
    ran = len(python_blocks()) - len(placeholders)
    print(
        f"ok: {ran} README Python blocks ran; {len(placeholders)} name a Hub repo ORG/... of the reader's own: not run"
    )


if __name__ == "__main__":
    main()
