"""``irae export``: a model's restore and recover (inverse) graphs as ONNX, for other runtimes."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..io.atomic import folder_problem
from .args import REVISION_HELP, missing_package
from .errors import UsageError

__all__ = ["register", "run", "EXPORT_FILES"]

#: every file ``irae export`` writes (none is replaced without --overwrite)
EXPORT_FILES = ("restore.onnx", "recover.onnx", "onnx.json", "README.md")


def register(sub: argparse._SubParsersAction) -> None:
    """The ``export`` subcommand's flags."""
    x = sub.add_parser("export", help="write a model's restore and recover (inverse) graphs for other runtimes")
    x.add_argument("--format", default="onnx", choices=["onnx"], help="graph format (onnx)")
    x.add_argument("model", help="a save_pretrained folder or Hub id of an IRAE model")
    x.add_argument("output", help="folder to write restore.onnx, recover.onnx, onnx.json and README.md into")
    x.add_argument("--overwrite", action="store_true", help="replace graphs already in the folder")
    x.add_argument("--revision", help=REVISION_HELP)
    x.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Write the model's restore and recover graphs into the output folder, refusing before any work."""
    problem = missing_package("onnx", "irae export")
    if problem:
        raise UsageError(problem)
    from ..models.registry import load_model
    from ..pipeline.onnx import export_onnx

    out = Path(args.output)
    existing = [n for n in EXPORT_FILES if (out / n).exists()]
    if existing and not args.overwrite:
        raise UsageError(f"{out} already holds {', '.join(existing)} (--overwrite to replace)")
    problem = folder_problem(out, flag="")
    if problem:
        raise UsageError(problem.strip())
    try:
        model = load_model(args.model, revision=args.revision)
        written = export_onnx(model, out, overwrite=args.overwrite)
    except (ValueError, OSError) as e:
        raise UsageError(str(e)) from e
    print("wrote " + ", ".join(str(p) for p in written))
    return 0
