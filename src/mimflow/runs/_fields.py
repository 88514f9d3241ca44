"""Fields that several run configs share: the dimensions ``d``, the ``seeds``, the sample ratios
``alpha`` and the ``link``, each checked in one place.

A run config (a frozen pydantic model, :mod:`mimflow.runs._config`) takes such a field by inheriting
its mixin, which brings the field's check and its sorted-list property. The config still declares the
field itself (type, default, description and limits: the command-line option and ``--show-config``
are built from them) and sets the mixin's class variables where its bounds differ from the defaults::

    class TrainConfig(DimensionsMixin, SeedsMixin, LinkMixin):
        model_config = ConfigDict(frozen=True, extra="forbid")
        MIN_D = 3

        link: str = Field("h2", description="the target link f*: ...")
        d: int | list[int] = Field(1000, description="input dimension(s)")
        seeds: int | list[int] = Field(8, description="a count S (seeds 0..S-1) or a list of seeds (vmapped)")

The checks are the ``validate_*`` functions below, also usable on their own. Each mistake is one
:class:`~mimflow.MimflowError` line, which config resolution prefixes with the key
(``d = 1: d must be integers >= 2, got 1``).
"""

from __future__ import annotations

import math
from typing import ClassVar

from pydantic import BaseModel, field_validator

from mimflow import targets
from mimflow._errors import MimflowError

__all__ = [
    "AlphasMixin",
    "DimensionsMixin",
    "LinkMixin",
    "MAX_SEED",
    "SeedsMixin",
    "seed_list",
    "validate_alphas",
    "validate_dimensions",
    "validate_seeds",
]

MAX_SEED = 2**31 - 1


# ---------------------------------------------------------------------------- checks
def validate_dimensions(value, minimum: int):
    """Check a dimension field ``d`` (an int or a list of distinct ints, each ``>= minimum``)."""
    values = value if isinstance(value, list) else [value]
    if not values or any(v < minimum for v in values):
        raise MimflowError(f"d must be integers >= {minimum}, got {value!r}")
    if len(set(values)) != len(values):
        raise MimflowError(f"d values must be distinct, got {value!r}")
    return value


def validate_alphas(value):
    """Sample ratios ``alpha = n/d`` (one or a list): positive, finite and distinct."""
    values = value if isinstance(value, list) else [value]
    if not values or any(not (math.isfinite(v) and v > 0) for v in values):
        raise MimflowError(f"alpha must be positive finite numbers (n/d), got {value!r}")
    if len(set(values)) != len(values):
        raise MimflowError(f"alpha values must be distinct, got {value!r}")
    return value


def validate_seeds(value, max_count: int):
    """Check a ``seeds`` field: a count in ``1..max_count`` or a list of distinct seeds in ``0..2**31-1``."""
    if isinstance(value, int):
        if not 1 <= value <= max_count:
            raise MimflowError(f"a seed count must be between 1 and {max_count}, got {value}")
        return value
    if not value:
        raise MimflowError("the list of seeds is empty: give at least one seed")
    if len(value) > max_count:
        raise MimflowError(f"at most {max_count} seeds run in one task, got {len(value)}: split them")
    if len(set(value)) != len(value):
        raise MimflowError(f"seeds must be distinct, got {value}")
    if any(not 0 <= s <= MAX_SEED for s in value):
        raise MimflowError(f"seeds must be between 0 and {MAX_SEED}, got {value}")
    return value


def seed_list(value) -> list[int]:
    """The seeds of a validated ``seeds`` field (a count ``S`` means ``0..S-1``)."""
    return list(range(value)) if isinstance(value, int) else list(value)


def _as_sorted_list(value) -> list:
    return sorted(value if isinstance(value, list) else [value])


# ---------------------------------------------------------------------------- mixins
class DimensionsMixin(BaseModel):
    """A field ``d: int | list[int]`` checked by :func:`validate_dimensions` (each ``d >= MIN_D``);
    :attr:`d_list` is the sorted list."""

    MIN_D: ClassVar[int] = 2

    @field_validator("d", check_fields=False)
    @classmethod
    def _check_dimensions(cls, value):
        return validate_dimensions(value, cls.MIN_D)

    @property
    def d_list(self) -> list[int]:
        return _as_sorted_list(self.d)


class SeedsMixin(BaseModel):
    """A field ``seeds: int | list[int]`` checked by :func:`validate_seeds` (at most ``MAX_SEEDS`` in
    one task); :attr:`seed_list` is the seeds it names."""

    MAX_SEEDS: ClassVar[int] = 100_000

    @field_validator("seeds", check_fields=False)
    @classmethod
    def _check_seed_field(cls, value):
        return validate_seeds(value, cls.MAX_SEEDS)

    @property
    def seed_list(self) -> list[int]:
        return seed_list(self.seeds)


class AlphasMixin(BaseModel):
    """A field ``alpha: float | list[float]`` checked by :func:`validate_alphas`; :attr:`alpha_list` is
    the sorted list."""

    @field_validator("alpha", check_fields=False)
    @classmethod
    def _check_alphas(cls, value):
        return validate_alphas(value)

    @property
    def alpha_list(self) -> list[float]:
        return _as_sorted_list(self.alpha)


class LinkMixin(BaseModel):
    """A field ``link: str`` that :func:`mimflow.targets.make_link` parses (its error names the
    mistake), with at most ``MAX_LINK_VARIABLES`` variables (``None``: any number). A link with more
    is refused with ``LINK_ERROR``, formatted with the text ``value`` and its number of variables ``r``.

    ``mimflow.targets`` imports its modules on first use, so a config module that inherits this
    imports no JAX until a link is checked (tests/test_startup.py).
    """

    MAX_LINK_VARIABLES: ClassVar[int | None] = None
    LINK_ERROR: ClassVar[str] = "link {value!r} has r = {r} variables: too many for this command"

    @field_validator("link", check_fields=False)
    @classmethod
    def _check_link_variables(cls, value):
        link = targets.make_link(value)
        if cls.MAX_LINK_VARIABLES is not None and link.r > cls.MAX_LINK_VARIABLES:
            raise MimflowError(cls.LINK_ERROR.format(value=value, r=link.r))
        return value
