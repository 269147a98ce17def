"""No code from weights or configs is ever executed; the app binds to loopback and names its own files."""

import re
from pathlib import Path

import numpy as np

import app

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
    assert args.host == "127.0.0.1" and not args.share and args.max_file_size and args.queue_size > 0


def test_downloads_get_generated_names(tmp_path, monkeypatch):
    monkeypatch.setattr(app, "OUT_DIR", tmp_path)
    path = Path(app._save_png(np.zeros((4, 4, 3), np.uint8), "denoise"))
    assert path.parent == tmp_path and re.fullmatch(r"irae-denoise-[0-9a-f]{12}\.png", path.name)
