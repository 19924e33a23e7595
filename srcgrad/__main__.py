"""`python -m srcgrad`: the same command line as `srcgrad` (srcgrad/cli.py)."""
import sys

from .cli import main

sys.exit(main())
