"""A run command's computation, named by ``"module:attribute"`` and imported on its first call.

``mimflow flow --help`` (and ``--show-config``, and every sweep that only plans) imports the study's
``_command`` module to build options from its config, and must not import JAX, xarray or
matplotlib (tests/test_startup.py). So each family keeps its config, plot hook and
:class:`~mimflow.runs.RunCommand` in a light ``_command`` module and its computation, with every
import at the top, in ``_run``; the command names the computation the way the catalogue names
studies (``runs/_catalogue.py``)::

    FLOW = RunCommand("flow", FlowConfig, Deferred("mimflow.studies.flow._run:run_flow"), ...)
"""

from __future__ import annotations

from dataclasses import dataclass

from mimflow.runs import load_target


@dataclass(frozen=True)
class Deferred:
    """A callable standing for the function ``target = "package.module:attribute"``.

    The module is imported on the first call (Python caches it); the object is a plain frozen
    dataclass, so a run command that holds it still pickles for Dask workers.
    """

    target: str

    def resolve(self):
        """The function named by :attr:`target` (imports its module)."""
        return load_target(self.target)

    def __call__(self, *args, **kwargs):
        return self.resolve()(*args, **kwargs)
