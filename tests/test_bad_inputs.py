"""Bad and odd inputs through every entry point: a clear error or a correct result, never a traceback.

Each parametrized case is one input a user might really have; the ids say which.
"""

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import train_accelerate
from irae_hf import IRAE, WeightsError
from irae_hf.cli import main
from irae_hf.pipeline.restore import restore

from .conftest import make_model

ROOT = Path(__file__).resolve().parents[1]
RNG = np.random.default_rng(0)


def rgb(h=24, w=32):
    return Image.fromarray(RNG.integers(0, 256, (h, w, 3), dtype=np.uint8))


def png_bytes(img: Image.Image, fmt="PNG", **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def exif_rotated() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6
    return png_bytes(rgb(20, 40), "JPEG", exif=exif)


def animated() -> bytes:
    frames = [rgb(16, 16).convert("P") for _ in range(3)]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:])
    return buf.getvalue()


def palette_with_transparency() -> bytes:
    p = rgb().convert("P")
    p.info["transparency"] = 0
    return png_bytes(p, transparency=0)


# name -> (file bytes, expected: "error" or (size, mode) of the restored PNG)
FILE_CASES = {
    "not-an-image.png": (b"%PDF-1.4 this is a pdf\n" * 20, "error"),
    "truncated.png": (png_bytes(rgb(64, 64))[:150], "error"),
    "truncated.jpg": (png_bytes(rgb(64, 64), "JPEG")[:300], "error"),
    "zero-bytes.png": (b"", "error"),
    "one-pixel.png": (png_bytes(rgb(1, 1)), ((1, 1), "RGB")),
    "thin-1x4000.png": (png_bytes(rgb(1, 4000)), ((4000, 1), "RGB")),
    "grey-16bit.png": (
        png_bytes(Image.fromarray(RNG.integers(0, 65536, (24, 32), dtype=np.uint16))),
        ((32, 24), "I;16"),
    ),
    "rgba.png": (png_bytes(rgb().convert("RGBA")), ((32, 24), "RGBA")),
    "grey-alpha.png": (png_bytes(rgb().convert("LA")), ((32, 24), "LA")),
    "palette.png": (png_bytes(rgb().convert("P")), ((32, 24), "RGB")),
    "palette-transparent.png": (palette_with_transparency(), ((32, 24), "RGBA")),
    "cmyk.jpg": (png_bytes(rgb().convert("CMYK"), "JPEG"), ((32, 24), "RGB")),
    "grey.jpg": (png_bytes(rgb().convert("L"), "JPEG"), ((32, 24), "L")),
    "exif-rotated.jpg": (exif_rotated(), ((20, 40), "RGB")),
    "animated.gif": (animated(), ((16, 16), "RGB")),
}


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("model")
    make_model("denoise").save_pretrained(path)
    return path


@pytest.mark.parametrize("name", sorted(FILE_CASES))
def test_files_through_the_cli(model_dir, tmp_path, capsys, name):
    data, expected = FILE_CASES[name]
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / name).write_bytes(data)
    rc = main(
        [
            "restore",
            "--model",
            str(model_dir),
            "--sigma",
            "10",
            str(tmp_path / "in" / name),
            "-o",
            str(tmp_path / "out"),
        ]
    )
    err = capsys.readouterr().err
    if expected == "error":
        assert rc == 1 and f"error: {tmp_path / 'in' / name}: cannot read image" in err
        return
    assert rc == 0, err
    out = Image.open(tmp_path / "out" / (Path(name).stem + "_denoised.png"))
    assert (out.size, out.mode) == expected
    if name == "animated.gif":
        assert "first frame" in err


def test_missing_file_and_empty_folder(model_dir, tmp_path, capsys):
    assert (
        main(["restore", "--model", str(model_dir), "--sigma", "10", str(tmp_path / "nope.png"), "-o", str(tmp_path)])
        == 1
    )
    assert "cannot read image" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert (
        main(["restore", "--model", str(model_dir), "--sigma", "10", str(tmp_path / "empty"), "-o", str(tmp_path)]) == 2
    )
    assert "no image files" in capsys.readouterr().err


BAD_TENSORS = {
    "nan": ({"sigma": 10}, float("nan"), "NaN or Inf"),
    "inf": ({"sigma": 10}, float("inf"), "NaN or Inf"),
    "sigma-negative": ({"sigma": -1}, None, r"sigma must be in \[0, 255\]"),
    "sigma-too-big": ({"sigma": 300}, None, r"sigma must be in \[0, 255\]"),
}


@pytest.mark.parametrize("case", sorted(BAD_TENSORS))
def test_bad_tensors_and_levels(denoiser, case):
    level, poison, match = BAD_TENSORS[case]
    x = torch.rand(1, 3, 16, 16)
    if poison is not None:
        x[0, 1, 2, 3] = poison
    with pytest.raises(ValueError, match=match):
        restore(denoiser, x, **level)


@pytest.mark.parametrize("quality", [0, 101, -5])
def test_quality_out_of_range(model_factory, quality):
    with pytest.raises(ValueError, match=r"quality must be in \[1, 100\]"):
        restore(model_factory("jpeg"), rgb(), quality=quality)


def test_empty_full_and_wrong_size_masks(model_factory):
    model, img = model_factory("inpaint"), np.asarray(rgb())
    assert np.array_equal(restore(model, img, mask=np.zeros((24, 32), bool)), img)  # nothing to fill
    full = restore(model, img, mask=np.ones((24, 32), bool))
    assert full.shape == img.shape and full.dtype == np.uint8
    with pytest.raises(ValueError, match="does not match the image size"):
        restore(model, img, mask=np.zeros((32, 24), bool))


@pytest.mark.parametrize(
    "array",
    [np.zeros((8, 8, 3), np.int64), np.zeros((8, 8, 5), np.uint8), np.zeros((0, 8, 3), np.uint8)],
    ids=["int64", "five-channels", "empty"],
)
def test_unsupported_arrays(denoiser, array):
    with pytest.raises(ValueError):
        restore(denoiser, array, sigma=10)


def broken_weights(folder: Path, kind: str) -> None:
    make_model("denoise", width=8, depth=1).save_pretrained(folder)
    cfg = folder / "config.json"
    if kind == "corrupt-safetensors":
        (folder / "model.safetensors").write_bytes(b"\x13\x00\x00" * 100)
    elif kind == "pickle-only":
        (folder / "model.safetensors").unlink()
        torch.save({}, folder / "pytorch_model.bin")
    elif kind == "config-not-json":
        cfg.write_text("{width: 8")
    elif kind == "config-not-an-object":
        cfg.write_text("[1, 2]")
    elif kind == "config-bad-value":
        cfg.write_text(json.dumps({"task": "denoise", "width": "eight"}))
    elif kind == "config-missing-keys":  # defaults (width 64) do not fit width-8 weights
        cfg.write_text(json.dumps({"task": "denoise"}))
    elif kind == "no-config":  # weights alone: default settings would be a guess
        cfg.unlink()
    elif kind in ("int8-tensors", "bool-tensors"):  # load without a word, then restore garbage or fail in linalg
        from safetensors.torch import load_file, save_file

        dtype = torch.int8 if kind == "int8-tensors" else torch.bool
        state = load_file(folder / "model.safetensors")
        save_file({k: (v * 100).to(dtype) for k, v in state.items()}, folder / "model.safetensors")


@pytest.mark.parametrize(
    "kind",
    [
        "corrupt-safetensors",
        "pickle-only",
        "config-not-json",
        "config-not-an-object",
        "config-bad-value",
        "config-missing-keys",
        "no-config",
        "int8-tensors",
        "bool-tensors",
    ],
)
def test_broken_weight_folders(tmp_path, capsys, kind):
    broken_weights(tmp_path / "m", kind)
    words = {"no-config": "no config.json in", "int8-tensors": "int8 tensors where", "bool-tensors": "bool tensors"}
    with pytest.raises((WeightsError, ValueError), match=words.get(kind)):
        IRAE.from_pretrained(tmp_path / "m")
    Image.new("RGB", (8, 8)).save(tmp_path / "a.png")
    assert (
        main(
            [
                "restore",
                "--model",
                str(tmp_path / "m"),
                "--sigma",
                "5",
                str(tmp_path / "a.png"),
                "-o",
                str(tmp_path / "o"),
            ]
        )
        == 2
    )
    assert "error: cannot load model" in capsys.readouterr().err


def test_unknown_config_keys_warn_and_load(tmp_path):
    make_model("denoise", width=8, depth=1).save_pretrained(tmp_path)
    cfg = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**cfg, "from_the_future": True}))
    with pytest.warns(UserWarning, match="unknown config.json keys"):
        assert IRAE.from_pretrained(tmp_path).config["width"] == 8


def test_training_on_bad_datasets(tmp_path):
    (tmp_path / "empty").mkdir()
    proc = subprocess.run(
        [
            sys.executable,
            "train_accelerate.py",
            "--dataset",
            str(tmp_path / "empty"),
            "--output_dir",
            str(tmp_path / "o"),
            "--report_to",
            "none",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and "error:" in proc.stderr and "Traceback" not in proc.stderr
    (tmp_path / "imgs").mkdir()
    rgb().save(tmp_path / "imgs" / "a.png")
    with pytest.raises(ValueError, match="no column 'caption'"):
        train_accelerate.main(
            [
                "--dataset",
                str(tmp_path / "imgs"),
                "--output_dir",
                str(tmp_path / "o"),
                "--image_column",
                "caption",
                "--report_to",
                "none",
            ]
        )


@pytest.mark.parametrize(
    "change",
    [
        {"width": 30000},
        {"channels": 100000},
        {"depth": 100000},
        {"scales": 0},
        {"width": 64.5},
        {"width": "64"},
        {"width": [8]},
        {"width": [8, 30000]},
        {"width": [8, 8.5]},
        {"task": 5},
        {"arch": ["irae"]},
        {"arch": {"nested": [1, 2]}},
    ],
)
def test_untrusted_config_values_are_refused_before_building(tmp_path, change, capsys, monkeypatch):
    from irae_hf.models.registry import load_model

    make_model("denoise", width=8, depth=2).save_pretrained(tmp_path / "m")
    config = json.loads((tmp_path / "m" / "config.json").read_text()) | change
    (tmp_path / "m" / "config.json").write_text(json.dumps(config))

    def built(*args, **kwargs):  # nothing, huge or not, is built before the config is refused
        raise AssertionError("a layer was built from a refused config")

    with monkeypatch.context() as m:
        m.setattr(torch.nn.Module, "__init__", built)
        with pytest.raises(WeightsError):
            load_model(tmp_path / "m")
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "x.png")
    rc = main(
        ["restore", "--model", str(tmp_path / "m"), "--sigma", "25", str(tmp_path / "x.png"), "-o", str(tmp_path / "o")]
    )
    assert rc == 2 and "cannot load model" in capsys.readouterr().err


@pytest.mark.parametrize("text", ["[" * 100_000, "\xff\xfe\x00garbage", '{"width": ' * 50_000])
def test_hostile_config_files_give_the_one_clear_error(tmp_path, text):
    from irae_hf.models.registry import load_model

    make_model("denoise", width=8, depth=2).save_pretrained(tmp_path / "m")
    (tmp_path / "m" / "config.json").write_bytes(text.encode("latin-1"))
    with pytest.raises(WeightsError, match="config.json"):
        load_model(tmp_path / "m")


@pytest.mark.parametrize("flags", [["--device", "foo"], ["--device", "cuda:x"], ["--tile", "abc"], ["--tile", "-3"]])
def test_impossible_cli_arguments_are_argument_errors(tmp_path, flags, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["restore", "--model", "m", "--sigma", "25", "x.png", "-o", str(tmp_path), *flags])
    assert stop.value.code == 2 and "error: argument" in capsys.readouterr().err


def test_a_60_byte_config_cannot_build_a_huge_model(tmp_path, monkeypatch):
    """width 1024, depth 64, 6 scales with an empty weights file would be 2.2 G parameters (about 9 GB): refused from
    its shapes alone, and a config whose shapes the weights file does not declare is refused before it is built."""
    from safetensors.torch import save_file

    from irae_hf.models.registry import load_model

    bomb = tmp_path / "bomb"
    bomb.mkdir()
    (bomb / "config.json").write_text('{"task":"denoise","width":1024,"depth":64,"scales":6}')
    save_file({}, str(bomb / "model.safetensors"))
    with pytest.raises(WeightsError, match="asks for 2,202,384,384 parameters, over the limit of 100,000,000"):
        load_model(bomb)
    assert main(["restore", "--model", str(bomb), "--sigma", "25", str(ROOT / "examples" / "coffee.png"), "-o",
                 str(tmp_path / "o")]) == 2  # fmt: skip
    make_model("denoise", width=8, depth=2).save_pretrained(tmp_path / "small")
    config = json.loads((tmp_path / "small" / "config.json").read_text()) | {"width": 16}
    (tmp_path / "small" / "config.json").write_text(json.dumps(config))
    monkeypatch.setattr(IRAE, "load_weights", lambda *a, **k: pytest.fail("the model was built before its check"))
    with pytest.raises(WeightsError, match="tensors of the wrong shape"):
        load_model(tmp_path / "small")
