"""Hypothesis strategies for property-testing BRUD theory on your own games.

Example:
    >>> from hypothesis import given, settings
    >>> from brud_analysis.fields import brud_field
    >>> @settings(max_examples=5, deadline=None)
    ... @given(polynomial_games())
    ... def test_field_has_one_component_per_agent(game):
    ...     assert len(brud_field(game)) == game.n_agents
    >>> test_field_has_one_component_per_agent()
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from fractions import Fraction

import numpy as np
import sympy
from hypothesis import strategies as st

from brud_analysis.data import DataModel, Mixture, Normal, PointMass, Uniform
from brud_analysis.exact import to_exact
from brud_analysis.game import Game


def _monomials(n_agents: int, max_degree: int) -> list[tuple[int, ...]]:
    return [
        m for m in itertools.product(range(max_degree + 1), repeat=n_agents)
        if 0 < sum(m) <= max_degree
    ]


def small_rationals(limit: int = 3, denominator: int = 4) -> st.SearchStrategy[Fraction]:
    """Rationals p/q with |p/q| <= limit and q <= denominator (exact, SymPy-friendly).

    Example:
        >>> small_rationals().example() is not None
        True
    """
    return st.builds(
        Fraction, st.integers(-limit * denominator, limit * denominator),
        st.integers(1, denominator),
    ).filter(lambda f: abs(f) <= limit)


def _game_from_terms(n_agents: int, terms: Mapping[tuple[int, ...], int | Fraction],
                     max_degree: int) -> Game:
    coeffs = np.zeros((max_degree + 1,) * n_agents, dtype=object)
    coeffs[...] = 0
    for monomial, c in terms.items():
        coeffs[monomial] = c
    return Game(coeffs)


@st.composite
def polynomial_games(draw, n_agents: int | st.SearchStrategy[int] = 2, max_degree: int = 4,
                     max_terms: int = 6, coefficient_limit: int = 5) -> Game:
    """Random polynomial games with small integer coefficients (agents x, y, z / a1..an).

    Example:
        >>> polynomial_games(n_agents=3).example().n_agents
        3
    """
    n = draw(n_agents) if isinstance(n_agents, st.SearchStrategy) else n_agents
    monomials = _monomials(n, max_degree)
    chosen = draw(st.lists(st.sampled_from(monomials), min_size=1, max_size=max_terms,
                           unique=True))
    nonzero = st.integers(-coefficient_limit, coefficient_limit).filter(bool)
    terms = {m: draw(nonzero) for m in chosen}
    return _game_from_terms(n, terms, max_degree)


@st.composite
def data_models(draw, n_agents: int = 2, families: tuple[str, ...] = (
        "normal", "uniform", "point", "mixture")) -> DataModel:
    """Random numeric data models (exact rational parameters).

    Example:
        >>> data_models(n_agents=2).example().n_agents
        2
    """
    family = draw(st.sampled_from(families))
    vec = st.lists(small_rationals(), min_size=n_agents, max_size=n_agents)
    pos = st.lists(small_rationals(2).map(abs), min_size=n_agents, max_size=n_agents)
    if family == "normal":
        return Normal(draw(vec), draw(pos))
    if family == "uniform":
        low = draw(vec)
        return Uniform(low, [lo + w for lo, w in zip(low, draw(pos), strict=True)])
    if family == "point":
        return PointMass(draw(vec))
    simple = ("normal", "uniform", "point")
    parts = draw(st.lists(data_models(n_agents, simple), min_size=2, max_size=2))
    w = draw(st.integers(1, 4))
    return Mixture(parts, [w, 5 - w])


@st.composite
def games_with_stable_brud_fixed_point(draw, n_agents: int = 2) -> tuple[Game, DataModel]:
    """(game, data) whose BRUD flow has exactly one fixed point, and it is stable.

    R = -sum_i c_i a_i^2 + (a multilinear polynomial): then g_i = -2 c_i theta_i + const_i,
    a line with negative slope for every data model.

    Example:
        >>> game, data = games_with_stable_brud_fixed_point().example()
        >>> game.n_agents == data.n_agents
        True
    """
    multilinear = [m for m in _monomials(n_agents, n_agents) if max(m) <= 1]
    chosen = draw(st.lists(st.sampled_from(multilinear), min_size=1, max_size=4, unique=True))
    terms = {m: draw(st.integers(-4, 4).filter(bool)) for m in chosen}
    for i in range(n_agents):
        square = tuple(2 if j == i else 0 for j in range(n_agents))
        terms[square] = -draw(st.integers(1, 4))
    game = _game_from_terms(n_agents, terms, max(2, n_agents))
    return game, draw(data_models(n_agents))


# A stationary point of known kind: R = scale * form(x - x0, y - y0) where the form's kind at 0
# is known by construction (kind, higher-order verdict).
_KNOWN_FORMS: tuple[tuple[str, str, str | None], ...] = (
    ("-(u**2) - v**2", "maximum", None),
    ("u**2 + v**2", "minimum", None),
    ("u**2 - v**2", "saddle", None),
    ("-(u**2) - 10**-10*v**2", "maximum", None),  # eigenvalues 1e10 apart
    ("u**2 + u*v + v**2", "minimum", None),
    ("-(u**4) - v**2", "degenerate", "maximum"),
    ("u**4 + v**2", "degenerate", "minimum"),
    ("u**3 - v**2", "degenerate", "saddle"),
    ("-(u**4) - v**4", "degenerate", "maximum"),
    ("u**2*v**2 - u**4 - v**4", "degenerate", "maximum"),
    ("-(u**4) + v**2", "degenerate", "saddle"),
    ("-(u - v)**4 - (u + v)**2", "degenerate", "maximum"),
)


@st.composite
def structured_stationary_games(draw) -> tuple[Game, tuple[Fraction, Fraction], str, str | None]:
    """(game, point, kind, higher-order verdict) for a 2-agent game whose only stationary
    point has a known kind, scaled by a random power of ten and shifted far from the origin.

    Example:
        >>> game, point, kind, higher = structured_stationary_games().example()
        >>> kind in ("maximum", "minimum", "saddle", "degenerate")
        True
    """
    import sympy

    form, kind, higher = draw(st.sampled_from(_KNOWN_FORMS))
    scale = sympy.Integer(10) ** draw(st.integers(-12, 12))
    x0 = Fraction(draw(st.integers(-10**6, 10**6)), draw(st.sampled_from([1, 2, 7])))
    y0 = Fraction(draw(st.integers(-10**6, 10**6)), draw(st.sampled_from([1, 3, 10])))
    x, y = sympy.symbols("x y", real=True)
    u, v = sympy.symbols("u v", real=True)
    shift = {u: x - sympy.Rational(x0.numerator, x0.denominator),
             v: y - sympy.Rational(y0.numerator, y0.denominator)}
    reward = scale * sympy.sympify(form, locals={"u": u, "v": v}).subs(shift)
    return Game(sympy.expand(reward), agents=["x", "y"]), (x0, y0), kind, higher


@st.composite
def games_with_nonlinear_brud_field(draw, n_agents: int = 2) -> tuple[Game, DataModel]:
    """(game, data) whose BRUD field is cubic in each agent's own action, often with two
    stable roots per agent (several basins).

    R = sum_i -c_i (a_i^2 - s_i)^2 + (a multilinear coupling), so
    g_i = -4 c_i theta_i^3 + 4 c_i s_i theta_i + (data moments of the coupling): a cubic with
    negative leading coefficient (every run stays bounded under the flow), one or three real
    roots depending on s_i and the data. Data are normal with small rational parameters.

    Example:
        >>> game, data = games_with_nonlinear_brud_field().example()
        >>> from brud_analysis.fields import brud_field
        >>> import sympy
        >>> sympy.degree(brud_field(game, data)[0], game.agents[0])
        3
    """
    multilinear = [m for m in _monomials(n_agents, n_agents) if max(m) <= 1 and sum(m) >= 2]
    chosen = draw(st.lists(st.sampled_from(multilinear), min_size=1, max_size=2, unique=True))
    terms: dict[tuple[int, ...], Fraction] = {
        m: Fraction(draw(st.integers(-2, 2).filter(bool))) for m in chosen}
    for i in range(n_agents):
        c = Fraction(draw(st.integers(1, 3)), 2)
        s = Fraction(draw(st.integers(1, 4)), 2)  # wells at +-sqrt(s)
        quartic = tuple(4 if j == i else 0 for j in range(n_agents))
        square = tuple(2 if j == i else 0 for j in range(n_agents))
        terms[quartic] = terms.get(quartic, 0) - c
        terms[square] = terms.get(square, 0) + 2 * c * s
    means = draw(st.lists(small_rationals(1, 4), min_size=n_agents, max_size=n_agents))
    stds = draw(st.lists(st.integers(1, 4).map(lambda k: Fraction(k, 4)), min_size=n_agents,
                         max_size=n_agents))
    return _game_from_terms(n_agents, terms, 4), Normal(means, stds)


# ------------------------------------------------------------------ regularised games (issue 14)


@st.composite
def regularisers(draw, max_weight: int = 4, general: bool = True):
    """Random policy penalties (:mod:`brud_analysis.regularisers`): BC with a small rational
    weight, or (``general``) a convex even power ``c (theta - a)^(2k)`` plus ``d theta^2``.

    Example:
        >>> regularisers().example().is_numeric()
        True
    """
    from brud_analysis.regularisers import ACTION, THETA, Regulariser, bc

    weight = draw(small_rationals(max_weight).map(abs))
    if not general or draw(st.booleans()):
        return bc(weight)
    k = draw(st.integers(1, 2))
    d = draw(small_rationals(2).map(abs))
    penalty = to_exact(weight) * (THETA - ACTION) ** (2 * k) + to_exact(d) * THETA**2
    return Regulariser(sympy.expand(penalty), "penalty")


@st.composite
def regularised_games(draw, n_agents: int = 2, families: tuple[str, ...] = (
        "normal", "uniform", "point", "mixture")):
    """``(game, data, regulariser)``: a random polynomial game, data model and BC/penalty.

    Example:
        >>> game, data, reg = regularised_games().example()
        >>> game.n_agents == data.n_agents
        True
    """
    game = draw(polynomial_games(n_agents=n_agents, max_degree=3, max_terms=4))
    return game, draw(data_models(n_agents, families)), draw(regularisers())


@st.composite
def games_with_stable_bc_fixed_point(draw, n_agents: int = 2):
    """``(game, data, bc(lambda))`` whose regularised BRUD flow has one fixed point, stable.

    The games of :func:`games_with_stable_brud_fixed_point` (each ``g_i`` a line of negative
    slope); BC adds ``-2 lambda`` to the slope, so the fixed point stays unique and stable.

    Example:
        >>> game, data, reg = games_with_stable_bc_fixed_point().example()
        >>> reg.name
        'bc'
    """
    from brud_analysis.regularisers import bc

    game, data = draw(games_with_stable_brud_fixed_point(n_agents))
    return game, data, bc(draw(small_rationals(4).map(abs)))


@st.composite
def structured_stationary_sets(draw) -> tuple[Game, sympy.Expr, sympy.Expr, frozenset[str]]:
    """(game, h, g, kinds) for a 3-agent game R = scale * h^m * g whose stationary set h = 0 (a
    sphere shifted far from the origin) has pieces of known kinds: for even m, maxima where
    g < 0 and minima where g > 0; for odd m, saddles. g is a constant or a linear form that
    changes sign on the sphere; the scale is a random power of ten.

    Example:
        >>> game, h, g, kinds = structured_stationary_sets().example()
        >>> kinds <= {"maximum", "minimum", "saddle"}
        True
    """
    x, y, z = (sympy.Symbol(name, real=True) for name in "xyz")
    centre = [sympy.Integer(draw(st.integers(-1000, 1000))) for _ in range(3)]
    radius = draw(st.sampled_from([sympy.Rational(1, 2), sympy.Integer(1), sympy.Integer(3)]))
    h = sum((v - c) ** 2 for v, c in zip((x, y, z), centre, strict=True)) - radius**2
    m = draw(st.sampled_from([2, 3]))
    sign = draw(st.sampled_from([-1, 1]))
    if draw(st.booleans()):  # a plane through the sphere, off its centre
        axis = draw(st.sampled_from([0, 1, 2]))
        g = sign * ((x, y, z)[axis] - centre[axis] - radius / 2)
        kinds = frozenset({"saddle"} if m % 2 else {"maximum", "minimum"})
    else:
        g = sympy.Integer(sign)
        kinds = frozenset({"saddle" if m % 2 else "maximum" if sign < 0 else "minimum"})
    scale = sympy.Integer(10) ** draw(st.integers(-9, 9))
    game = Game(sympy.expand(scale * h**m * g), agents=["x", "y", "z"])
    return game, sympy.expand(h), g, kinds


@st.composite
def sets_with_isolated_points(draw, n_agents: int | st.SearchStrategy[int] | None = None
                              ) -> tuple[Game, list[tuple[tuple[float, ...], str]]]:
    """(game, isolated stationary points with their kinds) for a game with a stationary line
    through the origin and isolated points beside it (the shape of the benchmark's 4-agent game
    #1), known by construction, in 3-5 agents.

    In coordinates (y, t), y in R^(n-1): R = w(t) q(y) + r(y), q = sum d_i y_i^2 / 2,
    r = sum e_i y_i^4 / 4 (all e_i of one sign), w(t) = t^2 - k or t^3 - 3 p^2 t + k. Every term
    vanishes to order 2 on the line y = 0, which is stationary. Off it the gradient vanishes
    exactly where w'(t) = 0 and, for each i, y_i = 0 or y_i^2 = -w(t) d_i / e_i (q = 0 would
    need sum over the support of d_i^2 / e_i = 0, impossible with one sign of e). There the
    Hessian is diagonal: -2 w d_i (y_i != 0), w d_i (y_i = 0) and q w'' (t): its signs give
    the kinds. Then x = A^-1 (y, t) for a random unimodular integer matrix A, so that no
    Groebner basis element factors along the pieces.

    Example:
        >>> game, points = sets_with_isolated_points().example()
        >>> 3 <= game.n_agents <= 5 and all(len(p) == game.n_agents for p, _ in points)
        True
    """
    if n_agents is None:
        n_agents = st.integers(3, 5)
    n = draw(n_agents) if isinstance(n_agents, st.SearchStrategy) else n_agents
    k = n - 1
    e_sign = draw(st.sampled_from([-1, 1]))
    e = [e_sign * draw(st.sampled_from([1, 2])) for _ in range(k)]
    d = [draw(st.sampled_from([-2, -1, 1, 2])) for _ in range(k)]
    ys = sympy.symbols(f"y0:{k}")
    t = sympy.Symbol("t")
    if n == 3 and draw(st.booleans()):
        p = draw(st.integers(1, 2))
        c = draw(st.integers(-3, 3).filter(lambda c: abs(c) != 2 * p**3))
        w = t**3 - 3 * p**2 * t + c
        taus = [p, -p]
    else:
        w = t**2 - draw(st.integers(-3, 3).filter(lambda c: c != 0))
        taus = [0]
        # at most two coordinates with y_i != 0 at t = 0 (at most 8 points: the exact solve
        # of 80 points in 5 agents takes longer than the default budget)
        d[2:] = [abs(di) * int(sympy.sign(w.subs(t, 0) * e_sign)) for di in d[2:]]
    q = sum(sympy.Rational(di, 2) * y**2 for di, y in zip(d, ys, strict=True))
    r = sum(sympy.Rational(ei, 4) * y**4 for ei, y in zip(e, ys, strict=True))
    a = sympy.eye(n)
    for _ in range(draw(st.integers(2, 2 * n))):  # elementary integer row operations
        i, j = draw(st.permutations(range(n)))[:2]
        a[i, :] += draw(st.sampled_from([-1, 1])) * a[j, :]
    names = [f"a{i + 1}" for i in range(n)]
    xs = sympy.symbols(names, real=True)
    yt = a * sympy.Matrix(xs)
    reward = sympy.expand((w * q + r).xreplace(dict(zip((*ys, t), yt, strict=True))))
    a_inv = a.inv()
    points = []
    for tau in taus:
        w_tau, w2 = w.subs(t, tau), sympy.diff(w, t, 2).subs(t, tau)
        choices = [[sympy.Integer(0)] + ([sympy.sqrt(-w_tau * di / ei), -sympy.sqrt(
            -w_tau * di / ei)] if -w_tau * di / ei > 0 else []) for di, ei in zip(d, e,
                                                                                    strict=True)]
        for y in itertools.product(*choices):
            if all(v == 0 for v in y):
                continue  # on the line
            q_y = q.xreplace(dict(zip(ys, y, strict=True)))
            diag = [-2 * w_tau * di if v != 0 else w_tau * di for di, v in zip(d, y, strict=True)]
            signs = {int(sympy.sign(h)) for h in [*diag, q_y * w2]}
            kind = "saddle" if len(signs) > 1 else "maximum" if signs == {-1} else "minimum"
            x = a_inv * sympy.Matrix([*y, tau])
            points.append((tuple(float(v) for v in x), kind))
    return Game(reward, agents=names), points
