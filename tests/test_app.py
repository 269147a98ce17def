"""The Gradio app, driven through gradio_client on a loopback port, and once in a real headless browser."""

import os
import re
import shutil
import time
from pathlib import Path

import gradio
import numpy as np
import pytest
import torch
from PIL import Image

import app
from irae_hf.demo import downloads, inpainting, serving, uploads
from irae_hf.demo import handlers as handlers_module
from irae_hf.demo import models as demo_models
from irae_hf.models import fused as inference
from irae_hf.models.fused import cpu_has_fast_bf16
from irae_hf.tasks.metrics import psnr

pytestmark = pytest.mark.slow  # subprocesses, the app in-process or benchmark workers: seconds each

gradio_client = pytest.importorskip("gradio_client")
ROOT = Path(__file__).resolve().parents[1]
PHOTO = ROOT / "examples" / "coffee.png"  # a real photo (CC0), 300×200
#: how long a browser test waits for the page before calling it a hang: a guard, never a measure of speed
GUARD_MS = 600_000


def load(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def test_shipped_weights_are_used():
    models = app.load_models({})
    assert all(m.trained and "pretrained" in m.source for m in models.values()), {
        t: m.source for t, m in models.items()
    }


def test_named_endpoints(client):
    names = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert {"/denoise", "/jpeg", "/inpaint", "/recover"} <= set(names)


def test_each_endpoint_takes_its_tasks_own_words_as_keywords(client):
    """gradio_client's keywords are the handlers' parameter names: one generic handler per kind of tab still gives
    /denoise sigma=, /jpeg quality= and their degrade buttons the same, as the README's client block uses them."""
    api = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    names = {e: [p["parameter_name"] for p in api[e]["parameters"]] for e in ("/denoise", "/jpeg", "/add_noise")}
    assert names["/denoise"] == ["image", "sigma", "ensemble", "auto", "fast", "noise"]
    assert names["/jpeg"] == ["image", "quality", "ensemble", "auto", "fast"]
    assert names["/add_noise"] == ["image", "sigma"]
    assert [p["parameter_name"] for p in api["/compress"]["parameters"]] == ["image", "quality"]
    (_, restored), note, _ = client.predict(
        gradio_client.handle_file(str(PHOTO)), sigma=30, auto=False, noise="gaussian", api_name="/denoise"
    )
    assert "σ 30" in note and load(restored).shape == load(PHOTO).shape


def test_denoise_raises_psnr_and_recover_gives_the_input_back(client):
    clean = load(PHOTO)
    noisy_path = client.predict(gradio_client.handle_file(str(PHOTO)), 25, api_name="/add_noise")
    (shown_in, restored), note, download = client.predict(
        gradio_client.handle_file(noisy_path), 25, api_name="/denoise"
    )
    noisy, out = load(noisy_path), load(restored)
    assert out.shape == clean.shape and Path(download).suffix == ".png"
    assert np.array_equal(load(download), out)  # the full-resolution download is the result
    assert psnr(out, clean) > psnr(noisy, clean) + 3, note
    assert "PSNR against the clean image" in note
    recovered, original, text = client.predict(api_name="/recover")
    assert np.abs(load(recovered).astype(int) - load(original)).max() <= 1
    assert np.array_equal(load(original), noisy)
    assert "at most" in text


def test_self_ensemble_checkbox_restores_and_recover_inverts_the_plain_map(client):
    clean = load(PHOTO)
    noisy_path = client.predict(gradio_client.handle_file(str(PHOTO)), 25, api_name="/add_noise")
    (_, plain), _, _ = client.predict(gradio_client.handle_file(noisy_path), 25, False, api_name="/denoise")
    (_, averaged), note, _ = client.predict(gradio_client.handle_file(noisy_path), 25, True, api_name="/denoise")
    assert not np.array_equal(load(plain), load(averaged))
    assert psnr(load(averaged), clean) > psnr(load(plain), clean) - 0.05, note
    recovered, original, _ = client.predict(api_name="/recover")
    assert np.abs(load(recovered).astype(int) - load(original)).max() <= 1
    assert np.array_equal(load(original), load(noisy_path))


def test_jpeg_raises_psnr(client):
    clean = load(PHOTO)
    jpeg_path = client.predict(gradio_client.handle_file(str(PHOTO)), 10, api_name="/compress")
    (_, restored), note, _ = client.predict(gradio_client.handle_file(jpeg_path), 10, api_name="/jpeg")
    assert psnr(load(restored), clean) > psnr(load(jpeg_path), clean), note


@pytest.mark.parametrize(
    "box", [(60, 100, 100, 160), (70, 76, 40, 200), (70, 73, 40, 200)], ids=["large box", "stroke", "hair-thin"]
)
def test_inpaint_changes_only_the_masked_region_and_says_how_large_it_was(client, tmp_path, box):
    bg = Image.open(PHOTO).convert("RGBA")
    layer = np.zeros((bg.height, bg.width, 4), np.uint8)
    top, bottom, left, right = box
    layer[top:bottom, left:right] = [255, 0, 255, 255]
    Image.fromarray(layer).save(tmp_path / "layer.png")
    bg.save(tmp_path / "bg.png")
    value = {
        "background": gradio_client.handle_file(str(tmp_path / "bg.png")),
        "layers": [gradio_client.handle_file(str(tmp_path / "layer.png"))],
        "composite": None,
    }
    (_, restored), note, _, classic = client.predict(value, api_name="/inpaint")
    out, orig = load(restored), load(PHOTO)
    mask = layer[..., 3] > 0
    assert np.array_equal(out[~mask], orig[~mask])
    assert np.abs(out[mask].astype(int) - 128).mean() > 5  # the grey hole was filled
    assert f"Filled **{mask.sum():,} pixels**" in note and "painted region" in note
    said = int(re.search(r"(\d+) px across at the widest", note).group(1))  # twice the deepest pixel's distance
    assert abs(said - min(bottom - top, right - left)) <= 1
    width = said
    if width > inpainting.LARGE_FILL_WIDTH:  # large: said, and the classical fill shown beside it for comparison
        assert "comes out smooth" in note and "Telea" in note
        assert classic["visible"] and "OpenCV Telea" in classic["label"]
        assert np.array_equal(load(classic["value"])[~mask], orig[~mask])
    elif width <= inpainting.THIN_FILL_WIDTH:  # hair-thin: OpenCV measured better there, so it is offered
        assert "is thin" in note and classic["visible"] and "OpenCV Navier-Stokes" in classic["label"]
    else:
        assert not classic["visible"] and classic["value"] is None and "OpenCV" not in note


def test_the_inverse_panel_is_cleared_when_a_new_result_arrives():
    handlers = app.make_handlers(app.load_models({}))
    session = app.Session()
    assert handlers["new_result"](session) == (None, None, "")
    x = torch.rand(3, 24, 32)
    session.result, session.task, session.model_input = (x, {"sigma": 5.0}), "denoise", x
    *_, said = handlers["recover"](session)
    assert "denoise result (32×24)" in said
    assert handlers["new_result"](session)[:2] == (None, None)
    assert "New denoise result (32×24): press Recover" in handlers["new_result"](session)[2]
    assert "about" in handlers["new_result"](session)[2]  # an estimate once an inverse has run


def test_each_denoiser_runs_where_it_belongs_and_the_note_names_it():
    """Noise added in the app goes to the Gaussian denoiser, a photo brought to the app to the camera and phone one;
    the choice overrides both, and /recover inverts the model that ran. A choice no client may send is one line."""
    models = app.load_models({})
    assert (
        models["denoise"].model.config["noise"] == "gaussian" and models["denoise-real"].model.config["noise"] == "real"
    )
    handlers, quiet = app.make_handlers(models), (lambda *a, **k: None)
    photo = (np.random.default_rng(0).random((32, 32, 3)) * 255).astype(np.uint8)

    def ran(image, session, **kw):
        _, note, _, session = handlers["denoise"](image, 25, False, True, session=session, progress=quiet, **kw)
        return note, session.model

    note, model = ran(photo, app.Session())
    assert (
        model == "denoise-real"
        and ("**Denoise: camera and phone photos**, `pretrained/denoise-real (shipped)` (auto: a photo)") in note
    )
    session = app.Session()
    noisy, session = handlers["add_noise"](photo, 25, session)
    note, model = ran(noisy, session)
    assert (
        model == "denoise"
        and "Gaussian noise**, `pretrained/denoise (shipped)` (auto: the noise was added here)" in note
    )
    assert (
        "as chosen" in ran(noisy, session, noise="real")[0] and ran(noisy, session, noise="real")[1] == "denoise-real"
    )
    assert ran(photo, app.Session(), noise="gaussian")[1] == "denoise"
    *_, text = handlers["recover"](session)
    assert "differs from the input the model saw by at most" in text
    with pytest.raises(gradio.Error, match="noise must be one of auto, real, gaussian"):
        ran(photo, app.Session(), noise="../etc")


def test_about_the_models_shows_each_cards_numbers():
    text = app.about_models(app.load_models({}))
    assert "#### Denoise: camera and phone photos" in text and "trained on synthetic Gaussian noise" in text
    for task in demo_models.MODELS:
        card = (ROOT / "pretrained" / task / "README.md").read_text()
        rows = [line for line in demo_models.card_section(card).splitlines() if "time (s" not in line]
        assert all(row in text for row in rows)  # every number of the card, the time column's label made one
    assert "| σ | method | PSNR (dB)" in text and "M parameters" in text
    assert demo_models.card_section("# no sections") is None


def test_errors_are_shown_not_crashes(client):
    with pytest.raises(Exception, match="Restore an image first|Upload"):
        gradio_client.Client(client.src, verbose=False).predict(api_name="/recover")


def test_untrained_fallback_and_cli_options(tmp_path, monkeypatch):
    models = app.load_models({}, pretrained=tmp_path)
    assert not models["denoise"].trained and "UNTRAINED" in models["denoise"].source
    args = app.parse_args([])
    assert app.address(args, {}) == ("127.0.0.1", 7860) and not args.share


def test_a_space_sets_where_the_app_listens_unless_the_flags_do():
    space = {"GRADIO_SERVER_NAME": "0.0.0.0", "GRADIO_SERVER_PORT": "7861", "SPACE_ID": "someone/irae"}
    assert app.address(app.parse_args([]), space) == ("0.0.0.0", 7861)
    assert app.address(app.parse_args(["--host", "127.0.0.1", "--port", "8080"]), space) == ("127.0.0.1", 8080)
    with pytest.raises(SystemExit, match="GRADIO_SERVER_PORT must be a port number"):
        app.address(app.parse_args([]), {"GRADIO_SERVER_PORT": "http"})


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.browser
def test_browser_upload_click_and_screenshot(server, tmp_path):
    """Upload a 768×512 image in headless Chromium, press Denoise, wait for the result, screenshot it; recover the
    input exactly; restore again and see the inverse's panel cleared for the new result."""
    playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    browser_path = _chromium()
    if browser_path is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium): browser test skipped")
    img = Image.open(ROOT / "examples" / "astronaut.png").convert("RGB").resize((768, 512))
    img.save(tmp_path / "photo.png")
    shot = Path(os.environ.get("IRAE_SCREENSHOT", tmp_path / "app.png"))
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=browser_path,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(GUARD_MS)
        page.goto(server[0])
        page.locator("input[type=file]").first.set_input_files(str(tmp_path / "photo.png"))
        shown = page.locator("#denoise-image img").first
        shown.wait_for(timeout=GUARD_MS)  # the upload is shown (waits on the page, not on the clock)
        uploaded = shown.get_attribute("src")
        page.get_by_role("button", name="Add noise", exact=True).click()
        page.wait_for_function(  # the noisy image has replaced the upload
            "([old]) => { const i = document.querySelector('#denoise-image img'); "
            "return i && i.src && i.src !== old; }",
            arg=[uploaded],
            timeout=GUARD_MS,
        )
        t0 = time.perf_counter()
        page.get_by_role("button", name="Denoise", exact=True).click()
        page.get_by_text("PSNR against the clean image").first.wait_for(timeout=GUARD_MS)
        seconds = time.perf_counter() - t0
        page.wait_for_timeout(500)
        shot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shot), full_page=True)
        t0 = time.perf_counter()  # nothing lost: the exact inverse of that result, then a new result clears it
        page.get_by_role("button", name="Recover the input from the result").click()
        page.get_by_text("Ran the exact inverse").first.wait_for(timeout=GUARD_MS)
        recover_seconds = time.perf_counter() - t0
        assert "differs from the input the model saw by at most" in page.content()
        page.screenshot(path=str(shot.with_name(shot.stem + "-recover.png")), full_page=True)
        page.get_by_role("button", name="Denoise", exact=True).click()
        page.get_by_text("press Recover to run its exact inverse").first.wait_for(timeout=GUARD_MS)
        assert "Ran the exact inverse" not in page.content()
        browser.close()
    print(f"click to result for 768x512: {seconds:.2f} s; recover: {recover_seconds:.1f} s")
    assert shot.stat().st_size > 10_000


def test_recover_is_bounded_and_downloads_are_cleaned_up(monkeypatch, tmp_path):
    import os
    import time

    monkeypatch.setattr(downloads, "OUT_DIR", tmp_path)
    old = tmp_path / "irae-denoise-old.png"
    old.write_bytes(b"x")
    os.utime(old, (time.time() - 2 * downloads.KEEP_DOWNLOADS_S,) * 2)
    fresh = downloads.save_png(np.zeros((4, 4, 3), np.uint8), "denoise")
    assert not old.exists() and Path(fresh).exists()

    handlers = app.make_handlers(app.load_models({}))
    session = app.Session()
    monkeypatch.setattr(handlers_module, "TIMES", serving.RunTimes())  # no inverse timed yet on this "server"
    monkeypatch.setattr(handlers_module, "RECOVER_MAX_PIXELS", 100)
    session.result, session.task = (torch.zeros(3, 20, 20), {"sigma": 5.0}), "denoise"
    with pytest.raises(gradio.Error, match="offered up to"):
        handlers["recover"](session)
    monkeypatch.setattr(handlers_module, "RECOVER_MAX_PIXELS", 10_000)  # an estimate up front, from the last inverse
    session.result, session.model_input = (torch.rand(3, 16, 16), {"sigma": 5.0}), torch.rand(3, 16, 16)
    said = []
    for _ in range(2):
        *_, text = handlers["recover"](session, progress=lambda fraction, desc="": said.append(desc))
    assert "no estimate yet" in said[0] and "about" in said[2] and "float64" in text


@pytest.mark.parametrize(
    "content,words", [(b"", "is empty"), (b"just some text", "not an image"), (None, "over the limit")]
)
def test_bad_uploads_are_said_in_words(client, tmp_path, content, words):
    path = tmp_path / "upload.png"
    if content is None:  # a decompression bomb: a tiny PNG declaring 12000×12000
        from .conftest import png_declaring

        content = png_declaring(12000, 12000)
    path.write_bytes(content)
    with pytest.raises(Exception, match=words):
        client.predict(gradio_client.handle_file(str(path)), 25, api_name="/denoise")


def test_bad_inpainting_upload_is_said_in_words(client, tmp_path):
    (tmp_path / "notes.png").write_bytes(b"not an image at all")
    value = {"background": gradio_client.handle_file(str(tmp_path / "notes.png")), "layers": [], "composite": None}
    with pytest.raises(Exception, match="not an image"):
        client.predict(value, api_name="/inpaint")


def test_auto_level_estimates_uploads_and_reuses_the_level_chosen_in_the_app(client, tmp_path):
    from skimage import data

    from irae_hf.io.images import to_tensor, to_uint8
    from irae_hf.tasks.degradations import add_gaussian_noise

    upload = tmp_path / "noisy.png"  # a photo with σ 30 noise the app did not make: Auto estimates it
    Image.fromarray(to_uint8(add_gaussian_noise(to_tensor(data.chelsea()[:128, :160]), 30, seed=1))).save(upload)
    _, note, _ = client.predict(gradio_client.handle_file(str(upload)), 25, False, True, api_name="/denoise")
    sigma = float(note.split("**σ ")[1].split("**")[0])
    assert abs(sigma - 30) < 4 and "estimated from the image" in note
    (_, exact), note, _ = client.predict(gradio_client.handle_file(str(upload)), 25, False, False, api_name="/denoise")
    assert "**σ 25**, as set" in note
    (_, fast), _, _ = client.predict(
        gradio_client.handle_file(str(upload)), 25, False, False, True, api_name="/denoise"
    )
    gap = np.abs(load(fast).astype(int) - load(exact)).mean()
    assert 0 < gap < 1 if cpu_has_fast_bf16() else gap == 0  # bf16: close, not equal; without bf16 hardware: fp32
    compressed = client.predict(gradio_client.handle_file(str(PHOTO)), 30, api_name="/compress")
    _, note, _ = client.predict(gradio_client.handle_file(compressed), 10, api_name="/jpeg")
    assert "**JPEG quality 30**, the one you degraded the image with" in note
    as_jpeg = tmp_path / "photo.jpg"  # a JPEG file: its tables give the quality exactly (the upload's bytes kept)
    Image.open(PHOTO).convert("RGB").save(as_jpeg, quality=47)
    _, note, _ = client.predict(gradio_client.handle_file(str(as_jpeg)), 10, api_name="/jpeg")
    assert "**JPEG quality 47**, read from the JPEG file's quantization tables" in note
    clean = tmp_path / "clean.png"
    Image.fromarray(data.chelsea()[:128, :160]).save(clean)
    (_, after), note, _ = client.predict(gradio_client.handle_file(str(clean)), 10, api_name="/jpeg")
    assert "No sign of JPEG compression" in note and np.array_equal(load(after), data.chelsea()[:128, :160])


def test_downloads_keep_the_uploads_name_sanitised_and_unique(client, tmp_path):
    named = tmp_path / "my house (1).png"
    named.write_bytes(PHOTO.read_bytes())
    _, _, first = client.predict(gradio_client.handle_file(str(named)), 25, False, False, api_name="/denoise")
    _, _, second = client.predict(gradio_client.handle_file(str(named)), 25, False, False, api_name="/denoise")
    assert Path(first).name == Path(second).name == "my_house_1_denoised.png"
    assert downloads.download_name(np.zeros((2, 2, 3), np.uint8), "jpeg") == "irae_restored.png"
    evil = np.zeros((2, 2, 3), np.uint8).view(uploads.Upload)
    evil.name = "../../etc/passwd\x00.png"
    assert downloads.download_name(evil, "inpaint") == "passwd_filled.png"


def test_a_big_photo_gets_an_up_front_time_estimate(monkeypatch):
    monkeypatch.setattr(handlers_module, "SAY_TIME_ABOVE_PIXELS", 1000)  # "big" for the test
    handlers = app.make_handlers(app.load_models({}))
    said = []
    photo = load(PHOTO)
    handlers["denoise"](photo, 25, False, False, session=app.Session(), progress=lambda f, desc="": said.append(desc))
    assert said[0].startswith(f"denoise: {photo.shape[1]}×{photo.shape[0]} (about ") and said[0].endswith(" s in all)")
    assert all("about" in d for d in said)


@pytest.fixture
def page(server):
    """A headless Chromium page on the module's app (skipped, saying so, without Playwright or Debian's chromium)."""
    playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    if _chromium() is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium): browser test skipped")
    with playwright.sync_playwright() as p:
        browser = _browser(p)
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.set_default_timeout(GUARD_MS)
        page.goto(server[0])
        yield page
        browser.close()


def _browser(p):
    return p.chromium.launch(executable_path=_chromium(), args=["--no-sandbox", "--disable-gpu", "--no-first-run"])


def _paint_until_said(page, length: int) -> None:
    """A horizontal stroke of ``length`` screen pixels across the editor, until the page says what was painted. The
    editor draws its photo after "Nothing painted yet." arrives; on a busy machine a stroke can come before the photo
    is drawn and paint nothing, so the same stroke is drawn again (each try waits for the page, 20 s at most; the
    whole is bounded by the 10-minute guard), never a wait on the clock."""
    said = page.get_by_text("Painted:").first
    for _ in range(GUARD_MS // 20_000):
        box = page.locator("#inpaint-editor canvas").first.bounding_box()
        x0, y0 = box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.5
        page.mouse.move(x0, y0)
        page.mouse.down()
        for k in range(1, 11):
            page.mouse.move(x0 + length * k / 10, y0, steps=2)
        page.mouse.up()
        try:
            said.wait_for(timeout=20_000)
            return
        except Exception:  # noqa: BLE001 - playwright's TimeoutError: the stroke found no photo yet; draw it again
            continue
    raise AssertionError("the page never said what was painted")


@pytest.mark.browser
def test_browser_a_photo_goes_to_the_camera_and_phone_denoiser_unless_told_and_the_note_says_which(page, tmp_path):
    """Issue 41 point 2 on the page: a photo brought to the Denoise tab runs the camera and phone denoiser; choosing
    "synthetic Gaussian noise" runs the Gaussian one; the note names each."""
    Image.open(ROOT / "examples" / "astronaut.png").convert("RGB").resize((128, 96)).save(tmp_path / "05.png")
    page.locator("input[type=file]").first.set_input_files(str(tmp_path / "05.png"))  # Denoise tab
    page.get_by_text("What noise is it? (which denoiser runs)").first.wait_for()
    page.get_by_role("button", name="Denoise", exact=True).click()
    page.get_by_text("Denoise: camera and phone photos").first.wait_for()
    assert "(auto: a photo)" in page.content()
    page.get_by_text("synthetic Gaussian noise", exact=True).first.click()
    page.get_by_role("button", name="Denoise", exact=True).click()
    page.get_by_text("Denoise: synthetic Gaussian noise").first.wait_for()
    assert "(as chosen)" in page.content()


@pytest.mark.browser
def test_browser_inpaint_brush_size_painted_area_names_and_upload_messages(page, tmp_path):
    """A short stroke of the default brush on a 768×512 photo is 10–24 px across, where the model measured best (no
    OpenCV fill is offered as better), its size is shown before Fill, the download is named after the file
    (03_filled.png), and a broken upload is said when it arrives."""
    Image.open(ROOT / "examples" / "astronaut.png").convert("RGB").resize((768, 512)).save(tmp_path / "03.png")
    (tmp_path / "empty.png").write_bytes(b"")
    page.locator("input[type=file]").first.set_input_files(str(tmp_path / "empty.png"))  # Denoise tab
    page.get_by_text("empty.png is empty (0 bytes)").first.wait_for(timeout=GUARD_MS)  # said on upload
    page.get_by_role("tab", name="Inpaint").click()
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name="Upload a photo").click()
    chooser.value.set_files(str(tmp_path / "03.png"))
    page.get_by_text("Nothing painted yet.").first.wait_for(timeout=GUARD_MS)  # the photo is in the editor
    assert "12" in page.locator("input[type=number]").evaluate_all("els => els.map(e => e.value)")  # brush width
    _paint_until_said(page, 60)  # a short stroke, 60 screen pixels
    painted = page.get_by_text("Painted:").first.inner_text()
    across = int(re.search(r"(\d+) px across", painted).group(1))
    assert 10 <= across <= 24, painted  # the model's best range: not a scratch OpenCV fills better, nor a blob
    page.get_by_role("button", name="Fill", exact=True).click()
    page.get_by_text("PSNR in the painted region").first.wait_for(timeout=GUARD_MS)
    assert "03_filled.png" in page.content() and "background_filled" not in page.content()
    assert "Navier-Stokes measured better" not in page.content()


def test_the_bf16_option_is_greyed_out_where_the_cpu_has_no_bf16_hardware(monkeypatch):
    models = app.load_models({})
    monkeypatch.setattr(inference, "cpu_has_fast_bf16", lambda: False)
    assert not app.bf16_pays_here(models)
    with gradio.Blocks():
        _, fast = app._options(app.bf16_pays_here(models))
    assert fast.interactive is False and "not offered here" in fast.label
    monkeypatch.setattr(inference, "cpu_has_fast_bf16", lambda: True)
    with gradio.Blocks():
        _, fast = app._options(app.bf16_pays_here(models))
    assert fast.interactive is True and fast.label.startswith("Faster: bf16 networks")


def test_the_app_says_its_own_time_and_gradio_shows_no_eta(monkeypatch):
    times = serving.RunTimes(keep=3)
    assert times.estimate(("denoise", False, "fp32"), 1.0) is None  # no past run: no guess
    for seconds in (2.0, 3.0, 100.0):  # one outlier (a busy moment) does not move the median
        times.record(("denoise", False, "fp32"), 1.0, seconds)
    assert times.estimate(("denoise", False, "fp32"), 2.0) == 6.0
    assert times.estimate(("denoise", True, "fp32"), 2.0) is None  # the ensemble is timed on its own
    demo = app.build_demo(app.load_models({}))
    demo.queue()
    serving.hide_gradio_eta(demo)
    hidden = [fn for fn in demo.fns.values() if isinstance(demo._queue.process_time_per_fn.get(fn), serving.NoEta)]
    assert {fn.api_name for fn in hidden} == {"denoise", "jpeg", "inpaint", "recover"}
    assert [inpainting.brush_radius(512, 768), inpainting.brush_radius(3000, 4000)] == [6, 12]


def test_16_bit_and_float_grey_uploads_are_scaled_by_their_range_not_clipped(client, tmp_path):
    """Gradio's decoding clipped them at 255: a 16-bit grey PNG came out white, a float TIFF black, σ read 0."""
    ramp = np.linspace(0, 1, 64 * 96).reshape(64, 96)
    Image.fromarray((ramp * 65535).astype(np.uint16)).save(tmp_path / "grey16.png")
    Image.fromarray(ramp.astype(np.float32), mode="F").save(tmp_path / "grey.tif")
    for name in ("grey16.png", "grey.tif"):
        (before, _), _, _ = client.predict(
            gradio_client.handle_file(str(tmp_path / name)), 5, False, False, api_name="/denoise"
        )
        shown = load(before)
        assert abs(shown.mean() - 127.5) < 2 and shown.min() <= 1 and shown.max() >= 254, name


def test_a_16_bit_upload_is_restored_from_its_16_bits_and_downloads_as_a_16_bit_png(client, tmp_path):
    import cv2

    y, x = np.mgrid[0:64, 0:320] / np.array([64, 320])[:, None, None]
    clean = np.round(np.stack([0.1 + 0.8 * x, 0.5 + 0.0 * x, 0.9 - 0.7 * y], axis=2) * 65535)
    noisy = np.clip(clean + np.random.default_rng(0).normal(0, 8 * 257, clean.shape), 0, 65535).astype(np.uint16)
    cv2.imwrite(str(tmp_path / "raw16.png"), noisy[..., ::-1])
    (_, shown), note, download = client.predict(
        gradio_client.handle_file(str(tmp_path / "raw16.png")), 8, False, False, api_name="/denoise"
    )
    assert "the PNG download is 16-bit" in note and load(shown).dtype == np.uint8  # the browser shows 8 bits
    saved = cv2.imread(download, cv2.IMREAD_UNCHANGED)
    assert saved.dtype == np.uint16 and saved.shape == (64, 320, 3) and len(np.unique(saved[..., 2])) > 256


def test_a_16_bit_photo_uploaded_for_painting_is_filled_from_its_16_bits(tmp_path, monkeypatch):
    import cv2

    from irae_hf.demo.session import Session
    from irae_hf.io.sixteen_bit import to_8bit

    monkeypatch.setattr(inpainting, "from_upload_cache", lambda path: True)  # the file is this test's, not a client's
    y, x = np.mgrid[0:48, 0:300] / np.array([48, 300])[:, None, None]
    photo16 = np.round(np.stack([0.1 + 0.8 * x, 0.3 + 0.2 * y, 0.9 - 0.7 * x], axis=2) * 65535).astype(np.uint16)
    cv2.imwrite(str(tmp_path / "paint16.png"), photo16[..., ::-1])
    session = Session()
    editor, _, painted, session = inpainting.photo_for_painting(str(tmp_path / "paint16.png"), session)
    assert painted == "Nothing painted yet."  # a new photo: no note of an earlier one's strokes
    assert session.upload_deep is not None and np.array_equal(session.upload_deep, photo16)
    models = app.load_models({}, "cpu", app.ROOT / "pretrained")
    layer = np.zeros((48, 300, 4), np.uint8)
    layer[20:28, 100:140] = (255, 0, 255, 255)
    value = {"background": to_8bit(photo16), "layers": [layer]}  # the editor holds the 8-bit picture it was given
    value["composite"] = value["background"]
    _, note, download, _, session = handlers_module.make_handlers(models)["inpaint"](
        value, session=session, progress=lambda *a, **k: None
    )
    saved = cv2.imread(download, cv2.IMREAD_UNCHANGED)[..., ::-1]
    assert "the PNG download is 16-bit" in note and saved.dtype == np.uint16
    known = np.ones((48, 300), bool)
    known[20:28, 100:140] = False
    assert np.array_equal(saved[known], photo16[known])  # known pixels come back at their 16 bits


def test_every_level_source_has_words_for_the_user():
    assert set(handlers_module.LEVEL_SOURCES) == {"chosen", "tables", "twice", "pixels", "given"}


def test_the_fill_note_counts_one_pixel_in_the_singular():
    background = np.zeros((8, 8, 3), np.uint8)
    for painted, words in ((1, "Filled **1 pixel**"), (2, "Filled **2 pixels**")):
        mask = np.zeros((8, 8), bool)
        mask[0, :painted] = True
        note = handlers_module._fill_note(background, background, background, mask)[0]
        assert words in note and "PSNR in the painted region against what was painted over" in note


def test_auto_reads_the_same_sigma_from_a_16_bit_png_in_the_app_and_the_command_line(tmp_path, capsys):
    """The app decoded the upload with Pillow (16 → 8 bits by truncation), the command line from the 16-bit pixels
    (rounded): σ 11.5 against 11.6 on the same file. One path now: the 8 bits of the file's 16."""
    import cv2

    from irae_hf.cli import main as cli

    y, x = np.mgrid[0:128, 0:192] / np.array([128, 192])[:, None, None]
    clean = np.round(np.stack([0.1 + 0.8 * x, 0.5 + 0.0 * x, 0.9 - 0.7 * y], axis=2) * 65535)
    noisy = np.clip(clean + np.random.default_rng(0).normal(0, 11.5 * 257, clean.shape), 0, 65535).astype(np.uint16)
    cv2.imwrite(str(tmp_path / "n16.png"), noisy[..., ::-1])
    assert cli(["restore", "--model", "pretrained/denoise", str(tmp_path / "n16.png"), "-o", str(tmp_path / "o")]) == 0
    said_by_cli = re.search(r"σ ([\d.]+) \(estimated", capsys.readouterr().err).group(1)

    class Sent:
        path, orig_name = str(tmp_path / "n16.png"), "n16.png"

    decoded_by_gradio = np.asarray(Image.open(tmp_path / "n16.png").convert("RGB"))
    upload = uploads._remembering(decoded_by_gradio, Sent())
    handlers = app.make_handlers(app.load_models({}))
    notes = handlers["denoise"](upload, 25, False, True, session=app.Session(), progress=lambda *a, **k: None)
    said_by_app = re.search(r"σ ([\d.]+)\*\*, estimated", next(n for n in notes if isinstance(n, str))).group(1)
    assert said_by_app == said_by_cli, (said_by_app, said_by_cli)


def test_recover_never_invites_what_it_refuses():
    """A result over the inverse's limit says the limit (not "press Recover ... about 469 s"); a JPEG run that left
    the image unchanged offers no download copy of it, and Recover says there is nothing to invert (no error)."""
    import torch

    from irae_hf.demo.session import Session

    handlers = app.make_handlers(app.load_models({}))
    session = Session()
    session.result, session.task = (torch.zeros(3, 1000, 1200), {"sigma": 25.0}), "denoise"
    _, _, said = handlers["new_result"](session)
    assert "offered here up to 1 megapixel" in said and "press Recover" not in said
    photo = np.asarray(Image.open(PHOTO).convert("RGB"))  # a PNG: no sign of JPEG compression
    session = Session()
    (before, after), note, download, session = handlers["jpeg"](
        photo, 20, False, True, session=session, progress=lambda *a, **k: None
    )
    assert "left unchanged" in note and download is None
    for said in (handlers["new_result"](session)[2], handlers["recover"](session, progress=lambda *a, **k: None)[2]):
        assert "left the image unchanged" in said and "nothing to invert" in said


def test_about_the_models_is_headed_by_the_tabs_and_labels_time_alike():
    text = app.about_models(app.load_models({}))
    heads = ["Denoise: synthetic Gaussian noise", "Denoise: camera and phone photos", "JPEG", "Inpaint"]
    assert re.findall(r"^#### (.+)$", text, re.M) == heads
    assert "σ —" not in text and "quality —" not in text and "mask —" not in text
    assert len(set(re.findall(r"\| (time \(s[^|]*\)) \|", text))) == 1


def test_the_self_ensemble_reports_its_eight_passes():
    """It sat at "denoise: 768×512 – 0.0%" for its whole run: one tile, so no tile ever finished before the end."""
    from irae_hf.demo.session import Session

    handlers = app.make_handlers(app.load_models({}))
    said = []
    photo = np.asarray(Image.open(PHOTO).convert("RGB"))
    handlers["denoise"](photo, 25, True, False, session=Session(), progress=lambda f, desc="": said.append((f, desc)))
    passes = [d for _, d in said if ": pass " in d]
    assert [d.split(": pass ")[1][:3] for d in passes] == [f"{k}/8" for k in range(1, 9)], said
    assert [f for f, d in said if ": pass " in d] == [k / 8 for k in range(1, 9)]


def test_a_new_upload_clears_what_belonged_to_the_old_photo_in_every_tab():
    """The old result, its note and download, OpenCV's fill and "New inpaint result ... press Recover" stayed after a
    new upload (and Recover would have inverted the old photo's result)."""
    import functools

    import torch

    from irae_hf.demo.session import Session

    handlers = app.make_handlers(app.load_models({}))
    session = Session()
    session.result, session.task = (torch.zeros(3, 8, 8), {"sigma": 25.0}), "denoise"
    *cleared, session = handlers["new_photo"](session, with_comparison=True)
    assert cleared[:3] == [None, "", None] and cleared[3].visible is False and cleared[4:] == [None, None, ""]
    assert session.result is None and session.task is None
    demo = app.build_demo(app.load_models({}))

    def is_new_photo(fn) -> bool:  # noqa: ANN001
        fn = fn.func if isinstance(fn, functools.partial) else fn
        return getattr(fn, "__name__", "") == "new_photo"

    after_upload = {f._id for f in demo.fns.values() if f.targets and all(t[1] == "upload" for t in f.targets)}
    for _ in range(3):  # and the steps chained on their success (the Inpaint upload is checked first)
        after_upload |= {
            f._id for f in demo.fns.values() if f.trigger_after in after_upload and f.trigger_only_on_success
        }
    uploads_ = [f for f in demo.fns.values() if is_new_photo(f.fn) and f._id in after_upload]
    assert len(uploads_) == 3  # Denoise, JPEG and Inpaint
    for f in uploads_:  # each clears its tab's before/after slider and the inverse's panel
        kinds = [type(c).__name__ for c in f.outputs]
        assert "ImageSlider" in kinds and kinds.count("Image") >= 2 and "State" in kinds, kinds


#: the status badges Gradio puts on a component whose event failed (toasts excluded)
BADGES = """() => [...document.querySelectorAll('.error')]
    .filter(e => ![...e.classList].some(c => c.startsWith('toast') || c === 'timer')).length"""
#: every "k/8" the page shows from now on (a self-ensemble's passes), however briefly
WATCH_PASSES = """() => { window.passes = new Set(); new MutationObserver(() => {
    for (const m of document.body.innerText.match(/\\b[1-8]\\/8\\b/g) || []) window.passes.add(m); })
    .observe(document.body, {subtree: true, childList: true, characterData: true}); }"""


def _upload_for_painting(page, path) -> None:
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name="Upload a photo").click()
    chooser.value.set_files(str(path))


@pytest.mark.browser
def test_browser_bad_uploads_unchanged_results_big_results_passes_and_new_photos(page, tmp_path):
    """Issue 40 points 4-10 on the page. A fake .png and an empty file are said when they arrive, the image box is
    emptied for the next file, a button pressed with no image says so on the box, and no output is marked "Error"
    (9). A result over the inverse's limit says the limit, not "press Recover" (4). A PNG the JPEG tab leaves
    unchanged has nothing to invert and offers no download (5). The self-ensemble shows its passes (7). A new photo
    in Inpaint clears the old one's result and painted note (6). "About the models" is headed by the tabs (8). The
    first example is a noisy photo whose download is named after it (10)."""
    photo = Image.open(ROOT / "examples" / "astronaut.png").convert("RGB")
    photo.resize((1250, 850)).save(tmp_path / "big.png")  # 1.06 MP: over the inverse's 1 MP
    photo.resize((384, 256)).save(tmp_path / "03.png")
    photo.resize((320, 240)).save(tmp_path / "04.png")
    noisy = np.asarray(photo.resize((256, 192)), dtype=float) + np.random.default_rng(0).normal(0, 15, (192, 256, 3))
    Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).save(tmp_path / "noisy.png")
    (tmp_path / "fake.png").write_bytes(b"%PDF-1.4 this is a pdf\n" * 20)
    (tmp_path / "empty.png").write_bytes(b"")
    # 9: a fake .png in the Denoise tab
    page.locator("#denoise-image input[type=file]").set_input_files(str(tmp_path / "fake.png"))
    page.get_by_text("fake.png is not an image this app can read").first.wait_for()
    page.wait_for_function("() => !document.querySelector('#denoise-image img')")  # emptied, not a broken picture
    page.get_by_role("button", name="Denoise", exact=True).click()
    page.get_by_text("Upload an image first.").first.wait_for()  # said in words
    page.wait_for_function(f"() => ({BADGES})() === 0")  # and no output is left marked "Error"
    # 10: the first example is a noisy phone photo; Auto reads its noise, and its download is named after it
    page.locator(".gallery-item:visible").first.click()
    page.locator("#denoise-image img").first.wait_for()
    page.get_by_role("button", name="Denoise", exact=True).click()
    page.wait_for_function("() => document.body.innerHTML.includes('dogs-phone-noise_denoised.png')")
    # 4: the box takes the next file; a 1.06-MP result says the inverse's limit
    page.locator("#denoise-image input[type=file]").set_input_files(str(tmp_path / "big.png"))
    page.locator("#denoise-image img").first.wait_for()
    page.get_by_role("button", name="Denoise", exact=True).click()
    page.get_by_text("offered here up to 1 megapixel").first.wait_for()
    assert "press Recover" not in page.content() and page.evaluate(BADGES) == 0
    # 5: a PNG with no sign of JPEG compression is left unchanged: nothing to invert, nothing to download
    page.get_by_role("tab", name="JPEG").click()
    page.locator("#jpeg-image input[type=file]").set_input_files(str(tmp_path / "noisy.png"))
    page.locator("#jpeg-image img").first.wait_for()
    page.get_by_role("button", name="Restore", exact=True).click()
    page.get_by_text("nothing to invert").first.wait_for()
    page.get_by_role("button", name="Recover the input from the result").click()
    page.get_by_text("nothing to invert").first.wait_for()
    assert "noisy_restored.png" not in page.content() and page.evaluate(BADGES) == 0
    # 7: compressed, then restored with the self-ensemble: its passes are shown
    uploaded = page.locator("#jpeg-image img").first.get_attribute("src")
    page.get_by_role("button", name="Compress", exact=True).click()
    page.wait_for_function(  # the compressed picture has replaced the upload
        "([old]) => { const i = document.querySelector('#jpeg-image img'); return i && i.src && i.src !== old; }",
        arg=[uploaded],
    )
    page.get_by_text("Self-ensemble").first.click()
    page.evaluate(WATCH_PASSES)
    page.get_by_role("button", name="Restore", exact=True).click()
    page.get_by_text("PSNR against the clean image").first.wait_for()
    page.wait_for_function("() => document.body.innerHTML.includes('noisy_restored.png')")  # the upload's name
    passes = page.evaluate("() => [...window.passes]")
    assert passes, "no k/8 pass was shown while the self-ensemble ran"
    page.get_by_text("Self-ensemble").first.click()
    # 9 and 6 in Inpaint: an empty file, Fill with no photo, then a photo, a stroke, a fill and a new photo
    page.get_by_role("tab", name="Inpaint").click()
    _upload_for_painting(page, tmp_path / "empty.png")
    page.get_by_text("empty.png is empty (0 bytes)").first.wait_for()
    page.get_by_role("button", name="Fill", exact=True).click()
    page.get_by_text("Upload an image and paint the region to fill.").first.wait_for()
    page.wait_for_function(f"() => ({BADGES})() === 0")
    _upload_for_painting(page, tmp_path / "03.png")
    page.get_by_text("Nothing painted yet.").first.wait_for()
    _paint_until_said(page, 40)
    page.get_by_role("button", name="Fill", exact=True).click()
    page.get_by_text("PSNR in the painted region").first.wait_for()
    _upload_for_painting(page, tmp_path / "04.png")
    page.get_by_text("PSNR in the painted region").first.wait_for(state="detached")
    page.get_by_text("Nothing painted yet.").first.wait_for()
    assert "03_filled.png" not in page.content() and page.evaluate(BADGES) == 0
    # 8: "About the models" is headed by the tabs (the Denoise tab's two denoisers, each by the noise it knows)
    page.get_by_text("About the models").first.click()
    page.locator("h4", has_text="Inpaint").first.wait_for()  # the accordion's text is drawn when it opens
    headings = page.locator("h4").all_inner_texts()
    tabs = ["Denoise: synthetic Gaussian noise", "Denoise: camera and phone photos", "JPEG", "Inpaint"]
    assert [h for h in headings if h in tabs] == tabs, headings
    print(f"self-ensemble passes seen: {sorted(passes)}")


def test_each_tab_opens_on_licensed_photos_already_degraded_as_users_bring_them():
    """Issue 40 point 10: the examples are photos as users have them (noisy phone JPEGs, blocky JPEGs, a scratch or
    a power line to paint over), at least 512 px, each credited with its licence; the clean ones follow."""
    from irae_hf.io.jpeg_tables import jpeg_quality_from_tables
    from irae_hf.tasks.estimate import estimate_sigma

    credits = (ROOT / "examples" / "LICENSES.md").read_text()
    for task in ("denoise", "jpeg", "inpaint"):
        examples = app.examples_for(task)
        degraded = [Path(e) for e in examples if Path(e).parent.name == task]
        assert len(degraded) >= 2 and examples[: len(degraded)] == [str(p) for p in degraded], examples
        assert examples[len(degraded) :] == app.CLEAN_EXAMPLES
        for path in degraded:
            row = next((line for line in credits.splitlines() if line.startswith(f"| {task}/{path.name} |")), "")
            assert re.search(r"\| (CC BY 4\.0|CC0 1\.0) \|", row), f"{path.name} is not credited with its licence"
            with Image.open(path) as image:
                assert max(image.size) >= 512
                if task == "denoise":
                    assert estimate_sigma(image.convert("RGB")) > 5  # visibly noisy, not a clean photo
                if task == "jpeg":
                    assert jpeg_quality_from_tables(image) <= 30
    names = app.example_names(app.examples_for("inpaint"))
    assert "dandelions-scratch.png" in names.values()  # its download is named after it, not "background"


def test_uploads_are_still_checked_after_gradio_rebuilds_the_image_box(tmp_path):
    """Gradio rebuilds a component from its constructor's arguments when an event updates it (an example's click, a
    new brush size): the rebuilt box must check its uploads too (a patch of the instance was lost there)."""
    from gradio.data_classes import FileData

    image = uploads.checked_uploads(gradio.Image(type="numpy", elem_classes=[uploads.CHECKED], render=False))
    rebuilt = gradio.Image(**{**image.constructor_args, "render": False})
    outside = FileData(path=str(ROOT / "examples" / "coffee.png"), orig_name="coffee.png")  # not an upload
    for box in (image, rebuilt):
        with pytest.raises(gradio.Error, match="Only images uploaded to this app"):
            box.preprocess(outside)
    plain = gradio.Image(type="numpy", render=False)  # other image boxes keep Gradio's own behaviour
    assert plain.preprocess(outside).shape == (200, 300, 3)
    with pytest.raises(ValueError, match="elem_classes"):
        uploads.checked_uploads(gradio.Image(render=False))
