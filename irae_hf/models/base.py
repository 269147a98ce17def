"""The base class of every restoration network here: ``forward(x, cond)``, tensors in and tensors out, and Hub
saving/loading (safetensors only, strict, with clear errors). IRAE, DnCNN and FFDNet subclass it. The task's level
becomes ``cond`` one layer up (``irae_hf.tasks.condition``); images and tiling live in ``irae_hf/pipeline/``.
"""

from __future__ import annotations

import copy
import inspect
import json
import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import torch
from huggingface_hub import PyTorchModelHubMixin, constants, hf_hub_download
from huggingface_hub.errors import EntryNotFoundError
from torch import Tensor, nn

from .cards import fill_card, task_words

__all__ = ["RestorationModel", "WeightsError", "WEIGHTS_NAME", "SIZE_LIMITS", "MAX_PARAMETERS"]

WEIGHTS_NAME = constants.SAFETENSORS_SINGLE_FILE  # "model.safetensors"

#: the largest sizes a configuration may ask for (the paper's model: 3 channels, width 64, depth 16, 2 scales)
SIZE_LIMITS = {"channels": 4, "width": 1024, "depth": 64, "scales": 6}
#: the most parameters a configuration may ask for (74× the paper's 1.35 M; width 1024 × depth 64 × 6 scales is 2.2 G)
MAX_PARAMETERS = 100_000_000


#: config.json keys renamed since weights were first saved, old -> new: folders saved before still load
RENAMED_KEYS = {"levels": "scales"}  # a flow's scales, once called levels (a word the tasks use for strength)


#: inference precisions: fp32 (exact, the default) and bf16 (faster on CPUs with AVX512-BF16 and on GPUs)
PRECISIONS = ("fp32", "bf16")


#: every restoration architecture by name: subclasses of RestorationModel register themselves (``arch = "..."``)
ARCHS: dict[str, type[RestorationModel]] = {}


class WeightsError(ValueError):
    """Weights that cannot be loaded: missing, corrupt, mismatched, or not safetensors."""


class RestorationModel(
    nn.Module,
    PyTorchModelHubMixin,
    library_name="irae-hf",
    tags=["image-restoration"],
    pipeline_tag="image-to-image",
    license="apache-2.0",
    repo_url="https://github.com/irae-hf/irae-hf",
):
    """A conditional restoration network: ``forward(x, cond)`` on B×C×H×W in [0, 1], ``cond`` B×1×H×W.

    Subclasses set ``self.task`` and ``self.multiple`` (the size inputs must divide by); the mixin captures the
    constructor's arguments once, as :attr:`config`.
    """

    task: str
    multiple: int = 1
    #: the architecture's name in ``config.json`` and in ``ARCHS`` (a subclass that sets it registers itself)
    arch: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("arch"):
            ARCHS[cls.arch] = cls

    @property
    def config(self) -> dict[str, Any]:
        """The constructor's arguments, defaults included, as ``PyTorchModelHubMixin`` captured them for config.json."""
        return self._hub_mixin_config  # the mixin's one record of them (no public name in huggingface_hub 2.x)

    @classmethod
    def config_keys(cls) -> list[str]:
        """The settings a config.json may give: the constructor's parameters."""
        return [name for name in inspect.signature(cls.__init__).parameters if name != "self"]

    @classmethod
    def multiple_for(cls, **config: Any) -> int:
        """The size inputs must divide by, for a model of this config (before building one)."""
        return 1

    def save_pretrained(self, save_directory: str | Path, *, config: dict | None = None, **kwargs: Any) -> str | None:
        """``PyTorchModelHubMixin.save_pretrained`` with the architecture named in ``config.json``."""
        config = {**(config or self.config), "arch": self.arch}
        return super().save_pretrained(save_directory, config=config, **kwargs)

    def _save_pretrained(self, save_directory: Path) -> None:
        """The mixin's ``model.safetensors``, rewritten so that it gets the mode new files get (safetensors' writer
        makes it 0600: unreadable to a Space or a colleague running as another user); replaced in one step."""
        super()._save_pretrained(save_directory)
        weights = Path(save_directory) / constants.SAFETENSORS_SINGLE_FILE
        fresh = weights.with_name(f".{weights.name}.fresh")
        fresh.write_bytes(weights.read_bytes())
        os.replace(fresh, weights)

    @staticmethod
    def check_names(task: str, noise: str | None = None) -> None:
        """``task`` a name and ``noise`` (what a denoiser was trained on) None or a name: config.json from anywhere
        is checked for shape here, and against the task table where a task is used (``irae_hf.tasks.task_of``)."""
        if not isinstance(task, str) or not task.isidentifier():
            raise ValueError(f"task must be a task's name, got {task!r}")
        if noise is not None and (not isinstance(noise, str) or not noise.isidentifier()):
            raise ValueError(f"noise must be None or the name of a kind of noise, got {noise!r}")

    @staticmethod
    def check_positive(**values: Any) -> None:
        """Every size an integer in [1, its bound of ``SIZE_LIMITS``], checked before anything is built (a model
        folder from anywhere may ask for width 30000)."""
        for name, value in values.items():
            top = SIZE_LIMITS.get(name, 1 << 30)
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= top:
                raise ValueError(f"{name} must be an integer from 1 to {top}, got {value!r}")

    def forward(self, x: Tensor, cond: Tensor) -> Tensor:
        """Restore: B×C×H×W in [0, 1] with its B×1×H×W condition -> same shape, unclamped."""
        raise NotImplementedError

    def inverse(self, y: Tensor, cond: Tensor) -> Tensor:
        """Only invertible models have one; the rest lose information (the paper's point)."""
        raise NotImplementedError(f"{type(self).__name__} is not invertible: its input cannot be recovered")

    def initialize(self, x: Tensor, cond: Tensor) -> None:
        """Data-dependent initialisation on a first batch (nothing to do unless a subclass needs it)."""

    def set_memory_saving(self, enabled: bool = True) -> None:
        """Memory-saving backprop needs invertibility; only invertible subclasses support it."""
        if enabled:
            raise ValueError(f"{type(self).__name__} is not invertible: memory-saving backprop needs inverses")

    def in_precision(self, precision: str) -> RestorationModel:
        """The model for inference at ``precision``: "fp32" is the model itself; subclasses that offer "bf16"
        (IRAE) return a faster copy."""
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
        if precision != "fp32":
            raise ValueError(f"precision={precision!r} is offered for IRAE models, not {type(self).__name__}")
        return self

    def for_inference(self, precision: str = "fp32") -> RestorationModel:
        """The fastest form of the model for inference at ``precision`` (a copy where it differs; not for training,
        and only the same map up to float rounding). Here :meth:`in_precision`; IRAE folds and fuses."""
        return self.in_precision(precision)

    def exact_maps(self) -> tuple[Callable[[Tensor, Tensor], Tensor], Callable[[Tensor, Tensor], Tensor]]:
        """(forward, inverse), float64 tensors out: the maps ``restore(..., return_float=True)`` and
        ``recover_input`` use, so that the inverse gives the input back. Here the whole model in float64."""
        m = self if next(self.parameters()).dtype == torch.float64 else copy.deepcopy(self).double()
        return (lambda x, c: m(x.double(), c.double())), (lambda y, c: m.inverse(y.double(), c.double()))

    @property
    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    # ----------------------------------------------------------------------------- Hub saving/loading
    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | Path, **kwargs: Any) -> RestorationModel:  # type: ignore[override]
        """``PyTorchModelHubMixin.from_pretrained`` with clear errors for a broken ``config.json``."""
        try:
            return super().from_pretrained(pretrained_model_name_or_path, **kwargs)
        except json.JSONDecodeError as e:
            raise WeightsError(f"{pretrained_model_name_or_path}: config.json is not valid JSON ({e})") from e
        except WeightsError:
            raise
        except (TypeError, AttributeError, RecursionError, ValueError) as e:  # not an object of sane settings:
            # wrong types, nesting, undecodable bytes, sizes out of SIZE_LIMITS (refused before anything is built)
            raise WeightsError(f"{pretrained_model_name_or_path}: unusable config.json ({e})") from e

    def generate_model_card(self, *args: Any, **words: Any) -> Any:
        """The model card: the architecture's template filled with this model's configuration, the task's words
        (``cards.task_words``) and the ``words`` the caller gives (``model_card_kwargs``), the caller's last."""
        words = {"task": self.task, "config": self.config, "num_parameters": f"{self.num_parameters:,}",
                 **task_words(self), **words}  # fmt: skip
        return fill_card(super().generate_model_card(*args, **words), **words)

    @classmethod
    def _from_pretrained(
        cls,
        *,
        model_id: str,
        revision: str | None,
        cache_dir: str | Path | None,
        force_download: bool,
        local_files_only: bool,
        token: str | bool | None,
        map_location: str = "cpu",
        strict: bool = True,
        config: dict | None = None,
        **model_kwargs: Any,
    ) -> RestorationModel:
        """Load ``model.safetensors`` only (pickle ``.bin`` weights are refused), strictly by default."""
        if (config or {}).get("arch", cls.arch) != cls.arch:
            raise WeightsError(
                f"{model_id} holds a {config['arch']!r} model, not {cls.arch!r} (load it with load_model)"
            )
        for old, new in RENAMED_KEYS.items():
            if old in (config or {}) and new in cls.config_keys() and new not in config:
                model_kwargs[new] = config[old]
        unknown = sorted(set(config or {}) - set(cls.config_keys()) - {"arch"} - set(RENAMED_KEYS))
        if unknown:
            warnings.warn(f"{model_id}: ignoring unknown config.json keys {unknown}", stacklevel=3)
        skeleton = cls.skeleton(**model_kwargs)  # shapes only: nothing is allocated before the weights are checked
        if os.path.isdir(model_id):
            if not os.path.isfile(os.path.join(model_id, constants.CONFIG_NAME)):  # default settings would be a guess
                raise WeightsError(
                    f"no {constants.CONFIG_NAME} in {model_id}: it says which model the weights belong to"
                )
            path = os.path.join(model_id, WEIGHTS_NAME)
            if not os.path.isfile(path):
                pickles = [f for f in os.listdir(model_id) if f.endswith((".bin", ".pt", ".pth", ".ckpt"))]
                hint = f" (found {', '.join(sorted(pickles))}: pickle weights are refused)" if pickles else ""
                raise WeightsError(f"no {WEIGHTS_NAME} in {model_id}{hint}")
        else:
            try:
                path = hf_hub_download(
                    repo_id=model_id,
                    filename=WEIGHTS_NAME,
                    revision=revision,
                    cache_dir=cache_dir,
                    force_download=force_download,
                    token=token,
                    local_files_only=local_files_only,
                )
            except EntryNotFoundError as e:
                raise WeightsError(
                    f"no {WEIGHTS_NAME} in Hub repo {model_id}; only safetensors weights are loaded"
                ) from e
        problem = _weights_problem(_safetensors_header(path), skeleton.state_dict(), strict, skeleton.config)
        if problem:  # the file's names and shapes, read without its tensors, against the config's
            raise WeightsError(f"{path}: {problem}")
        model = cls(**model_kwargs)
        model.load_weights(path, map_location=map_location, strict=strict)
        return model.eval()

    @classmethod
    def skeleton(cls, **config: Any) -> RestorationModel:
        """The model of ``config`` on the meta device (shapes, no memory), refused in one line if it has more than
        ``MAX_PARAMETERS`` parameters: a 60-byte config.json must not allocate gigabytes."""
        with torch.device("meta"):
            model = cls(**config)
        count = sum(p.numel() for p in model.parameters())
        if count > MAX_PARAMETERS:
            raise WeightsError(
                f"config.json asks for {count:,} parameters, over the limit of {MAX_PARAMETERS:,} (the paper's model "
                "has 1.35 M): refused before anything is built"
            )
        return model

    def load_weights(self, path: str | Path, map_location: str | torch.device = "cpu", strict: bool = True) -> None:
        """Load a safetensors file with clear errors for corrupt files and missing or mismatched tensors."""
        state = _read_safetensors(path, map_location)
        problem = _weights_problem(state, self.state_dict(), strict, self.config)
        if problem:
            raise WeightsError(f"{path}: {problem}")
        self.load_state_dict(state, strict=False)


def _read_safetensors(path: str | Path, map_location: str | torch.device) -> dict[str, Tensor]:
    """The tensors of a safetensors file (without actnorm's "initialized" flag of irae-hf <= 0.1, written and never
    read), or a WeightsError that says the file cannot be read."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        state = load_file(str(path), device=str(map_location))
    except (SafetensorError, OSError, ValueError) as e:
        raise WeightsError(f"cannot read {path}: corrupt or not a safetensors file ({e})") from e
    return {k: v for k, v in state.items() if not k.endswith(".initialized")}


_SAFETENSORS_DTYPES = {
    "F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "I64": torch.int64,
    "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8, "BOOL": torch.bool,
}  # fmt: skip


def _safetensors_header(path: str | Path) -> dict[str, Tensor]:
    """The tensors a safetensors file declares, as empty meta tensors of their dtype and shape (only its header is
    read), or a WeightsError that says the file cannot be read."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            declared = {k: (f.get_slice(k).get_dtype(), f.get_slice(k).get_shape()) for k in f.keys()}
    except (SafetensorError, OSError, ValueError) as e:
        raise WeightsError(f"cannot read {path}: corrupt or not a safetensors file ({e})") from e
    return {
        k: torch.empty(shape, dtype=_SAFETENSORS_DTYPES.get(dtype, torch.uint8), device="meta")
        for k, (dtype, shape) in declared.items()
        if not k.endswith(".initialized")
    }


def _kind_mismatches(state: dict[str, Tensor], own: dict[str, Tensor]) -> list[str]:
    """Tensors that are integer or bool where the model's are floating-point (or the other way round)."""
    return sorted(k for k in state if k in own and own[k].is_floating_point() != state[k].is_floating_point())


def _weights_problem(state: dict[str, Tensor], own: dict[str, Tensor], strict: bool, config: Any) -> str | None:
    """What makes ``state`` wrong for a model whose own tensors are ``own``, in one sentence; None: it fits."""
    not_float = _kind_mismatches(state, own)
    if not_float:  # int8 weights would load and restore garbage; bool ones make a singular 1×1 convolution
        kinds = sorted({str(state[k].dtype).removeprefix("torch.") for k in not_float})
        return f"{'/'.join(kinds)} tensors where floating-point weights belong: {_few(not_float)}"
    wrong = sorted(k for k in state if k in own and state[k].shape != own[k].shape)
    if wrong:
        return f"tensors of the wrong shape for {config}: {_few(wrong)}"
    missing, unexpected = sorted(k for k in own if k not in state), sorted(k for k in state if k not in own)
    if strict and (missing or unexpected):
        return f"missing tensors {_few(missing)}; unexpected tensors {_few(unexpected)}"
    return None


def _few(keys: list[str], n: int = 5) -> str:
    return "[]" if not keys else ", ".join(keys[:n]) + (f" … ({len(keys)} in all)" if len(keys) > n else "")
