"""Writing output files so that a reader never sees half a file and no one else's file is overwritten.

Each file is written whole under a hidden temporary name in its final folder, then given its name in one step:
``os.replace`` when replacing is allowed, otherwise a hard link that fails if the name was taken meanwhile (by
another process writing into the same folder), so the no-overwrite promise holds at the moment of writing. An
interrupted write (Ctrl-C, a kill) leaves at most a hidden ``.*.irae-partial*`` file, never a broken output.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from pathlib import Path

__all__ = ["write_file", "partial_name", "OutputExists", "PARTIAL", "folder_problem", "file_problem"]

#: the mark in the name of a file being written: such a file is never an output, nor an input
PARTIAL = ".irae-partial-"


class OutputExists(FileExistsError):
    """The output's name was taken (by another run, or since the plan was made) and replacing was not allowed."""


def partial_name(target: Path) -> Path:
    """A hidden temporary name beside ``target`` that keeps its suffix (writers pick the format by it); the stem is
    cut to 64 bytes, so that a name the file system allows is never too long for its temporary one."""
    stem = target.stem.encode()[:64].decode(errors="ignore")
    return target.with_name(f".{stem}{PARTIAL}{uuid.uuid4().hex[:8]}{target.suffix}")


def write_file(target: str | Path, write: Callable[[Path], None], overwrite: bool = False) -> Path:
    """Call ``write(path)`` on a temporary path beside ``target``, then give the finished file ``target``'s name.

    Without ``overwrite`` an existing ``target`` is left alone and :class:`OutputExists` is raised, even when the
    name was taken by another process between any earlier check and this call.
    """
    target = Path(target)
    partial = partial_name(target)
    try:
        write(partial)
        if overwrite:
            os.replace(partial, target)
        else:
            _link_new(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def _link_new(partial: Path, target: Path) -> None:
    """``target`` as a new name of the finished ``partial``; fails if ``target`` exists (atomically)."""
    try:
        os.link(partial, target)
    except FileExistsError:
        raise OutputExists(f"{target} already exists (written by another run meanwhile?): not replaced") from None
    except OSError:  # a file system without hard links: create the name exclusively, then copy the bytes in
        try:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            raise OutputExists(f"{target} already exists (written by another run meanwhile?): not replaced") from None
        with os.fdopen(fd, "wb") as out, open(partial, "rb") as src:
            while chunk := src.read(1 << 20):
                out.write(chunk)


def folder_problem(folder: str | Path, flag: str = "-o") -> str | None:
    """Why outputs cannot be written under ``folder`` (created here if missing), found before any work; or None."""
    import tempfile

    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".irae-write-test-"):
            pass
    except FileExistsError:
        return f"{flag} {folder}: a file of that name is in the way (the output is a folder)"
    except NotADirectoryError:
        return f"{flag} {folder}: a part of that path is a file, not a folder"
    except OSError as e:
        return f"{flag} {folder}: cannot write there ({e.strerror or type(e).__name__})"
    return None


def file_problem(target: str | Path, flag: str) -> str | None:
    """Why the file ``target`` cannot be written (a folder in the way, its folder unwritable), found before any work;
    or None. Nothing is left behind but the folders it needs."""
    target = Path(target)
    if target.is_dir():
        return f"{flag} {target}: a folder of that name is in the way (the output is a file)"
    return folder_problem(target.parent, flag=f"{flag} {target}: its folder")
