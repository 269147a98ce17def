"""The code stays ruff-clean under the project's configuration (pyproject.toml), lint and format."""

import ast
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff is not installed (pip install -r requirements-dev.txt)")
@pytest.mark.parametrize("command", [["ruff", "check", "."], ["ruff", "format", "--check", "."]])
def test_ruff_is_clean(command):
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


#: the code the claims below hold for: the package, its entry points, scripts and benchmarks (tests are left out)
SOURCES = sorted(
    [*(ROOT / "irae_hf").rglob("*.py"), ROOT / "app.py", ROOT / "train_accelerate.py"]
    + [*(ROOT / "scripts").glob("*.py"), *(ROOT / "benchmarks").rglob("*.py")]
)
#: the longest a function may be, in lines (decorators and docstring included)
MAX_FUNCTION_LINES = 60


def functions(path: Path):
    """(name, first line, lines) of every function and method in ``path``."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            yield node.name, start, node.end_lineno - start + 1


def test_no_function_is_longer_than_60_lines():
    long = [
        f"{path.relative_to(ROOT)}:{line} {name} ({lines} lines)"
        for path in SOURCES
        for name, line, lines in functions(path)
        if lines > MAX_FUNCTION_LINES
    ]
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines: {long}"


def task_name_tests(path: Path, names: set[str]):
    """Places where ``path`` decides by a task's name: a comparison with it, or a task's name as a subscript or as an
    argument (``x == "jpeg"``, ``handlers["inpaint"]``, ``degrade(image, "denoise", ...)``)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Compare):
            values = [node.left, *node.comparators]
            values += [e for v in values if isinstance(v, (ast.Tuple, ast.List, ast.Set)) for e in v.elts]
        elif isinstance(node, ast.Subscript):
            values = [node.slice]
        elif isinstance(node, ast.Call):
            values = [*node.args, *(k.value for k in node.keywords)]
        else:
            continue
        if any(isinstance(v, ast.Constant) and v.value in names for v in values):
            yield f"{path.relative_to(ROOT)}:{node.lineno} {ast.unparse(node)[:80]}"


def test_task_names_steer_nothing_outside_the_tasks():
    """What depends on the task asks ``TASKS[name]``: outside ``irae_hf/tasks/`` no code branches on a task's name
    (defaults and tables of names, such as ``--task denoise`` or the app's list of models, are data, not branches)."""
    from irae_hf.tasks import TASKS

    outside = [p for p in SOURCES if "tasks" not in p.relative_to(ROOT).parts and "benchmarks" not in p.parts]
    found = [hit for path in outside for hit in task_name_tests(path, set(TASKS))]
    allowed = {"option('denoise', choices=lambda: list(TASKS))"}  # the trainer's default task
    found = [hit for hit in found if not any(a in hit for a in allowed)]
    assert not found, f"task names used for control flow outside irae_hf/tasks/: {found}"
