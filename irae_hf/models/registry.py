"""Every restoration network by name, and loading the right one from a folder or Hub id."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from . import dncnn, ffdnet, irae  # noqa: F401 - each architecture registers itself in ARCHS on import
from .base import ARCHS, WEIGHTS_NAME, RestorationModel, WeightsError

__all__ = ["ARCHS", "build", "load_model"]


def build(arch: str, **config: Any) -> RestorationModel:
    """A fresh model of ``arch`` ("irae", "dncnn", "ffdnet"); None values take the architecture's defaults."""
    if arch not in ARCHS:
        raise ValueError(f"unknown architecture {arch!r}; expected one of {sorted(ARCHS)}")
    return ARCHS[arch](**{k: v for k, v in config.items() if v is not None})


def load_model(source: str | Path, revision: str | None = None, **kwargs: Any) -> RestorationModel:
    """``from_pretrained`` of the class named by config.json's ``arch`` (IRAE when absent), from a folder or a Hub
    id (``org/name``, pinned with ``revision=``, or written ``org/name@revision``). Hub failures (no such repo,
    revision or file, no connection and nothing cached) are one-line :class:`WeightsError` messages."""
    source, revision = split_revision(source, revision)
    if looks_like_path(str(source)) and not os.path.isdir(source):  # a typo of a folder, not a Hub id: say so now
        what = "is a file, not a model folder" if os.path.exists(source) else "no such folder"
        raise WeightsError(f"{source}: {what} (a Hub id is ORG/NAME)")
    config_path = Path(source) / "config.json"
    try:
        if not os.path.isdir(source):
            from huggingface_hub import hf_hub_download

            config_path = Path(hf_hub_download(str(source), "config.json", revision=revision))
        if not config_path.is_file():  # default settings would be a guess at what the weights are
            raise WeightsError(f"no config.json in {source}: it says which model the weights belong to")
        try:
            arch = json.loads(config_path.read_text()).get("arch", "irae")  # folders from before it was saved: IRAE
        except (json.JSONDecodeError, AttributeError, RecursionError, UnicodeDecodeError):
            arch = "irae"  # IRAE.from_pretrained reports the broken config clearly
        if not isinstance(arch, str) or arch not in ARCHS:
            raise WeightsError(f"{source}: unknown architecture {arch!r} in config.json")
        if revision is not None:
            kwargs["revision"] = revision
    except WeightsError:
        raise
    except Exception as e:  # noqa: BLE001 - the Hub's errors, said in one line
        raise WeightsError(hub_error(str(source), revision, e)) from e
    try:
        return ARCHS[arch].from_pretrained(source, **kwargs)
    except WeightsError:
        raise
    except Exception as e:  # noqa: BLE001 - config.json came: the repo is there, the weights are not served
        raise WeightsError(hub_error(str(source), revision, e, file=WEIGHTS_NAME)) from e


def looks_like_path(source: str) -> bool:
    """Whether ``source`` can only be a local path, never a Hub id (``org/name``): it starts with ``.``, ``/`` or
    ``~``, holds a backslash or two slashes, or its first part is a folder here (``pretrained/denoize``)."""
    if source.startswith((".", "/", "~")) or "\\" in source or source.count("/") > 1:
        return True
    head = source.split("/", 1)[0]
    return "/" in source and os.path.isdir(head)


def split_revision(source: str | Path, revision: str | None = None) -> tuple[str | Path, str | None]:
    """``("org/name", "rev")`` from ``"org/name@rev"`` (a Hub id, not a local folder); an explicit ``revision``
    wins."""
    text = str(source)
    if "@" in text and not os.path.exists(text):
        text, _, pinned = text.partition("@")
        return text, revision or pinned or None
    return source, revision


def hub_error(source: str, revision: str | None, error: Exception, file: str | None = None) -> str:
    """One line saying why a Hub model could not be loaded (``file``: the repo is known to exist, this file
    could not be had; some mirrors answer "repository not found" for a missing file)."""
    from huggingface_hub import constants
    from huggingface_hub.errors import (
        EntryNotFoundError,
        LocalEntryNotFoundError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    where = f"{source}" + (f"@{revision}" if revision else "")
    if isinstance(error, RevisionNotFoundError):
        return f"{where}: no such revision on {constants.ENDPOINT}"
    if isinstance(error, RepositoryNotFoundError) and file:
        return f"{where}: no {file} in Hub repo {source} (only safetensors weights are loaded)"
    if isinstance(error, RepositoryNotFoundError):  # some mirrors say so for a missing revision too
        what = "model repository or revision" if revision else "model repository"
        return f"{where}: no such {what} on {constants.ENDPOINT} (or it is private: log in)"
    if isinstance(error, (LocalEntryNotFoundError, OfflineModeIsEnabled)):
        return (
            f"{where}: cannot reach {constants.ENDPOINT} and the model is not in the cache "
            f"({constants.HF_HUB_CACHE}); check the connection, HF_ENDPOINT or HF_HUB_OFFLINE"
        )
    if isinstance(error, EntryNotFoundError):
        return f"{where}: the repository has no {getattr(error, 'filename', None) or 'config.json'}"
    if isinstance(error, (OSError, ValueError)):
        return f"{where}: {str(error).splitlines()[0] if str(error) else type(error).__name__}"
    return f"{where}: {type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
