"""Miscoordination diagnostics: how far the BRUD step points away from grad R.

A small BRUD step theta -> theta + lr * g(theta) changes the reward by
``lr * grad R(theta) . g(theta) + O(lr^2)``, so the policies where ``grad R . g < 0`` are exactly
where BRUD (to first order) *lowers* the reward: paper Fig. 1's situation.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import sympy

from brud_analysis.data import DataModel
from brud_analysis.fields import brud_field, true_field
from brud_analysis.game import Game


def alignment(game: Game, data: DataModel | None = None) -> sympy.Expr:
    """grad R . g as a polynomial in the policy (negative: a BRUD step lowers the reward).

    Example (paper Fig. 1: policy (-p, q), data point (r, -s), p, q, r, s > 0):
        >>> from brud_analysis.data import PointMass
        >>> from brud_analysis.catalogue import sign_agreement
        >>> p, q, r, s = sympy.symbols("p q r s", positive=True)
        >>> game = sign_agreement()
        >>> x, y = game.agents
        >>> alignment(game, PointMass([r, -s])).subs({x: -p, y: q})
        -p*r - q*s
    """
    g = brud_field(game, data)
    return sympy.expand(sum(d * gi for d, gi in zip(true_field(game), g, strict=True)))


def cosine_similarity(game: Game, data: DataModel, policy: Sequence[float]) -> float | None:
    """cos(angle between grad R and the BRUD field) at ``policy``; None where either is zero.

    Example:
        >>> from brud_analysis.data import Normal
        >>> from brud_analysis.catalogue import sign_agreement
        >>> round(cosine_similarity(sign_agreement(), Normal([1, -1], [1, 1]), [-1.0, 1.0]), 12)
        -1.0
    """
    at = dict(zip(game.agents, policy, strict=True))
    grad = np.array([float(d.subs(at)) for d in true_field(game)])
    g = np.array([float(gi.subs(at)) for gi in brud_field(game, data)])
    norm = np.linalg.norm(grad) * np.linalg.norm(g)
    if norm == 0.0:
        return None
    return float(np.clip(grad @ g / norm, -1.0, 1.0))


def reward_change(game: Game, data: DataModel, policy: Sequence[float], lr: float) -> float:
    """Exact R(theta + lr * g(theta)) - R(theta) for one BRUD step of size ``lr``.

    Example:
        >>> from brud_analysis.data import PointMass
        >>> from brud_analysis.catalogue import sign_agreement
        >>> reward_change(sign_agreement(), PointMass([1, -1]), [-1.0, 1.0], 0.1)
        -0.21
    """
    game.require_numeric()
    at = dict(zip(game.agents, policy, strict=True))
    g = [float(gi.subs(at)) for gi in brud_field(game, data)]
    new = {a: p + lr * gi for a, p, gi in zip(game.agents, policy, g, strict=True)}
    return round(float(game.reward.subs(new) - game.reward.subs(at)), 15)


def reward_decreasing_fraction(
    game: Game, data: DataModel, bounds: Sequence[tuple[float, float]], resolution: int = 101
) -> tuple[float, np.ndarray]:
    """Share of a policy grid where grad R . g < 0, and the mask itself.

    ``bounds`` gives (low, high) per agent; the mask has shape ``(resolution,) * n``
    (``indexing="ij"``).

    Example:
        >>> from brud_analysis.data import Normal
        >>> from brud_analysis.catalogue import sign_agreement
        >>> share, mask = reward_decreasing_fraction(
        ...     sign_agreement(), Normal([1, -1], [1, 1]), [(-2, 2), (-2, 2)], 5)
        >>> mask.shape, round(share, 2)
        ((5, 5), 0.4)
    """
    game.require_numeric()
    fn = sympy.lambdify(game.agents, alignment(game, data), "numpy")
    axes = [np.linspace(lo, hi, resolution) for lo, hi in bounds]
    grid = np.meshgrid(*axes, indexing="ij")
    values = np.broadcast_to(np.asarray(fn(*grid), dtype=float), grid[0].shape)
    mask = values < 0
    return float(mask.mean()), mask
