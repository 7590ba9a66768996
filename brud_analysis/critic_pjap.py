"""A fitted critic on PJAP-prioritised data: MADDPG+CQL with PJAP in polynomial form.

Beyond the paper (issue 28; docs/critics.md#maddpgcql-with-and-without-pjap). The HalfCheetah
learner samples every batch, the critic's and the actors', by PJAP priority. For the squared-L2
kernel ``exp(-alpha_p ||a - theta||^2)`` with no floor (``eps = 0``) and independent normal data
``N(m_j, s_j^2)`` the prioritised data are again independent normal,
``N((m_j + k_j theta_j) / (1 + k_j), s_j^2 / (1 + k_j))`` with ``k_j = 2 alpha_p s_j^2``
(:func:`brud_analysis.pjap.reweighted_normal`). So the critic fitted to them is the critic of
:mod:`brud_analysis.critic` with data means that move with the policy, and the rule's field is
exact: a rational function of theta whose one denominator is the Gram determinant of the
prioritised data (positive: the Gram matrix of independent features under a non-degenerate
normal is positive definite). Multiplying by it gives a polynomial field with the same zeros and,
at each zero, a Jacobian scaled by a positive number: the same stability (exact fixed points).

The derivation is done with the prioritised means as symbols and substituted after: solving
the normal equations over Q(theta) directly is far slower (minutes against a second).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy

from brud_analysis.critic import CriticSpec, fit_critic, rule_field
from brud_analysis.data import Normal
from brud_analysis.errors import BrudError
from brud_analysis.exact import to_exact
from brud_analysis.game import Game
from brud_analysis.pjap import reweighted_normal


@dataclass
class PrioritisedCriticField:
    """The rule's field under the critic fitted to PJAP-prioritised data (or to the data as
    they are, ``pjap_alpha = 0``).

    Attributes:
        in_means: the exact field in theta and the prioritised data's means ``means`` (symbols
            standing for ``mean_of``, affine in theta); :meth:`field` substitutes them.
        gram_in_means: the critic's Gram matrix, in the same symbols.
        seen: the prioritised data model (means in theta).
    """

    game: Game
    spec: CriticSpec
    pjap_alpha: sympy.Expr
    means: tuple[sympy.Symbol, ...]
    in_means: tuple[sympy.Expr, ...]
    gram_in_means: sympy.Matrix
    seen: Normal

    def field(self) -> tuple[sympy.Expr, ...]:
        """The exact field in theta (rational for ``pjap_alpha > 0``)."""
        put = dict(zip(self.means, self.seen.mean, strict=True))
        return tuple(sympy.together(g.xreplace(put)) for g in self.in_means)

    def polynomial_field(self) -> tuple[sympy.Expr, ...]:
        """``det G(theta) * field``: polynomials with the field's zeros and, at each, its
        Jacobian times ``det G > 0`` (the same stability); for the exact solver."""
        put = dict(zip(self.means, self.seen.mean, strict=True))
        det = self.gram_in_means.det(method="berkowitz").xreplace(put)
        return tuple(sympy.expand(sympy.cancel(g * det)) for g in self.field())

    def numeric(self) -> tuple[Callable[[np.ndarray], np.ndarray],
                               Callable[[np.ndarray], np.ndarray]]:
        """The exact field as a numpy function ``(n,) -> (n,)`` and its Jacobian by central
        differences (step 1e-6: error ~1e-10; the symbolic Jacobian of a policy-dependent
        critic takes SymPy seconds to build and lambdify).

        Example:
            >>> from brud_analysis.catalogue import sign_agreement
            >>> f, j = prioritised_critic_field(sign_agreement(), Normal([1, 0], [1, 1]),
            ...                                 CriticSpec("reward"), 1).numeric()
            >>> f(np.array([1.0, 1.0])).round(6).tolist(), j(np.zeros(2)).round(6).tolist()
            ([0.666667, 1.0], [[0.0, 0.666667], [0.666667, 0.0]])
        """
        agents = self.game.agents
        # through the means: substituting them first makes expressions SymPy takes seconds
        # to build
        f_raw = sympy.lambdify([*agents, *self.means], list(self.in_means), "numpy", cse=True)
        mean_fn = sympy.lambdify([agents], list(self.seen.mean), "numpy")

        def f(t: np.ndarray) -> np.ndarray:
            t = np.asarray(t, float)
            return np.asarray(f_raw(*t, *mean_fn(t)), float)

        def j(t: np.ndarray, h: float = 1e-6) -> np.ndarray:
            t = np.asarray(t, float)
            cols = [(f(t + h * e) - f(t - h * e)) / (2 * h) for e in np.eye(len(t))]
            return np.stack(cols, axis=1)

        return f, j

    def data_at(self, theta: Any) -> Normal:
        """The prioritised data model at a numeric policy."""
        values = dict(zip(self.game.agents, theta, strict=True))
        return Normal([float(sympy.sympify(m).xreplace(values)) for m in self.seen.mean],
                      [float(s) for s in self.seen.std])


def prioritised_critic_field(game: Game, data: Normal, spec: CriticSpec, pjap_alpha: Any
                             ) -> PrioritisedCriticField:
    """The field of ``spec.rule`` under the critic fitted (CQL, ``spec``) to the data seen
    through PJAP's squared-L2 kernel with temperature ``pjap_alpha`` (0: no PJAP), eps = 0.

    Example (R = xy, its class: with alpha_cql = 0 the critic is R, and BRUD on prioritised
    data is the closed-form PJAP field, here ((m_y + k y)/(1 + k), ...), k = 2):
        >>> from brud_analysis.catalogue import sign_agreement
        >>> out = prioritised_critic_field(sign_agreement(), Normal([1, 0], [1, 1]),
        ...                                CriticSpec("reward"), 1)
        >>> out.field()
        (2*y/3, (2*x + 1)/3)
    """
    if not isinstance(data, Normal) or not data.is_numeric():
        raise BrudError("a critic on PJAP-prioritised data needs numeric independent normal "
                        "data (the closed form of the prioritised data)")
    pjap_alpha = to_exact(pjap_alpha)
    if not pjap_alpha >= 0:
        raise BrudError(f"PJAP alpha must be >= 0, got {pjap_alpha}")
    seen = reweighted_normal(data, game.agents, pjap_alpha) if pjap_alpha else data
    means = sympy.symbols(f"_m0:{game.n_agents}", real=True)
    key = (str(game.reward), tuple(game.agent_names), tuple(seen.std), spec)
    if key not in _IN_MEANS:  # the fit depends on the data's stds, not on their means
        model = Normal(list(means), list(seen.std))
        critic = fit_critic(game, model, spec)
        _IN_MEANS[key] = (rule_field(game, model, critic), critic.gram)
    field_, gram = _IN_MEANS[key]
    return PrioritisedCriticField(game, spec, pjap_alpha, tuple(means), field_, gram, seen)


# fields in symbolic means, by (reward, agents, stds, spec): datasets that differ only in
# their means share one exact fit (the claims compare several)
_IN_MEANS: dict[tuple, tuple[tuple[sympy.Expr, ...], sympy.Matrix]] = {}


def sample_to_policy_distance(data: Normal, theta: Any) -> float:
    """``E_a[(1/n) sum_i |a_i - theta_i|]`` for independent normal data: the mean absolute
    action gap a PJAP learner logs (its Eq. 8 for one step), per agent a folded normal's mean.

    Example:
        >>> round(sample_to_policy_distance(Normal([0, 0], [1, 1]), [0, 0]), 4)  # sqrt(2/pi)
        0.7979
    """
    from scipy.stats import foldnorm

    gaps = [foldnorm.mean(abs(float(m) - float(t)) / float(s), scale=float(s)) if float(s) > 0
            else abs(float(m) - float(t))
            for m, s, t in zip(data.mean, data.std, theta, strict=True)]
    return float(np.mean(gaps))
