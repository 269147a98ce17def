"""Serving many clients: lanes that keep small photos from waiting behind big ones, stopping work whose client has
gone, and the app's own time estimates."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import gradio as gr

from ..tasks import TASKS

SAY_TIME_ABOVE_PIXELS = 2_000_000  # bigger photos get an up-front time estimate in the progress bar


class RunTimes:
    """Seconds per megapixel of this server's recent restorations, per (task, ensemble, precision): the time the
    progress bar says up front is this server's own measure, not Gradio's average over photos of every size."""

    def __init__(self, keep: int = 5):
        self.keep, self.seen, self._lock = keep, {}, threading.Lock()

    def record(self, variant: tuple, megapixels: float, seconds: float) -> None:
        with self._lock:
            self.seen[variant] = (self.seen.get(variant, []) + [seconds / max(megapixels, 0.01)])[-self.keep :]

    def estimate(self, variant: tuple, megapixels: float) -> float | None:
        """The median seconds per megapixel of the last runs times ``megapixels``; None before the first run."""
        with self._lock:
            rates = sorted(self.seen.get(variant, []))
        return rates[len(rates) // 2] * max(megapixels, 0.01) if rates else None


TIMES = RunTimes()


class NoEta:
    """Stands in for Gradio's per-event average run time, so that its progress bar shows no ETA (that average mixes
    photos of every size and the self-ensemble: "0.4/25.1 s" on a 6 s job); the app's own estimate is in the text."""

    avg_time = None
    process_time = count = 0

    def add(self, seconds: float) -> None:
        return None


def hide_gradio_eta(demo: gr.Blocks) -> None:
    """Gradio's ETA off for the restorations (called after ``demo.queue``); the app says its own time instead. Only
    events without a Gradio concurrency limit (they wait in ``LANES``): Gradio sums average times where one is set."""
    queue = getattr(demo, "_queue", None)
    for fn in getattr(demo, "fns", {}).values():
        if queue is not None and fn.api_name in {*TASKS, "recover"} and fn.concurrency_limit is None:
            queue.process_time_per_fn[fn] = NoEta()


class ClientGone(gr.Error):
    """The client of this request disconnected: its work stops (nobody would see the result)."""

    def __init__(self) -> None:
        super().__init__("The client disconnected: the work was stopped.")


def client_gone() -> bool:
    """Whether the client of the request this thread serves has disconnected (Gradio then marks its event not alive;
    outside a Gradio request, or where Gradio keeps no such mark, the answer is no)."""
    try:
        from gradio.context import LocalContext

        event_id, blocks = LocalContext.event_id.get(None), LocalContext.blocks.get(None)
        for jobs in blocks._queue.active_jobs if event_id and blocks else []:
            for event in jobs or []:
                if event._id == event_id:
                    return not event.alive
    except Exception:  # noqa: BLE001 - Gradio internals moved: never stop a request on a guess
        return False
    return False


class Lanes:
    """Two lanes of restorations: photos up to ``SAY_TIME_ABOVE_PIXELS`` share ``small`` slots, bigger ones run
    ``large`` at a time beside them (so a small photo never waits behind a 40-megapixel one), and at most
    ``large_waiting`` big photos wait; more are refused in words. Waiting stops when the client disconnects."""

    def __init__(self, small: int = 1, large: int = 1, large_waiting: int = 2):
        self.small, self.large = threading.BoundedSemaphore(small), threading.BoundedSemaphore(large)
        self.inverse = threading.BoundedSemaphore(1)  # the float64 exact inverse: one at a time, beside restorations
        self.large_waiting, self._waiting, self._lock = large_waiting, 0, threading.Lock()

    def inverse_slot(self) -> contextlib.AbstractContextManager:
        """Hold the exact inverse's one slot."""
        return self._held(self.inverse)

    def slot(self, pixels: int) -> contextlib.AbstractContextManager:
        """Hold a slot of the lane for an image of ``pixels`` while restoring it."""
        if pixels <= SAY_TIME_ABOVE_PIXELS:
            return self._held(self.small)
        with self._lock:
            if self._waiting >= self.large_waiting:
                raise gr.Error(
                    f"The server is busy with {self._waiting} large photos; try again in a few minutes, or use the "
                    "command line (irae restore) for big batches."
                )
            self._waiting += 1
        return self._held(self.large, counted=True)

    @contextlib.contextmanager
    def _held(self, lane: threading.BoundedSemaphore, counted: bool = False) -> Iterator[None]:
        try:
            while not lane.acquire(timeout=0.5):
                if client_gone():
                    raise ClientGone
        finally:
            if counted:
                with self._lock:
                    self._waiting -= 1
        try:
            yield
        finally:
            lane.release()


LANES = Lanes()
