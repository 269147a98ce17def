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

pytestmark = pytest.mark.slow  # subprocesses, the app in-process or benchmark workers: seconds each

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
    "denoise": lambda f: [f, 25, False, True, False, "auto"],
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


def gated_restore(gate: threading.Semaphore, log: list, ended: threading.Event, tiles: int = 200):
    """A stand-in for ``restore`` whose tiles each wait for the test to release them (``gate``), reporting each like
    the tiled pipeline does; ``ended`` is set when it returns or is stopped."""

    def fake(model, x, progress=None, **level):  # noqa: ANN001, ANN202
        try:
            for done in range(1, tiles + 1):
                assert gate.acquire(timeout=600), "the test never released this tile"
                log.append(done)
                if progress:
                    progress(done, tiles)
            return x
        finally:
            ended.set()

    return fake


def until(condition, what: str) -> None:
    """Wait for ``condition()`` to hold: a guard against a hang (10 minutes), never a measure of speed."""
    for _ in range(12_000):
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"never happened: {what}")


def test_work_stops_between_tiles_when_its_client_disconnects(server, monkeypatch):
    gate, log, ended = threading.Semaphore(0), [], threading.Event()
    monkeypatch.setattr(handlers, "restore", gated_restore(gate, log, ended))
    url, demo = server
    data = [upload(url, PHOTO), 25, False, False, False, "auto"]
    event = httpx.post(f"{url}gradio_api/call/denoise", json={"data": data}).json()["event_id"]
    gate.release()  # the first tile runs while the client listens
    with httpx.stream("GET", f"{url}gradio_api/call/denoise/{event}", timeout=600) as stream:
        for _ in stream.iter_lines():
            if log:  # the restoration has started: now the client goes away
                break

    def gone() -> bool:  # Gradio marks the event not alive at its next write to the client (a heartbeat)
        return any(e._id == event and not e.alive for jobs in demo._queue.active_jobs for e in jobs or [])

    until(gone, "Gradio noticed that the client went away")
    for _ in range(5):  # more tiles may go: the work takes the next one, sees its client gone and stops
        gate.release()
    assert ended.wait(600) and log == [1, 2], f"the work went on after its client had gone: tiles {log}"


def test_a_small_photo_is_not_held_up_by_big_ones(server, monkeypatch, tmp_path):
    """Two big uploads running (held until the test lets them go), a third waiting, a fourth refused in words; a
    small photo sent after them all is done while the big ones are still held."""
    release, started, done = threading.Event(), [], []

    def held_if_big(model, x, progress=None, **level):  # noqa: ANN001, ANN202
        big = x.shape[-2] * x.shape[-1] > serving.SAY_TIME_ABOVE_PIXELS
        if big:
            started.append(1)
            assert release.wait(600), "the test never let the big photos go"
        done.append("big" if big else "small")
        return x

    monkeypatch.setattr(handlers, "restore", held_if_big)
    monkeypatch.setattr(handlers, "estimate_seconds", lambda *a, **k: 3.0)
    bigs = [tmp_path / f"big{k}.png" for k in range(4)]  # different photos: Gradio caches identical files at one
    for k, big in enumerate(bigs):  # path, and rewrites it while another client downloads it (seen: 2 runs in 20)
        Image.new("RGB", (1500, 1500), (90 + k, 120, 150)).save(big)
    client = gradio_client.Client(server[0], verbose=False)

    def send(path: Path):  # noqa: ANN202
        return client.submit(gradio_client.handle_file(str(path)), 25, False, False, False, api_name="/denoise")

    jobs = [send(bigs[0])]
    until(lambda: started, "the first big photo started")
    jobs += [send(bigs[1]), send(bigs[2])]
    until(lambda: serving.LANES._waiting == 2, "two big photos wait in their lane")
    with pytest.raises(Exception, match="busy with 2 large photos"):
        send(bigs[3]).result(timeout=600)
    send(PHOTO).result(timeout=600)  # would wait for ever behind the held big photos if they held it up
    assert done == ["small"], done
    release.set()
    for job in jobs:
        job.result(timeout=600)
    assert done == ["small", "big", "big", "big"]


def test_the_pixel_limit_can_be_lowered_for_a_small_server():
    assert uploads.pixel_limit({}) == 40_000_000 and uploads.pixel_limit({"IRAE_MAX_PIXELS": "4e6"}) == 4_000_000
    for bad in ("lots", "0", "5e7"):
        with pytest.raises(SystemExit, match="IRAE_MAX_PIXELS must be a number of pixels"):
            uploads.pixel_limit({"IRAE_MAX_PIXELS": bad})


@pytest.mark.parametrize(
    "endpoint,data,words",
    [
        ("denoise", [123, 25, False, True, False, "auto"], "Expected an uploaded image file, got int"),
        ("inpaint", ["hello", False, False], "Expected an editor value (background, layers), got str"),
        ("denoise", [file_data("/etc/passwd", True), 25, False, True, False, "auto"], "was not uploaded by a user"),
    ],
    ids=["image=123", "editor=hello", "a server path"],
)
def test_payloads_of_the_wrong_shape_are_told_what_was_wrong(server, endpoint, data, words):
    text = raw_call(server[0], endpoint, data)
    assert "event: error" in text and words in text and '"error": null' not in text, text[-400:]


def test_the_app_shows_gradios_own_refusals_in_words(monkeypatch):
    """Without show_error, Gradio answers a refused server path or a malformed payload with {"error": null}."""
    import gradio

    import app

    launched = {}
    monkeypatch.setattr(gradio.Blocks, "launch", lambda self, **kw: launched.update(kw))
    app.main(["--port", "7999"])
    assert launched["show_error"] is True


def test_recover_on_a_model_without_an_inverse_says_so(monkeypatch):
    """A tab serving the DnCNN baseline: its input is lost, which is the paper's point; said, not a traceback."""
    import app
    from irae_hf.demo.models import Loaded
    from irae_hf.demo.session import Session
    from irae_hf.models.registry import build

    models = app.load_models({})
    models["denoise-real"] = Loaded(build("dncnn", task="denoise", width=8, depth=3).eval(), "a DnCNN")  # photos' model
    handlers_ = app.make_handlers(models)
    session = Session()
    photo = np.asarray(Image.open(PHOTO).convert("RGB"))
    handlers_["denoise"](photo, 25, False, False, session=session, progress=lambda *a, **k: None)
    with pytest.raises(Exception, match="serves a DnCNN model, which is not invertible"):
        handlers_["recover"](session, progress=lambda *a, **k: None)
