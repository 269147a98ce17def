"""Load on the Gradio app: N concurrent gradio_client clients, each restoring a 512×512 photo.

Starts the app on a free loopback port (shipped weights, the default queue: concurrency 1, at most 32
waiting), fires the requests at once, checks every answer (size, and PSNR above the noisy input), and
prints requests/s, p50/p95 latency and the process's peak RSS.

    python benchmarks/probes/app_load.py [--clients 16] [--size 512]
"""

from __future__ import annotations

import argparse
import importlib.util
import resource
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image

from irae_hf.io.images import to_tensor, to_uint8
from irae_hf.tasks.degradations import add_gaussian_noise
from irae_hf.tasks.metrics import psnr

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("app", ROOT / "app.py")  # the demo script, not a package module
app = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(app)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--sigma", type=float, default=25)
    a = p.parse_args()
    from gradio_client import Client, handle_file

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    demo = app.main(["--port", str(port)], prevent_thread_lock=True, quiet=True)
    tmp = Path(tempfile.mkdtemp())
    clean = np.asarray(Image.open(ROOT / "examples" / "astronaut.png").convert("RGB").resize((a.size, a.size)))
    noisy = to_uint8(add_gaussian_noise(to_tensor(clean), a.sigma, seed=0, clip=True))
    Image.fromarray(noisy).save(tmp / "noisy.png")
    url = f"http://127.0.0.1:{port}/"
    results: list[tuple[float, float]] = []
    errors: list[str] = []

    def one(i: int) -> None:
        try:
            client = Client(url, verbose=False)
            t0 = time.perf_counter()
            (_, restored), _, _ = client.predict(handle_file(str(tmp / "noisy.png")), a.sigma, api_name="/denoise")
            latency = time.perf_counter() - t0
            out = np.asarray(Image.open(restored).convert("RGB"))
            assert out.shape == clean.shape, out.shape
            results.append((latency, psnr(out, clean)))
        except Exception as e:  # report, do not hide
            errors.append(f"client {i}: {e!r}")

    threads = [threading.Thread(target=one, args=(i,)) for i in range(a.clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    demo.close()
    lat = sorted(r[0] for r in results)
    p95 = lat[min(len(lat) - 1, int(round(0.95 * (len(lat) - 1))))] if lat else float("nan")
    print(f"{a.clients} concurrent clients, {a.size}x{a.size} denoise (σ {a.sigma:g}), app concurrency 1, queue 32")
    print(
        f"served {len(results)}/{a.clients} correctly ({len(errors)} errors) in {wall:.1f} s: "
        f"{len(results) / wall:.2f} requests/s"
    )
    if lat:
        print(
            f"latency p50 {statistics.median(lat):.2f} s, p95 {p95:.2f} s; PSNR {psnr(noisy, clean):.2f} dB noisy -> "
            f"{min(r[1] for r in results):.2f}..{max(r[1] for r in results):.2f} dB restored"
        )
    print(f"peak RSS of the app process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    for e in errors:
        print(e)


if __name__ == "__main__":
    main()
