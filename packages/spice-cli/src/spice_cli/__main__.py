"""``python -m spice_cli`` runs the ``spice`` command."""

import sys

from ._main import main

sys.exit(main())
