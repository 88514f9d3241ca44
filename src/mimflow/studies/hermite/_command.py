r"""``mimflow hermite-mc``: its config and run command (the computation is in :mod:`._run`).

This module is imported by ``mimflow hermite-mc --help`` to build the options, so it imports no JAX
or xarray (tests/test_startup.py): names that need them are
:class:`~mimflow.studies._deferred.Deferred` (docs/math/hermite.md).
"""

from __future__ import annotations

from pydantic import ConfigDict, Field

from mimflow.runs import LinkMixin, RunCommand, SeedsMixin
from mimflow.studies._deferred import Deferred


class HermiteMCConfig(SeedsMixin, LinkMixin):
    """Config of ``mimflow hermite-mc``."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    MAX_SEEDS = 1024
    MAX_LINK_VARIABLES = 1
    LINK_ERROR = "hermite-mc needs a one-variable link, {value!r} has r = {r}: write it in z"

    link: str = Field("relu", description="a one-variable link: a name (relu, tanh, he3, ...) or an expression in z")
    degree: int = Field(8, ge=0, le=40, description="highest Hermite degree K (0..40)")
    n: int = Field(10_000, ge=2, le=10**9, description="Monte Carlo samples per seed (>= 2, for the standard error)")
    seeds: int | list[int] = Field(
        8,
        description="a count S (seeds 0..S-1) or an explicit list of seeds; all seeds run in one vmapped task",
    )

    @property
    def seed_values(self) -> list[int]:
        """The same as :attr:`seed_list` (the name ``hermite/_run.py`` uses)."""
        return self.seed_list


HERMITE_MC = RunCommand(
        name="hermite-mc",
        config_model=HermiteMCConfig,
        run=Deferred("mimflow.studies.hermite._run:hermite_mc"),
        vmapped_fields=frozenset({"seeds"}),
        positional=("link",),
    )
