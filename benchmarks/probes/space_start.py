"""The app as a Hugging Face Space runs it: start-up time, and peak memory and latency under concurrent users.

Starts ``python app.py`` with the environment a Space gives (``SPACE_ID``, ``GRADIO_SERVER_NAME=0.0.0.0``,
``GRADIO_SERVER_PORT``) and no flags, times it until the page answers, then sends ``--clients`` simultaneous
``/denoise`` requests of a ``--width``×``--height`` noisy photo through ``gradio_client`` and reports each latency
and the server's peak resident memory (Linux ``VmHWM``). Prints one JSON line.

    python benchmarks/probes/space_start.py [--clients 4] [--width 768] [--height 512]
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

ROOT = Path(__file__).resolve().parents[2]


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident memory (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clients", type=int, default=4)
    p.add_argument("--width", type=int, default=768)
    p.add_argument("--height", type=int, default=512)
    a = p.parse_args()
    from gradio_client import Client, handle_file

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "SPACE_ID": "irae-hf/benchmark", "GRADIO_SERVER_NAME": "0.0.0.0"}
    env.update(GRADIO_SERVER_PORT=str(port), HF_HUB_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False")
    t0 = time.perf_counter()
    server = subprocess.Popen(
        [sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if server.poll() is not None or time.perf_counter() - t0 > 300:
                raise SystemExit("the app did not start")
            time.sleep(0.2)
        start_s = time.perf_counter() - t0
        rng = np.random.default_rng(0)
        clean = np.asarray(Image.open(ROOT / "examples" / "astronaut.png").convert("RGB").resize((a.width, a.height)))
        noisy = np.clip(clean + rng.normal(0, 25, clean.shape), 0, 255).astype(np.uint8)
        path = Path(tempfile.mkdtemp()) / "noisy.png"
        Image.fromarray(noisy).save(path)
        latencies: list[float] = []

        def one() -> None:
            client = Client(f"http://127.0.0.1:{port}/", verbose=False)
            t = time.perf_counter()
            client.predict(handle_file(str(path)), api_name="/denoise")
            latencies.append(time.perf_counter() - t)

        threads = [threading.Thread(target=one) for _ in range(a.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        row = {"start_s": round(start_s, 1), "clients": a.clients, "size": f"{a.width}x{a.height}"}
        row.update(latency_s=sorted(round(x, 1) for x in latencies), peak_rss_mb=round(peak_rss_mb(server.pid)))
        print(json.dumps(row))
    finally:
        server.kill()


if __name__ == "__main__":
    main()
