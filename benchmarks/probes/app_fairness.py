"""A small photo's wait while big ones are restored, and the work left running after big clients give up.

Starts ``python app.py`` from ``--repo`` (this checkout, or another one, e.g. a worktree of an older commit, for a
before/after table) on a free loopback port, uploads ``--big`` noisy photos of ``--megapixels`` MP to /denoise,
waits until the server computes, then times a 64×64 /denoise (its latency, capped at ``--patience`` seconds). Then
the big clients go away (their connections closed) and the server's CPU time is sampled for ``--watch`` seconds: how
much work nobody waits for it keeps doing. Prints one JSON line.

    python benchmarks/probes/app_fairness.py [--repo .] [--megapixels 39] [--big 2] [--patience 600]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def noisy_photo(path: Path, megapixels: float, seed: int = 0) -> None:
    """A smooth photo-like image with σ 25 noise, written as a PNG."""
    side = int((megapixels * 1e6) ** 0.5)
    rng = np.random.default_rng(seed)
    base = np.asarray(Image.fromarray(rng.integers(0, 256, (24, 24, 3), dtype=np.uint8)).resize((side, side), 2))
    Image.fromarray(np.clip(base + rng.normal(0, 25, base.shape), 0, 255).astype(np.uint8)).save(path)


#: /denoise's inputs after the image: σ, self-ensemble, auto, bf16, which denoiser (the photo's: auto)
DENOISE_OPTIONS = (25, False, False, False, "auto")


def small_answer(url: str, small: dict, patience: float) -> tuple[str, float | None]:
    """Send the small photo and wait for its answer: the last event ("complete", "error" or "timeout") and seconds."""
    import httpx

    t0 = time.perf_counter()
    event = httpx.post(f"{url}gradio_api/call/denoise", json={"data": [small, *DENOISE_OPTIONS]}).json()
    answer = "timeout"
    try:
        with httpx.stream("GET", f"{url}gradio_api/call/denoise/{event['event_id']}", timeout=patience) as r:
            for line in r.iter_lines():
                if time.perf_counter() - t0 > patience:
                    break
                if line.startswith("event: "):
                    answer = line[7:]
                    if answer in ("complete", "error"):
                        return answer, time.perf_counter() - t0
    except httpx.TimeoutException:
        pass
    return answer, None


def start_app(repo: str) -> tuple[subprocess.Popen, str]:
    """The app on a free loopback port, once it answers."""
    import httpx

    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    server = subprocess.Popen(
        [sys.executable, "app.py", "--port", str(port), "--max-file-size", "500mb"],
        cwd=repo,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(300):
        try:
            httpx.get(url, timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(1)
    return server, url


def upload(url: str, path: Path) -> dict:
    """``path`` uploaded to the app, as the FileData a request sends."""
    import httpx

    with open(path, "rb") as f:
        stored = httpx.post(f"{url}gradio_api/upload", files={"files": (path.name, f)}, timeout=120).json()
    return {"path": stored[0], "orig_name": path.name, "meta": {"_type": "gradio.FileData"}}


def big_clients(url: str, photo: Path, count: int, stop: threading.Event, streams: list) -> None:
    """``count`` clients denoising ``photo``, each holding its event's stream open, as a waiting browser does, until
    ``stop`` is set."""
    import httpx

    def client() -> None:
        data = [upload(url, photo), *DENOISE_OPTIONS]
        event = httpx.post(f"{url}gradio_api/call/denoise", json={"data": data}, timeout=60).json()["event_id"]
        with httpx.Client(timeout=None) as c, c.stream("GET", f"{url}gradio_api/call/denoise/{event}") as r:
            streams.append(r)
            for _ in r.iter_lines():
                if stop.is_set():
                    break

    for _ in range(count):
        threading.Thread(target=client, daemon=True).start()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repo", default=str(Path(__file__).resolve().parents[2]))
    p.add_argument("--megapixels", type=float, default=39)
    p.add_argument("--big", type=int, default=2)
    p.add_argument("--patience", type=float, default=600)
    p.add_argument("--watch", type=float, default=20)
    a = p.parse_args()
    tmp = Path(tempfile.mkdtemp())
    noisy_photo(tmp / "big.png", a.megapixels)
    noisy_photo(tmp / "small.png", 64 * 64 / 1e6)
    server, url = start_app(a.repo)
    try:
        streams: list = []
        stop = threading.Event()
        big_clients(url, tmp / "big.png", a.big, stop, streams)
        cpu0, t0 = cpu_seconds(server.pid), time.time()
        while cpu_seconds(server.pid) - cpu0 < 10 and time.time() - t0 < 120:  # the server is computing
            time.sleep(0.5)
        answer, latency = small_answer(url, upload(url, tmp / "small.png"), a.patience)
        stop.set()  # the big clients give up
        for r in streams:
            r.close()
        time.sleep(2)
        cpu0 = cpu_seconds(server.pid)
        time.sleep(a.watch)
        busy = (cpu_seconds(server.pid) - cpu0) / a.watch
        said = {"repo": a.repo, "big": a.big, "megapixels": a.megapixels, "small_answer": answer}
        said["small_latency_s"] = None if latency is None else round(latency, 2)
        said.update(patience_s=a.patience, cores_busy_after_big_clients_left=round(busy, 2), watched_s=a.watch)
        print(json.dumps(said))
    finally:
        server.kill()


if __name__ == "__main__":
    main()
