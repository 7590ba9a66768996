"""Fitted critics: checked against an independent exact computation.

The reference below builds the loss ``L(w) = 1/2 E_D[(Q_w - R)^2] + alpha (E_rho[Q_w] -
E_D[Q_w])`` as one polynomial, takes its expectation monomial by monomial, differentiates it in
``w`` and solves ``grad_w L = 0`` with ``sympy.Matrix`` (not the normal equations of
:mod:`brud_analysis.critic`); E_rho is integrated directly (uniform) or expanded in the noise
(policy). The rule fields are rebuilt by substituting the evaluation point into Q and averaging
what is left over the data. Games here are held out: none was used while writing the module.
"""

from __future__ import annotations

import itertools

import pytest
import sympy
from hypothesis import HealthCheck, given, settings

from brud_analysis import critic as critic_mod
from brud_analysis.critic import CriticSpec, analyse_critic, fit_critic, rule_field
from brud_analysis.critic_strategies import critic_settings
from brud_analysis.data import DataModel, Normal, Uniform
from brud_analysis.errors import BrudError
from brud_analysis.fields import brud_field
from brud_analysis.game import Game
from brud_analysis.solve import brud_fixed_points


def _expect_all(expr: sympy.Expr, agents, data: DataModel) -> sympy.Expr:
    """E_D of a polynomial in every agent's action (data moments, monomial by monomial)."""
    poly = sympy.Poly(sympy.expand(expr), *agents)
    return sympy.expand(sum(c * data.moment(list(e)) for e, c in poly.terms()))


def _expect_rho(expr: sympy.Expr, game: Game, spec: CriticSpec) -> sympy.Expr:
    agents = game.agents
    if spec.ood == "uniform":
        lo, hi = spec.box
        out = expr
        for a in agents:
            out = sympy.integrate(out, (a, lo, hi)) / (hi - lo)
        return sympy.expand(out)
    # policy: a = theta + std z, z standard normal: E[z^k] = (k - 1)!! for even k, else 0
    zs = sympy.symbols(f"z0:{game.n_agents}")
    thetas = sympy.symbols(f"t0:{game.n_agents}")
    shifted = sympy.expand(expr.xreplace({a: t + spec.std * z
                                          for a, t, z in zip(agents, thetas, zs, strict=True)}))
    poly = sympy.Poly(shifted, *zs)
    total = sum(c * sympy.Mul(*[sympy.factorial2(k - 1) if k % 2 == 0 else 0 for k in e])
                for e, c in poly.terms())
    return sympy.expand(total.xreplace(dict(zip(thetas, agents, strict=True))))


def reference_weights(game: Game, data: DataModel, spec: CriticSpec, features) -> list:
    ws = sympy.symbols(f"w0:{len(features)}")
    q = sum(w * f for w, f in zip(ws, features, strict=True))
    loss = (sympy.Rational(1, 2) * _expect_all((q - game.reward) ** 2, game.agents, data)
            + spec.alpha * (_expect_rho(q, game, spec) - _expect_all(q, game.agents, data)))
    grad = [sympy.diff(loss, w) for w in ws]
    a_mat, b_vec = sympy.linear_eq_to_matrix(grad, ws)
    return [sympy.expand(v) for v in a_mat.LUsolve(b_vec)]


def reference_field(game: Game, data: DataModel, weights, features, rule: str) -> list:
    """Agent i's ascent direction: dQ/da_i with the rule's own/earlier agents at theta, then
    averaged over the data of the rest (weights may depend on theta: policy OOD)."""
    n = game.n_agents
    acts = sympy.symbols(f"a0:{n}")  # actions, apart from the policy symbols (game.agents)
    q = sum(w * f.xreplace(dict(zip(game.agents, acts, strict=True)))
            for w, f in zip(weights, features, strict=True))
    out = []
    for i in range(n):
        at_policy = {"brud": [i], "joint": list(range(n)), "sequential": list(range(i + 1))}[rule]
        dq = sympy.diff(q, acts[i]).xreplace({acts[j]: game.agents[j] for j in at_policy})
        from_data = [j for j in range(n) if j not in at_policy]
        if not from_data:
            out.append(sympy.expand(dq))
            continue
        total = sympy.Integer(0)
        for e, c in sympy.Poly(sympy.expand(dq), *[acts[j] for j in from_data]).terms():
            full = [0] * n
            for j, k in zip(from_data, e, strict=True):
                full[j] = k
            total += c * data.moment(full)
        out.append(sympy.expand(total))
    return out


def _check_against_reference(game, data, spec):
    critic = fit_critic(game, data, spec)
    expected = reference_weights(game, data, spec, critic.features)
    assert [sympy.simplify(a - b) for a, b in zip(critic.weights, expected, strict=True)] == [
        0] * len(expected)
    for rule in ("brud", "joint", "sequential"):
        got = rule_field(game, data, critic, rule)
        want = reference_field(game, data, expected, critic.features, rule)
        assert [sympy.expand(g - w) for g, w in zip(got, want, strict=True)] == [0] * len(got), \
            rule


HELD_OUT = [
    (Game("3*x**2*y - x*y**3 + 2"), Normal([sympy.Rational(1, 2), -1], [1, sympy.Rational(1, 3)]),
     CriticSpec("degree=2", alpha=sympy.Rational(3, 2))),
    (Game("x*y*z - x**2 + y*z"), Uniform([0, -1, 1], [1, 1, 2]),
     CriticSpec("bilinear", alpha=2, ood="uniform", box=(-2, 1))),
    (Game("-(x - 2*y)**2 + x*y**2"), Normal([1, 1], [1, 2]),
     CriticSpec("1,x,y,x*y,y**2", alpha=1, ood="policy", std=sympy.Rational(1, 2))),
    (Game("x**3 - 3*x*y**2 + y"), Uniform([-1, 0], [2, 1]),
     CriticSpec("reward", alpha=sympy.Symbol("alpha", real=True), ood="policy", std=1)),
]


@pytest.mark.parametrize("case", range(len(HELD_OUT)))
def test_weights_and_fields_match_independent_computation(case):
    _check_against_reference(*HELD_OUT[case])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(critic_settings(contain_reward=False))
def test_random_settings_match_independent_computation(setting):
    _check_against_reference(*setting)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(critic_settings(alpha_zero=True))
def test_alpha_zero_class_containing_reward_is_todays_brud(setting):
    game, data, spec = setting
    critic = fit_critic(game, data, spec)
    assert sympy.expand(critic.expression - game.reward) == 0
    assert rule_field(game, data, critic, "brud") == brud_field(game, data)
    assert rule_field(game, data, critic, "joint") == tuple(sympy.expand(g)
                                                            for g in game.gradient)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(critic_settings(alpha_zero=True, max_degree=3))
def test_alpha_zero_fixed_points_are_todays(setting):
    game, data, spec = setting
    spec = CriticSpec(spec.features, rule="brud")
    mine = analyse_critic(game, data, spec, time_budget=20).fixed
    today = brud_fixed_points(game, data, 20)
    assert [(p.exact, p.stable) for p in mine.points] == [(p.exact, p.stable)
                                                          for p in today.points]
    assert [s.equations for s in mine.sets] == [s.equations for s in today.sets]


def test_fixed_points_of_held_out_game_match_direct_solve():
    game, data, spec = HELD_OUT[2]
    out = analyse_critic(game, data, CriticSpec(spec.features, alpha=1, ood="uniform"))
    field_ = out.field
    direct = sympy.solve(list(field_), list(game.agents), dict=True)
    assert sorted(tuple(d[a] for a in game.agents) for d in direct) == sorted(
        p.exact for p in out.fixed.points)
    jac = sympy.Matrix(field_).jacobian(game.agents)
    for p in out.fixed.points:
        eig = jac.subs(dict(zip(game.agents, p.exact, strict=True))).eigenvals()
        assert p.stable == all(sympy.re(e) < 0 for e in eig)


def test_policy_ood_couples_the_agents():
    game = Game("x*y")
    data = Normal([1, -1], [1, 1])
    x, y = game.agents
    out = analyse_critic(game, data, CriticSpec("1,x*y", alpha=1, ood="policy", std=1))
    # the critic depends on theta, so the BRUD field is no longer the decoupled one
    assert out.field == (x * y / 3 - sympy.Rational(2, 3), -x * y / 3 + sympy.Rational(2, 3))
    assert not out.fixed.points  # x*y = 2 is a curve of fixed points
    assert [s.equations for s in out.fixed.sets] == [(x * y - 2,)]


def test_symbolic_alpha_linear_field_has_closed_form():
    from brud_analysis.catalogue import twin_peaks

    alpha = sympy.Symbol("alpha", real=True)
    out = analyse_critic(twin_peaks(), Normal([1, 1], [1, 1]), CriticSpec("reward", alpha=alpha))
    point = out.formulas["point"]
    assert sympy.simplify(point[0].subs(alpha, 0) - sympy.Rational(5, 18)) == 0
    assert out.formulas["point"][0] == out.formulas["point"][1]


@pytest.mark.parametrize("bad", [
    dict(features="degree=x"), dict(features="x*y, z"), dict(features="2*x"),
    dict(features="x**-1"), dict(features="sqrt(x)"), dict(features="x + y"), dict(features=""),
    dict(alpha=-1), dict(ood="gaussian"), dict(rule="nash"), dict(box=(1, 1)), dict(std=-1),
])
def test_bad_specs_are_errors(bad):
    game, data = Game("x*y"), Normal([0, 0], [1, 1])
    with pytest.raises(BrudError):
        fit_critic(game, data, CriticSpec(**{"features": "degree=1"} | bad))


def test_singular_gram_is_an_error():
    with pytest.raises(BrudError, match="do not determine the critic"):
        fit_critic(Game("x*y"), Normal([1, 1], [0, 1]), CriticSpec("1,x"))


# ------------------------------------------------------------------ the tests can fail
def _no_half(fit_r, ood, on_data, alpha):  # loss without the 1/2: alpha is halved
    return fit_r - alpha / 2 * (ood - on_data)


def _ood_sign(fit_r, ood, on_data, alpha):
    return fit_r + alpha * (ood - on_data)


def _joint_point(rule, i, n):  # every rule evaluated at the joint policy
    return []


def _brud_point(rule, i, n):  # every rule evaluated as BRUD
    return [j for j in range(n) if j != i]


@pytest.mark.parametrize(("seam", "mutant"), [
    ("_target_entry", _no_half), ("_target_entry", _ood_sign),
    ("data_agents", _joint_point), ("data_agents", _brud_point),
])
def test_the_reference_catches_injected_bugs(monkeypatch, seam, mutant):
    monkeypatch.setattr(critic_mod, seam, mutant)
    caught = 0
    for game, data, spec in HELD_OUT[:3]:
        try:
            _check_against_reference(game, data, spec)
        except AssertionError:
            caught += 1
    assert caught == 3


def test_sequential_differs_from_brud_and_joint():
    game, data = Game("x*y*z"), Normal([1, 2, 3], [1, 1, 1])
    c = fit_critic(game, data, CriticSpec("reward"))
    fields = {r: rule_field(game, data, c, r) for r in ("brud", "joint", "sequential")}
    x, y, z = game.agents
    assert fields["sequential"] == (6, 3 * x, x * y)
    assert len({fields[r] for r in fields}) == 3
    assert list(itertools.chain(fields["brud"])) == [6, 3, 2]
