"""Algebraic coefficients (surds): the atoms of a system, and matching of isolating boxes."""

from __future__ import annotations

from collections.abc import Sequence

import sympy

from brud_analysis.algebra.boxes import Box
from brud_analysis.algebra.groebner import (
    parse_poly,
)
from brud_analysis.errors import BrudError


# ------------------------------------------------------------------------------ algebraic
def algebraic_atoms(exprs: Sequence[sympy.Expr], variables: Sequence[sympy.Symbol]
                    ) -> dict[sympy.Expr, sympy.Symbol]:
    """Irrational algebraic numbers (surds such as sqrt(2), 2**(1/3)) in the coefficients,
    each with the symbol that stands for it when the system is solved over QQ; a
    transcendental coefficient (pi) is a :class:`BrudError`.

    Example:
        >>> x, y = sympy.symbols("x y")
        >>> algebraic_atoms([sympy.sqrt(2) * x + y], [x, y])
        {sqrt(2): alg_0}
    """
    found: set[sympy.Expr] = set()
    for e in exprs:
        poly = parse_poly(e, variables)
        if poly.domain == sympy.ZZ or poly.domain == sympy.QQ:
            continue  # (every coefficient rational: no need to look at each)
        for c in poly.coeffs():
            if c.is_Rational:
                continue
            surds = {a for a in c.atoms(sympy.Pow) if a.base.is_Rational and a.exp.is_Rational
                     and not a.exp.is_Integer}
            surds |= c.atoms(sympy.CRootOf)
            rest = c.xreplace({a: sympy.Integer(1) for a in surds})
            # (not nsimplify: on a Rational it can return a product of surds, so 9423/10 *
            # sqrt(2) was refused)
            if not rest.is_Rational or c.has(sympy.pi, sympy.E):
                raise BrudError(f"coefficient {c} is not an algebraic number in radicals: "
                                "give a rational value")
            found |= surds
    return {a: sympy.Symbol(f"alg_{k}", real=True)
            for k, a in enumerate(sorted(found, key=sympy.default_sort_key))}


def _overlap(a: Box, b: Box) -> bool:
    """Whether two isolating boxes of roots of one polynomial hold the same root."""
    a, b = a.refined(30), b.refined(30)
    return max(a.lo, b.lo) <= min(a.hi, b.hi)
