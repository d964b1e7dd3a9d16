"""python -m distillery_trainer <command> ... (see cli.py)."""

import sys

from .cli import main

sys.exit(main(guard_parent=True))
