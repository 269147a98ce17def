"""The ``irae`` command line: one module per subcommand (``restore``, ``evaluate``, ``export``), each registering its
own flags and runner; a refusal is a :class:`UsageError`, printed here as one line (exit code 2).

Importing this package loads no torch, so ``irae --help`` and argument errors answer at once.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import evaluate, export, restore
from .errors import UsageError

__all__ = ["main", "build_parser", "UsageError"]

#: the subcommands, in the order ``irae --help`` lists them
COMMANDS = (restore, evaluate, export)


def build_parser() -> argparse.ArgumentParser:
    """The parser of every subcommand, each adding its own flags and runner (``args.run``)."""
    parser = argparse.ArgumentParser(prog="irae", description="IRAE image restoration (invertible flows).")
    sub = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run a command; Ctrl-C or a termination signal ends it in one line with code 130, never a traceback."""
    import signal

    def terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, terminate) if _main_thread() else None
    try:
        return _main(argv)
    except KeyboardInterrupt:
        print("\ninterrupted: finished outputs are complete; nothing half-written was left", file=sys.stderr)
        return 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except UsageError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
