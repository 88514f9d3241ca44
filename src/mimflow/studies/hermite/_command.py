r"""``mimflow hermite-mc``: its config and run command (the computation is in :mod:`._run`).

This module is imported by ``mimflow hermite-mc --help`` to build the options, so it imports no JAX
or xarray (tests/test_startup.py): names that need them are
:class:`~mimflow.studies._deferred.Deferred` (docs/math/hermite.md).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from mimflow._errors import MimflowError
from mimflow.runs import RunCommand, seed_list, validate_seeds
from mimflow.studies._deferred import Deferred

_make_link = Deferred("mimflow.targets:make_link")

class HermiteMCConfig(BaseModel):
    """Config of ``mimflow hermite-mc``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    link: str = Field("relu", description="a one-variable link: a name (relu, tanh, he3, ...) or an expression in z")
    degree: int = Field(8, ge=0, le=40, description="highest Hermite degree K (0..40)")
    n: int = Field(10_000, ge=2, le=10**9, description="Monte Carlo samples per seed (>= 2, for the standard error)")
    seeds: int | list[int] = Field(
        8,
        description="a count S (seeds 0..S-1) or an explicit list of seeds; all seeds run in one vmapped task",
    )

    @field_validator("link")
    @classmethod
    def _one_variable_link(cls, value: str) -> str:
        link = _make_link(value)
        if link.r != 1:
            raise MimflowError(f"hermite-mc needs a one-variable link, {value!r} has r = {link.r}: write it in z")
        return value

    @field_validator("seeds")
    @classmethod
    def _valid_seeds(cls, value):
        return validate_seeds(value, 1024)

    @property
    def seed_values(self) -> list[int]:
        return seed_list(self.seeds)


HERMITE_MC = RunCommand(
        name="hermite-mc",
        config_model=HermiteMCConfig,
        run=Deferred("mimflow.studies.hermite._run:hermite_mc"),
        vmapped_fields=frozenset({"seeds"}),
        positional=("link",),
    )
