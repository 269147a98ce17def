"""``python -m irae_hf ...`` runs the command line (see :mod:`irae_hf.cli`)."""

import sys

from .cli import main

sys.exit(main())
