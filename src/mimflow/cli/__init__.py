"""The ``mimflow`` command line (thin: every command is one library call)."""

from mimflow.cli._main import app as app
from mimflow.cli._main import main as main
