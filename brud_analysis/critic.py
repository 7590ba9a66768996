"""Fitted critics (least squares and CQL) and the update rules they drive (docs/critics.md).

Beyond the paper, which assumes the critic equals R. A *critic class* is a list of monomial
features ``phi_k`` in the agents' actions and ``Q_w = sum_k w_k phi_k``. The fitted critic
minimises, over the data distribution D and an out-of-distribution (OOD) distribution rho,

    L(w) = 1/2 E_D[(Q_w(a) - R(a))^2] + alpha (E_rho[Q_w(a)] - E_D[Q_w(a)]),

whose normal equations are ``E_D[phi phi^T] w = E_D[phi R] - alpha (E_rho[phi] - E_D[phi])``:
every entry is a moment, so the weights are exact (rational functions of any symbols). With
``ood="policy"`` rho is the joint policy theta plus N(0, std^2) noise, so ``w`` is a polynomial
in theta and the actor field below is the *coupled* actor-critic field (critic at its fit for
each theta, the two-timescale limit).

Update rules under Q_w (agent i's ascent direction, a field in theta):

* ``brud``: ``E_D[dQ_w/da_i (theta_i, a_-i)]`` (the paper's BRUD, data actions for the others);
* ``joint``: ``dQ_w/da_i (theta)`` (the critic evaluated at the joint policy);
* ``sequential``: ``E_D[dQ_w/da_i (theta_1..theta_i, a_{i+1}..a_n)]``: earlier agents' (already
  updated) policies, later agents' data; the small-step limit of agents updating in order.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sympy
from sympy.polys.matrices import DomainMatrix

from brud_analysis.algebra.solve import field_fixed_points  # shared with brud_fixed_points
from brud_analysis.data import DataModel, Empirical, Normal, Uniform
from brud_analysis.errors import BrudError
from brud_analysis.exact import to_exact
from brud_analysis.game import Game, parse_text

RULES = ("brud", "joint", "sequential")
OODS = ("uniform", "policy")
#: Largest number of features (a degree-K class in n agents has C(n + K, K)): the normal
#: equations are a dense exact solve of this size.
MAX_FEATURES = 84

Exponents = tuple[int, ...]


@dataclass(frozen=True)
class CriticSpec:
    """A critic class, its CQL weight, OOD distribution and the actors' update rule.

    Attributes:
        features: ``"degree=K"`` (every monomial of total degree <= K), ``"reward"`` (R's
            monomials and a constant), ``"bilinear"`` (1, each a_i and each a_i a_j, i < j) or
            explicit monomials (``"1,x,y,x*y"`` or a list).
        alpha: the CQL weight (>= 0; a number or a symbol); 0 is least squares.
        ood: ``"uniform"`` on the box ``[low, high]^n`` or ``"policy"`` (theta + N(0, std^2)).
        box: the uniform OOD box ``(low, high)``.
        std: the policy OOD noise std (> 0 ... or 0: rho is then the point mass at theta).
        rule: ``"brud"``, ``"joint"`` or ``"sequential"``.

    Example:
        >>> CriticSpec("degree=2", alpha=1).rule
        'brud'
    """

    features: str | Sequence[str] = "reward"
    alpha: Any = 0
    ood: str = "uniform"
    box: tuple[Any, Any] = (-1, 1)
    std: Any = sympy.Rational(3, 10)
    rule: str = "brud"

    def __post_init__(self) -> None:
        if self.ood not in OODS:
            raise BrudError(f"--ood must be one of {', '.join(OODS)}, got {self.ood!r}")
        if self.rule not in RULES:
            raise BrudError(f"--rule must be one of {', '.join(RULES)}, got {self.rule!r}")
        object.__setattr__(self, "alpha", _value(self.alpha, "--cql"))
        object.__setattr__(self, "std", _value(self.std, "--ood-std"))
        low, high = (_value(v, "--ood-box") for v in self.box)
        object.__setattr__(self, "box", (low, high))
        if self.alpha.is_number and self.alpha < 0:
            raise BrudError(f"--cql ALPHA must be >= 0, got {self.alpha}")
        if self.std.is_number and self.std < 0:
            raise BrudError(f"--ood-std must be >= 0, got {self.std}")
        if (high - low).is_number and not high > low:
            raise BrudError(f"--ood-box needs LOW < HIGH, got {low} {high}")

    def describe(self) -> str:
        """One line: class, alpha, OOD and rule.

        Example:
            >>> CriticSpec("degree=2", alpha=1, ood="policy").describe()
            'critic degree=2, CQL alpha=1, OOD policy + N(0, 3/10^2), rule brud'
        """
        feats = self.features if isinstance(self.features, str) else ",".join(self.features)
        ood = (f"uniform on [{self.box[0]}, {self.box[1]}]^n" if self.ood == "uniform"
               else f"policy + N(0, {self.std}^2)")
        return f"critic {feats}, CQL alpha={self.alpha}, OOD {ood}, rule {self.rule}"


def _value(value: Any, flag: str) -> sympy.Expr:
    """An exact real value (a number or an expression in parameter symbols)."""
    try:
        out = parse_text(value) if isinstance(value, str) else to_exact(value)
    except BrudError as err:
        raise BrudError(f"{flag}: {err}") from None
    if not isinstance(out, sympy.Expr) or out.has(sympy.nan, sympy.zoo, sympy.oo, -sympy.oo):
        raise BrudError(f"{flag} must be a finite real value, got {value!r}")
    if out.is_number and out.is_real is False:
        raise BrudError(f"{flag} must be real, got {value!r}")
    return out.xreplace({s: sympy.Symbol(s.name, real=True) for s in out.free_symbols})


# ------------------------------------------------------------------------------ features
def feature_exponents(game: Game, features: str | Sequence[str]) -> list[Exponents]:
    """The critic class as exponent vectors (graded order, constant first), no repeats.

    Example:
        >>> feature_exponents(Game("x*y"), "degree=1")
        [(0, 0), (1, 0), (0, 1)]
        >>> feature_exponents(Game("-x**2*y**2 + 5*x*y"), "reward")
        [(0, 0), (1, 1), (2, 2)]
    """
    n = game.n_agents
    if isinstance(features, str):
        text = features.strip().replace(" ", "")
        if text.startswith("degree="):
            try:
                k = int(text.split("=", 1)[1])
            except ValueError:
                raise BrudError(f"--critic degree=K needs an integer K, got {features!r}"
                                ) from None
            if k < 0:
                raise BrudError(f"--critic degree=K needs K >= 0, got {k}")
            exps = [e for e in itertools.product(range(k + 1), repeat=n) if sum(e) <= k]
        elif text == "reward":
            exps = [(0,) * n] + [tuple(m) for m in game.poly.monoms()]
        elif text == "bilinear":
            exps = [(0,) * n] + [tuple(int(j == i) for j in range(n)) for i in range(n)]
            exps += [tuple(int(j in (i, k)) for j in range(n))
                     for i, k in itertools.combinations(range(n), 2)]
        else:
            exps = [_monomial(game, t) for t in text.split(",") if t]
    else:
        exps = [_monomial(game, str(t)) for t in features]
    if not exps:
        raise BrudError("--critic: the critic class is empty")
    if len(exps) > MAX_FEATURES:
        raise BrudError(f"--critic: {len(exps)} features (limit {MAX_FEATURES})")
    unique = sorted(set(exps), key=lambda e: (sum(e), tuple(-v for v in e)))
    return unique


def _monomial(game: Game, text: str) -> Exponents:
    expr = parse_text(text)
    names = {s.name for s in expr.free_symbols}
    unknown = sorted(names - set(game.agent_names))
    if unknown:
        raise BrudError(f"--critic features are monomials in the agents "
                        f"({', '.join(game.agent_names)}), got {text!r}")
    agents = [sympy.Symbol(n) for n in game.agent_names]
    expr = expr.xreplace({s: sympy.Symbol(s.name) for s in expr.free_symbols})
    if expr == 1:
        return (0,) * game.n_agents
    poly = (sympy.Poly(expr, *agents) if expr.free_symbols and expr.is_polynomial(*agents)
            else None)
    if poly is None or len(poly.terms()) != 1 or poly.terms()[0][1] != 1:
        raise BrudError(f"--critic features are monomials with coefficient 1 (like x*y**2), "
                        f"got {text!r}")
    return tuple(poly.terms()[0][0])


def monomial(game: Game, exps: Exponents) -> sympy.Expr:
    """``prod_i a_i**e_i`` in the game's agent symbols.

    Example:
        >>> monomial(Game("x*y"), (2, 1))
        x**2*y
    """
    return sympy.Mul(*[a**e for a, e in zip(game.agents, exps, strict=True)])


# ------------------------------------------------------------------------------ the fit
def _data_moment(data: DataModel, exps: Sequence[int]) -> sympy.Expr:
    m = data.moment(exps)
    # an empirical moment is the Float of the correctly rounded mean: solve with its exact
    # binary value, so the weights are exact for the data as stored
    return sympy.Rational(m) if isinstance(data, Empirical) else m


def _add(a: Sequence[int], b: Sequence[int]) -> tuple[int, ...]:
    return tuple(x + y for x, y in zip(a, b, strict=True))


def ood_moments(game: Game, spec: CriticSpec, exps: Sequence[Exponents]) -> list[sympy.Expr]:
    """``E_rho[phi_k]`` for each feature (a polynomial in theta for policy OOD).

    Example:
        >>> ood_moments(Game("x*y"), CriticSpec(ood="policy", std=1), [(2, 0), (1, 1)])
        [x**2 + 1, x*y]
    """
    n = game.n_agents
    if spec.ood == "uniform":
        rho: DataModel = Uniform([spec.box[0]] * n, [spec.box[1]] * n)
    else:
        rho = Normal(list(game.agents), [spec.std] * n)
    return [sympy.expand(rho.moment(e)) for e in exps]


@dataclass
class FittedCritic:
    """The fitted critic: features, exact weights (in theta for policy OOD) and Q_w.

    Attributes:
        exponents: the features as exponent vectors; ``features`` as expressions.
        weights: the exact weights ``w_k``.
        gram / target: ``E_D[phi phi^T]`` and the right-hand side of the normal equations.
        notes: conditions the answer needs (a symbolic Gram determinant non-zero).
    """

    game: Game
    spec: CriticSpec
    exponents: list[Exponents]
    features: list[sympy.Expr]
    weights: list[sympy.Expr]
    gram: sympy.Matrix
    target: sympy.Matrix
    notes: list[str] = field(default_factory=list)
    #: the Gram determinant when it holds symbols (the fit needs it non-zero), else ``None``
    gram_det: sympy.Expr | None = None

    @property
    def expression(self) -> sympy.Expr:
        """Q_w as an expression in the agents' actions (theta too for policy OOD); weights that
        are rational functions of symbols stay factored."""
        q = sympy.Add(*[w * f for w, f in zip(self.weights, self.features, strict=True)])
        return sympy.expand(q) if all(w.is_polynomial() for w in self.weights) else q


def fit_critic(game: Game, data: DataModel, spec: CriticSpec) -> FittedCritic:
    """Solve the normal equations of the CQL loss exactly (docs/critics.md#the-fitted-critic).

    Example (alpha = 0 and a class containing R: the critic is R):
        >>> from brud_analysis.data import Normal
        >>> fit_critic(Game("x*y"), Normal([1, 0], [1, 1]), CriticSpec("degree=2")).expression
        x*y
        >>> fit_critic(Game("x*y"), Normal([1, 1], [1, 1]),   # CQL: Q down where xy ~ 0 (OOD)
        ...            CriticSpec("1,x*y", alpha=1)).weights   # relative to the data (xy ~ 1)
        [-1/3, 4/3]
    """
    if data.n_agents != game.n_agents:
        raise BrudError(f"mismatched data lengths: data model has {data.n_agents} agents, the "
                        f"game has {game.n_agents}")
    exps = feature_exponents(game, spec.features)
    reward_terms = game.poly.terms()
    gram = sympy.Matrix(len(exps), len(exps),
                        lambda j, k: _data_moment(data, _add(exps[j], exps[k])))
    on_data = [_data_moment(data, e) for e in exps]
    fit_r = [sympy.expand(sum(c * _data_moment(data, _add(e, m)) for m, c in reward_terms))
             for e in exps]
    ood = ood_moments(game, spec, exps)
    target = sympy.Matrix([_target_entry(r, o, d, spec.alpha)
                           for r, o, d in zip(fit_r, ood, on_data, strict=True)])
    weights, notes, det = _solve_gram(gram, target)
    return FittedCritic(game, spec, exps, [monomial(game, e) for e in exps], weights, gram,
                        target, notes, det)


def _target_entry(fit_r: sympy.Expr, ood: sympy.Expr, on_data: sympy.Expr, alpha: sympy.Expr
                  ) -> sympy.Expr:
    """One entry of the normal equations' right-hand side: dL/dw_k = 0 with the 1/2 of the
    TD term cancelling the 2 of the square (a seam for the mutation tests)."""
    return fit_r - alpha * (ood - on_data)


def _solve_gram(gram: sympy.Matrix, target: sympy.Matrix
                ) -> tuple[list[sympy.Expr], list[str], sympy.Expr | None]:
    """Weights of the normal equations; an identically singular Gram matrix is an error.

    SymPy's DomainMatrix does the exact elimination over QQ or the field of rational functions
    in the symbols (data parameters, alpha, theta): Matrix.LUsolve with symbols took minutes.
    """
    n = gram.rows
    numeric = all(v.is_Rational for v in gram)
    gram_dm = DomainMatrix.from_Matrix(gram).to_field()
    det = gram_dm.det()
    if not det:  # the zero of QQ or of QQ(symbols): singular for every value of the symbols
        raise BrudError(_singular_message(gram))
    augmented = DomainMatrix.from_Matrix(gram.row_join(target)).to_field()
    reduced, _ = augmented.rref()
    column = reduced.to_Matrix()[:, n]
    if numeric:
        return [sympy.expand(v) for v in column], [], None
    det_expr = sympy.factor(gram_dm.domain.to_sympy(det))
    notes = [f"the critic's Gram determinant must be non-zero: {det_expr} != 0"]
    return [sympy.factor(sympy.cancel(v)) for v in column], notes, det_expr


def _singular_message(gram: sympy.Matrix) -> str:
    return (f"the data do not determine the critic: E_D[phi phi^T] ({gram.rows}x{gram.cols}) "
            "is singular (a feature is a combination of others on the data's support; use "
            "fewer features or wider data)")


# ------------------------------------------------------------------------------ the fields
def data_agents(rule: str, i: int, n: int) -> list[int]:
    """Which agents' actions agent i's update takes from the data under ``rule`` (the rest are
    at the current policy: the rule's evaluation point).

    Example:
        >>> data_agents("brud", 0, 3), data_agents("sequential", 0, 3), data_agents("joint", 0, 3)
        ([1, 2], [1, 2], [])
    """
    if rule == "brud":
        return [j for j in range(n) if j != i]
    if rule == "sequential":
        return list(range(i + 1, n))
    return []


def expect_over(expr: sympy.Expr, game: Game, data: DataModel, over: Sequence[int]
                ) -> sympy.Expr:
    """``E_D`` over the actions of agents ``over`` (the others stay): moment substitution.

    Example:
        >>> from brud_analysis.data import Normal
        >>> g = Game("x*y")
        >>> expect_over(g.reward * g.agents[1], g, Normal([0, 2], [1, 1]), [1])
        5*x
    """
    if not over:
        return sympy.expand(expr)
    symbols = [game.agents[j] for j in over]
    total = sympy.Integer(0)
    for exps, coeff in sympy.Poly(sympy.expand(expr), *symbols).terms():
        full = [0] * game.n_agents
        for j, e in zip(over, exps, strict=True):
            full[j] = e
        total += coeff * _data_moment(data, full)
    return sympy.expand(total)


def _field_in_weights(game: Game, data: DataModel, features: Sequence[sympy.Expr],
                      weights: Sequence[sympy.Symbol], rule: str) -> tuple[sympy.Expr, ...]:
    # differentiate Q in the action with the weights held fixed (they are the critic's, not
    # the actor's, parameters)
    if rule not in RULES:
        raise BrudError(f"--rule must be one of {', '.join(RULES)}, got {rule!r}")
    q = sum(w * f for w, f in zip(weights, features, strict=True))
    return tuple(expect_over(sympy.diff(q, a), game, data, data_agents(rule, i, game.n_agents))
                 for i, a in enumerate(game.agents))


def rule_field(game: Game, data: DataModel, critic: FittedCritic, rule: str | None = None
               ) -> tuple[sympy.Expr, ...]:
    """The actors' field under the fitted critic and an update rule (default the spec's).

    Example (alpha = 0, class containing R: ``brud`` is today's BRUD, ``joint`` is grad R):
        >>> from brud_analysis.data import Normal
        >>> g, d = Game("-(x - y)**2"), Normal([1, 2], [1, 1])
        >>> c = fit_critic(g, d, CriticSpec("degree=2"))
        >>> rule_field(g, d, c), rule_field(g, d, c, "joint")
        ((4 - 2*x, 2 - 2*y), (-2*x + 2*y, 2*x - 2*y))
    """
    ws = sympy.symbols(f"_w0:{len(critic.features)}", cls=sympy.Dummy)
    in_w = _field_in_weights(game, data, critic.features, ws, rule or critic.spec.rule)
    # then the fitted weights (functions of theta for policy OOD)
    put = dict(zip(ws, critic.weights, strict=True))
    return tuple(sympy.expand(g.xreplace(put)) for g in in_w)


def mean_field(game: Game, data: DataModel, critic: FittedCritic
               ) -> tuple[tuple[sympy.Symbol, ...], tuple[sympy.Expr, ...]]:
    """The joint critic-actor mean field in ``z = (w, theta)``: the critic's gradient flow
    ``-(E_D[phi phi^T] w - b(theta))`` and the rule's field with the weights free. Its zeros
    are ``(w*(theta*), theta*)``; what training iterates (docs/critics.md#verification).

    Example:
        >>> from brud_analysis.data import Normal
        >>> g = Game("x*y")
        >>> d = Normal([2, 3], [1, 1])
        >>> z, f = mean_field(g, d, fit_critic(g, d, CriticSpec("1,x*y")))
        >>> z, f[2]         # agent x's BRUD direction: w_1 E[y]
        ((_w0, _w1, x, y), 3*_w1)
    """
    ws = sympy.symbols(f"_w0:{len(critic.features)}", real=True)
    critic_flow = -(critic.gram * sympy.Matrix(ws) - critic.target)
    actors = _field_in_weights(game, data, critic.features, ws, critic.spec.rule)
    return tuple(ws) + game.agents, tuple(sympy.expand(v) for v in critic_flow) + actors


@dataclass
class CriticAnalysis:
    """A fitted critic, the chosen rule's field, and its fixed points (numeric games/data) or
    closed-form ones (symbols, fields linear in theta)."""

    critic: FittedCritic
    rule: str
    field: tuple[sympy.Expr, ...]
    fixed: Any = None  # brud_analysis.solve.FixedPointAnalysis, numeric case
    formulas: dict[str, Any] | None = None  # symbolic case
    # (dataclasses.field: the attribute ``field`` above shadows the import in this class body)
    notes: list[str] = dataclasses.field(default_factory=list)


def _linear_formulas(game: Game, field_: Sequence[sympy.Expr], assumptions: Any
                     ) -> dict[str, Any] | None:
    """Closed-form fixed point of a field linear in theta (symbols allowed), or ``None``; its
    conditions simplified under ``assumptions`` (a :class:`brud_analysis.parametric.Assumptions`,
    as ``--assume`` gives them to the rest of ``brud analyse``)."""
    if any(sympy.Poly(g, *game.agents).total_degree() > 1 for g in field_):
        return None
    jac = sympy.Matrix(field_).jacobian(game.agents)
    at0 = sympy.Matrix([g.xreplace({a: 0 for a in game.agents}) for g in field_])
    det = sympy.factor(jac.det())
    valid = assumptions.simplify(sympy.Ne(det, 0)) if det != 0 else sympy.false
    if valid is sympy.false:
        return {"point": None, "jacobian": jac, "determinant": det,
                "note": "the Jacobian is singular: no isolated fixed point (a set, or none)"}
    point = [sympy.factor(sympy.cancel(v)) for v in -jac.LUsolve(at0)]
    out: dict[str, Any] = {"point": point, "jacobian": jac, "determinant": det,
                           "valid_if": str(valid)}
    if game.n_agents == 2:
        # Routh-Hurwitz for a 2x2 Jacobian: both eigenvalues have negative real part iff
        # trace < 0 and det > 0
        trace = sympy.factor(jac.trace())
        out["stable_iff"] = str(sympy.And(assumptions.simplify(sympy.StrictLessThan(trace, 0)),
                                          assumptions.simplify(sympy.StrictGreaterThan(det, 0))))
    else:
        out["stable_iff"] = "every eigenvalue of the (constant) Jacobian has negative real part"
    return out


def _gram_condition(critic: FittedCritic, assumptions: Any) -> list[str]:
    """The fit's notes with the Gram determinant's condition simplified under the assumptions:
    dropped when they imply it, an error when they contradict it."""
    if critic.gram_det is None:
        return list(critic.notes)
    cond = assumptions.simplify(sympy.Ne(critic.gram_det, 0))
    if cond is sympy.false:
        raise BrudError(_singular_message(critic.gram) + " under the --assume facts")
    others = [n for n in critic.notes if "Gram determinant" not in n]
    if cond is sympy.true:
        return others
    return others + [f"the critic's Gram determinant must be non-zero: {cond}"]


def analyse_critic(game: Game, data: DataModel, spec: CriticSpec, time_budget: float = 10.0,
                   assumptions: Any = None) -> CriticAnalysis:
    """Fit the critic, derive the rule's field and its fixed points with stability.

    Numeric game, data and alpha: every real fixed point, certified (as ``brud analyse``).
    With symbols: the field as formulas, and the fixed point in closed form when the field is
    linear in theta (else a note: give values), its conditions simplified under
    ``assumptions`` (``--assume``; default none).

    Example (Twin Peaks, its reward's class, alpha = 0: BRUD's point C m / (2A + 2B E[y^2])):
        >>> from brud_analysis.catalogue import twin_peaks
        >>> from brud_analysis.data import Normal
        >>> out = analyse_critic(twin_peaks(), Normal([1, 1], [1, 1]), CriticSpec("reward"))
        >>> [(p.exact, p.stable) for p in out.fixed.points]
        [((5/18, 5/18), True)]
    """
    from brud_analysis.parametric import Assumptions

    assumptions = assumptions or Assumptions()
    critic = fit_critic(game, data, spec)
    field_ = rule_field(game, data, critic)
    out = CriticAnalysis(critic, spec.rule, field_, notes=_gram_condition(critic, assumptions))
    symbolic = set().union(*(g.free_symbols for g in field_)) - set(game.agents)
    if symbolic:
        out.formulas = _linear_formulas(game, field_, assumptions)
        if out.formulas is None:
            out.notes.append("symbols left and the field is nonlinear in the policy: give "
                             "values (--at) to find its fixed points")
        return out
    out.fixed = field_fixed_points(field_, game.agents, time_budget)
    return out
