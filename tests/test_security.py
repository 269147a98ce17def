"""No code from weights or configs is ever executed; the app binds to loopback and chooses its own folders."""

import re
from pathlib import Path

import numpy as np

import app
from irae_hf.demo import downloads, uploads

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [*sorted((ROOT / "irae_hf").glob("*.py")), ROOT / "app.py", ROOT / "train_accelerate.py"]


def test_no_pickle_or_remote_code_anywhere():
    pattern = re.compile(r"torch\.load\(|pickle\.loads?\(|trust_remote_code|(?<![.\w])eval\(|(?<![.\w])exec\(")
    offenders = [
        f"{p.name}:{i}" for p in SOURCES for i, line in enumerate(p.read_text().splitlines(), 1) if pattern.search(line)
    ]
    assert offenders == []


def test_app_defaults_to_loopback_and_bounded_uploads():
    args = app.parse_args([])
    assert app.address(args, {}) == ("127.0.0.1", 7860) and not args.share and args.max_file_size
    assert args.queue_size > 0


def test_downloads_are_sanitised_names_in_a_generated_folder(tmp_path, monkeypatch):
    """A download is named after the upload, reduced to safe characters, in a random folder per request: a file
    name from a user never picks the folder, and two requests never share a path."""
    monkeypatch.setattr(downloads, "OUT_DIR", tmp_path)
    upload = np.zeros((4, 4, 3), np.uint8).view(uploads.Upload)
    upload.name = "../../etc/x y;rm -rf.png"
    paths = [Path(downloads.save_png(np.zeros((4, 4, 3), np.uint8), "denoise", like=upload)) for _ in range(2)]
    for path in paths:
        assert path.parent.parent == tmp_path and re.fullmatch(r"[0-9a-f]{12}", path.parent.name)
        assert path.name == "x_y_rm_-rf_denoised.png"
    assert paths[0] != paths[1]
