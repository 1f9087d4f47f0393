"""``python -m backlinkbot`` is the ``backlinkbot`` command."""

import sys

from backlinkbot.cli import main

sys.exit(main())
