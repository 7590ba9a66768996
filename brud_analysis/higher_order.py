"""Higher-order verdicts at a degenerate stationary point: lines through the point, the
splitting lemma (corank 1), the lowest homogeneous form of a binary form, and the
weighted-homogeneous (Newton polygon) principal part for a zero Hessian."""

from __future__ import annotations

import itertools
from typing import Any

import sympy

from brud_analysis.algebra.boxes import _rational, certified_sign
from brud_analysis.algebra.groebner import parse_poly


def _compose(reward_terms, images, truncate=None):
    """sum_c c * prod_i images[i]**e_i in a sparse ring (``truncate`` after each product)."""
    powers: dict[tuple[int, int], Any] = {}
    zero = images[0].ring.zero
    total = zero
    for monom, coeff in reward_terms:
        term = images[0].ring.one * coeff
        for i, e in enumerate(monom):
            if e:
                key = (i, e)
                if key not in powers:
                    powers[key] = images[i] ** e if truncate is None else _trunc_power(
                        images[i], e, truncate)
                term = term * powers[key]
                if truncate is not None:
                    term = truncate(term)
        total += term
    return total


def _trunc_power(p, e, truncate):
    out = p.ring.one
    for _ in range(e):
        out = truncate(out * p)
    return out


def _line_coefficients(reward, variables, direction, order):
    """Taylor coefficients c_k(x) of t -> R(x + t v), k = 1..order, as polynomials in x."""
    from sympy.polys.rings import ring

    ring_, *gens = ring([*(str(v) for v in variables), "t_line"], sympy.QQ)
    xs, t = gens[:-1], gens[-1]
    images = [x + d * t for x, d in zip(xs, direction, strict=True)]
    # (parse_poly: cached, and no re-expansion; one parse per point, not one per direction)
    terms = [(m, sympy.QQ.convert(c)) for m, c in parse_poly(reward, variables).terms()]
    shifted = _compose(terms, images)
    by_k: dict[int, dict] = {}
    for monom, coeff in shifted.items():
        by_k.setdefault(monom[-1], {})[monom[:-1]] = coeff
    return [sympy.Poly.from_dict(by_k.get(k, {}), *variables, domain=sympy.QQ)
            if by_k.get(k) else sympy.Poly(0, *variables) for k in range(1, order + 1)]


def _higher_order(reward, variables, boxes, inertia, hessian, order: int = 2
                  ) -> tuple[str, str | None]:
    pos, neg, zero = inertia
    n = hessian.shape[0]  # the free coordinates; further variables are fixed constants
    pad = (0,) * (len(variables) - n)
    degree = parse_poly(reward, variables[:n]).total_degree()
    expected = -1 if neg else (1 if pos else 0)  # sign of the non-degenerate part
    # 1) lines through the point: the lowest non-zero Taylor coefficient along a line decides
    #    the sign of R - R(p) for small t; an odd order or opposite signs prove a saddle
    directions = [tuple(1 if i == j else 0 for i in range(n)) for j in range(n)]
    directions += [tuple(1 if i in (a, b) else 0 for i in range(n)) for a, b in
                   itertools.combinations(range(n), 2)]
    directions += [tuple((-1 if i == b else 1) if i in (a, b) else 0 for i in range(n))
                   for a, b in itertools.combinations(range(n), 2)]
    rational_point = all(b.lo == b.hi for b in boxes)
    if rational_point:
        at = dict(zip(variables, (b.lo for b in boxes), strict=True))
        h_exact = sympy.Matrix(hessian).applyfunc(_rational).subs(at)
        directions += [tuple(v) for v in _rational_basis(h_exact.nullspace())]
    seen = set()
    for d in directions:
        if d in seen:
            continue
        seen.add(d)
        d = tuple(d) + pad
        lead = None
        for k, c in enumerate(_line_coefficients(reward, variables, d, degree), start=1):
            # known zeros need no zero test (at an irrational point each is an exact test in a
            # worker, up to a second): c_k for k below the known vanishing order (c_1 =
            # grad R . d at any stationary point), and c_2 = d^T H d / 2 when all n
            # eigenvalues are zero (H = 0)
            if k < order or (k == 2 and zero == n):
                continue
            s = certified_sign(c, boxes)
            if s is None:
                break
            if s:
                lead = (k, s)
                break
        if lead is None:
            continue
        k, s = lead
        if k % 2 == 1:
            return "saddle", None
        if expected and s != expected:
            return "saddle", None
        if not expected:
            expected = s
    if not rational_point:
        return "undetermined", ("degenerate point at irrational coordinates (or irrational "
                                "coefficients): lines through it show no saddle; extremum "
                                "certificates need rational ones")
    at = dict(zip(variables, (b.lo for b in boxes), strict=True))
    h_exact = sympy.Matrix(hessian).applyfunc(_rational).subs(at)
    if zero == 1:
        return _splitting_lemma(reward, variables, at, h_exact, 2 * max(degree, 2) + 2)
    if zero == n:
        kind, reason = (_binary_form_test(reward, variables, at) if n == 2
                        else ("undetermined", None))
        if kind != "undetermined":
            return kind, reason
        weighted = _weighted_test(reward, variables[:n], at)
        if weighted is not None:
            return weighted, None
        if reason is not None:
            return kind, reason
    return "undetermined", (f"Hessian has {zero} zero eigenvalues (corank >= 2): no saddle "
                            "found along lines, no extremum certificate for this corank")


def _rational_basis(vectors) -> list[list[sympy.Rational]]:
    out = []
    for v in vectors:
        den = sympy.ilcm(*[sympy.Rational(e).q for e in v])
        out.append([sympy.Integer(e * den) for e in v])
    return out


def _splitting_lemma(reward, variables, at, h_exact, order) -> tuple[str, str | None]:
    """Corank-1 Hessian at a rational point: R - R(p) = Q(u) + g(s) after a smooth change of
    coordinates (splitting lemma); g's lowest term decides (even order with Q's sign: strict
    extremum; otherwise a saddle). Truncated power series in a sparse rational ring."""
    from sympy.polys.rings import ring

    n = len(variables)
    (kernel,) = _rational_basis(h_exact.nullspace())
    image = _rational_basis(h_exact.columnspace())
    ring_, *gens = ring(["s_split", *(f"u_split{j}" for j in range(n - 1))], sympy.QQ)
    s, us = gens[0], gens[1:]
    qq = sympy.QQ.convert
    coords = [qq(at[v]) + qq(kernel[i]) * s + sum((qq(image[j][i]) * us[j]
                                                  for j in range(n - 1)), ring_.zero)
              for i, v in enumerate(variables)]
    terms = [(m, qq(c)) for m, c in parse_poly(reward, variables).terms()]
    f = _compose(terms, coords)
    f -= f.coeff(1) if f.coeff(1) else 0  # R - R(p)
    grad_u = [f.diff(u) for u in us]
    q = sympy.Matrix(n - 1, n - 1, lambda i, j: sympy.Rational(
        str(grad_u[i].diff(us[j]).coeff(1))))
    q_inv = q.inv()
    sign_q = -1 if q[0, 0] < 0 else 1  # q is definite (the other eigenvalues share a sign)
    ring_s, s1 = ring("s_split", sympy.QQ)

    def truncate(p):
        return ring_s({m: c for m, c in p.items() if m[0] <= order})

    def in_s(p, phi):  # substitute u = phi(s) into a polynomial of the big ring
        p_terms = [((m[1:] + (m[0],)), c) for m, c in p.items()]
        return _compose(p_terms, [*phi, s1], truncate) if p_terms else ring_s.zero

    phi = [ring_s.zero] * (n - 1)
    for _ in range(order + 1):
        residual = [in_s(g, phi) for g in grad_u]
        if all(r == 0 for r in residual):
            break
        phi = [truncate(phi[i] - sum((qq(q_inv[i, j]) * residual[j] for j in range(n - 1)),
                                     ring_s.zero)) for i in range(n - 1)]
    g = in_s(f, phi)
    terms_g = sorted((m[0], c) for m, c in g.items() if c != 0)
    if not terms_g:
        return "undetermined", (f"corank-1 point: the reduced function vanishes to order "
                                f"{order} (splitting lemma)")
    m, c = terms_g[0]
    if m % 2 == 1 or (1 if c > 0 else -1) != sign_q:
        return "saddle", None
    return ("maximum" if sign_q < 0 else "minimum"), None


def _binary_form_test(reward, variables, at) -> tuple[str, str | None]:
    """Zero Hessian, two variables, rational point: the lowest-degree homogeneous part f_k of
    R - R(p) decides when it is definite (strict extremum) or indefinite (saddle)."""
    x, y = variables
    f = sympy.Poly(sympy.expand(reward.subs({x: at[x] + x, y: at[y] + y}, simultaneous=True)
                                - reward.subs(at)), x, y)
    k = min(sum(m) for m in f.monoms())
    form = sympy.Poly(sum(c * x**i * y**j for (i, j), c in f.terms() if i + j == k), x, y)
    if k % 2 == 1:
        return "saddle", None
    s = sympy.Symbol("s_form")
    on_line = sympy.Poly(form.as_expr().subs({x: 1, y: s}), s)  # x != 0: sign of f_k(1, s)
    at_axis = int(sympy.sign(form.coeff_monomial(y**k)))  # x = 0: sign of f_k(0, 1)
    if on_line.degree() > 0 and any(m % 2 == 1 for _, m in on_line.sqf_list()[1]
                                    if sympy.Poly(_, s).count_roots() > 0):
        return "saddle", None  # f_k changes sign: R - R(p) ~ f_k(v) t^k takes both signs
    if on_line.degree() > 0 and on_line.count_roots() > 0 or at_axis == 0:
        return "undetermined", (f"zero Hessian: the degree-{k} form is semidefinite, higher "
                                "terms decide (no certificate implemented)")
    sign_line = int(sympy.sign(on_line.LC())) if on_line.degree() > 0 else int(
        sympy.sign(on_line.as_expr()))
    if sign_line != at_axis:
        return "saddle", None
    return ("maximum" if at_axis < 0 else "minimum"), None


def _weighted_test(reward, variables, at) -> str | None:
    """Zero Hessian at a rational point: a weighted-homogeneous principal part f_w of
    f = R(p + x) - R(p) (positive integer weights w, the terms of least weighted degree d).
    If f_w < 0 away from 0 then p is a strict local maximum (> 0: minimum), since the other
    terms are O(rho^(d+1)) in the weighted norm rho while |f_w| >= c rho^d; if f_w takes both
    signs then so does f along the curves t -> t^w x: a saddle. None when no weight decides.

    Definiteness is certified for two shapes: every term of f_w an even monomial (all
    exponents even) with coefficients of one sign and a pure power of every variable among
    them; and, for 2 variables, by the signs of f_w(+-1, s) and f_w(0, 1) (every point with
    x != 0 lies on a weighted orbit through x = +-1) with exact real-root counting. Weights
    are tried from the pure powers (-x^4 - y^6: w = (3, 2), f_w = f) and, for up to 3
    variables, all w in {1..6}^n.

    Example:
        >>> x, y = sympy.symbols("x y")
        >>> _weighted_test(-x**4 - y**6, (x, y), {x: 0, y: 0})
        'maximum'
        >>> _weighted_test(-x**4 - y**6 + x**2 * y**2, (x, y), {x: 0, y: 0}) is None
        False
    """
    n = len(variables)
    shifted = sympy.expand(reward.subs({v: at[v] + v for v in variables}, simultaneous=True)
                           - reward.subs(at))
    terms = sympy.Poly(shifted, *variables).terms()
    if not terms:
        return None
    pure: dict[int, int] = {}
    for m, _ in terms:
        nz = [i for i, e in enumerate(m) if e]
        if len(nz) == 1:
            pure[nz[0]] = min(pure.get(nz[0], m[nz[0]]), m[nz[0]])
    candidates = []
    if len(pure) == n:
        lcm = sympy.ilcm(*pure.values())
        candidates.append(tuple(int(lcm // pure[i]) for i in range(n)))
    if n <= 3:
        candidates += [w for w in itertools.product(range(1, 7), repeat=n)
                       if sympy.igcd(*w) == 1]
    for w in candidates:
        degree = min(sum(a * b for a, b in zip(m, w, strict=True)) for m, _ in terms)
        part = [(m, c) for m, c in terms if sum(a * b for a, b in zip(m, w, strict=True))
                == degree]
        verdict = _definite(part, n, variables, w)
        if verdict is not None:
            return verdict
    return None


def _definite(part, n: int, variables, w) -> str | None:
    """maximum / minimum / saddle for a weighted-homogeneous f_w (``part``: its terms) when
    certified (see :func:`_weighted_test`), else None."""
    signs = {int(sympy.sign(c)) for _, c in part}
    # both signs at rational points: a saddle (exact evaluation)
    values = set()
    for point in itertools.product((-2, -1, 1, 2), repeat=n):
        v = sum(c * sympy.Mul(*(sympy.Integer(x) ** e for x, e in zip(point, m, strict=True)))
                for m, c in part)
        values.add(int(sympy.sign(v)))
        if 1 in values and -1 in values:
            return "saddle"
    pure = {next(i for i, e in enumerate(m) if e) for m, _ in part
            if sum(1 for e in m if e) == 1}
    if len(signs) == 1 and len(pure) == n and all(e % 2 == 0 for m, _ in part for e in m):
        return "maximum" if signs == {-1} else "minimum"
    if n == 2:
        x, y = variables
        form = sum(c * x**m[0] * y**m[1] for m, c in part)
        s = sympy.Symbol("s_form")
        at_axis = sympy.sign(form.subs({x: 0, y: 1}))
        chart_signs = set()
        for sx in (1, -1):
            g = sympy.Poly(form.subs({x: sx, y: s}), s)
            if g.degree() > 0 and g.count_roots() > 0:
                return None  # f_w vanishes on an orbit: the principal part does not decide
            chart_signs.add(int(sympy.sign(g.LC() if g.degree() > 0 else g.as_expr())))
        if at_axis != 0 and chart_signs == {int(at_axis)}:
            return "maximum" if at_axis < 0 else "minimum"
    return None
