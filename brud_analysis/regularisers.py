"""Policy regularisation in BRUD: a penalty in each agent's own action and its data action.

Beyond the paper (issue 14; see ``docs/theory.md``, sections "The BRUD-induced field" and
"PJAP"). Offline actor-critic methods anchor the actor to the data (TD3+BC, BC terms). With a
penalty ``P(theta, a)`` (polynomial in the agent's own action ``theta`` and the dataset's action
``a`` of the *same* agent) agent i's objective becomes

    J_i = E_data[ R(theta_i, a_-i) ] - E_data[ P(theta_i, a_i) ]

so its BRUD component becomes ``g_i(theta_i) - E_data[dP/dtheta(theta_i, a_i)]``. Since ``P`` is
polynomial in ``a``, the extra term depends on the data only through moments of agent i's *own*
data column (moment substitution again), and only on ``theta_i``: the regularised BRUD field
still decouples the agents. Behaviour cloning (``bc(lam)``) is ``P = lam (theta - a)^2``, whose
term is ``-2 lam (theta_i - E[a_i])``.

Under PJAP the penalty is evaluated on the prioritised minibatch, so agent i's *own* column is
reweighted too: for the squared-L2 kernel and normal data its mean becomes
``(m_i + kappa_i theta_i) / (1 + kappa_i)`` (kappa_i = 2 alpha s_i^2), and the BC term becomes
``-2 lam (theta_i - m_i) / (1 + kappa_i)``: PJAP weakens a BC anchor by ``1 / (1 + 2 alpha s_i^2)``.

The symbolic machinery (fixed-point solver, stability, data conditions, PJAP field) is the one of
the unregularised theory; this module only supplies the extra term and the entry points.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sympy

from brud_analysis.data import DataModel
from brud_analysis.errors import BrudError
from brud_analysis.exact import to_exact as _to_exact
from brud_analysis.game import Game, parse_text

if TYPE_CHECKING:
    from brud_analysis.conditions import DataCondition
    from brud_analysis.pjap import Distance, PJAPFixedPoint
    from brud_analysis.solve import FixedPointAnalysis

#: The penalty's variables: the agent's own policy action and the dataset's action of that agent.
THETA = sympy.Symbol("theta", real=True)
ACTION = sympy.Symbol("a", real=True)
#: The default symbolic regularisation weight.
LAMBDA = sympy.Symbol("lambda", nonnegative=True)


@dataclass(frozen=True)
class Regulariser:
    """A penalty ``P(theta, a)`` subtracted (in expectation over the data) from each agent's
    objective; ``theta`` is the agent's own action, ``a`` the dataset's action of that agent.

    Attributes:
        penalty: polynomial in :data:`THETA` and :data:`ACTION`; other symbols are parameters
            (e.g. :data:`LAMBDA`).
        name: ``"bc"`` for behaviour cloning, else ``"penalty"``.
        weight: the BC weight (``None`` for a general penalty).

    Example:
        >>> r = Regulariser(LAMBDA * (THETA - ACTION)**4)
        >>> sympy.factor(r.gradient_term())
        4*lambda*(a - theta)**3
    """

    penalty: sympy.Expr
    name: str = "penalty"
    weight: sympy.Expr | None = None

    def __post_init__(self) -> None:
        expr = sympy.sympify(self.penalty)
        if not isinstance(expr, sympy.Expr) or not expr.is_polynomial(THETA, ACTION):
            raise BrudError(f"a regulariser penalty must be a polynomial in theta and a, got "
                            f"{self.penalty}")
        object.__setattr__(self, "penalty", expr)

    @property
    def variables(self) -> tuple[sympy.Symbol, sympy.Symbol]:
        """``(THETA, ACTION)``: the own-action and own-data-action symbols of the penalty.

        Example:
            >>> bc(1).variables
            (theta, a)
        """
        return THETA, ACTION

    @property
    def parameters(self) -> tuple[sympy.Symbol, ...]:
        """Free symbols of the penalty other than ``theta`` and ``a`` (e.g. ``lambda``).

        Example:
            >>> bc().parameters, bc(2).parameters
            ((lambda,), ())
        """
        return tuple(sorted(self.penalty.free_symbols - {THETA, ACTION}, key=lambda s: s.name))

    def is_numeric(self) -> bool:
        """Whether every coefficient is a number.

        Example:
            >>> bc(0.5).is_numeric()
            True
        """
        return not self.parameters

    def gradient_term(self) -> sympy.Expr:
        """``-dP/dtheta`` in ``theta`` and ``a``: what the penalty adds to the ascent direction.

        Example:
            >>> bc(1).gradient_term()
            2*a - 2*theta
        """
        return sympy.expand(-sympy.diff(self.penalty, THETA))

    def component(self, own: sympy.Symbol, data: DataModel, agent: int) -> sympy.Expr:
        """``-E_data[dP/dtheta(own, a_agent)]``: moments of the agent's own data column.

        Example:
            >>> from brud_analysis.data import Normal
            >>> x = sympy.Symbol("x", real=True)
            >>> bc(1).component(x, Normal([3, 0], [1, 1]), 0)
            6 - 2*x
        """
        term = sympy.Poly(self.gradient_term(), ACTION)
        total = sympy.Integer(0)
        for (k,), coeff in term.terms():
            exps = [0] * data.n_agents
            exps[agent] = k
            total += coeff.subs(THETA, own) * data.moment(exps)
        return sympy.expand(total)

    def with_values(self, **values: Any) -> Regulariser:
        """Substitute parameter values by name, e.g. ``lambda=2``.

        Example:
            >>> bc().with_values(**{"lambda": 2}).penalty
            2*(-a + theta)**2
        """
        by_name = {p.name: p for p in self.parameters}
        unknown = [k for k in values if k not in by_name]
        if unknown:
            raise BrudError(f"unknown regulariser parameter(s) {', '.join(unknown)}")
        subs = {by_name[k]: v if isinstance(v, sympy.Basic) else _to_exact(v)
                for k, v in values.items()}
        weight = None if self.weight is None else sympy.sympify(self.weight).xreplace(subs)
        return Regulariser(self.penalty.xreplace(subs), self.name, weight)

    def describe(self) -> str:
        """One-line text, e.g. ``bc(lambda=1/2)`` or ``penalty (theta - a)**4``.

        Example:
            >>> bc(0.5).describe()
            'bc(lambda=1/2)'
        """
        if self.name == "bc":
            return f"bc(lambda={self.weight})"
        return f"penalty {self.penalty}"


def bc(weight: Any = LAMBDA) -> Regulariser:
    """Behaviour cloning: ``P = weight (theta - a)^2``, BRUD term ``-2 weight (theta_i - E[a_i])``.

    ``weight`` may be a number (floats become exact decimal rationals) or a SymPy symbol.

    Example:
        >>> bc(0.25).gradient_term()
        a/2 - theta/2
    """
    # floats via their shortest decimal, as in reward text: bc(0.1) and "bc=0.1" agree
    w = sympy.sympify(weight) if isinstance(weight, sympy.Basic) else _to_exact(weight)
    if w.is_number and (not w.is_real or w < 0):
        raise BrudError(f"the BC weight must be a real number >= 0, got {weight}")
    return Regulariser(w * (THETA - ACTION) ** 2, "bc", w)


def parse_regulariser(text: str) -> Regulariser:
    """Parse ``bc=LAMBDA`` (a number or a symbol name) or ``penalty=EXPR`` (in theta and a).

    Example:
        >>> parse_regulariser("bc=0.5").describe()
        'bc(lambda=1/2)'
        >>> parse_regulariser("penalty=(theta - a)^4").gradient_term()
        4*a**3 - 12*a**2*theta + 12*a*theta**2 - 4*theta**3
    """
    name, sep, value = (text or "").partition("=")
    name, value = name.strip().lower(), value.strip()
    if not sep or not value or name not in ("bc", "penalty"):
        raise BrudError(f"bad --regulariser {text!r}: use bc=LAMBDA (e.g. bc=0.5) or "
                        "penalty=EXPR in theta and a (e.g. penalty=(theta-a)^4)")
    expr = parse_text(value)
    # parse_text makes real symbols; the penalty's own variables must be ours
    expr = expr.xreplace({s: {"theta": THETA, "a": ACTION}.get(s.name, s)
                          for s in expr.free_symbols})
    if name == "bc":
        if expr.free_symbols & {THETA, ACTION}:
            raise BrudError(f"bc=LAMBDA takes a weight, not an expression in theta/a: {value!r}")
        if expr.is_number and (not expr.is_real or expr < 0):
            raise BrudError(f"the BC weight must be a real number >= 0, got {value!r}")
        if expr.free_symbols:
            expr = expr.xreplace({s: sympy.Symbol(s.name, nonnegative=True)
                                  for s in expr.free_symbols})
        return bc(expr)
    if not expr.free_symbols & {THETA}:
        raise BrudError(f"penalty={value!r} does not depend on theta: it changes nothing")
    return Regulariser(expr, "penalty")


# --------------------------------------------------------------------------- BRUD field


def regularised_component(game: Game, agent: int, data: DataModel,
                          regulariser: Regulariser | None) -> sympy.Expr:
    """``g_i(theta_i) - E[dP/dtheta(theta_i, a_i)]``; plain BRUD when ``regulariser`` is None.

    Example:
        >>> from brud_analysis.catalogue import twin_peaks
        >>> from brud_analysis.data import Normal
        >>> regularised_component(twin_peaks(), 0, Normal([1, 1], [0, 0]), bc(1))
        7 - 12*x
    """
    from brud_analysis.fields import brud_component

    g = brud_component(game, agent, data)
    if regulariser is not None:
        g = sympy.expand(g + regulariser.component(game.agents[agent], data, agent))
    return g


def regularised_field(game: Game, data: DataModel | None = None,
                      regulariser: Regulariser | None = None) -> tuple[sympy.Expr, ...]:
    """The regularised BRUD field, one component per agent (moment symbols without data).

    Example:
        >>> from brud_analysis.catalogue import sign_agreement
        >>> regularised_field(sign_agreement(), None, bc(1))
        (2*E[x] + E[y] - 2*x, E[x] + 2*E[y] - 2*y)
    """
    from brud_analysis.fields import brud_field

    return brud_field(game, data, regulariser)


def regularised_jacobian(game: Game, data: DataModel, regulariser: Regulariser | None
                         ) -> sympy.Matrix:
    """Jacobian of the regularised BRUD field (diagonal: the agents stay decoupled).

    Example:
        >>> from brud_analysis.catalogue import sign_agreement
        >>> from brud_analysis.data import Normal
        >>> regularised_jacobian(sign_agreement(), Normal([0, 0], [1, 1]), bc(1))
        Matrix([
        [-2,  0],
        [ 0, -2]])
    """
    field = regularised_field(game, data, regulariser)
    return sympy.Matrix(field).jacobian(game.agents)


def regularised_fixed_points(game: Game, data: DataModel, regulariser: Regulariser | None,
                             time_budget: float = 10.0) -> FixedPointAnalysis:
    """All real fixed points of the regularised BRUD field, with stability (the existing
    certified solver of :mod:`brud_analysis.solve`).

    Example:
        >>> from brud_analysis.catalogue import sign_agreement
        >>> from brud_analysis.data import Normal
        >>> fp = regularised_fixed_points(sign_agreement(), Normal([1, -1], [1, 1]), bc(1))
        >>> fp.points[0].exact, fp.points[0].stable     # (m_x + m_y / 2, m_y + m_x / 2)
        ((1/2, -1/2), True)
    """
    from brud_analysis.solve import (
        FixedPoint,
        FixedPointAnalysis,
        _check_numeric,
        solve_polynomial_system,
    )
    from brud_analysis.stability import is_stable, numeric_eigenvalues

    if regulariser is None:
        from brud_analysis.solve import brud_fixed_points

        return brud_fixed_points(game, data, time_budget)
    game.require_numeric()
    _require_numeric(regulariser)
    field = regularised_field(game, data, regulariser)
    _check_numeric(field, game.agents)
    sols, sets, method = solve_polynomial_system(field, game.agents, time_budget)
    jac = sympy.Matrix(field).jacobian(game.agents)
    points = []
    for s in sols:
        eig = numeric_eigenvalues(jac, game.agents, s.point)
        points.append(FixedPoint(s.point, s.exact, is_stable(eig), tuple(complex(e) for e in eig)))
    for st in sets:
        if st.sample is not None:
            stab = is_stable(numeric_eigenvalues(jac, game.agents, st.sample))
            st.kind = "degenerate" if stab is None else ("stable" if stab else "unstable")
    return FixedPointAnalysis(points, sets, method, field)


def fixed_point_formulas(game: Game, data: DataModel, regulariser: Regulariser | None
                         ) -> list[list[sympy.Expr]] | None:
    """Per agent, the closed-form roots of its regularised component in its own action, when
    every component has degree <= 2 in it (parameters, data and ``lambda`` may be symbols);
    ``None`` otherwise. Real-ness and stability depend on the parameter values.

    Example (Twin Peaks, optimum-centred data: C a / (C + 2 B s^2) moves to a as lambda grows):
        >>> from brud_analysis.catalogue import twin_peaks
        >>> from brud_analysis.data import Normal
        >>> A, B, C, a, s = sympy.symbols("A B C a s", positive=True)
        >>> roots = fixed_point_formulas(twin_peaks(A, B, C), Normal([a, a], [s, s]), bc())
        >>> sympy.factor(roots[0][0])
        a*(C + 2*lambda)/(2*(A + B*a**2 + B*s**2 + lambda))
    """
    out = []
    for i, g in enumerate(regularised_field(game, data, regulariser)):
        own = game.agents[i]
        poly = sympy.Poly(g, own)
        if poly.degree() > 2 or poly.degree() < 1:
            return None
        out.append([sympy.simplify(r) for r in sympy.solve(poly.as_expr(), own)])
    return out


# --------------------------------------------------------------------------- data conditions


def regularised_conditions(game: Game, target: Sequence, regulariser: Regulariser | None,
                           family: str = "normal") -> DataCondition:
    """Data conditions for BRUD+regulariser to have ``target`` as a fixed point.

    With a regulariser the condition of agent i involves its *own* data column too. It is stated
    for exchangeable data: both agents' data have the same law (mean, std), as in the paper's
    datasets; the relation is then between that common mean and std (the mean axis is called
    ``mean_<other>``, as without a regulariser). Uses
    :func:`brud_analysis.conditions.data_conditions`.

    Example (Twin Peaks, target a_dag = sqrt(3/8), BC weight 1):
        >>> from brud_analysis.catalogue import twin_peaks
        >>> a = sympy.sqrt(sympy.Rational(3, 8))
        >>> cond = regularised_conditions(twin_peaks(1, 4, 5), [a, a], bc(1))
        >>> [(round(lo, 4), round(hi, 4)) for lo, hi in cond.per_agent[0].mean_intervals]
        [(0.6124, 0.8165)]
    """
    from brud_analysis.conditions import data_conditions

    return data_conditions(game, target, family, regulariser=regulariser)


# --------------------------------------------------------------------------- PJAP


def regularised_pjap_field(game: Game, data: Any, alpha: Any, regulariser: Regulariser | None
                           ) -> tuple[sympy.Expr, ...]:
    """Closed-form PJAP field plus the penalty term on the prioritised batch (L2 kernel, eps 0,
    normal data); ``alpha``, the data and ``lambda`` may be symbols.

    Example (BC under PJAP is weakened by 1 / (1 + 2 alpha s^2)):
        >>> from brud_analysis.catalogue import sign_agreement
        >>> from brud_analysis.data import Normal
        >>> regularised_pjap_field(sign_agreement(), Normal([0, 0], [1, 1]), 1, bc(1))
        (-2*x/3 + 2*y/3, 2*x/3 - 2*y/3)
    """
    from brud_analysis.pjap import pjap_field

    return pjap_field(game, data, alpha, regulariser=regulariser)


def regularised_pjap_fixed_points(
    game: Game, data: DataModel, alpha: float, regulariser: Regulariser | None,
    eps: float = 0.0, distance: Distance = "l2", **kwargs: Any,
) -> list[PJAPFixedPoint]:
    """PJAP(+regulariser) fixed points: closed form (L2, eps 0, normal data) or numeric.

    Example:
        >>> from brud_analysis.catalogue import sign_agreement
        >>> from brud_analysis.data import Normal
        >>> pts = regularised_pjap_fixed_points(sign_agreement(), Normal([0, 0], [1, 1]), 0.5,
        ...                                     bc(1))
        >>> [(tuple(round(v, 6) for v in p.point), p.stable) for p in pts]
        [((0.0, 0.0), True)]
    """
    from brud_analysis.pjap import pjap_fixed_points

    _require_numeric(regulariser)
    return pjap_fixed_points(game, data, alpha, eps, distance, regulariser=regulariser, **kwargs)


def _require_numeric(regulariser: Regulariser | None) -> None:
    if regulariser is not None and not regulariser.is_numeric():
        names = ", ".join(p.name for p in regulariser.parameters)
        raise BrudError(f"the regulariser has symbolic {names}: give values (e.g. bc=0.5)")
