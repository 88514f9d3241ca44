r"""The trajectory type shared by population dynamics and finite-sample training.

A :class:`Trajectory` holds overlap matrices :math:`M(t) = W_*^T W(t)` (shape ``(seeds, t, r, p)``)
and the population loss along them, at times ``t`` in the units of docs/math/grassmannian-flow.md §1.4 (loss with the
factor 1/2, unit learning rate). Comparing a sample path with the population flow is a
subtraction of two trajectories saved at the same times.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import xarray as xr


@dataclass(frozen=True)
class Trajectory:
    """Overlaps and loss along a flow, for a batch of seeds.

    Attributes:
        t: ``(T,)`` save times (``t[0] = 0``).
        M: ``(S, T, r, p)`` overlaps ``W*^T W`` per seed.
        loss: ``(S, T)`` population loss.
        d: input dimension (enters only through the initial condition).
        seeds: ``(S,)`` integer seeds.
        algorithm: ``"two-timescale"`` or ``"planted"`` (or a training algorithm).
        link: the link's name.
        converged: ``(S,)`` whether the run reached its stopping criterion before ``t[-1]``.
        t_stop: ``(S,)`` time at which the solver stopped (converged runs are constant afterwards).
        n_steps: ``(S,)`` accepted + rejected solver steps.
        info: free-form metadata (solver, tolerances, truncation degree, ...).
        Q: ``(S, T, p, p)`` student Gram ``W^T W`` where the student is not constrained to the
            Stiefel manifold (finite-sample training on the sphere or free), else ``None``.
        second_layer: ``(S, T, p)`` trained second-layer weights (committee machines), else ``None``.
    """

    t: np.ndarray
    M: np.ndarray
    loss: np.ndarray
    d: int
    seeds: np.ndarray
    algorithm: str
    link: str
    converged: np.ndarray
    t_stop: np.ndarray
    n_steps: np.ndarray
    info: dict = field(default_factory=dict)
    Q: np.ndarray | None = None
    second_layer: np.ndarray | None = None

    @cached_property
    def singular_values(self) -> np.ndarray:
        """``(S, T, min(r, p))`` singular values of ``M``, in decreasing order (computed once)."""
        return np.linalg.svd(self.M, compute_uv=False)

    @property
    def G(self) -> np.ndarray:
        """``(S, T, r, r)``: ``G = M M^T`` (the Grassmannian overlap)."""
        return np.einsum("stij,stkj->stik", self.M, self.M)

    def to_dataset(self):
        """An :class:`xarray.Dataset` with dims ``seed, t, i (teacher), j (student), k (singular value)``."""
        S, T, r, p = self.M.shape
        attrs = {
            "d": int(self.d),
            "algorithm": self.algorithm,
            "link": self.link,
            **{k: (v if isinstance(v, (int, float, str)) else str(v)) for k, v in self.info.items()},
        }
        extra = {}
        if self.Q is not None:
            extra["Q"] = (("seed", "t", "j", "j2"), self.Q)
        if self.second_layer is not None:
            extra["second_layer"] = (("seed", "t", "j"), self.second_layer)
        return xr.Dataset(
            {
                **extra,
                "M": (("seed", "t", "i", "j"), self.M),
                "loss": (("seed", "t"), self.loss),
                "singular_values": (("seed", "t", "k"), self.singular_values),
                "converged": (("seed",), self.converged),
                "t_stop": (("seed",), self.t_stop),
                "n_steps": (("seed",), self.n_steps),
            },
            coords={"seed": self.seeds, "t": self.t},
            attrs=attrs,
        )
