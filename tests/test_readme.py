"""The README's examples run as written: its Python block, and its CLI lines' flags exist."""

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # subprocesses, the app in-process or benchmark workers: seconds each

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def block(after_heading: str, lang: str) -> str:
    section = README.split(after_heading, 1)[1]
    return re.search(rf"```{lang}\n(.*?)```", section, re.S).group(1)


def test_python_example_runs_as_written(tmp_path):
    code = block("## Python", "python")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]


def test_command_line_examples_parse(tmp_path):
    from irae_hf.cli import build_parser

    for line in block("## Command line", "bash").splitlines():
        build_parser().parse_args(line.split("#")[0].split()[1:])  # SystemExit on an unknown flag (they also run:
        # scripts/check_app_install.py runs every line in order in one folder, in the app-only install)


def test_shipped_cards_name_their_data_not_this_machines_paths():
    import json

    for task in ("denoise", "jpeg", "inpaint"):
        folder = ROOT / "pretrained" / task
        assert "../" not in (folder / "README.md").read_text()
        assert "/" not in json.loads((folder / "evaluation.json").read_text())["data"]


def test_hub_section_commands_parse():
    import app
    import train_accelerate
    from irae_hf.cli import build_parser

    lines = block("## The Hub", "bash").replace("\\\n", " ").splitlines()
    for line in lines:
        words = [w for w in line.split("#")[0].split() if "=" not in w or w.startswith("--")]
        if words[:1] == ["irae"]:
            build_parser().parse_args([w for w in words[1:] if w != "..."])
        elif words[:2] == ["python", "app.py"]:
            app.parse_args(words[2:])
        elif words[:3] == ["accelerate", "launch", "train_accelerate.py"]:
            train_accelerate.parse_args(
                [w for w in words[3:] if w not in ("...", "[--hub_private]")] + ["--output_dir", "o"]
            )


def test_front_matter_makes_the_repository_a_space_of_the_pinned_gradio():
    """README.md's YAML front matter (a Hugging Face Space reads it) names the Gradio pinned in requirements.txt, the
    app file and the licence, and the two commands follow it at once."""
    head, rest = README.split("---\n", 2)[1:]
    meta = dict(line.split(": ", 1) for line in head.strip().splitlines())
    pinned = next(line.split("==")[1] for line in (ROOT / "requirements.txt").read_text().splitlines()
                  if line.startswith("gradio=="))  # fmt: skip
    assert README.startswith("---\n") and meta["sdk"] == "gradio" and meta["sdk_version"] == pinned
    assert (ROOT / meta["app_file"]).is_file() and meta["license"] == "apache-2.0"
    assert "Apache License, Version 2.0" in (ROOT / "LICENSE").read_text() and len(meta["short_description"]) <= 60
    assert rest.lstrip().startswith("```bash\npip install -r requirements.txt && python app.py")


def test_the_readmes_and_cards_tables_are_made_from_the_json_not_typed():
    """Every results table of the README is what ``benchmarks/figures/results_tables.py`` prints from the committed
    evaluation JSON: the shipped models' tables, each denoiser beside its own peers (a figure typed by hand, or JSON
    measured again without regenerating the README, fails here)."""
    spec = importlib.util.spec_from_file_location("results_tables", ROOT / "benchmarks/figures/results_tables.py")
    tables = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tables)
    readme = (ROOT / "README.md").read_text()
    made = {task: tables.compact_table(task) for task in ("denoise", "jpeg", "inpaint")}
    made.update(peers=tables.peers_table(), users=tables.users_table())
    for name, table in made.items():
        assert table and table in readme, f"the README's {name} table is not results_tables.py's"
    for name in ("denoise", "denoise-real"):  # each denoiser's card shows it beside its own peers, as the README does
        card = (ROOT / "pretrained" / name / "README.md").read_text()
        assert tables.card_peers(name) in card, f"pretrained/{name}: run results_tables.py --cards"
        assert tables.with_card_peers(card, tables.card_peers(name)) == card  # written once, in place
