"""The app's command line and environment, checked in one line each before Gradio is imported (Gradio reads
GRADIO_SERVER_PORT at import and fails there with a traceback). No Gradio import here."""

from __future__ import annotations

import argparse
import os
import re

from ..cli.args import count_arg, device_arg  # one check of a count and a device for the CLI and the app
from ..io import formats
from .models import ENV_VARS, MODELS

__all__ = ["parse_args", "address", "check_environment", "file_size", "pixel_limit"]

#: the most restorations of small photos at once, and the longest queue, a flag may ask for
MAX_CONCURRENCY, MAX_QUEUE = 64, 10_000


def file_size(text: str) -> str:
    """argparse type: an upload limit as Gradio takes it (``50mb``, ``2gb``, ``1000000``), checked here."""
    if not re.fullmatch(r"\s*\d+(\.\d+)?\s*(b|kb|mb|gb)?\s*", text, flags=re.IGNORECASE):
        raise argparse.ArgumentTypeError(f"--max-file-size must be a size such as 50mb, 2gb or 1000000, got {text!r}")
    return text.strip().lower()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The app's flags; a bad value is one argparse error line (exit 2), never a traceback or a hang."""
    p = argparse.ArgumentParser(description="IRAE restoration demo")
    for name in MODELS:
        p.add_argument(
            f"--{name}-model",
            dest=name,
            help=f"folder or Hub id, ORG/NAME@REVISION to pin one (default ${ENV_VARS[name]} or pretrained/{name})",
        )
    p.add_argument("--device", default="cpu", type=device_arg, help="torch device, e.g. cpu or cuda")
    p.add_argument("--host", help="bind address (default $GRADIO_SERVER_NAME, as a Space sets it, else 127.0.0.1)")
    p.add_argument("--port", type=count_arg("--port", 1, 65535), help="port (default $GRADIO_SERVER_PORT, else 7860)")
    p.add_argument("--share", action="store_true")
    p.add_argument(
        "--concurrency",
        type=count_arg("--concurrency", 1, MAX_CONCURRENCY),
        default=1,
        help="photos up to 2 MP restored at once; bigger ones run one at a time in a lane of their own beside them",
    )
    p.add_argument(
        "--queue-size", type=count_arg("--queue-size", 1, MAX_QUEUE), default=32, help="requests waiting at most"
    )
    p.add_argument("--max-file-size", default="50mb", type=file_size, help="largest upload")
    return p.parse_args(argv)


def pixel_limit(environ: dict | None = None) -> int:
    """The app's largest upload in pixels: $IRAE_MAX_PIXELS (lower it on a small server or a free Space), else the
    package's limit (``formats.MAX_PIXELS``, 40 megapixels, which it cannot exceed)."""
    text = (os.environ if environ is None else environ).get("IRAE_MAX_PIXELS")
    if text is None:
        return formats.MAX_PIXELS
    try:
        value = int(float(text))
    except (ValueError, OverflowError):  # words, inf
        value = 0
    if not 1 <= value <= formats.MAX_PIXELS:
        raise SystemExit(
            f"error: IRAE_MAX_PIXELS must be a number of pixels from 1 to {formats.MAX_PIXELS}, got {text!r}"
        )
    return value


def _port(text: str) -> int | None:
    try:
        value = int(text)
    except ValueError:
        return None
    return value if 1 <= value <= 65535 else None


def check_environment(environ: dict | None = None) -> None:
    """SystemExit with one line when GRADIO_SERVER_PORT or IRAE_MAX_PIXELS is not usable (before Gradio reads it)."""
    environ = os.environ if environ is None else environ
    port = environ.get("GRADIO_SERVER_PORT")
    if port is not None and _port(port) is None:
        raise SystemExit(f"error: GRADIO_SERVER_PORT must be a port number from 1 to 65535, got {port!r}")
    pixel_limit(environ)


def address(args: argparse.Namespace, environ: dict | None = None) -> tuple[str, int]:
    """Where to listen: --host / --port, else Gradio's GRADIO_SERVER_NAME / GRADIO_SERVER_PORT (a Hugging Face Space
    sets 0.0.0.0:7860), else 127.0.0.1:7860, loopback only."""
    environ = os.environ if environ is None else environ
    host = args.host or environ.get("GRADIO_SERVER_NAME") or "127.0.0.1"
    if args.port:
        return host, args.port
    text = environ.get("GRADIO_SERVER_PORT") or "7860"
    port = _port(text)
    if port is None:
        raise SystemExit(f"error: GRADIO_SERVER_PORT must be a port number from 1 to 65535, got {text!r}")
    return host, port
