"""Groebner bases and eliminants of polynomial systems, computed by FLINT (python-flint).

Why not ``sympy.groebner``: on the 3-4-agent benchmark games (gradients of degree-4 rewards)
SymPy's pure-Python Buchberger took 0.5-26 s per lex basis and was the bottleneck of
``brud analyse``; FLINT's grevlex Buchberger (C) takes 1-40 ms on the same systems
(``benchmarks/symbolic.py``). FLINT's *lex* bases blow up on these systems, so lex is never
asked of it: for a zero-dimensional ideal each variable's eliminant is read off the
characteristic polynomial of the multiplication-by-that-variable matrix on the quotient ring
Q[x]/I (Stickelberger: its roots are exactly the coordinates of the complex solutions), which
needs only the grevlex basis. Everything is exact rational arithmetic.

Example:
    >>> x, y, z = sympy.symbols("x y z")
    >>> q = Quotient.of([x**2 - 2, y - x, z**2 - 1], [x, y, z])
    >>> q.dimension, [str(e.as_expr()) for e in q.eliminants()]
    (4, ['x**2 - 2', 'y**2 - 2', 'z**2 - 1'])
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence
from typing import Any

import flint
import sympy

from brud_analysis.algebra.modular import annihilating_charpoly

_ORDERS = {"grevlex": "degrevlex", "lex": "lex"}


def grevlex_context(variables: Sequence[sympy.Symbol]) -> flint.fmpz_mpoly_ctx:
    """FLINT's integer polynomial ring in ``variables`` with graded reverse lex order.

    Example:
        >>> grevlex_context(sympy.symbols("x y")).gens()
        (x, y)
    """
    return context(tuple(variables), "degrevlex")


@functools.lru_cache(maxsize=512)
def context(variables: tuple[sympy.Symbol, ...], order: str, rational: bool = False) -> Any:
    """FLINT's polynomial ring (``fmpq_mpoly_ctx`` when ``rational``, else ``fmpz_mpoly_ctx``)
    in ``variables`` (named by their ``str``) with FLINT's monomial ``order``; cached: SymPy's
    printer took ~50 us per name, 6% of a 5-agent solve with sets (a context per fibre).

    Example:
        >>> context(sympy.symbols("x y"), "lex", rational=True).gens()
        (x, y)
    """
    names = [str(v) for v in variables]
    return (flint.fmpq_mpoly_ctx if rational else flint.fmpz_mpoly_ctx).get(names, order)


def parse_poly(expr: sympy.Expr, variables: Sequence[sympy.Symbol]) -> sympy.Poly:
    """``sympy.Poly(expr, *variables)``, ~15x faster for an expression that is already
    expanded (the usual input: gradients, bases) by skipping SymPy's expand, which walks it
    again; others are expanded as usual.

    Example:
        >>> x, y = sympy.symbols("x y")
        >>> parse_poly((x + y)**2, [x, y]) == parse_poly(x**2 + 2*x*y + y**2, [x, y])
        True
    """
    expr, variables = sympy.sympify(expr), tuple(variables)
    known = _known_polys().get((expr, variables))
    return known if known is not None else _parse_poly(expr, variables)


# The most terms of all the Polys remember_poly holds together: 1.2-1.6 kB per term (Poly and
# expression, measured), so ~25 MB at most; the gradient and Hessian of a random 5-agent
# degree-6 benchmark game have ~50 terms. (Up to 4097 entries were held before, after their
# games were gone: ~270 MB for dense 5-agent degree-6 games, 65 kB per entry.)
_KNOWN_POLYS_MAX_TERMS = 16384


class _KnownPolys:
    """Polys by (expression, generators), at most ``_KNOWN_POLYS_MAX_TERMS`` terms in all,
    the oldest forgotten first."""

    def __init__(self) -> None:
        self.polys: dict[tuple[sympy.Expr, tuple[sympy.Symbol, ...]], sympy.Poly] = {}
        self.terms = 0

    def get(self, key: tuple[sympy.Expr, tuple[sympy.Symbol, ...]]) -> sympy.Poly | None:
        return self.polys.get(key)

    def add(self, key: tuple[sympy.Expr, tuple[sympy.Symbol, ...]], poly: sympy.Poly) -> None:
        size = max(1, poly.length())
        if key in self.polys or size > _KNOWN_POLYS_MAX_TERMS:
            return
        while self.polys and self.terms + size > _KNOWN_POLYS_MAX_TERMS:
            self.terms -= max(1, self.polys.pop(next(iter(self.polys))).length())
        self.polys[key] = poly
        self.terms += size


@functools.lru_cache(maxsize=1)
def _known_polys() -> _KnownPolys:
    """The polynomials :func:`remember_poly` made expressions of (held by an lru_cache so
    that clearing the toolkit's caches clears it too)."""
    return _KnownPolys()


def remember_poly(poly: sympy.Poly) -> sympy.Expr:
    """``poly.as_expr()``, remembered so that :func:`parse_poly` of it in ``poly.gens`` gives
    ``poly`` back without parsing (a game's gradient and Hessian entries are made from its
    Poly and parsed again by every step of the analysis); only when ``poly``'s domain is
    the one parsing would infer (ZZ, or QQ with a non-integer coefficient), so that the
    answer is the same Poly either way. At most ``_KNOWN_POLYS_MAX_TERMS`` terms are held,
    the oldest forgotten first (parsing gives them again).

    Example:
        >>> x, y = sympy.symbols("x y")
        >>> p = sympy.Poly(x**2 * y - 3 * y, x, y)
        >>> parse_poly(remember_poly(p.diff(x)), [x, y]) is parse_poly(2 * x * y, [x, y])
        True
    """
    expr = poly.as_expr()
    if poly.domain == sympy.ZZ or (poly.domain == sympy.QQ and not all(
            c.is_Integer for c in poly.coeffs())):
        _known_polys().add((expr, tuple(poly.gens)), poly)
    return expr


@functools.lru_cache(maxsize=1024)
def _parse_poly(expr: sympy.Expr, variables: tuple[sympy.Symbol, ...]) -> sympy.Poly:
    # (cached: one solve parses the same equations 3-4 times, a fifth of a small solve)
    fast = _expanded_rational_poly(expr, variables)
    if fast is not None:
        return fast
    try:
        return sympy.Poly(expr, *variables, expand=False)
    except sympy.PolynomialError:  # (raised for a product or power of sums)
        return sympy.Poly(expr, *variables)


def _expanded_rational_poly(expr: sympy.Expr, variables: tuple[sympy.Symbol, ...]
                            ) -> sympy.Poly | None:
    """``sympy.Poly(expr, *variables, expand=False)`` read directly off an expanded
    expression with rational coefficients (a sum of rational multiples of products of the
    variables' positive integer powers): the same rep, domain (ZZ when every coefficient is an
    integer, else QQ) and generators, ~4x faster than SymPy's parser; None for any other
    expression (floats, surds, other symbols, unexpanded products), which SymPy parses, and for
    generators SymPy refuses (none, repeated, non-commutative), so that it raises."""
    if (not variables or len(set(variables)) < len(variables)
            or not all(v.is_Symbol and v.is_commutative for v in variables)):
        return None
    index = {v: i for i, v in enumerate(variables)}
    n = len(variables)
    terms: dict[tuple[int, ...], tuple[int, int]] = {}
    for term in sympy.Add.make_args(expr):
        num, den, monom = 1, 1, [0] * n
        for factor in sympy.Mul.make_args(term):
            if factor.is_Rational:
                num, den = num * int(factor.p), den * int(factor.q)
            elif factor in index and not monom[index[factor]]:
                monom[index[factor]] = 1
            elif (factor.is_Pow and factor.base in index and factor.exp.is_Integer
                  and factor.exp > 0 and not monom[index[factor.base]]):
                monom[index[factor.base]] = int(factor.exp)
            else:  # (also a variable twice in one unevaluated product: SymPy keeps the last)
                return None
        key = tuple(monom)
        if key in terms:  # (not in a canonical sum; added up as SymPy does)
            a, b = terms[key]
            num, den = a * den + num * b, b * den
        terms[key] = (num, den)
    from sympy.polys.polyclasses import DMP

    exact = {m: flint.fmpq(a, b) for m, (a, b) in terms.items()}
    exact = {m: c for m, c in exact.items() if c != 0}
    if all(c.q == 1 for c in exact.values()):
        rep = DMP.from_dict({m: sympy.ZZ(int(c.p)) for m, c in exact.items()}, n - 1,
                            sympy.ZZ)
    else:
        rep = DMP.from_dict({m: sympy.QQ(int(c.p), int(c.q)) for m, c in exact.items()}, n - 1,
                            sympy.QQ)
    return sympy.Poly.new(rep, *variables)


def integer_polys(exprs: Sequence[sympy.Expr], variables: Sequence[sympy.Symbol],
                  ctx: flint.fmpz_mpoly_ctx) -> list[flint.fmpz_mpoly]:
    """The non-zero ``exprs`` (rational coefficients), each times its common denominator, as
    FLINT polynomials in ``ctx``.

    Example:
        >>> x, y = sympy.symbols("x y")
        >>> integer_polys([x / 2 - y / 3, 0 * x], [x, y], grevlex_context([x, y]))
        [3*x - 2*y]
    """
    out = []
    for e in exprs:
        _, poly = parse_poly(e, variables).clear_denoms()
        p = ctx.from_dict({m: int(c) for m, c in poly.terms()})
        if not p.is_zero():
            out.append(p)
    return out


def buchberger(polys: Sequence[flint.fmpz_mpoly], limits: tuple[int, int, int] | None = None,
               reduce: bool = False) -> list[flint.fmpz_mpoly] | None:
    """A Groebner basis over Z of the ideal of ``polys`` (non-zero, one FLINT context), by
    FLINT's Buchberger; the reduced basis when ``reduce`` ([1] when inconsistent); ``[]`` for
    no polynomial; None when ``limits`` (basis length, terms per polynomial, coefficient bits)
    were given and exceeded.

    Example:
        >>> ctx = grevlex_context(sympy.symbols("x y"))
        >>> x, y = ctx.gens()
        >>> buchberger([x**2 + y**2 - 2, x - y], reduce=True)
        [x - y, y^2 - 1]
    """
    if not polys:
        return []
    gb: Any = flint.fmpz_mpoly_vec(list(polys), polys[0].context()).buchberger_naive(
        limits=limits)
    if limits is not None:  # then a (basis, complete) pair
        gb, complete = gb
        if not complete:
            return None
    return reduced(gb, polys[0].context()) if reduce else list(gb)


def reduced(gb: Sequence[flint.fmpz_mpoly], ctx: flint.fmpz_mpoly_ctx) -> list[flint.fmpz_mpoly]:
    """The reduced Groebner basis of a Groebner basis ``gb`` in ``ctx``: [1] when it holds a
    constant, else :func:`reduced_basis` (what ``buchberger(..., reduce=True)`` returns).

    Example:
        >>> ctx = grevlex_context(sympy.symbols("x y"))
        >>> x, y = ctx.gens()
        >>> reduced([x - y, 2 * y**2 - 2, x**2 + y**2 - 2], ctx), reduced([x - y, 3 + 0 * x], ctx)
        ([x - y, y^2 - 1], [1])
    """
    if any(p.is_constant() for p in gb):
        return [ctx.from_dict({(0,) * len(ctx.gens()): 1})]
    return reduced_basis(list(gb))


def reduced_basis(gb: Sequence[flint.fmpz_mpoly]) -> list[flint.fmpz_mpoly]:
    """The reduced Groebner basis over Z (primitive, positive leading coefficients) of a
    Groebner basis ``gb`` without a constant: drop the elements whose leading monomial another
    one divides (a minimal basis), then reduce each one's tail by the others; the leading
    monomials do not change, so the results are reduced by each other.

    FLINT's ``autoreduction(groebner=True)`` gives the same basis, but reduces the elements
    one after another with the growing coefficients of the unreduced ones (~1000 bits from its
    Buchberger): on the 5-agent gradient ideals of the isolated-points test it took 6.9 s where
    the Buchberger itself took 0.25 s; this takes 0.02 s there (same output, checked on those).

    Example:
        >>> ctx = grevlex_context(sympy.symbols("x y"))
        >>> x, y = ctx.gens()
        >>> reduced_basis([x - y, x**2 + y**2 - 2, 2 * y**2 - 2])
        [x - y, y^2 - 1]
    """
    leads = [p.monoms()[0] for p in gb]
    minimal = [p for k, p in enumerate(gb)
               if not any((leads[j] != leads[k] or j < k)
                          and all(a >= b for a, b in zip(leads[k], leads[j], strict=True))
                          for j in range(len(gb)) if j != k)]
    if not minimal:
        return []
    ctx = minimal[0].context()
    out = []
    for k, p in enumerate(minimal):
        r = p.reduction_primitive_part(  # type: ignore[attr-defined]
            flint.fmpz_mpoly_vec([q for j, q in enumerate(minimal) if j != k], ctx))
        out.append(-r if r.leading_coefficient() < 0 else r)
    return out


def sympy_polys(polys: Sequence[flint.fmpz_mpoly], variables: Sequence[sympy.Symbol]
                ) -> list[sympy.Poly]:
    """FLINT polynomials as SymPy ``Poly`` objects over QQ (no expressions built).

    Example:
        >>> gx, gy = grevlex_context(sympy.symbols("x y")).gens()
        >>> sympy_polys([2 * gx * gy - 1], sympy.symbols("x y"))
        [Poly(2*x*y - 1, x, y, domain='QQ')]
    """
    return [sympy.Poly.from_dict({m: int(c) for m, c in p.to_dict().items()}, *variables,
                                 domain=sympy.QQ) for p in polys]


def basis_exprs(basis: Sequence[flint.fmpz_mpoly], variables: Sequence[sympy.Symbol],
                order: str = "grevlex") -> list[sympy.Expr]:
    """A reduced basis as SymPy expressions: monic, leading monomials ascending as
    ``sympy.groebner`` lists them; ``[1]`` when it holds a constant.

    Example:
        >>> x, y = sympy.symbols("x y")
        >>> gx, gy = grevlex_context([x, y]).gens()
        >>> basis_exprs([2 * gy**2 - 2, gx - gy], [x, y])
        [x - y, y**2 - 1]
    """
    out = [p.monic() for p in sympy_polys(basis, variables)]
    if any(p.is_ground for p in out):
        return [sympy.Integer(1)]
    key = sympy.polys.orderings.monomial_key(order)
    out.sort(key=lambda p: key(p.monoms(order=order)[0]))  # ascending, as SymPy lists them
    return [p.as_expr() for p in out]


def independent_sets(basis: Sequence[flint.fmpz_mpoly], n: int, size: int
                     ) -> list[tuple[int, ...]]:
    """The sets of ``size`` variable indices that no leading monomial of the grevlex
    Groebner ``basis`` lies in (independent modulo the ideal: a component of that dimension
    projects onto them, so fixing them slices it into finitely many points).

    Example:
        >>> x, y, z = grevlex_context(sympy.symbols("x y z")).gens()
        >>> independent_sets(buchberger([x * y, x * z]), 3, 2)
        [(1, 2)]
    """
    leads = [p.monoms()[0] for p in basis]
    return [subset for subset in itertools.combinations(range(n), size)
            if all(any(m[i] > 0 for i in range(n) if i not in subset) for m in leads)]


def krull_dimension(basis: Sequence[flint.fmpz_mpoly], n: int) -> int:
    """The dimension of the ideal of a grevlex Groebner ``basis`` in ``n`` variables (the
    size of its largest :func:`independent_sets`); -1 when the ideal is everything.

    Example:
        >>> x, y, z = grevlex_context(sympy.symbols("x y z")).gens()
        >>> krull_dimension(buchberger([x * y, x * z]), 3)
        2
    """
    if any(p.is_constant() for p in basis):
        return -1
    return next(size for size in range(n, -1, -1) if independent_sets(basis, n, size))


def groebner_basis(exprs: Sequence[sympy.Expr], variables: Sequence[sympy.Symbol],
                   order: str = "grevlex") -> list[sympy.Expr]:
    """The reduced Groebner basis of the ideal generated by ``exprs`` (monic, SymPy
    expressions, leading monomials ascending as ``sympy.groebner`` lists them); ``[1]`` when
    inconsistent. Lex bases are slow in FLINT's naive Buchberger: ask for grevlex.

    Example:
        >>> x, y = sympy.symbols("x y")
        >>> groebner_basis([x**2 + y**2 - 2, x - y], [x, y])
        [x - y, y**2 - 1]
    """
    ctx = context(tuple(variables), _ORDERS[order])
    basis = buchberger(integer_polys(exprs, variables, ctx), reduce=True)
    return basis_exprs(basis, variables, order) if basis else []


def _integer_poly(coeffs: list[int], var: sympy.Symbol) -> sympy.Poly:
    """``sympy.Poly.from_list(coeffs, var)`` for integer ``coeffs`` (highest first, the first
    non-zero), built from its coefficients over ZZ without SymPy's domain construction."""
    from sympy.polys.polyclasses import DMP

    return sympy.Poly.new(DMP([sympy.ZZ(c) for c in coeffs], sympy.ZZ, 0), var)


# quotient dimensions up to this get FLINT's exact charpoly in :meth:`Quotient.eliminants`:
# faster than the multimodular one below ~32 (on the benchmark's 3-5-agent games, 988
# matrices: 0.002 / 0.006 / 0.08 / 0.55 ms against 0.036 / 0.07 / 0.25 / 1.15 ms at
# dimensions 0-3 / 4-7 / 8-11 / 28-31; 30 against 7 ms at 40-43), the same polynomials
_EXACT_CHARPOLY_MAX = 30


class Quotient:
    """The quotient ring Q[x]/I of a zero-dimensional ideal, from a grevlex Groebner basis
    (made monic, not reduced: :meth:`normal_form` copes with unreduced tails).

    ``normal_set`` are the standard monomials (a basis of the quotient as a vector space; its
    size ``dimension`` is the number of complex solutions counted with multiplicity).
    """

    def __init__(self, basis: Sequence[flint.fmpq_mpoly], variables: Sequence[sympy.Symbol],
                 ctx: flint.fmpq_mpoly_ctx, normal_set: list[tuple[int, ...]],
                 zero_dimensional: bool = True) -> None:
        self.basis = list(basis)
        self.zero_dimensional = zero_dimensional
        self.variables = tuple(variables)
        self.ctx = ctx
        self.normal_set = normal_set
        self.index = {m: k for k, m in enumerate(normal_set)}
        self._leads = {p.monoms()[0]: p for p in self.basis}
        self._nf: dict[tuple[int, ...], flint.fmpq_mpoly] = {}

    @property
    def inconsistent(self) -> bool:
        """Whether the ideal is everything (no complex solution)."""
        return self.zero_dimensional and not self.normal_set

    @property
    def dimension(self) -> int:
        """The number of standard monomials (complex solutions with multiplicity)."""
        return len(self.normal_set)

    @staticmethod
    def of(exprs: Sequence[sympy.Expr], variables: Sequence[sympy.Symbol],
           limits: tuple[int, int, int] | None = None) -> Quotient | None:
        """The quotient by the ideal of ``exprs``. ``zero_dimensional`` says whether it is
        finite-dimensional (else ``normal_set`` is empty and unused); ``inconsistent`` when there
        is no solution (the ideal is everything). None when ``limits`` (FLINT's Buchberger limits:
        basis length, terms per polynomial, coefficient bits) were given and exceeded.

        Example:
            >>> x, y = sympy.symbols("x y")
            >>> q = Quotient.of([x**2 - y, y**2 - 1], [x, y])
            >>> q.zero_dimensional, q.normal_set
            (True, [(0, 0), (0, 1), (1, 0), (1, 1)])
            >>> Quotient.of([x*y], [x, y]).zero_dimensional
            False
        """
        gb = buchberger(integer_polys(exprs, variables, grevlex_context(variables)), limits)
        return None if gb is None else Quotient.from_groebner(gb, variables)

    @staticmethod
    def from_groebner(gb: Sequence[flint.fmpz_mpoly], variables: Sequence[sympy.Symbol]
                      ) -> Quotient:
        """The quotient by the ideal of which ``gb`` is a grevlex Groebner basis over Z (as
        :func:`buchberger` returns it, reduced or not)."""
        ctx = context(tuple(variables), "degrevlex", rational=True)
        if not gb:
            return Quotient([], variables, ctx, [], zero_dimensional=False)
        # not autoreduced (FLINT's autoreduction over Z costs 10-20x the basis itself here);
        # normal_form copes with unreduced tails
        basis = []
        for p in gb:
            q = ctx.from_dict(p.to_dict())  # (fmpz coefficients taken as they are)
            basis.append(q / q.leading_coefficient())
        leads = [p.monoms()[0] for p in basis]
        n = len(variables)
        if any(sum(m) == 0 for m in leads):
            return Quotient(basis, variables, ctx, [], zero_dimensional=True)
        # zero-dimensional iff every variable has a pure power among the leading monomials
        if not all(any(m[i] > 0 and sum(m) == m[i] for m in leads) for i in range(n)):
            return Quotient(basis, variables, ctx, [], zero_dimensional=False)
        normal: list[tuple[int, ...]] = []
        stack = [(0,) * n]
        seen = set(stack)
        while stack:
            m = stack.pop()
            if any(all(a >= b for a, b in zip(m, lead, strict=True)) for lead in leads):
                continue
            normal.append(m)
            for i in range(n):
                up = tuple(a + (j == i) for j, a in enumerate(m))
                if up not in seen:
                    seen.add(up)
                    stack.append(up)
        key = sympy.polys.orderings.monomial_key("grevlex")
        normal.sort(key=key)
        return Quotient(basis, variables, ctx, normal, zero_dimensional=True)

    def normal_form(self, monom: tuple[int, ...]) -> flint.fmpq_mpoly:
        """The remainder of a monomial on division by the basis (support in the normal set).

        Border recursion instead of repeated division: a leading monomial's normal form is
        minus its basis element's tail; any other monomial m = x_k m' gives
        NF(m) = sum_c c NF(x_k b) over the terms c b of NF(m'), all of them smaller than m in
        the (well-founded) monomial order, so the recursion ends.
        """
        if monom in self._nf:
            return self._nf[monom]
        if monom in self.index:
            result = self.ctx.from_dict({monom: 1})
        elif monom in self._leads:  # m = m - g (g monic); its tail's terms are all below m
            result = self.ctx.from_dict({})
            for term, c in (self.ctx.from_dict({monom: 1}) - self._leads[monom]).to_dict(
                    ).items():
                result += c * self.normal_form(term)
        else:
            lead = next(m for m in self._leads
                        if all(a >= b for a, b in zip(monom, m, strict=True)))
            k = next(i for i, (a, b) in enumerate(zip(monom, lead, strict=True)) if a > b)
            lower = tuple(a - (j == k) for j, a in enumerate(monom))
            result = self.ctx.from_dict({})
            for term, c in self.normal_form(lower).to_dict().items():
                result += c * self.normal_form(tuple(a + (j == k) for j, a in enumerate(term)))
        self._nf[monom] = result
        return result

    def multiplication_matrix(self, var: int) -> flint.fmpq_mat:
        """The matrix of multiplication by ``variables[var]`` on the normal set (columns are
        the normal forms of x_var * b)."""
        d = self.dimension
        mat = flint.fmpq_mat(d, d)
        for row, col, c in self._multiplication_entries(var):
            mat[row, col] = c
        return mat

    def float_multiplication_matrix(self, var: int) -> Any:
        """:meth:`multiplication_matrix` in floats (a NumPy array, each entry ``float`` of
        the exact one), without the exact matrix and its list of lists in between."""
        import numpy as np

        mat = np.zeros((self.dimension, self.dimension))
        for row, col, c in self._multiplication_entries(var):
            mat[row, col] = float(c)
        return mat

    def _multiplication_entries(self, var: int):
        """(row, column, fmpq) of every non-zero entry of :meth:`multiplication_matrix`."""
        for col, b in enumerate(self.normal_set):
            up = tuple(a + (j == var) for j, a in enumerate(b))
            for term, c in self.normal_form(up).to_dict().items():
                yield self.index[term], col, c

    def eliminants(self) -> list[sympy.Poly]:
        """For each variable the square-free polynomial whose roots are exactly that
        coordinate of the complex solutions (charpoly of the multiplication matrix, made
        square-free). Up to :data:`_EXACT_CHARPOLY_MAX` standard monomials it is FLINT's
        exact charpoly; above, it is computed multimodularly and checked exactly to vanish
        on the variable in the quotient ring, which proves every coordinate is a root
        (:func:`brud_analysis.modular.annihilating_charpoly`); that no other root creeps in
        rests on the reconstruction, and would only add candidates that the solver's exact
        pairing test rejects."""
        out = []
        one = self.index[(0,) * len(self.variables)]
        for i, var in enumerate(self.variables):
            # (multimodular, checked to annihilate 1: every coordinate is a root; 7-18x
            # faster than FLINT's exact charpoly on the 4-agent benchmark games' 40-70
            # dimensional quotients, 2-18x slower on small ones)
            mat = self.multiplication_matrix(i)
            cp = (mat.charpoly() if self.dimension <= _EXACT_CHARPOLY_MAX
                  else annihilating_charpoly(mat, one)).numer()
            sqf = cp / cp.gcd(cp.derivative()) if cp.degree() > 0 else cp
            out.append(_integer_poly([int(c) for c in sqf.coeffs()[::-1]], var))
        return out

