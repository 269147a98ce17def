"""What a model's card says that depends on its task: what it was trained on, when to use it, its Hub name, and
its evaluation as model-index entries. Every card gets ``card_words(model)`` (``irae_hf`` hands it to the models
layer); ``model_card_kwargs=card_words(model, evaluation)`` adds the evaluation."""

from __future__ import annotations

from typing import Any

__all__ = ["card_words"]


def card_words(model: Any, evaluation: dict | None = None, model_id: str | None = None) -> dict[str, Any]:
    """``model_card_kwargs`` for ``model`` (anything with ``task`` and ``config``): the task's words, and with an
    ``irae evaluate`` JSON (``{"data": name, "rows": [...]}``) this model's PSNR/SSIM rows as model-index."""
    from . import task_of

    task, noise = task_of(model), model.config.get("noise")
    words = {"trained_on": task.noise_kinds.get(noise), "when_to_use": task.noise_use.get(noise)}
    results = _eval_results(model, task.label, evaluation)
    if results:
        words["eval_results"] = results
        words["model_name"] = model_id or f"irae-{task.specialists.get(noise, task.name)}"
    return words


def _eval_results(model: Any, label: str, evaluation: dict | None) -> list:
    """model-index entries (PSNR and SSIM per level, ``label`` naming the level) for this model's rows of an
    ``irae evaluate`` JSON."""
    from huggingface_hub import EvalResult

    if not evaluation:
        return []
    data = str(evaluation.get("data", "images"))
    out = []
    for row in evaluation.get("rows", []):
        if row.get("method") != type(model).__name__:
            continue
        for metric in ("psnr", "ssim"):
            if metric in row:
                out.append(
                    EvalResult(
                        task_type="image-to-image",
                        task_name=f"{model.task} ({label} {row['setting']})",
                        dataset_type=data,
                        dataset_name=data,
                        metric_type=metric,
                        metric_name=f"{metric.upper()} ({label} {row['setting']})",
                        metric_value=round(float(row[metric]), 4),
                    )
                )
    return out
