"""The wheel ``pip install irae-hf`` would build: every module, the cards, the ``irae`` command (the editable install
the other tests use cannot show a package left out of it)."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # subprocesses, the app in-process or benchmark workers: seconds each

ROOT = Path(__file__).resolve().parents[1]


def test_the_wheel_holds_every_module_and_card_and_imports_from_where_it_is_installed(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    shutil.copytree(ROOT / "irae_hf", src / "irae_hf", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    build = "from setuptools import build_meta; print(build_meta.build_wheel('dist'))"
    done = subprocess.run([sys.executable, "-c", build], cwd=src, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    wheel = src / "dist" / done.stdout.strip().splitlines()[-1]
    names = set(zipfile.ZipFile(wheel).namelist())
    wanted = {p.relative_to(ROOT).as_posix() for p in (ROOT / "irae_hf").rglob("*") if p.suffix in (".py", ".md")}
    assert wanted - names == set()
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "irae = irae_hf.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)  # what pip puts in site-packages (no dependencies, no build)
    check = (
        f"import sys; sys.path.insert(0, {str(site)!r}); import importlib, pkgutil, irae_hf; "
        f"assert irae_hf.__file__.startswith({str(site)!r}), irae_hf.__file__; "
        "mods = [m.name for m in pkgutil.walk_packages(irae_hf.__path__, 'irae_hf.') if m.name != 'irae_hf.__main__']; "
        "[importlib.import_module(m) for m in mods]; assert 'irae_hf.demo.handlers' in mods, mods; "
        "from irae_hf import IRAE; from irae_hf.models.cards import IRAE_CARD; assert IRAE_CARD.strip(); "
        "from irae_hf.cli import main; main(['--help'])"
    )
    ran = subprocess.run([sys.executable, "-c", check], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert ran.returncode == 0 and "restore" in ran.stdout, ran.stderr[-2000:]
