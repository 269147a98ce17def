"""Loading the app's models (a folder, a Hub id or the shipped weights) and what the page says about them."""

from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

from ..models.base import RestorationModel, WeightsError
from ..models.registry import build, load_model, split_revision
from ..tasks import TASK_NAMES, TASKS, task_of

#: the app's models by name (``pretrained/<name>``) and the task of each: one per task, and beside the Gaussian
#: denoiser (``denoise``, for noise added in the app) the camera and phone one (``denoise-real``, for uploads)
MODELS = {name: task for task in TASK_NAMES for name in TASKS[task].specialists.values() or (task,)}
ENV_VARS = {name: f"IRAE_{name.upper().replace('-', '_')}_MODEL" for name in MODELS}
#: the weights shipped beside the package in this repository (pretrained/<task>)
PRETRAINED = Path(__file__).resolve().parents[2] / "pretrained"


@dataclass
class Loaded:
    """A task's model and where it came from (shown on the page)."""

    model: RestorationModel
    source: str
    trained: bool = True
    card: str | None = None  # the model card (README.md) of the folder or Hub repo, when there is one
    note: str | None = None  # why the configured model was not used (shown on the page)


def load_models(
    sources: dict[str, str | None], device: str = "cpu", pretrained: str | Path = PRETRAINED
) -> dict[str, Loaded]:
    """Each of ``MODELS``: the given path/Hub id (``org/name@revision`` pins one), else $IRAE_<NAME>_MODEL, else
    ``pretrained/<name>``.

    A configured model that cannot be loaded (Hub unreachable and not cached, no such repo) falls back to the shipped
    weights with a visible note; a missing default folder gives an untrained (identity) model, clearly labelled, so
    the app still starts.
    """
    models = {}
    for name, task in MODELS.items():
        given = sources.get(name)
        src = given or os.environ.get(ENV_VARS[name], "").strip() or None  # an empty variable is an unset one
        named = f"--{name}-model {src}" if given else f"{ENV_VARS[name]}={src}"
        shipped = Path(pretrained) / name
        note = None
        if src is not None:
            try:
                model = load_model(src).to(device).eval()
                task_of(model)  # config.json naming a task or noise this package does not know
            except (WeightsError, ValueError) as e:
                if not (shipped / "model.safetensors").exists():
                    raise
                note, src = f"{e} — using the shipped pretrained/{name} instead", None
                warnings.warn(note, stacklevel=2)
            else:
                if model.task != task:
                    article = "an" if model.task[0] in "aeiou" else "a"
                    raise ValueError(
                        f"{named}: {article} {model.task} model, where the {task} tab needs a {task} model"
                    )
                models[name] = Loaded(model, src, card=_read_card(src))
                continue
        if not (shipped / "model.safetensors").exists():
            models[name] = Loaded(
                build("irae", task=task).to(device).eval(), f"UNTRAINED: no weights in pretrained/{name}", False
            )
            continue
        model = load_model(shipped).to(device).eval()
        models[name] = Loaded(model, f"pretrained/{name} (shipped)", card=_read_card(shipped), note=note)
    return models


def _read_card(source: str | Path) -> str | None:
    """The model card of a local folder, or of a Hub repo (``org/name@rev`` pinned) from the cache or the Hub."""
    folder = Path(source)
    if folder.is_dir():
        card = folder / "README.md"
        return card.read_text(encoding="utf-8", errors="replace") if card.is_file() else None
    try:
        from huggingface_hub import hf_hub_download

        repo, revision = split_revision(source)
        return Path(hf_hub_download(str(repo), "README.md", revision=revision)).read_text(errors="replace")
    except Exception:  # noqa: BLE001 - no card is not an error: the page says so
        return None


def card_section(card: str | None, heading: str = "Evaluation") -> str | None:
    """The text of a card's ``## heading`` section (up to the next ``## ``), or None."""
    if not card:
        return None
    found = re.search(rf"^## {re.escape(heading)}\s*$(.*?)(?=^## |\Z)", card, flags=re.M | re.S)
    return found.group(1).strip() if found else None


#: each model as the page names it
TITLES = {
    "denoise": "Denoise: synthetic Gaussian noise",
    "denoise-real": "Denoise: camera and phone photos",
    "jpeg": "JPEG",
    "inpaint": "Inpaint",
}


def trained_on(loaded: Loaded) -> str:
    """What a model was trained on, from its config.json and its task's words ("" when it does not say)."""
    said = task_of(loaded.model).noise_kinds.get(loaded.model.config.get("noise"))
    return f"; trained on {said}" if said else ""


def about_models(models: dict[str, Loaded]) -> str:
    """The "About the models" text: each model's source, size and its card's evaluation table."""
    parts = []
    for name, m in models.items():
        params = sum(p.numel() for p in m.model.parameters())
        head = f"#### {TITLES.get(name, name)}\n\n`{m.source}`, {params / 1e6:.2f} M parameters{trained_on(m)}"
        if not m.trained:
            parts.append(head + "\n\n⚠️ untrained identity model: results equal the input.")
            continue
        numbers = card_section(m.card)
        if numbers:  # cards written at different times label the time column differently: one label here
            numbers = re.sub(r"\| time \(s[^|]*\) \|", "| time (s, all images) |", numbers)
        parts.append(head + "\n\n" + (numbers or "(its model card has no evaluation section)"))
    return "\n\n".join(parts)
