"""Run a program with one of its functions gated by the test that started it, so that a signal meets work still in
progress however fast or loaded the machine is (no sleeps, no "enough images", no race).

    python tests/gated.py MODULE:FUNCTION [before|inside|after] -- SCRIPT.py ARGS...   (or -- -m MODULE ARGS...)

At the gate the program writes one byte to the file descriptor in ``$GATE_FD`` (it has arrived) and waits for one line
on stdin (the test lets it go; end of input lets every call go). ``before`` (the default) gates each call before it
runs; ``after`` once it has returned; ``inside`` inside it: the call's second argument, a writer (as
``irae_hf.io.atomic.write_file`` takes one), runs and then the gate holds, so a signal lands after a file is written and
before it is given its name.
"""

from __future__ import annotations

import functools
import importlib
import os
import runpy
import signal
import sys


def gate() -> None:
    """Say "arrived" on $GATE_FD, then wait for the test's line on stdin."""
    os.write(int(os.environ["GATE_FD"]), b".")
    sys.stdin.readline()


def gated(function, where: str):
    """``function`` with the gate before it, after it, or (``inside``) after its writer argument has run."""

    @functools.wraps(function)
    def call(*args, **kwargs):
        if where == "before":
            gate()
            return function(*args, **kwargs)
        if where == "after":
            result = function(*args, **kwargs)
            gate()
            return result
        target, write, *rest = args

        def write_then_wait(path):
            write(path)
            gate()

        return function(target, write_then_wait, *rest, **kwargs)

    return call


def main(argv: list[str]) -> None:
    # Ctrl-C as a terminal delivers it: a shell starting the test run in the background (CI, nohup, &) leaves SIGINT
    # ignored, and Python keeps ignoring a signal ignored at its start, so the interrupted work would just finish
    signal.signal(signal.SIGINT, signal.default_int_handler)
    split = argv.index("--")
    (target, *mode), program = argv[:split], argv[split + 1 :]
    module_name, name = target.split(":")
    module = importlib.import_module(module_name)
    setattr(module, name, gated(getattr(module, name), mode[0] if mode else "before"))
    if program[0] == "-m":
        sys.argv = [program[1], *program[2:]]
        runpy.run_module(program[1], run_name="__main__", alter_sys=True)
    else:
        sys.argv = program
        runpy.run_path(program[0], run_name="__main__")


if __name__ == "__main__":
    main(sys.argv[1:])
