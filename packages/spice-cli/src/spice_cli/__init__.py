"""The `spice` command: connect, screenshot, view, serve, demo, do and record-audio.

Its interface is the command line (``spice --help``); from Python, ``main(argv)`` runs it
and returns its exit status (an :class:`ExitCode` value).  For a library, use spice_session
or spice_server.
"""

__version__ = "0.1.0"

# isort: skip_file
from ._exitcodes import ExitCode as ExitCode
from ._main import main as main

# Light on purpose (no spice_proto.lowlevel.publish: it imports the whole protocol): ``spice``
# imports this package before it can turn Ctrl+C into exit code 130.
ExitCode.__module__ = main.__module__ = __name__
__all__ = ["ExitCode", "__version__", "main"]
