"""One progress bar for all the processes of a dataset run: each process keeps its count in a small file of the
output folder (a folder every process sees: its shards go there too), and the main process's bar adds them up."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from ..io.atomic import write_file

__all__ = ["PROGRESS_DIR", "RankProgress", "AllRanksBar", "clear_progress"]

#: the per-process counts, under the output folder (never uploaded: the push takes README.md and data/ only)
PROGRESS_DIR = ".irae-progress"


def clear_progress(out_dir: Path) -> None:
    """Remove the counts of an earlier run (the main process, before any process counts)."""
    for path in (out_dir / PROGRESS_DIR).glob("*.json"):
        path.unlink(missing_ok=True)


class RankProgress:
    """This process's rows and megapixels so far, written (whole, by rename) at most every ``every`` seconds and at
    the end; the file also names the process id."""

    def __init__(self, out_dir: Path, rank: int, every: float = 0.5) -> None:
        self.path = out_dir / PROGRESS_DIR / f"{rank}.json"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.rows = self.pixels = 0
        self.every, self.last = every, 0.0
        self.write()

    def __call__(self, rows: int, pixels: int) -> None:
        self.rows, self.pixels = self.rows + rows, self.pixels + pixels
        if time.monotonic() - self.last >= self.every:
            self.write()

    def write(self) -> None:
        said = json.dumps({"pid": os.getpid(), "rows": self.rows, "pixels": self.pixels})
        write_file(self.path, lambda path: path.write_text(said), overwrite=True)
        self.last = time.monotonic()


def read_counts(out_dir: Path) -> tuple[int, int]:
    """(rows, pixels) done so far by all processes of this run (a file being replaced is read next time)."""
    rows = pixels = 0
    for path in (out_dir / PROGRESS_DIR).glob("[0-9]*.json"):  # <rank>.json, not a count being written
        try:
            counts = json.loads(path.read_text())
            rows, pixels = rows + int(counts["rows"]), pixels + int(counts["pixels"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return rows, pixels


class AllRanksBar:
    """The main process's bar (rows, MP/s, ETA) over every process's counts, refreshed by a thread every ``every``
    seconds while the run lasts; ``done`` rows were complete before it started (a resumed run)."""

    def __init__(self, out_dir: Path, total: int, done: int, every: float = 0.5, disable: bool = False) -> None:
        from tqdm.auto import tqdm

        self.out_dir, self.done, self.every = out_dir, done, every
        self.bar = tqdm(total=total, initial=done, unit="row", desc="restoring", disable=disable)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.start = time.monotonic()

    def __enter__(self) -> AllRanksBar:
        if not self.bar.disable:
            self.thread.start()
        return self

    def _run(self) -> None:
        while not self.stop.wait(self.every):
            self.update()

    def update(self) -> None:
        rows, pixels = read_counts(self.out_dir)
        self.bar.update(max(0, min(self.bar.total, self.done + rows) - self.bar.n))  # update(): tqdm's rate and ETA
        self.bar.set_postfix_str(f"{pixels / 1e6 / max(time.monotonic() - self.start, 1e-9):.2f} MP/s", refresh=False)
        self.bar.refresh()

    def __exit__(self, *_: Any) -> None:
        self.stop.set()
        if self.thread.is_alive():
            self.thread.join()
        if not self.bar.disable:
            self.update()
        self.bar.close()
