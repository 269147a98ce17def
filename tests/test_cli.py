import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from irae_hf.cli import main
from irae_hf.cli.files import find_images
from irae_hf.pipeline.restore import restore

from .conftest import make_model

ROOT = Path(__file__).resolve().parents[1]


def write_inputs(folder: Path) -> None:
    rng = np.random.default_rng(0)
    (folder / "sub").mkdir(parents=True)
    Image.fromarray(rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)).save(folder / "a.jpg")
    Image.fromarray(rng.integers(0, 256, (20, 30), dtype=np.uint8)).save(folder / "sub" / "b.png")
    (folder / "notes.txt").write_text("not an image")


def test_restore_folder_keeps_structure_and_sizes(tmp_path):
    make_model("denoise").save_pretrained(tmp_path / "model")
    write_inputs(tmp_path / "in")
    rc = main(
        [
            "restore",
            "--model",
            str(tmp_path / "model"),
            "--task",
            "denoise",
            "--sigma",
            "25",
            str(tmp_path / "in"),
            "-o",
            str(tmp_path / "out"),
        ]
    )
    assert rc == 0
    assert Image.open(tmp_path / "out" / "a_denoised.png").size == (53, 37)
    assert Image.open(tmp_path / "out" / "sub" / "b_denoised.png").mode == "L"
    assert sorted(r.as_posix() for _, r in find_images([str(tmp_path / "in")])) == ["a.jpg", "sub/b.png"]


def test_outputs_are_named_as_the_app_names_downloads_and_suffix_changes_it(tmp_path, capsys):
    """One naming rule for the CLI and the app (``<stem>_<what was done>``); ``--suffix ''`` keeps the name, a suffix
    that is not a plain name is refused before any work."""
    from irae_hf.demo.downloads import download_name

    make_model("jpeg").save_pretrained(tmp_path / "model")
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (24, 32, 3), np.uint8)).save(
        tmp_path / "p.jpg", quality=20
    )
    argv = ["restore", "--model", str(tmp_path / "model"), str(tmp_path / "p.jpg"), "-o"]
    assert main([*argv, str(tmp_path / "a")]) == 0
    upload = np.zeros((2, 2, 3), np.uint8).view(type("Upload", (np.ndarray,), {}))
    upload.name = "/tmp/gradio/p.jpg"
    assert [p.name for p in (tmp_path / "a").iterdir()] == [download_name(upload, "jpeg")] == ["p_restored.png"]
    assert main([*argv, str(tmp_path / "b"), "--suffix", ""]) == 0
    assert [p.name for p in (tmp_path / "b").iterdir()] == ["p.png"]
    capsys.readouterr()
    assert main([*argv, str(tmp_path / "c"), "--suffix", "/../x"]) == 2
    assert "--suffix '/../x' must be plain characters" in capsys.readouterr().err and not (tmp_path / "c").exists()


def test_bad_files_are_reported_and_the_rest_restored(tmp_path, capsys):
    make_model("denoise").save_pretrained(tmp_path / "model")
    write_inputs(tmp_path / "in")
    (tmp_path / "in" / "broken.png").write_bytes(b"this is not a png")
    rc = main(
        [
            "restore",
            "--model",
            str(tmp_path / "model"),
            "--sigma",
            "25",
            str(tmp_path / "in"),
            "-o",
            str(tmp_path / "out"),
        ]
    )
    assert rc == 1
    assert "broken.png" in capsys.readouterr().err
    assert (tmp_path / "out" / "a_denoised.png").exists()


def test_wrong_task_and_missing_level(tmp_path, capsys):
    make_model("jpeg").save_pretrained(tmp_path / "model")
    write_inputs(tmp_path / "in")
    args = ["restore", "--model", str(tmp_path / "model"), str(tmp_path / "in" / "a.jpg"), "-o", str(tmp_path / "o")]
    assert main(args + ["--task", "denoise", "--sigma", "5"]) == 2
    assert main(args) == 0  # no --quality: auto, read from the file's JPEG tables (Pillow's default, 75)
    assert "JPEG quality 75 (read from its JPEG tables)" in capsys.readouterr().err
    make_model("inpaint").save_pretrained(tmp_path / "inpaint")
    args = ["restore", "--model", str(tmp_path / "inpaint"), str(tmp_path / "in" / "a.jpg"), "-o", str(tmp_path / "i")]
    assert main(args) == 2  # no --mask: one argument error in CLI words, before any work
    err = capsys.readouterr().err
    assert "an inpainting model needs --mask" in err and "mask=" not in err and "a 'inpaint'" not in err


def test_auto_is_the_default_level_and_is_said(tmp_path, capsys):
    from skimage import data

    from irae_hf.io.images import to_tensor, to_uint8
    from irae_hf.tasks.degradations import add_gaussian_noise

    photo = data.chelsea()
    Image.fromarray(to_uint8(add_gaussian_noise(to_tensor(photo), 20, seed=0))).save(tmp_path / "noisy.png")
    Image.fromarray(photo).save(tmp_path / "clean.png")
    make_model("denoise").save_pretrained(tmp_path / "d")
    make_model("jpeg").save_pretrained(tmp_path / "j")
    assert (
        main(["restore", "--model", str(tmp_path / "d"), str(tmp_path / "noisy.png"), "-o", str(tmp_path / "o")]) == 0
    )
    said = capsys.readouterr().err
    sigma = float(said.split("note: ")[1].split("σ ")[1].split(" ")[0])
    assert abs(sigma - 20) < 3 and "estimated from the pixels" in said
    assert (
        main(["restore", "--model", str(tmp_path / "j"), str(tmp_path / "clean.png"), "-o", str(tmp_path / "p")]) == 0
    )
    assert "no sign of JPEG compression: left unchanged" in capsys.readouterr().err
    assert np.array_equal(np.asarray(Image.open(tmp_path / "p" / "clean_restored.png")), photo)
    with pytest.raises(SystemExit):
        main(["restore", "--model", "m", "--sigma", "lots", "x.png", "-o", str(tmp_path)])


def test_a_black_frame_a_1x1_image_and_an_animation_restore_with_one_line_notes(tmp_path, capsys):
    """A flat image read σ nan and failed; a note from the reader named the file twice."""
    make_model("denoise").save_pretrained(tmp_path / "d")
    (tmp_path / "in").mkdir()
    Image.fromarray(np.zeros((32, 48, 3), np.uint8)).save(tmp_path / "in" / "black.png")
    Image.fromarray(np.full((1, 1, 3), 9, np.uint8)).save(tmp_path / "in" / "dot.png")
    frames = [Image.fromarray(np.full((16, 16, 3), v, np.uint8)) for v in (0, 200)]
    frames[0].save(tmp_path / "in" / "anim.gif", save_all=True, append_images=frames[1:])
    assert main(["restore", "--model", str(tmp_path / "d"), str(tmp_path / "in"), "-o", str(tmp_path / "o")]) == 0
    said = capsys.readouterr().err
    assert said.count("σ 0.0 (estimated from the pixels)") == 3 and "error" not in said  # the GIF is flat too
    animated = tmp_path / "in" / "anim.gif"
    assert f"note: {animated}: animated image with 2 frames" in said and said.count(str(animated)) == 2  # σ and frames
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == [
        "anim_denoised.png",
        "black_denoised.png",
        "dot_denoised.png",
    ]


def test_inpaint_with_mask_and_module_entry_point(tmp_path):
    make_model("inpaint").save_pretrained(tmp_path / "model")
    write_inputs(tmp_path / "in")
    mask = np.zeros((37, 53), np.uint8)
    mask[10:20, 10:30] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "irae_hf",
            "restore",
            "--model",
            str(tmp_path / "model"),
            "--mask",
            str(tmp_path / "mask.png"),
            str(tmp_path / "in" / "a.jpg"),
            "-o",
            str(tmp_path / "out"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert Image.open(tmp_path / "out" / "a_filled.png").size == (53, 37)


def test_restore_with_self_ensemble_matches_the_library(tmp_path):
    model = make_model("denoise")
    model.save_pretrained(tmp_path / "model")
    img = Image.fromarray(np.random.default_rng(1).integers(0, 256, (24, 28, 3), dtype=np.uint8))
    img.save(tmp_path / "x.png")
    common = ["restore", "--model", str(tmp_path / "model"), "--sigma", "25", str(tmp_path / "x.png")]
    assert main([*common, "-o", str(tmp_path / "ens"), "--ensemble"]) == 0
    assert main([*common, "-o", str(tmp_path / "plain")]) == 0
    ens, plain = (np.asarray(Image.open(tmp_path / d / "x_denoised.png")) for d in ("ens", "plain"))
    assert np.array_equal(ens, np.asarray(restore(model, img, sigma=25, ensemble=True)))
    assert not np.array_equal(ens, plain)


def test_a_big_image_gets_an_up_front_time_estimate_and_tile_progress(tmp_path, capsys, monkeypatch):
    import irae_hf.cli.restore as cli

    make_model("denoise").save_pretrained(tmp_path / "model")
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (300, 200, 3), dtype=np.uint8)).save(tmp_path / "big.png")
    Image.fromarray(rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)).save(tmp_path / "small.png")
    monkeypatch.setattr(cli, "SAY_TIME_ABOVE_PIXELS", 10_000)  # "big" for the test: 60,000 pixels
    argv = ["restore", "--model", str(tmp_path / "model"), "--sigma", "25", "--tile", "128"]
    assert main([*argv, str(tmp_path / "big.png"), str(tmp_path / "small.png"), "-o", str(tmp_path / "out")]) == 0
    err = capsys.readouterr().err
    assert "big.png: 200×300, about " in err and " s on this machine" in err and "small.png: " not in err
    assert "big.png tiles" in err  # the tile progress bar
    expected = restore(make_model("denoise"), Image.open(tmp_path / "big.png"), sigma=25, tile=128)
    assert np.array_equal(np.asarray(Image.open(tmp_path / "out" / "big_denoised.png")), np.asarray(expected))


@pytest.mark.parametrize(
    "option, kw, tolerance",
    [
        (["--precision", "bf16"], {"precision": "bf16"}, 0),
        (["--backend", "onnxruntime"], {"backend": "onnxruntime"}, 1),  # the same map; 8-bit rounding may differ by one
    ],
)
def test_precision_and_backend_match_the_library(tmp_path, option, kw, tolerance):
    if "backend" in kw:
        pytest.importorskip("onnxruntime")
    make_model("denoise").save_pretrained(tmp_path / "model")
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (40, 52, 3), dtype=np.uint8)).save(tmp_path / "a.png")
    argv = ["restore", "--model", str(tmp_path / "model"), "--sigma", "25", *option]
    assert main([*argv, str(tmp_path / "a.png"), "-o", str(tmp_path / "out")]) == 0
    ours = np.asarray(Image.open(tmp_path / "out" / "a_denoised.png"), dtype=int)
    expected = np.asarray(restore(make_model("denoise"), Image.open(tmp_path / "a.png"), sigma=25, **kw), dtype=int)
    assert np.abs(ours - expected).max() <= tolerance


@pytest.mark.parametrize(
    "args",
    [["--help"], ["restore", "--help"], ["restore", "--model", "m", "--sigma", "-5", "a.png", "-o", "o"]],
    ids=["help", "restore help", "argument error"],
)
def test_help_and_argument_errors_do_not_load_torch(args):
    """Help and argument errors come before any heavy import (torch, gradio, datasets): they are answered at once."""
    probe = (
        "import sys\nfrom irae_hf.cli import main\ntry:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
        "print('HEAVY=' + ','.join(m for m in ('torch', 'gradio', 'datasets') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.stdout.strip().endswith("HEAVY="), done.stdout[-300:] + done.stderr[-300:]
