"""``python -m fedctl``: the same as the ``fedctl`` command."""

import sys

from .cli import main

sys.exit(main())
