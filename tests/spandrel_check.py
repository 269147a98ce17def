"""Run by tests/test_spandrel.py in .venv-spandrel, where the real spandrel imports: ``python spandrel_check.py
loader WORK`` or ``comfyui WORK``; prints one JSON object of what it found (the test asserts on it).

WORK holds what the test exported: ``<name>.safetensors`` files, ``<name>/`` (the model they came from),
``levels.json`` (each file's restore() keywords and photo) and ``mask.png``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image


def as_uint8(x: torch.Tensor) -> np.ndarray:
    """A 1×3×H×W float output in [0, 1] as 8-bit H×W×3, rounded as restore() rounds."""
    return (x[0].permute(1, 2, 0).float().cpu().numpy() * 255).round().clip(0, 255).astype(np.uint8)


def one_line(call) -> str:
    """The error ``call`` raises, checked to be one line."""
    try:
        call()
    except Exception as e:  # noqa: BLE001 - what a user would see
        said = f"{type(e).__name__}: {e}"
        return said if "\n" not in said.strip() else "MORE THAN ONE LINE: " + said
    return "NO ERROR"


def loader(work: Path) -> dict:
    """Every exported file through spandrel's ModelLoader, against restore(); spandrel's own DnCNN and Compact."""
    import spandrel
    from spandrel.architectures.Compact import Compact
    from spandrel.architectures.DnCNN import DnCNN

    from irae_hf import IRAE, restore
    from irae_hf.spandrel import ARCH_ID, install

    install()
    install()  # twice: no error, one entry
    found: dict = {"registered": [a.architecture.id for a in spandrel.MAIN_REGISTRY.architectures()].count(ARCH_ID)}
    found["first"] = spandrel.MAIN_REGISTRY.architectures("detection")[0].architecture.id
    mask = Image.open(work / "mask.png").convert("L")
    for name, case in json.loads((work / "levels.json").read_text()).items():
        photo = Image.open(work / case["photo"]).convert("RGB")  # pixels, as spandrel's hosts hand them over
        x = torch.from_numpy(np.asarray(photo, dtype=np.float32) / 255).permute(2, 0, 1)[None]
        d = spandrel.ModelLoader().load_from_file(work / f"{name}.safetensors")
        model = IRAE.from_pretrained(work / name)
        if isinstance(d, spandrel.MaskedImageModelDescriptor):
            out = d(x, torch.from_numpy(np.asarray(mask) > 0).float()[None, None])
            expected = restore(model, photo, mask=mask)
        else:
            out, expected = d(x), restore(model, photo, **case["level"])
        found[name] = {
            "kind": type(d).__name__, "arch": d.architecture.id, "purpose": d.purpose, "scale": d.scale,
            "multiple_of": d.size_requirements.multiple_of, "tiling": d.tiling.name, "tags": d.tags,
            "max_diff": int(np.abs(as_uint8(out).astype(int) - np.asarray(expected).astype(int)).max()),
        }  # fmt: skip
    ours = spandrel.ModelLoader().load_from_file(next(work.glob("*.safetensors"))).model.state_dict()
    found["others_taking_ours"] = [
        a.architecture.id for a in spandrel.MAIN_REGISTRY.architectures() if a.architecture.id != ARCH_ID
        and a.detect(ours)
    ]  # fmt: skip
    theirs = {"DnCNN": DnCNN(in_nc=3, out_nc=3, nc=16, nb=17, act_mode="R"), "Compact": Compact(num_feat=16)}
    found["theirs"] = {k: spandrel.ModelLoader().load_from_state_dict(m.state_dict()).architecture.id
                       for k, m in theirs.items()}  # fmt: skip
    whole = (work / "truncated.safetensors").read_bytes()
    found["truncated"] = one_line(lambda: spandrel.ModelLoader().load_from_file(work / "truncated.safetensors"))
    found["altered"] = one_line(lambda: spandrel.ModelLoader().load_from_file(work / "altered.safetensors"))
    found["truncated_size"] = len(whole)
    return found


def comfyui(work: Path) -> dict:
    """What ComfyUI's "Load Upscale Model" does (safetensors read, ``ModelLoader().load_from_state_dict``, a
    single-image model required), before and after importing the custom node folder the README ships."""
    import importlib.util

    import spandrel
    from safetensors.torch import load_file

    sd = load_file(next(work.glob("*-sigma*.safetensors")))
    before = one_line(lambda: spandrel.ModelLoader().load_from_state_dict(sd))
    node = Path(__file__).resolve().parents[1] / "integrations" / "comfyui" / "irae_hf_spandrel" / "__init__.py"
    spec = importlib.util.spec_from_file_location("irae_hf_spandrel", node)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = spandrel.ModelLoader().load_from_state_dict(sd).eval()
    single = isinstance(out, spandrel.ImageModelDescriptor)
    return {"before": before, "after": type(out).__name__, "single_image": single, "nodes": module.NODE_CLASS_MAPPINGS}


if __name__ == "__main__":
    mode, folder = sys.argv[1], Path(sys.argv[2])
    print(json.dumps({"loader": loader, "comfyui": comfyui}[mode](folder)))
