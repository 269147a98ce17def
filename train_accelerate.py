"""Train IRAE (or the DnCNN and FFDNet baselines) with Hugging Face accelerate on any image dataset.

    accelerate launch train_accelerate.py --task denoise --dataset ../shared/data/photos \\
        --output_dir runs/denoise --max_steps 20000 --batch_size 16 --crop_size 96

One CPU, many GPUs or many nodes: whatever ``accelerate launch`` is given. The paper's recipe is the default (L1
loss, Adam 1e-3 with step decay, width 64 / depth 16 / 2 scales); the degradation level is drawn per sample from the
task's range so one model learns the whole range. Checkpoints every N steps resume exactly (``--resume latest``); the
output folder loads with ``irae_hf.load_model(output_dir)``, whatever its architecture (``IRAE.from_pretrained``
loads an IRAE folder; a DnCNN's or FFDNet's loads with its own class).
"""

from __future__ import annotations

from pathlib import Path

from irae_hf.training.config import TrainConfig, parse_config
from irae_hf.training.steps import saved_args
from irae_hf.training.trainer import Trainer, export_checkpoint


def parse_args(argv: list[str] | None = None, defaults: dict | None = None) -> TrainConfig:
    """The command line as a :class:`~irae_hf.training.config.TrainConfig` (its fields are the flags); ``defaults`` (a
    run's saved settings) replace the fields' defaults, not flags given."""
    return parse_config(argv, defaults, description=__doc__.splitlines()[0])


def main(argv: list[str] | None = None) -> Path:
    """Train (or, with --export_from, export a checkpoint); returns the output folder."""
    args = parse_args(argv)
    if args.export_from:
        return export_checkpoint(parse_args(argv, defaults=saved_args(Path(args.export_from))))
    return Trainer(args).fit()


def cli() -> None:
    """Entry point: user errors (bad paths, empty or imageless datasets, NaN loss) end with a clear message."""
    import sys

    from datasets.data_files import EmptyDatasetError
    from datasets.exceptions import DatasetNotFoundError

    try:
        main()
    except (ValueError, FileNotFoundError, EmptyDatasetError, DatasetNotFoundError, RuntimeError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    cli()
