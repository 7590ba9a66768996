"""FLINT Groebner bases and quotient-ring eliminants against SymPy's independent routes."""

from __future__ import annotations

import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from brud_analysis.algebra.groebner import Quotient, groebner_basis
from brud_analysis.game import Game
from brud_analysis.strategies import polynomial_games

x, y, z = sympy.symbols("x y z")


def _same_up_to_scale(p: sympy.Poly, q: sympy.Poly) -> bool:
    return p.degree() == q.degree() and (p.monic() - q.monic()).is_zero


def _assert_lex_eliminants(game, quotient):
    """Each charpoly eliminant equals the square-free univariate element of a lex basis with
    that variable last (SymPy's own Buchberger, an independent route)."""
    for var, mine in zip(game.agents, quotient.eliminants(), strict=True):
        order = [v for v in game.agents if v != var] + [var]
        lex = sympy.groebner(list(game.gradient), *order, order="lex")
        (uni,) = [p for p in lex.exprs if p.free_symbols <= {var}]
        assert _same_up_to_scale(mine, sympy.Poly(uni, var).sqf_part())


@settings(max_examples=15, deadline=None)
@given(polynomial_games(n_agents=3, max_degree=3, max_terms=5))
def test_reduced_grevlex_basis_equals_sympys(game):
    # reduced Groebner bases are unique (monic): FLINT's and SymPy's must be the same set
    # (SymPy scales its basis to integer coefficients: compare monic forms)
    def monic(exprs):
        return sorted(sympy.srepr(sympy.Poly(e, *game.agents).monic().as_expr()) for e in exprs)

    mine = groebner_basis(list(game.gradient), game.agents)
    theirs = sympy.groebner(list(game.gradient), *game.agents, order="grevlex")
    assert monic(mine) == monic(theirs.exprs)


@settings(max_examples=15, deadline=None)
@given(polynomial_games(n_agents=3, max_degree=3, max_terms=5))
def test_charpoly_eliminants_have_the_lex_eliminants_roots(game):
    """Each variable's eliminant (charpoly of multiplication on the quotient, square-free)
    equals the square-free part of the univariate element of a lex basis with that variable
    last (SymPy's Buchberger): the same roots, so the same polynomial up to scale."""
    quotient = Quotient.of(list(game.gradient), game.agents)
    if quotient is None or not quotient.zero_dimensional or quotient.inconsistent:
        return
    _assert_lex_eliminants(game, quotient)


def test_normal_set_counts_solutions_with_multiplicity():
    # x^2 = y, y^2 = 1: four complex solutions (x = +-1, +-i)
    q = Quotient.of([x**2 - y, y**2 - 1], [x, y])
    assert q is not None and q.zero_dimensional and q.dimension == 4
    assert [str(e.as_expr()) for e in q.eliminants()] == ["x**4 - 1", "y**2 - 1"]
    # a double root counts twice in the dimension, once in the (square-free) eliminant
    q = Quotient.of([x**2, y - 1], [x, y])
    assert q.dimension == 2 and [str(e.as_expr()) for e in q.eliminants()] == ["x", "y - 1"]


def test_multiplication_matrices_commute_and_act_on_the_normal_set():
    q = Quotient.of([x**2 + y**2 + z**2 - 3, x - y, y * z - 1], [x, y, z])
    mx, my = q.multiplication_matrix(0), q.multiplication_matrix(1)
    assert mx * my == my * mx  # multiplication in a commutative ring
    assert mx == my  # x = y in the quotient


@pytest.mark.parametrize("exprs, zero_dimensional, inconsistent", [
    ([x * y, x + y - 1], True, False),
    ([x * y], False, False),
    ([x - 1, x - 2], True, True),
    ([sympy.Integer(0)], False, False),
])
def test_dimension_and_consistency(exprs, zero_dimensional, inconsistent):
    q = Quotient.of(exprs, [x, y])
    assert (q.zero_dimensional, q.inconsistent) == (zero_dimensional, inconsistent)


def test_buchberger_limits_give_up_instead_of_running_on():
    # a basis longer than one element is over the (tiny) limit: None, not a partial basis
    assert Quotient.of([x**2 - y, x * y - 1], [x, y], limits=(1, 10, 64)) is None
    assert Quotient.of([x**2 - y, x * y - 1], [x, y], limits=(100, 1000, 1000)) is not None


def test_unreduced_basis_tails_are_normal_formed():
    # FLINT's Buchberger basis for this gradient is not reduced: some tails hold monomials
    # outside the normal set, so normal_form must reduce them (a version that took tails as
    # they are gave wrong multiplication matrices); the eliminants must still be SymPy's
    game = Game("-2*x**3*y + 3*x**3 - 3*x**2*y - 7*x**2 + 3*x*y - 9*x*z**2 - 4*z**3")
    quotient = Quotient.of(list(game.gradient), game.agents)
    assert any(m not in quotient.index for p in quotient.basis for m in p.monoms()[1:])
    _assert_lex_eliminants(game, quotient)


@settings(max_examples=15, deadline=None)
@given(polynomial_games(n_agents=st.integers(2, 4), max_degree=4, max_terms=6))
def test_reduced_basis_equals_flints_autoreduction(game):
    """The cheap reduction (minimal basis, then one tail reduction each) gives exactly FLINT's
    reduced basis, from FLINT's unreduced Buchberger basis (which may hold redundant elements:
    the minimal step is needed, see the test below). As sets: a reduced basis is unique, its
    order is not (ours keeps the input's; FLINT's can differ, e.g. on
    x*y + y**2*z + z**3 + z**2 + z, which a random Hypothesis draw found)."""
    import flint

    from brud_analysis.algebra.groebner import grevlex_context, integer_polys, reduced_basis

    ctx = grevlex_context(game.agents)
    gb = list(flint.fmpz_mpoly_vec(integer_polys(game.gradient, game.agents, ctx), ctx)
              .buchberger_naive())
    if any(p.is_constant() for p in gb):
        return
    expected = flint.fmpz_mpoly_vec(gb, ctx).autoreduction(groebner=True)  # type: ignore[call-arg]
    ours = [str(p) for p in reduced_basis(gb)]
    assert len(ours) == len(expected) and set(ours) == {str(p) for p in expected}


def test_reduced_basis_drops_redundant_elements():
    """A Groebner basis with an element whose leading monomial another one divides: the
    reduced basis drops it (else x^2 + y^2 - 2 would stay, reduced to 2 y^2 - 2 ~ y^2 - 1,
    twice)."""
    from brud_analysis.algebra.groebner import grevlex_context, reduced_basis

    ctx = grevlex_context((x, y))
    gx, gy = ctx.gens()
    assert [str(p) for p in reduced_basis([gx - gy, gx**2 + gy**2 - 2, gy**2 - 1])] == [
        "x - y", "y^2 - 1"]


def test_remembered_polys_stay_bounded(monkeypatch):
    """``remember_poly`` holds at most ``_KNOWN_POLYS_MAX_TERMS`` terms in all (~25 MB at
    1.6 kB per term), forgetting the oldest first: polynomials of twice that many terms leave
    the newest parsed from memory (the same object back) and the oldest parsed again (an equal
    Poly). (Run with a cap of 256 terms, to be fast.)"""
    from brud_analysis.algebra import groebner

    assert groebner._KNOWN_POLYS_MAX_TERMS <= 16384
    monkeypatch.setattr(groebner, "_KNOWN_POLYS_MAX_TERMS", 256)
    groebner._known_polys.cache_clear()
    x, y = sympy.symbols("x y")
    size = groebner._KNOWN_POLYS_MAX_TERMS // 8
    polys = [sympy.Poly.from_dict({(i, k): 1 for i in range(size)}, x, y) for k in range(16)]
    exprs = [groebner.remember_poly(p) for p in polys]
    known = groebner._known_polys()
    assert known.terms == sum(p.length() for p in known.polys.values())
    assert len(known.polys) == 8 and known.terms == 8 * size
    assert groebner.parse_poly(exprs[-1], [x, y]) is polys[-1]
    assert groebner.parse_poly(exprs[0], [x, y]) is not polys[0]
    assert groebner.parse_poly(exprs[0], [x, y]) == polys[0]
    groebner._known_polys.cache_clear()


@pytest.mark.parametrize("expr, gens", [
    ("x*y + 1", "x y x"),  # repeated generator
    ("5", ""),  # no generator
    ("a*x + 1", "a x"),  # non-commutative generator
])
def test_parse_poly_refuses_the_generators_sympy_refuses(expr, gens):
    """``parse_poly`` raises SymPy's GeneratorsError (GeneratorsNeeded for none) where
    ``sympy.Poly`` does, rather than building a Poly with generators SymPy rejects."""
    from brud_analysis.algebra.groebner import _parse_poly, parse_poly

    _parse_poly.cache_clear()
    a = sympy.Symbol("a", commutative=False)
    names = {"a": a, **{s: sympy.Symbol(s) for s in "xy"}}
    variables = [names[g] for g in gens.split()]
    e = sympy.sympify(expr, locals=names)
    with pytest.raises(sympy.polys.polyerrors.GeneratorsError):
        sympy.Poly(e, *variables, expand=False)
    with pytest.raises(sympy.polys.polyerrors.GeneratorsError):
        parse_poly(e, variables)


_X, _Y, _Z = sympy.symbols("x y z")
_COEFFS = st.one_of(
    st.integers(-5, 5).map(sympy.Integer),
    st.tuples(st.integers(-10**40, 10**40), st.integers(1, 10**40)).map(
        lambda pq: sympy.Rational(*pq)),  # huge rationals
    st.sampled_from([sympy.Float(0.5), sympy.Float(-2.25), sympy.sqrt(2), _Z, sympy.pi]))
_FACTORS = st.lists(st.sampled_from([_X, _Y, _X**2, _Y**3, _X**0]), max_size=3)


@st.composite
def _sums(draw):
    """Sums of coefficient-times-monomial terms, some unevaluated (repeated monomials, a
    variable twice in one product, a coefficient between the variables)."""
    terms = []
    for coeff, factors, lazy in draw(st.lists(st.tuples(_COEFFS, _FACTORS, st.booleans()),
                                              max_size=6)):
        args = [coeff, *factors] if draw(st.booleans()) else [*factors, coeff]
        terms.append(sympy.Mul(*args, evaluate=not lazy))
    if draw(st.booleans()):
        terms += terms[:2]  # the same monomials again
    return sympy.Add(*terms, evaluate=draw(st.booleans()))


@settings(max_examples=200, deadline=None)
@given(_sums())
def test_parse_poly_agrees_with_sympy(expr):
    """``parse_poly``'s direct reading of expanded rational expressions against
    ``sympy.Poly(expr, expand=False)`` (SymPy expanding first where it refuses): the same rep,
    domain, generators and hash, on sums with floats, surds, another symbol, huge rationals
    and unevaluated sums and products."""
    from brud_analysis.algebra.groebner import _known_polys, _parse_poly, parse_poly

    _parse_poly.cache_clear()
    _known_polys.cache_clear()
    try:
        want = sympy.Poly(expr, _X, _Y, expand=False)
    except sympy.PolynomialError:
        want = sympy.Poly(expr, _X, _Y)
    got = parse_poly(expr, [_X, _Y])
    assert (got.rep, got.domain, got.gens) == (want.rep, want.domain, want.gens)
    if want.domain in (sympy.ZZ, sympy.QQ):  # (SymPy's RR/EX hashes differ between equal Polys)
        assert hash(got) == hash(want)


@pytest.mark.parametrize("reward", ["x**2/2 + x*y**2/4 + y", "x**2/2 - x*y + 3*y**2/2"])
def test_remembered_gradients_parse_to_sympys_domain(reward):
    """A game's gradient and Hessian entries parse to what ``sympy.Poly`` makes of them
    (rep, domain, generators), remembered or not: the derivative of x^2/2 is a QQ Poly with
    integer coefficients, which parsing makes ZZ, so it must not be remembered as QQ."""
    from brud_analysis.algebra.groebner import _known_polys, _parse_poly, parse_poly

    _parse_poly.cache_clear()
    _known_polys.cache_clear()
    game = Game(reward)
    entries = [*game.gradient, *game.hessian]
    assert game.poly.domain == sympy.QQ
    for e in entries:
        got, want = parse_poly(e, game.agents), sympy.Poly(e, *game.agents, expand=False)
        assert (got.rep, got.domain, got.gens) == (want.rep, want.domain, want.gens)


def test_float_multiplication_matrix_is_the_float_of_the_exact_one():
    """``Quotient.float_multiplication_matrix`` equals ``float`` of each entry of the exact
    ``multiplication_matrix`` (bit for bit, correctly rounded), for every variable, with small
    and with huge rational entries."""
    import numpy as np

    x, y, z = sympy.symbols("x y z")
    big = sympy.Rational(10**30 + 7, 3**41)  # (entries where float(p) / float(q) rounds twice)
    for third in (sympy.Rational(1, 3), big):
        q = Quotient.of([x**2 - y * third - 2, y**2 - x * z + sympy.Rational(1, 7),
                         z**2 - x - 1], [x, y, z])
        assert q.dimension > 4
        for var in range(3):
            exact = q.multiplication_matrix(var)
            want = np.array([[float(exact[i, j]) for j in range(q.dimension)]
                             for i in range(q.dimension)])
            got = q.float_multiplication_matrix(var)
            assert got.dtype == want.dtype and np.array_equal(got, want)
            assert np.count_nonzero(got) > q.dimension  # not a trivially sparse case
