"""The ``mimflow`` command line (thin: every command is one library call)."""

from ._main import app as app
from ._main import main as main
