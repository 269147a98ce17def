"""Which files a command reads and what it writes: inputs found in folders, masks matched to them, output names
planned whole before the first is written, and images fitted to the output format."""

from __future__ import annotations

import errno
from collections.abc import Iterator, Sequence
from pathlib import Path

from PIL import Image

from ..io.atomic import PARTIAL
from ..io.formats import IMAGE_SUFFIXES

__all__ = ["shown", "find_images", "mask_for", "plan_outputs", "suffix_problem", "check_outputs", "fit_format"]


def shown(path: Path, most: int = 120) -> str:
    """``path`` for a message, its middle elided when it is longer than ``most`` characters."""
    text = str(path)
    return text if len(text) <= most else f"{text[: most // 2]}…{text[-most // 2 :]}"


def find_images(inputs: Sequence[str], skipped: list[str] | None = None) -> Iterator[tuple[Path, Path]]:
    """(file, path relative to its input root) for files given directly and image files under folders.

    What is passed over is said in ``skipped``: anything that is not a regular file (a FIFO would block the
    reader forever, a device never ends), and files in folders whose names are not of an image format this
    reader knows (``.heic``, no suffix), which can still be given directly to be tried.
    """
    skipped = [] if skipped is None else skipped
    for item in inputs:
        p = Path(item)
        try:
            p.stat()
        except OSError as e:  # a name too long for the file system, a path through a file: said, not a traceback
            if e.errno not in (errno.ENOENT,):  # a missing file is said where it is read, with the others
                skipped.append(f"{shown(p)}: cannot be opened ({e.strerror}): skipped")
                continue
        if p.is_dir():
            others = []
            for f in sorted(p.rglob("*")):
                if f.is_dir() or PARTIAL in f.name:
                    continue
                if not f.is_file():
                    skipped.append(f"{f}: not a regular file (a pipe, socket or device): skipped")
                elif f.suffix.lower() in IMAGE_SUFFIXES:
                    yield f, f.relative_to(p)
                else:
                    others.append(f.name)
            if others:
                names = ", ".join(others[:5]) + (f" and {len(others) - 5} more" if len(others) > 5 else "")
                skipped.append(
                    f"{p}: skipped {len(others)} file(s) not named as an image this reader knows ({names}); "
                    "give a file directly to try it anyway"
                )
        elif p.exists() and not p.is_file():
            skipped.append(f"{p}: not a regular file (a pipe, socket or device): skipped")
        else:
            yield p, Path(p.name)


def mask_for(mask_arg: str | None, rel: Path, max_pixels: int | None) -> Image.Image | None:
    """The mask for input ``rel``: the one mask file, or the file in a mask folder with exactly its relative path
    and stem (any image suffix); several candidates are an error, never a guess."""
    if mask_arg is None:
        return None
    from ..io.images import load_image

    m = Path(mask_arg)
    if m.is_dir():
        folder = m / rel.parent
        candidates = sorted(
            p for p in (folder.iterdir() if folder.is_dir() else [])
            if p.is_file() and p.stem == rel.stem and p.suffix.lower() in IMAGE_SUFFIXES
        )  # fmt: skip
        if len(candidates) != 1:
            found = "none" if not candidates else ", ".join(p.name for p in candidates)
            raise ValueError(f"needs exactly one mask named {rel.stem}.* in {folder} (found {found})")
        m = candidates[0]
    return load_image(m, max_pixels)


def plan_outputs(
    files: list[tuple[Path, Path]], out_dir: Path, fmt: str, suffix: str = ""
) -> tuple[list[Path], list[str]]:
    """One output path per input (``rel`` + ``suffix``, with the format's extension: ``photo_denoised.png``);
    inputs whose names would collide (``a.png`` and ``a.jpg``) get ``-1``, ``-2``, ... in input order. Returns the
    targets and notes on renames."""
    first = [out_dir / rel.with_name(f"{rel.stem}{suffix}.{fmt}") for _, rel in files]
    groups: dict[Path, list[int]] = {}
    for i, target in enumerate(first):
        groups.setdefault(target, []).append(i)
    targets, notes = list(first), []
    for target, members in groups.items():
        if len(members) > 1:
            for k, i in enumerate(members, 1):
                targets[i] = target.with_name(f"{target.stem}-{k}{target.suffix}")
            names = ", ".join(str(files[i][0]) for i in members)
            notes.append(f"note: {names} share the output name {target.name}: written as {target.stem}-1.., in order")
    return targets, notes


def suffix_problem(suffix: str | None) -> str | None:
    """Why ``--suffix`` cannot be part of a file name (a path separator, a control character), or None."""
    if suffix and (any(c in suffix for c in "/\\\0") or not suffix.isprintable()):
        return f"--suffix {suffix!r} must be plain characters of a file name (no /, \\ or control characters)"
    return None


def check_outputs(files: list[tuple[Path, Path]], targets: list[Path], overwrite: bool) -> str | None:
    """Why writing ``targets`` must not start (an input would be overwritten; existing outputs without
    ``--overwrite``), or None."""
    inputs = {path.resolve() for path, _ in files if path.exists()}
    clobbered = [t for t in targets if t.resolve() in inputs]
    if clobbered:
        return f"the output {clobbered[0]} is an input: choose another output folder (-o) or --format"
    existing = [t for t in targets if t.exists()]
    if existing and not overwrite:
        more = f" and {len(existing) - 1} more" if len(existing) > 1 else ""
        verb = "already exist" if more else "already exists"
        return f"{existing[0]}{more} {verb}: choose another output folder or pass --overwrite"
    return None


#: the image modes each output format stores as they are (others are converted, with a note)
KEEPS = {
    "png": {"1", "L", "LA", "RGB", "RGBA", "I;16"},
    "tiff": {"1", "L", "LA", "RGB", "RGBA", "I;16", "I", "F"},
    "webp": {"RGB", "RGBA"},
    "jpg": {"L", "RGB"},
}


def fit_format(image: Image.Image, fmt: str) -> tuple[Image.Image, str | None]:
    """``image`` in a mode ``fmt`` can store, and a note when bit depth, range or alpha had to change."""
    from ..io.sixteen_bit import DEEP, deep_pixels

    if fmt in ("webp", "jpg") and deep_pixels(image) is not None:  # PNG and TIFF keep 16-bit colour (save_image)
        plain = image.copy()
        plain.info.pop(DEEP)
        converted, note = fit_format(plain, fmt)
        said = f"16-bit colour saved as 8 bits in .{fmt} (use --format png or tiff to keep 16 bits)"
        return converted, said + (f"; {note}" if note else "")
    if image.mode in KEEPS[fmt]:
        return image, None
    import numpy as np

    if image.mode in ("I", "F", "I;16", "I;16B", "I;16L", "I;16N"):
        from ..io.images import value_top

        arr = np.asarray(image, dtype=np.float64)
        top = value_top(image.mode, arr)
        if fmt == "png" and top == 65535.0:
            return Image.fromarray(np.round(arr).clip(0, 65535).astype(np.uint16)), None  # 16 bits, exact
        grey = Image.fromarray(np.round(arr / top * 255).clip(0, 255).astype(np.uint8), mode="L")
        grey = grey if fmt != "webp" else grey.convert("RGB")
        return (
            grey,
            f"{image.mode} ({'float' if image.mode == 'F' else 'integer'} grey) saved as 8 bits in .{fmt}; use "
            "--format tiff to keep it",
        )
    if fmt == "jpg":
        target = "L" if image.mode in ("L", "LA") else "RGB"
    else:
        target = "RGBA" if "A" in image.mode else "RGB"
    converted = image.convert(target)
    lost = "alpha dropped" if "A" in image.mode and "A" not in target else f"{image.mode} stored as {target}"
    return converted, f"{lost} in .{fmt} (use --format png or tiff to keep it)"
