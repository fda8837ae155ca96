"""The `spice` command: connect, screenshot, view, serve, demo, do and record-audio.

Its interface is the command line (``spice --help``); from Python, ``main(argv)`` runs it
and returns its exit status (an :class:`ExitCode` value).  For a library, use spice_session
or spice_server.
"""

__version__ = "0.1.0"

# isort: skip_file
from ._exitcodes import ExitCode as ExitCode
from ._main import main as main
from spice_proto.lowlevel import publish as _publish

__all__ = _publish(__name__, globals())
