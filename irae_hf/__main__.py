"""``python -m irae_hf ...`` runs the command line (see :mod:`irae_hf.cli.commands`)."""

import sys

from .cli import main

sys.exit(main())
