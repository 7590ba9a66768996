"""``python -m brud_analysis.cli``: the ``brud`` command without the installed entry point."""

import sys

from brud_analysis.cli import main

sys.exit(main())
