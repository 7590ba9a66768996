"""Two variables: resultants + real-root isolation (the gcd of the two equations is the curve),
and sample points on a plane curve."""

from __future__ import annotations

import itertools
from typing import Any

import flint
import sympy

from brud_analysis.algebra.boxes import Box, certified_sign
from brud_analysis.algebra.solve.certify import _with_exact_guess
from brud_analysis.algebra.solve.elimination import _pair_eliminant_roots
from brud_analysis.algebra.solve.types import RealSolution, StationarySet, _dedupe, b_point
from brud_analysis.algebra.solve.univariate import _lies_on, real_root_boxes, univariate_real_roots
from brud_analysis.bounded import OutOfTime as _OutOfTime


# ------------------------------------------------------------------------------ 2 variables
def _curve_is_one_dimensional(h: sympy.Poly, x: sympy.Symbol, y: sympy.Symbol) -> bool:
    """Whether the real zero set of the square-free, non-constant ``h`` contains a curve.

    Between consecutive critical values of the projection to x (roots of the discriminant
    Res_y(h, dh/dy)) the number of real y-roots of h(c, y) is constant, so sampling one c per
    gap decides it.
    """
    if h.degree(y) == 0:
        return bool(univariate_real_roots(sympy.Poly(h.as_expr(), x), exact=False))
    disc = sympy.Poly(sympy.resultant(h.as_expr(), sympy.diff(h.as_expr(), y), y), x)
    crit = [] if disc.degree() <= 0 or disc.is_zero else [
        r for r, _ in univariate_real_roots(disc, exact=False)
    ]
    crit = sorted(crit)
    samples = [0.0] if not crit else (
        [crit[0] - 1.0] + [(a + b) / 2 for a, b in itertools.pairwise(crit)] + [crit[-1] + 1.0]
    )
    for c in samples:
        hc = sympy.Poly(h.as_expr().subs(x, sympy.nsimplify(c, rational=True)), y)
        if not hc.is_zero and univariate_real_roots(hc, exact=False):
            return True
        if hc.is_zero:
            return True
    return False


def _resultant(F: sympy.Poly, G: sympy.Poly, eliminate: sympy.Symbol, keep: sympy.Symbol
               ) -> sympy.Poly:
    """Res_eliminate(F, G) of two rational bivariate polynomials as a polynomial in ``keep``
    (up to a non-zero constant factor: only its roots are used).

    FLINT's resultant on integer polynomials: SymPy's subresultant PRS through expressions was
    a third of the 2-agent solver's time on the benchmark games.
    """
    gens = F.gens
    ctx = flint.fmpz_mpoly_ctx.get([str(g) for g in gens], "lex")
    f, g = (ctx.from_dict({m: int(c) for m, c in P.clear_denoms(convert=True)[1].terms()})
            for P in (F, G))
    res = f.resultant(g, str(eliminate))
    k = gens.index(keep)
    coeffs: dict[tuple[int, ...], Any] = {(m[k],): int(c) for m, c in res.to_dict().items()}
    return sympy.Poly.from_dict(coeffs, keep) if coeffs else sympy.Poly(0, keep)


def _solve_coprime_pair(F, G, x, y, deadline, exact):
    """Isolated real solutions of F = G = 0 for coprime F, G in x, y: the two resultants are
    the eliminants, paired like any system's (:func:`_pair_eliminant_roots`)."""
    rx, ry = _resultant(F, G, y, x), _resultant(F, G, x, y)
    if rx.is_zero or ry.is_zero:  # cannot happen for coprime F, G; guard anyway
        raise _OutOfTime
    solutions = _pair_eliminant_roots([rx, ry], (x, y), [F, G], deadline)
    return [_with_exact_guess(s, [F, G], deadline) for s in solutions] if exact else solutions


def _solve_bivariate(F, G, x, y, deadline, exact, depth=0):
    if F.is_zero and G.is_zero:
        return [], [StationarySet((sympy.Integer(0),), 2, sample=(0.0, 0.0))]
    if F.is_zero or G.is_zero:
        h = G if F.is_zero else F
        common, F1, G1 = h, sympy.Poly(1, x, y), sympy.Poly(1, x, y)
    else:
        common = sympy.gcd(F, G)
        # (coprime, the usual case: the quotients by 1 are F and G themselves, unless the
        # division moves one to the other's domain)
        if common.is_one and F.domain == G.domain == common.domain:
            F1, G1 = F, G
        else:
            F1, G1 = sympy.div(F, common)[0], sympy.div(G, common)[0]
    solutions: list[RealSolution] = []
    sets: list[StationarySet] = []
    curves = []
    if common.total_degree() > 0:
        for factor, _ in sympy.factor_list(common)[1]:
            if factor.total_degree() == 0:
                continue
            if _curve_is_one_dimensional(factor, x, y):
                curves.append(factor)
                sets.append(StationarySet((factor.as_expr(),), 1,
                                          sample=_curve_sample_point(factor, x, y)))
            elif depth == 0:
                # an irreducible factor with finitely many real points: they are singular points
                fx, fy = factor.diff(x), factor.diff(y)
                pts, _ = _solve_bivariate(fx, fy, x, y, deadline, exact, depth + 1)
                solutions += [p for p in pts if _lies_on(p, [factor])]
            else:
                raise _OutOfTime
    if F1.total_degree() > 0 or G1.total_degree() > 0:
        if F1.total_degree() == 0 or G1.total_degree() == 0:
            pass  # a non-zero constant equation: no further solutions
        else:
            solutions += _solve_coprime_pair(F1, G1, x, y, deadline, exact)
    # points on a solution curve belong to the curve, not to the isolated points
    solutions = [s for s in solutions if not any(_lies_on(s, [c]) for c in curves)]
    return _dedupe(solutions), sets


def _curve_sample_point(h, x, y) -> tuple[float, ...] | None:
    """A real point of the curve h = 0 wherever it lies (projection decomposition, not a
    fixed box); rational coordinates first when a sample line gives one."""
    one = sympy.Poly(1, x, y)
    samples = _curve_samples(h, one, x, y)
    if not samples:
        return None
    rational = [b for b, _ in samples if all(c.lo == c.hi for c in b)]
    return b_point(rational[0] if rational else samples[0][0])


def _curve_samples(h: sympy.Poly, g: sympy.Poly, x: sympy.Symbol, y: sympy.Symbol
                   ) -> list[tuple[tuple[Box, Box], int | None]]:
    """Real points of h = 0 with the certified sign of g there: one vertical line in every
    cell of the projection to x cut at the discriminant, leading coefficient and h = g = 0
    abscissae (so every real branch and every sign of g along it is met); curves without y
    are handled by projecting to y instead."""
    swap = h.degree(y) == 0
    u, w = (y, x) if swap else (x, y)
    hu = sympy.Poly(h.as_expr(), w)
    crit_polys = [sympy.Poly(hu.LC(), u)]
    if hu.degree() >= 2:
        crit_polys.append(sympy.Poly(sympy.discriminant(h.as_expr(), w), u))
    if not g.is_ground:
        res = sympy.resultant(h.as_expr(), g.as_expr(), w)
        if res != 0:
            crit_polys.append(sympy.Poly(res, u))
    crit: list[Box] = []
    for cp in crit_polys:
        if not cp.is_zero and cp.degree() > 0:
            crit += real_root_boxes(cp, exact=False)
    crit.sort(key=lambda b: b.value)
    cuts = [b.value for b in crit]
    if not cuts:
        values = [sympy.Integer(0)]
    else:
        lo, hi = crit[0].refined(20), crit[-1].refined(20)
        values = [sympy.floor(lo.lo) - 1]
        for a, b in itertools.pairwise(crit):
            a, b = a.refined(20), b.refined(20)
            if a.hi < b.lo:
                values.append(_simple_rational_between(a.hi, b.lo))
        values.append(sympy.ceiling(hi.hi) + 1)
    out = []
    for v in values:
        line = sympy.Poly(h.as_expr().subs(u, v), w)
        if line.is_zero or line.degree() <= 0:
            continue
        for b in real_root_boxes(line, exact=False):
            boxes = (Box.rational(v), b)
            if swap:
                boxes = boxes[::-1]
            sign = certified_sign(g, boxes) if not g.is_ground else int(sympy.sign(g.LC()))
            out.append((boxes, sign))
    return out


def _simple_rational_between(a: sympy.Rational, b: sympy.Rational) -> sympy.Rational:
    """A rational with a small denominator strictly between a < b."""
    q = 1
    while True:
        cand = sympy.ceiling(a * q + sympy.Rational(1, 2)) / sympy.Integer(q)
        if a < cand < b:
            return sympy.Rational(cand)
        q *= 2
