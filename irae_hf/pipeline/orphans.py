"""Processes that stop when the process that started them is gone: loader workers (dataset runs, training) and, under a
launcher, its processes. A killed rank or launcher leaves nothing asleep behind it (a loader worker would otherwise
wait forever to hand its last rows to a reader that is dead, and a rank at a barrier for a peer that is dead)."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

__all__ = ["stop_with_parent", "stop_worker_with_parent", "stop_with_launcher"]

#: how often the watch looks at its parent, in seconds
POLL_SECONDS = 0.5
#: seconds a process whose launcher is gone has to stop cleanly (SIGTERM) before it exits at once
LAUNCHER_GRACE = 10.0


def stop_with_parent(parent: int, grace: float = 0.0) -> threading.Thread:
    """Watch from a daemon thread that ``parent`` is still this process's parent. Once it is not: with ``grace`` 0,
    exit at once; else SIGTERM this process (Python stops as on Ctrl-C, cleaning up) and, if that has not ended it
    after ``grace`` seconds (a wait inside C++, such as a barrier), exit at once."""
    watch = threading.Thread(target=_watch, args=(parent, grace), name="stop-with-parent", daemon=True)
    watch.start()
    return watch


def stop_worker_with_parent(parent: int, worker_id: int) -> None:
    """A DataLoader ``worker_init_fn`` (bound to the loader's process with ``functools.partial``): the worker exits
    when that process is gone."""
    stop_with_parent(parent)


def stop_with_launcher(num_processes: int) -> None:
    """For one of ``num_processes`` processes: when there are several (a launcher started them: accelerate launch,
    torchrun), stop when the launcher is gone, rather than go on training or wait at a barrier for nobody."""
    if num_processes > 1:
        stop_with_parent(os.getppid(), grace=LAUNCHER_GRACE)


def _watch(parent: int, grace: float) -> None:
    """The watch thread: poll the parent, then stop this process."""
    while os.getppid() == parent:
        time.sleep(POLL_SECONDS)
    if grace > 0:
        print(f"process {os.getpid()}: the process that started it ({parent}) is gone; stopping", file=sys.stderr)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(grace)
    os._exit(130)
