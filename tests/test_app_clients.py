"""The app against hostile or careless clients: paths instead of uploads, malformed levels, racing clean-ups."""

import re
import shutil
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from irae_hf.demo import downloads, handlers, serving, uploads

gradio_client = pytest.importorskip("gradio_client")
ROOT = Path(__file__).resolve().parents[1]
PHOTO = ROOT / "examples" / "coffee.png"


def raw_call(url: str, endpoint: str, data: list) -> str:
    """The text of an endpoint's answer to a payload sent as it is (no client-side upload of named files)."""
    event = httpx.post(f"{url}gradio_api/call/{endpoint}", json={"data": data}, timeout=30).json()["event_id"]
    return httpx.get(f"{url}gradio_api/call/{endpoint}/{event}", timeout=120).text


def file_data(path: str, meta: bool) -> dict:
    data = {"path": path, "orig_name": "a.png"}
    return {**data, "meta": {"_type": "gradio.FileData"}} if meta else data


PAYLOADS = {
    "denoise": lambda f: [f, 25, False, True, False],
    "jpeg": lambda f: [f, 20, False, True, False],
    "inpaint-background": lambda f: [{"background": f, "layers": [], "composite": None}, False, False],
    "inpaint-layer": lambda f: [{"background": None, "layers": [f], "composite": f}, False, False],
}


@pytest.mark.parametrize("meta", [True, False], ids=["as a file", "as a plain dict"])
@pytest.mark.parametrize("endpoint", PAYLOADS)
def test_a_path_on_the_server_is_refused_alike_whether_or_not_it_exists(server, tmp_path, endpoint, meta):
    """A client naming a server path instead of uploading gets the same refusal for a secret image outside the
    upload cache, a system file, a missing path and a relative path: nothing is read, restored or returned."""
    secret = tmp_path / "secret.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(secret)
    paths = {"secret": str(secret), "system": "/etc/passwd", "missing": str(tmp_path / "nothing.png")}
    paths["relative"] = "examples/coffee.png"
    answers = {}
    for kind, path in paths.items():
        text = raw_call(server[0], endpoint.split("-")[0], PAYLOADS[endpoint](file_data(path, meta)))
        assert "event: error" in text and "event: complete" not in text, (kind, text[-300:])
        text = text.replace(str(Path(path).resolve()), "PATH").replace(path, "PATH")
        answers[kind] = re.sub(r"input_value=.*?input_type", "", text)  # Gradio's check echoes the payload, cut
    assert "not an image" not in answers["system"] and "FileNotFound" not in answers["missing"]
    assert len(set(answers.values())) == 1, answers  # the same words: the answer does not tell what exists


def test_gradio_client_cannot_smuggle_a_server_path(client, tmp_path):
    secret = tmp_path / "secret.png"
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(secret)
    with pytest.raises(Exception, match="Only images uploaded to this app"):
        client.predict(file_data(str(secret), meta=False), 25, api_name="/denoise")
    assert uploads.from_upload_cache(str(secret)) is False


def test_the_upload_cache_check_follows_links(tmp_path):
    from gradio.utils import get_upload_folder

    cache = Path(get_upload_folder())
    cache.mkdir(parents=True, exist_ok=True)
    link = cache / f"irae-test-link-{time.time_ns()}.png"
    link.symlink_to("/etc/passwd")
    try:
        assert not uploads.from_upload_cache(str(link))
        assert not uploads.from_upload_cache(str(cache / ".." / "etc" / "passwd"))
        assert uploads.from_upload_cache(str(cache / "abc" / "x.png"))
    finally:
        link.unlink()


def test_the_download_clean_up_never_fails_a_request(monkeypatch, tmp_path):
    """Thousands of hour-old request folders and three requests at once: every request gets its download, the old
    folders go, and a folder that vanishes under a sweep (another process cleaning) is no error."""
    import os

    monkeypatch.setattr(downloads, "OUT_DIR", tmp_path)
    old_time = time.time() - 2 * downloads.KEEP_DOWNLOADS_S
    for i in range(3000):
        folder = tmp_path / f"old{i:05d}"
        folder.mkdir()
        (folder / "x_denoised.png").write_bytes(b"x")
        os.utime(folder, (old_time, old_time))
    results, errors = [], []

    def request() -> None:
        try:
            results.append(downloads.save_png(np.zeros((4, 4, 3), np.uint8), "denoise"))
        except Exception as e:  # noqa: BLE001 - what the test looks for
            errors.append(e)

    def vanish() -> None:  # another cleaner deletes the same folders meanwhile
        for folder in sorted(tmp_path.glob("old*"), reverse=True):
            shutil.rmtree(folder, ignore_errors=True)

    threads = [threading.Thread(target=request) for _ in range(3)] + [threading.Thread(target=vanish)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(results) == 3 and all(Path(r).is_file() for r in results)
    downloads.sweep_old_downloads()
    assert not list(tmp_path.glob("old*"))


@pytest.mark.parametrize(
    "endpoint,value,words",
    [
        ("/denoise", "abc", "σ must be a number from 0 to 75, not 'abc'"),
        ("/denoise", 500, "σ must be a number from 0 to 75, not 500"),
        ("/jpeg", 2.5, "quality must be a whole number from 1 to 100, not 2.5"),
        ("/jpeg", "ten", "quality must be a whole number from 1 to 100"),
        ("/add_noise", "x", "σ must be a number"),
        ("/compress", 7.5, "quality must be a whole number"),
    ],
)
def test_malformed_levels_are_said_in_words(client, endpoint, value, words):
    args = [value] if endpoint in ("/add_noise", "/compress") else [value, False, False, False]
    with pytest.raises(Exception, match=re.escape(words)):
        client.predict(gradio_client.handle_file(str(PHOTO)), *args, api_name=endpoint)


def test_a_mask_layer_of_another_size_is_said_not_ignored(client, tmp_path):
    layer = np.zeros((50, 50, 4), np.uint8)
    layer[10:20, 10:20] = 255
    Image.fromarray(layer).save(tmp_path / "layer.png")
    value = {
        "background": gradio_client.handle_file(str(PHOTO)),
        "layers": [gradio_client.handle_file(str(tmp_path / "layer.png"))],
        "composite": None,
    }
    with pytest.raises(Exception, match="painted layer is 50×50 but the image is 300×200"):
        client.predict(value, api_name="/inpaint")


def upload(url: str, path: Path) -> dict:
    """``path`` uploaded to the app as a browser does: the FileData of the stored copy."""
    with open(path, "rb") as f:
        stored = httpx.post(f"{url}gradio_api/upload", files={"files": (path.name, f, "image/png")}).json()[0]
    return {"path": stored, "orig_name": path.name, "meta": {"_type": "gradio.FileData"}}


def slow_restore(seconds_per_tile: float, tiles: int, log: list):
    """A stand-in for ``restore`` that takes ``tiles`` steps, reporting each like the tiled pipeline does."""

    def fake(model, x, progress=None, **level):  # noqa: ANN001, ANN202
        for done in range(1, tiles + 1):
            time.sleep(seconds_per_tile)
            log.append((x.shape[-2] * x.shape[-1], done))
            if progress:
                progress(done, tiles)
        return x

    return fake


def test_work_stops_between_tiles_when_its_client_disconnects(server, monkeypatch):
    log: list = []
    monkeypatch.setattr(handlers, "restore", slow_restore(0.05, 200, log))  # 10 s of tiles if nobody stops it
    url = server[0]
    data = [upload(url, PHOTO), 25, False, False, False]
    event = httpx.post(f"{url}gradio_api/call/denoise", json={"data": data}).json()["event_id"]
    with httpx.stream("GET", f"{url}gradio_api/call/denoise/{event}", timeout=30) as stream:
        for _ in stream.iter_lines():
            if log:  # the restoration has started: now the client goes away
                break
    time.sleep(4.0)  # Gradio notices at its next write to the client: a heartbeat every 2 s
    stopped_at = len(log)
    time.sleep(1.0)
    assert len(log) == stopped_at < 150, "the work went on after its client had gone"


def test_a_small_photo_is_not_held_up_by_big_ones(server, monkeypatch, tmp_path):
    """Two big uploads running (3 s each here), a third waiting, a fourth refused in words; a small photo sent after
    them all is done long before the big ones."""
    log: list = []
    monkeypatch.setattr(handlers, "restore", slow_restore(0.3, 10, log))
    monkeypatch.setattr(handlers, "estimate_seconds", lambda *a, **k: 3.0)
    big = tmp_path / "big.png"
    Image.new("RGB", (1500, 1500), (90, 120, 150)).save(big)
    url = server[0]
    client = gradio_client.Client(url, verbose=False)
    jobs = [client.submit(gradio_client.handle_file(str(big)), 25, False, False, False, api_name="/denoise")]
    while not log:
        time.sleep(0.05)
    jobs += [client.submit(gradio_client.handle_file(str(big)), 25, False, False, False, api_name="/denoise")]
    jobs += [client.submit(gradio_client.handle_file(str(big)), 25, False, False, False, api_name="/denoise")]
    time.sleep(1.0)
    with pytest.raises(Exception, match="busy with 2 large photos"):
        client.predict(gradio_client.handle_file(str(big)), 25, False, False, False, api_name="/denoise")
    t0 = time.perf_counter()
    client.predict(gradio_client.handle_file(str(PHOTO)), 25, False, False, False, api_name="/denoise")
    small_seconds = time.perf_counter() - t0
    big_done = sum(1 for pixels, done in log if pixels > serving.SAY_TIME_ABOVE_PIXELS and done == 10)
    assert small_seconds < 6 and big_done <= 1, (small_seconds, big_done)
    for job in jobs:
        job.result(timeout=60)


def test_the_pixel_limit_can_be_lowered_for_a_small_server():
    assert uploads.pixel_limit({}) == 40_000_000 and uploads.pixel_limit({"IRAE_MAX_PIXELS": "4e6"}) == 4_000_000
    for bad in ("lots", "0", "5e7"):
        with pytest.raises(SystemExit, match="IRAE_MAX_PIXELS must be a number of pixels"):
            uploads.pixel_limit({"IRAE_MAX_PIXELS": bad})
