"""n >= 3 variables: Groebner eliminants, pairing of eliminant roots, and the decomposition of a
positive-dimensional ideal into components."""

from __future__ import annotations

import math
from typing import Any

import flint
import sympy

from brud_analysis.algebra.boxes import interval_values
from brud_analysis.algebra.groebner import (
    Quotient,
    basis_exprs,
    buchberger,
    grevlex_context,
    integer_polys,
    krull_dimension,
    reduced,
    sympy_polys,
)
from brud_analysis.algebra.solve.types import RealSolution, _dedupe
from brud_analysis.algebra.solve.univariate import (
    _isolated_roots,
    _vanishing_combinations,
    real_root_boxes,
)
from brud_analysis.bounded import OutOfTime as _OutOfTime
from brud_analysis.bounded import run_with_budget

# ------------------------------------------------------------------------------ n >= 3
# Small systems (product of the equations' degrees, an upper bound on the number of isolated
# solutions, at most this: every 3-4-agent game of degree <= 4) are solved in this process;
# FLINT's naive Buchberger can run for minutes on bigger ones, so those go to a killable
# worker process under the time budget (a fork costs ~20 ms, the benchmark's median solve 30 ms).
# The same rule for the factorizing decomposition of positive-dimensional systems.
_IN_PROCESS_BEZOUT = 81
# size limits for the in-process Buchberger (basis length, terms per polynomial, coefficient
# bits); a small system that exceeds them is redone in the worker
_BUCHBERGER_LIMITS = (400, 4000, 20000)
# tighter ones for the optional closest-point samples of a set (the slices remain): on curves
# given by 15-30-element bases the Lagrange systems ran into the limits above after 15-70 ms
_SAMPLE_LIMITS = (200, 2000, 4000)
# per special-locus / sign-region computation of a 3+-variable hypersurface set
_PIECES_BUDGET = 5.0


def _groebner_eliminants(exprs, variables, limits=None):
    """A Groebner basis and, if the ideal is zero-dimensional, each variable's eliminant.

    The eliminant of v is a square-free ``Poly`` in v whose roots are exactly the
    v-coordinates of the complex solutions (the characteristic polynomial of multiplication
    by v on the quotient ring, see :mod:`brud_analysis.algebra.groebner`). Returns
    ``(equations, eliminants)``, ``(equations, None)`` for a positive-dimensional ideal and
    ``([1], None)`` when there is no solution; ``None`` overall when ``limits`` were given and
    exceeded.
    """
    found = _eliminants_or_components(exprs, variables, limits, decompose=False)
    return None if found is None else found[:2]


def _eliminants_or_components(exprs, variables, limits=None, decompose: bool = True):
    """:func:`_groebner_eliminants` and, for a positive-dimensional ideal (when
    ``decompose``), :func:`_decompose` from the same Groebner basis: ``(equations,
    eliminants, components)``, components None unless asked for and positive-dimensional;
    None when ``limits`` were given and exceeded. One basis, not two: on a 5-agent game with
    a stationary line the first basis (1.9 s) was computed by both, each in its own worker."""
    gb = buchberger(integer_polys(exprs, variables, grevlex_context(variables)), limits)
    if gb is None:
        return None
    quotient = Quotient.from_groebner(gb, variables)
    if quotient.inconsistent:
        return [sympy.Integer(1)], None, None
    # the equations themselves stand for the ideal otherwise: converting FLINT's basis back
    # to SymPy expressions was a quarter of the 3-4-agent solve time, and nothing needs it
    if quotient.zero_dimensional:
        return list(exprs), quotient.eliminants(), None
    if not decompose:
        return list(exprs), None, None
    components = _decompose(exprs, variables, limits, groebner=gb)
    return None if components is None else (list(exprs), None, components)


def _limited_or_worker(func, exprs, variables, budget, polys):
    """``func(exprs, variables, limits)`` in this process with the Buchberger limits when the
    system (``polys``, the same equations as Polys) is small and stays within them, else
    ``func(exprs, variables)`` within ``budget`` seconds in a killable worker."""
    bezout = math.prod(max(1, p.total_degree()) for p in polys)
    if bezout <= _IN_PROCESS_BEZOUT:
        found = func(exprs, tuple(variables), _BUCHBERGER_LIMITS)
        if found is not None:
            return found
    return run_with_budget(func, (exprs, tuple(variables)), budget)


def _pair_eliminant_roots(eliminants, variables, polys, deadline, squarefree: bool = False
                          ) -> list[RealSolution]:
    """Points of the product of the eliminants' certified real roots that solve the system
    (``squarefree``: the eliminants are known square-free, as the quotient ring's are, and
    SymPy's square-free part is skipped)."""
    per_var = []
    for var, uni in zip(variables, eliminants, strict=True):
        if uni is None:
            raise _OutOfTime  # cannot happen for a zero-dimensional ideal; fall back anyway
        uni = uni if isinstance(uni, sympy.Poly) else sympy.Poly(uni, var)
        if squarefree and uni.domain in (sympy.ZZ, sympy.QQ):
            per_var.append(_isolated_roots(uni, 15) if uni.degree() > 0 else [])
        else:
            per_var.append(real_root_boxes(uni, exact=False))
    hits = _vanishing_combinations(polys, [[b.value for b in boxes] for boxes in per_var],
                                   deadline)
    solutions = []
    for combo in hits:
        boxes = tuple(per_var[k][i] for k, i in enumerate(combo))
        # the float test's tolerance (1e-8 of the terms) is loose where terms cancel: far
        # from the origin (terms ~1e13) it accepted pairs with residuals ~0.2 as solutions;
        # a ball enclosure that excludes zero rejects them with certainty. The boxes as they
        # are (Arb's root balls are ~1e-36 wide): refining them to 40 digits first made the
        # 3-4-agent solve 1.8x slower. (The coordinates' balls made once per candidate.)
        if any(_ball_excludes_zero(v)
               for v in interval_values(polys, boxes, 30, refine=False)):
            continue
        solutions.append(RealSolution(tuple(b.value for b in boxes), None, boxes))
    return _dedupe(solutions)


def _ball_excludes_zero(ball: Any) -> bool:
    """Whether an ``arb`` ball certainly does not contain zero."""
    return bool(ball > 0 or ball < 0)


def _real_points(polys, variables, limits, deadline) -> list[RealSolution] | None:
    """Certified real solutions of a small system of FLINT polynomials (grevlex context)
    through its quotient ring; ``[]`` when it has no complex solution, None when it is not
    zero-dimensional or exceeds the Buchberger ``limits`` (the caller tries something else)."""
    gb = buchberger(polys, limits)
    if gb is None:
        return None
    quotient = Quotient.from_groebner(gb, variables)
    if not quotient.zero_dimensional:
        return None
    if quotient.inconsistent:
        return []
    return _pair_eliminant_roots(quotient.eliminants(), variables,
                                 sympy_polys(polys, variables), deadline, squarefree=True)


def _decompose(exprs, variables, limits=None, groebner=None
               ) -> list[tuple[list, list | None, int]] | None:
    """Factorizing Groebner decomposition: split the ideal at every basis element that
    factors (V(I + (f g)) = V(I + (f)) u V(I + (g))) until every basis element is irreducible;
    each component: (reduced grevlex basis as SymPy expressions, eliminants if
    zero-dimensional else None, dimension). None when ``limits`` (FLINT's Buchberger limits)
    were given and a basis exceeded them. ``groebner``: a grevlex Groebner basis of ``exprs``
    already computed (:func:`buchberger`'s, reduced or not).

    All in FLINT (bases, factoring, ideal membership): through SymPy expressions and
    ``sympy.factor_list`` the decomposition took 0.1-9 s on the benchmark's 3-4-agent games
    with stationary sets, most of it converting between expressions and polynomials."""
    ctx = grevlex_context(variables)
    stack = [integer_polys(exprs, variables, ctx)]
    done: list[tuple[list, int]] = []
    seen: set = set()
    while stack:
        top = stack.pop()
        basis: list[flint.fmpz_mpoly] | None
        if groebner is not None:  # (the first one: its basis is known)
            basis, groebner = reduced(groebner, ctx), None
        else:
            basis = buchberger(top, limits, reduce=True)
        if basis is None:
            return None
        key = tuple(str(b) for b in basis)
        if key in seen or not basis or basis[0].is_constant():
            continue
        seen.add(key)
        split = None
        for b in basis:
            factors = b.factor()[1]
            if len(factors) > 1 or factors[0][1] > 1:  # a product or a power
                split = [f for f, _ in factors]
                break
        if split is not None:
            stack += [[*basis, f] for f in split]
            continue
        done.append((basis, krull_dimension(basis, len(variables))))
    out = []
    for k, (basis, dim) in enumerate(done):
        # drop a component contained in a bigger one: a power of every generator of the
        # bigger one lies in its ideal (reduces to zero modulo its Groebner basis). Powers up
        # to 3: the gradient ideal of h^2 g has an embedded curve whose ideal holds h^2 but
        # not h, which was reported as a set of its own without a real sample
        vec = flint.fmpz_mpoly_vec(basis, ctx)

        def vanishes(g, vec=vec):
            return any((g**e).reduction_primitive_part(vec).is_zero() for e in (1, 2, 3))

        if any(big_dim > dim and all(vanishes(g) for g in big)
               for j, (big, big_dim) in enumerate(done) if j != k):
            continue
        eliminants = (Quotient.from_groebner(basis, variables).eliminants() if dim == 0
                      else None)
        out.append((basis_exprs(basis, variables), eliminants, dim))
    return out
