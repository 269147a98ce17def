"""Full-resolution downloads: named after the upload, one random folder per request, swept after an hour."""

from __future__ import annotations

import re
import shutil
import tempfile
import threading
import time
import uuid
from pathlib import Path

import numpy as np

OUT_DIR = Path(tempfile.gettempdir()) / "irae-app"

KEEP_DOWNLOADS_S = 3600


def download_name(image: np.ndarray, task: str) -> str:
    """``<the upload's stem>_<done>.png`` (the CLI's rule) with the stem reduced to safe characters, else
    ``irae_<done>.png``."""
    from ..tasks import TASKS

    stem = Path(getattr(image, "name", None) or "").stem
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._-")[:80]
    return f"{safe or 'irae'}_{TASKS[task].done}.png"


_SWEEPING = threading.Lock()


def sweep_old_downloads() -> None:
    """Delete downloads older than an hour, so the folder does not pile up; one sweep at a time (a request that finds
    one running skips it), and a file that vanishes meanwhile (another server, a manual clean) is no error."""
    if not _SWEEPING.acquire(blocking=False):
        return
    try:
        now = time.time()
        for old in OUT_DIR.iterdir():
            try:
                if now - old.lstat().st_mtime > KEEP_DOWNLOADS_S:
                    shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink(missing_ok=True)
            except OSError:
                continue
    except OSError:  # the folder itself vanished or cannot be listed: nothing to sweep
        pass
    finally:
        _SWEEPING.release()


def save_png(image: np.ndarray, task: str, like: np.ndarray | None = None, deep: np.ndarray | None = None) -> str:
    """Full-resolution PNG for download, named after the upload (``like``), in a folder of its own per request; a
    16-bit PNG of ``deep`` (H×W×3 uint16) when the upload was a 16-bit colour file."""
    from PIL import Image

    from ..io.images import save_image
    from ..io.sixteen_bit import attach

    OUT_DIR.mkdir(parents=True, exist_ok=True)
    sweep_old_downloads()
    folder = OUT_DIR / uuid.uuid4().hex[:12]
    folder.mkdir()
    path = folder / download_name(image if like is None else like, task)
    save_image(attach(deep) if deep is not None else Image.fromarray(np.asarray(image)), path)
    return str(path)
