"""A process watching its parent stops when the parent is killed: at once, cleanly on SIGTERM, or after the grace
period when SIGTERM cannot stop it (a wait inside C++)."""

import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import outlived

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")

#: the watched process: starts the watch on its parent, says it is ready, then sleeps (SIGTERM as MODE says)
WATCHED = """
import os, signal, sys, time
from pathlib import Path
from irae_hf.pipeline.orphans import stop_with_parent
mode, folder = sys.argv[1], Path(sys.argv[2])
def cleanup(signum, frame):
    (folder / "cleaned").write_text("yes")
    sys.exit(130)
if mode == "ignore":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
elif mode == "clean":
    signal.signal(signal.SIGTERM, cleanup)
stop_with_parent(os.getppid(), grace=0.0 if mode == "now" else 2.0)
(folder / "pid").write_text(str(os.getpid()))
time.sleep(600)
"""
#: its parent: starts it, then sleeps until killed
PARENT = """
import subprocess, sys, time
subprocess.Popen([sys.executable, "-c", sys.argv[1], *sys.argv[2:]])
time.sleep(600)
"""


def _seconds_to_stop_after_parent_killed(tmp_path: Path, mode: str) -> float:
    """Start parent and watched process, SIGKILL the parent, and time the watched one's end (it is killed if it
    outlives 20 s: ``outlived``)."""
    command = [sys.executable, "-c", PARENT, WATCHED, mode, str(tmp_path)]
    parent = subprocess.Popen(command, cwd=Path(__file__).parents[1])
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "pid").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert (tmp_path / "pid").exists(), "the watched process did not start"
    finally:
        parent.kill()
        parent.wait()
    start = time.monotonic()
    outlived(str(tmp_path), 20)  # the watched process alone names tmp_path now
    return time.monotonic() - start


def test_a_watched_process_exits_soon_after_its_parent_is_killed(tmp_path):
    assert _seconds_to_stop_after_parent_killed(tmp_path, "now") < 5


def test_with_a_grace_period_it_first_stops_cleanly_on_sigterm(tmp_path):
    assert _seconds_to_stop_after_parent_killed(tmp_path, "clean") < 5
    assert (tmp_path / "cleaned").read_text() == "yes"


def test_when_sigterm_cannot_stop_it_it_exits_after_the_grace_period(tmp_path):
    seconds = _seconds_to_stop_after_parent_killed(tmp_path, "ignore")
    assert 2 <= seconds < 10
    assert not (tmp_path / "cleaned").exists()
