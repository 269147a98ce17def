"""irae_hf.tasks: the registry, ``degrade`` through it, and a fourth task added in one file and one line."""

import numpy as np
import pytest
import torch

from irae_hf.tasks import TASKS, AppTab, Task, degrade, level_kwargs, register
from irae_hf.tasks.degradations import add_gaussian_noise, apply_mask, box_mask, free_form_mask, jpeg_compress

from .conftest import perturb, random_image


def test_degrade_is_the_one_way_to_corrupt_an_image_for_each_task():
    clean = torch.rand(3, 80, 96)
    noisy, sigma = degrade(clean, "denoise", 25, seed=4)
    assert sigma == 25.0 and torch.equal(noisy, add_gaussian_noise(clean, 25, seed=4))
    jpeg, quality = degrade(clean, "jpeg", 30.0)
    assert quality == 30 and torch.equal(jpeg, jpeg_compress(clean, 30))
    holed, mask = degrade(clean, "inpaint", "box", seed=1)
    assert torch.equal(mask, box_mask(80, 96, 64, seed=1)) and torch.equal(holed, apply_mask(clean, mask))
    _, drawn = degrade(clean, "inpaint", "free-form", seed=1)
    assert torch.equal(drawn, free_form_mask(80, 96, seed=1))
    assert degrade(clean, "inpaint", mask)[1] is mask  # a given mask is used as it is
    assert level_kwargs("jpeg", quality) == {TASKS["jpeg"].keyword: 30} == {"quality": 30}
    with pytest.raises(ValueError, match="unknown task"):
        degrade(clean, "deblur", 1)
    with pytest.raises(ValueError, match="mask kind|one of"):
        degrade(clean, "inpaint", "circle")


class Brighten(Task):
    """A toy fourth task, the whole of it in this class: undo an exposure cut by ``gain`` (1–4)."""

    name, keyword, label = "brighten", "gain", "gain"
    settings, validation, validation_words = (2.0, 3.0), 2.0, "gain 2"
    level_range = (1.0, 4.0, 4.0)
    level_help = "the exposure gain to undo, 1–4, or auto (from the brightness)"
    done = "brightened"  # its outputs' names: dark_brightened.png
    app = AppTab(
        title="Brighten", button="Brighten", level_name="The gain", slider=(1, 4, 2), degrade_button="Darken",
        degrade_api="darken", degrade_label="gain to darken by", auto_label="Auto: read the gain from the brightness",
        level_label="gain to undo, when Auto is off",
    )  # fmt: skip

    def degrade(self, clean, level, seed=None):
        return clean / float(level), float(level)

    def sample(self, clean, rng, spec):
        gain = float(rng.uniform(1, 4))
        return clean / gain, torch.tensor(gain)

    def estimate(self, image, pixels):
        return [float(np.clip(127.5 / max(p.mean(), 1.0), 1, 4)) for p in pixels], "pixels"


@pytest.fixture
def brighten():
    task = register(Brighten())  # the one registry line a new task needs
    yield task
    del TASKS["brighten"]


def test_a_fourth_task_runs_through_restore_the_command_line_and_training(brighten, images, tmp_path):
    from PIL import Image

    import train_accelerate
    from irae_hf import IRAE
    from irae_hf.cli import build_parser, main
    from irae_hf.pipeline.restore import choose_level, recover_input, restore

    model = perturb(IRAE(task="brighten", width=8, depth=2, scales=2)).eval()
    photo = Image.fromarray(random_image(40, 56) // 3)
    out = restore(model, photo, gain=3.0)
    assert out.size == photo.size and out.mode == "RGB"
    level, source = choose_level(model, photo)  # "auto": the task's own estimate
    assert source == "pixels" and 1 <= level["gain"] <= 4
    exact = restore(model, photo, gain=3.0, return_float=True)
    x = torch.from_numpy(np.asarray(photo, dtype=np.float64) / 255).permute(2, 0, 1)[None]
    assert (recover_input(model, exact) - x).abs().max() < 1e-6  # invertible, whatever the task
    with pytest.raises(ValueError, match="gain must be in"):
        restore(model, photo, gain=9.0)

    parser = build_parser()
    assert parser.parse_args(["restore", "a.png", "--model", "m", "-o", "o", "--gain", "2.5"]).gain == 2.5
    model.save_pretrained(tmp_path / "model")
    photo.save(tmp_path / "dark.png")
    assert (
        main(["restore", str(tmp_path / "dark.png"), "--model", str(tmp_path / "model"), "-o", str(tmp_path / "out")])
        == 0
    )
    assert Image.open(tmp_path / "out" / "dark_brightened.png").size == photo.size
    with pytest.raises(SystemExit):
        parser.parse_args(["restore", "a.png", "--model", "m", "-o", "o", "--gain", "9"])

    run = ["--task", "brighten", "--dataset", str(images / "train"), "--validation_dir", str(images / "val")]
    run += ["--width", "8", "--depth", "2", "--crop_size", "32", "--batch_size", "2", "--report_to", "none"]
    trained = train_accelerate.main([*run, "--output_dir", str(tmp_path / "run"), "--max_steps", "2"])
    again = IRAE.from_pretrained(trained)
    assert again.task == "brighten" and "gain" in (trained / "README.md").read_text()


@pytest.mark.slow
def test_a_fourth_task_runs_through_the_app_evaluate_and_export(brighten, tmp_path):
    """The toy task gets its tab, its degrade button and its restore endpoint in the app (answered through
    gradio_client, the exact inverse too), rows in ``irae evaluate`` and ONNX graphs from ``irae export``."""
    import json
    from pathlib import Path

    import gradio_client
    from PIL import Image

    import app
    from irae_hf import IRAE
    from irae_hf.cli import main
    from irae_hf.demo.models import Loaded

    from .hub_server import free_port

    model = perturb(IRAE(task="brighten", width=8, depth=2, scales=2)).eval()
    Image.fromarray(random_image(48, 64)).save(tmp_path / "photo.png")
    demo = app.build_demo({**app.load_models({}), "brighten": Loaded(model, "a toy model")})
    demo.queue()
    port = free_port()
    demo.launch(server_port=port, prevent_thread_lock=True, quiet=True, show_error=True)
    try:
        client = gradio_client.Client(f"http://127.0.0.1:{port}/", verbose=False)
        assert {"/brighten", "/darken"} <= set(
            client.view_api(print_info=False, return_format="dict")["named_endpoints"]
        )
        dark = client.predict(gradio_client.handle_file(str(tmp_path / "photo.png")), 2, api_name="/darken")
        (_, restored), note, download = client.predict(gradio_client.handle_file(dark), 2, api_name="/brighten")
        assert Image.open(restored).size == (64, 48) and Path(download).name.endswith("_brightened.png")
        assert "gain 2" in note  # the level chosen in the app, in the task's words
        recovered, seen, _ = client.predict(api_name="/recover")
        assert np.abs(np.asarray(Image.open(recovered), int) - np.asarray(Image.open(seen))).max() <= 1
    finally:
        demo.close()

    model.save_pretrained(tmp_path / "model")
    data = tmp_path / "data"
    data.mkdir()
    Image.fromarray(random_image(40, 48)).save(data / "a.png")
    args = ["evaluate", "--model", str(tmp_path / "model"), "--task", "brighten", "--data", str(data), "--gain", "2"]
    assert main([*args, "--json", str(tmp_path / "rows.json")]) == 0
    rows = json.loads((tmp_path / "rows.json").read_text())["rows"]
    assert {r["method"] for r in rows} == {"IRAE", "input"} and {r["setting"] for r in rows} == {2.0}
    assert main(["export", str(tmp_path / "model"), str(tmp_path / "onnx")]) == 0
    assert json.loads((tmp_path / "onnx" / "onnx.json").read_text())["level"] == "gain"
